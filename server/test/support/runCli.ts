/** Runs the `dexbridge` command line in-process and collects what it prints. */
import { main } from '../../src/cli/main.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCli(...args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { stdout: { write: (s: string) => void out.push(s) }, stderr: { write: (s: string) => void err.push(s) } });
  return { code, stdout: out.join(''), stderr: err.join('') };
}
