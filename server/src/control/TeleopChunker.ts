/**
 * In teleop the robot's actions also leave as chunks (to ROS, recorders, a learning pipeline), in
 * the same K×88 form a policy sends: this groups consecutive actions into chunks of K.
 */
import { ACTION_DIM, type ActionChunk, MAX_CHUNK_K } from '@dexbridge/retarget';

/** Receives each full chunk. See {@link TeleopChunker} for how long the chunk stays valid. */
export type TeleopChunkListener = (chunk: ActionChunk) => void;

export interface TeleopChunkerOptions {
  /**
   * `'reuse'` (default): chunks come from two preallocated buffers used alternately, so pushing
   * allocates nothing; an emitted chunk stays intact until the listener call for the next chunk
   * has returned — copy it to keep it longer. `'fresh'`: every chunk is newly allocated and the
   * listener may keep it.
   */
  readonly buffers?: 'reuse' | 'fresh';
}

/**
 * Collects consecutive actions into chunks of `k` rows: row 0 is the first action, the chunk's
 * `startTimeMs` its time, `periodMs` the control period. Each full chunk goes to the listener,
 * synchronously inside the {@link push} that completed it.
 *
 * Actions are consecutive when each arrives within half a period of its row's due time
 * (`startTimeMs + i × periodMs`); an action that does not (a gap in the stream, or time going
 * back) discards the partial chunk and starts a new one, so a chunk's timing never lies.
 */
export class TeleopChunker {
  readonly k: number;
  readonly periodMs: number;
  private readonly onChunk: TeleopChunkListener;
  private readonly fresh: boolean;
  private readonly buffers: readonly [ActionChunk, ActionChunk];
  private current = 0;
  private filled = 0;
  private discardedRows = 0;

  /**
   * @param k rows per chunk, integer 1..256 (1: every action is its own chunk).
   * @param periodMs the control period, ms, finite and > 0.
   * @param onChunk receives each full chunk.
   * @throws RangeError naming the bad argument or option.
   */
  constructor(k: number, periodMs: number, onChunk: TeleopChunkListener, options: TeleopChunkerOptions = {}) {
    if (!Number.isInteger(k) || k < 1 || k > MAX_CHUNK_K) throw new RangeError(`TeleopChunker: k must be an integer in 1..${MAX_CHUNK_K}, got ${k}`);
    if (typeof periodMs !== 'number' || !(Number.isFinite(periodMs) && periodMs > 0)) throw new RangeError(`TeleopChunker: periodMs must be finite and > 0, got ${periodMs}`);
    const mode = options.buffers ?? 'reuse';
    if (mode !== 'reuse' && mode !== 'fresh') throw new RangeError(`TeleopChunker: option buffers must be 'reuse' or 'fresh', got ${String(mode)}`);
    this.k = k;
    this.periodMs = periodMs;
    this.onChunk = onChunk;
    this.fresh = mode === 'fresh';
    const make = (): ActionChunk => ({ startTimeMs: 0, periodMs, k, data: new Float32Array(k * ACTION_DIM) });
    this.buffers = [make(), make()];
  }

  /** Rows of the chunk being filled. */
  get pending(): number {
    return this.filled;
  }

  /** Rows discarded so far because the stream had a gap. */
  get discarded(): number {
    return this.discardedRows;
  }

  /**
   * Appends one action (88 numbers) taken at `tMs` (ms, the control clock); emits the chunk when
   * it has `k` rows.
   * @throws RangeError if `tMs` is not finite or `action` is not 88 numbers.
   */
  push(tMs: number, action: ArrayLike<number>): void {
    if (!Number.isFinite(tMs)) throw new RangeError(`TeleopChunker: push tMs must be finite, got ${tMs}`);
    if (action.length !== ACTION_DIM) throw new RangeError(`TeleopChunker: push needs an action of ${ACTION_DIM} numbers, got ${action.length}`);
    let chunk = this.buffers[this.current]!;
    if (this.filled > 0 && !(Math.abs(tMs - (chunk.startTimeMs + this.filled * this.periodMs)) <= this.periodMs / 2)) {
      this.discardedRows += this.filled;
      this.filled = 0;
    }
    if (this.filled === 0) chunk.startTimeMs = tMs;
    const base = this.filled * ACTION_DIM;
    for (let j = 0; j < ACTION_DIM; j++) chunk.data[base + j] = action[j]!;
    this.filled++;
    if (this.filled < this.k) return;
    this.filled = 0;
    if (this.fresh) {
      chunk = { startTimeMs: chunk.startTimeMs, periodMs: this.periodMs, k: this.k, data: chunk.data.slice() };
    } else {
      this.current = 1 - this.current;
    }
    this.onChunk(chunk);
  }

  /** Discards the partial chunk (e.g. on leaving teleop), so the next action starts a new one. */
  reset(): void {
    this.filled = 0;
  }
}
