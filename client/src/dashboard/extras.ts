/**
 * The opt-in binary streams a dashboard asks for with `hello.tracking`: HAND_TRACKING (the
 * operator's hand and fingertip targets in each robot hand's frame) and the relayed ACTION_CHUNKs
 * of a policy. Kept in preallocated buffers; the 3D view reads them per frame.
 */
import { ACTION_DIM, type Side } from '@dexbridge/retarget';
import { createDecodedHandTracking, decodeActionChunk, decodeHandTracking, MESSAGE_KIND } from '@dexbridge/server/protocol';
import type { BridgeClient } from '../net/BridgeClient.js';

export const ACTION_WIDTH = ACTION_DIM;
const MAX_ROWS = 256;

export interface LiveExtras {
  readonly tracking: {
    version: number;
    receivedMs: number;
    readonly valid: { [S in Side]: boolean };
    readonly joints: { readonly [S in Side]: Float32Array };
    readonly tips: { readonly [S in Side]: Float32Array };
  };
  readonly chunk: {
    version: number;
    receivedMs: number;
    rows: number;
    periodMs: number;
    startTimeMs: number;
    readonly data: Float32Array;
  };
}

export function createLiveExtras(client: BridgeClient): { extras: LiveExtras; dispose: () => void } {
  const decoded = createDecodedHandTracking();
  const extras: LiveExtras = {
    tracking: {
      version: 0, receivedMs: Number.NEGATIVE_INFINITY, valid: { left: false, right: false },
      joints: { left: new Float32Array(75), right: new Float32Array(75) }, tips: { left: new Float32Array(15), right: new Float32Array(15) },
    },
    chunk: { version: 0, receivedMs: Number.NEGATIVE_INFINITY, rows: 0, periodMs: 0, startTimeMs: 0, data: new Float32Array(MAX_ROWS * ACTION_DIM) },
  };
  const dispose = client.onBinary((kind, data, t) => {
    if (kind === MESSAGE_KIND.HAND_TRACKING) {
      const r = decodeHandTracking(data, decoded);
      if (!r.ok) return;
      const tr = extras.tracking;
      for (const side of ['left', 'right'] as const) {
        const d = r[side];
        tr.valid[side] = d !== null;
        if (d) {
          tr.joints[side].set(d.joints);
          tr.tips[side].set(d.tips);
        }
      }
      tr.receivedMs = t;
      tr.version++;
    } else if (kind === MESSAGE_KIND.ACTION_CHUNK) {
      const r = decodeActionChunk(data);
      if (!r.ok) return;
      const c = extras.chunk;
      c.rows = Math.min(r.k, MAX_ROWS);
      c.data.set(r.data.subarray(0, c.rows * ACTION_DIM));
      c.periodMs = r.periodMs;
      c.startTimeMs = r.startTimeMs;
      c.receivedMs = t;
      c.version++;
    }
  });
  return { extras, dispose };
}
