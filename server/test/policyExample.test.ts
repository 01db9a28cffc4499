/**
 * The Python example policy client (examples/policy_client.py, asyncio + Debian's
 * python3-websockets) against a real dexbridge server with a camera: it receives the robot state
 * and the camera's frames and sends K×88 chunks that the server accepts and executes. Needs
 * python3 and python3-websockets (.ci/run installs them); it does not skip.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { startDexbridge } from '../src/bridge/startDexbridge.js';
import { TestClient } from './support/wsClient.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/policy_client.py', import.meta.url));
/** Debian's Python, where python3-websockets installs (a pyenv or venv python3 earlier on the PATH lacks it); $PYTHON wins. */
const PYTHON = process.env['PYTHON'] ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const OP = 'operator-token-123';
const POLICY = 'policy-token-123';
const dir = mkdtempSync(join(tmpdir(), 'dexbridge-policy-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the example to its end; resolves with its exit code and output. */
function runExample(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [EXAMPLE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

it('the Python policy client sees state and camera frames and its K×88 chunks drive the robot', async () => {
  const run = await startDexbridge({
    port: 0, operatorToken: OP, policyToken: POLICY, recordingsDir: dir, record: 'off',
    cameras: [{ id: 'head', source: 'ffmpeg', input: 'testsrc2=size=160x120:rate=20', format: 'lavfi', realtime: true }],
  });
  try {
    const url = `ws://127.0.0.1:${run.port}/ws`;
    // An operator hands the robot to the policy: lease, policy mode, engage.
    const op = await TestClient.hello(url, 'operator', OP, 'boss');
    op.send({ type: 'lease_request' });
    await op.waitJson((m) => m.type === 'event' && m['event'] === 'lease');
    op.send({ type: 'set_mode', mode: 'policy' });
    await op.waitJson((m) => m.type === 'event' && m['event'] === 'mode');
    op.send({ type: 'engage' });
    await op.waitJson((m) => m.type === 'event' && m['event'] === 'engage');
    let policyChunks = 0;
    run.loop.onChunk((_t, chunk, source) => {
      if (source === 'policy' && chunk.k === 8) policyChunks++;
    });

    const r = await runExample(['--url', url, '--token', POLICY, '--chunks', '5', '--k', '8', '--rate', '20', '--fail-on-error']);
    expect(r.out).toMatch(/welcome: session c\d+, 88 actions, cameras \['head'\]/);
    expect(r.out).toMatch(/camera ages: head \d+ ms/);
    expect(r.out).toMatch(/done: 5 chunks sent, [1-9]\d* states, camera frames: head [1-9]\d*, 0 errors/);
    expect(r.code, r.out).toBe(0);
    // Accepted and executed by the server (refused ones would have been errors above).
    expect(policyChunks).toBe(5);
    await op.close();
  } finally {
    await run.close();
  }
});
