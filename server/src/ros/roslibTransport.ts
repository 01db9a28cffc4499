/**
 * Typed access to roslib 2.1 and dexbridge's WebSocket transport for it.
 *
 * roslib 2.1 ships `dist/RosLib.d.ts` as `export * from './src/RosLib'`: an extensionless
 * relative re-export that TypeScript's NodeNext resolution cannot follow, so `import { Ros }
 * from 'roslib'` type-checks as "no exported member". We import the module namespace and give it
 * the small interface below (only what dexbridge uses). A global `declare module 'roslib'`
 * augmentation would work too, but would leak into every other file of the project.
 *
 * The transport is our own (roslib's `transportFactory` option) so that dexbridge holds the `ws`
 * socket itself: it reads `bufferedAmount` to drop messages instead of queueing without bound,
 * gets a callback when queued bytes have been written, bounds the handshake and the close
 * handshake with timeouts, and always has an `error` listener on the socket. Incoming frames go
 * through roslib's own decoder (`AbstractTransport.handleRawMessage`: JSON, CBOR, fragments).
 */

import * as roslibModule from 'roslib';
import WebSocket from 'ws';

/** The rosbridge messages dexbridge sends (all carry an `op`). */
export interface RosbridgeOp {
  op: string;
  [key: string]: unknown;
}

/** The part of roslib's `Ros` that dexbridge uses. */
export interface RoslibRos {
  readonly isConnected: boolean;
  connect(url: string): Promise<void>;
  close(): void;
  on(event: string, fn: (...args: never[]) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

/** The part of roslib's `Topic` that dexbridge uses. */
export interface RoslibTopic<T> {
  readonly name: string;
  readonly messageType: string;
  advertise(): void;
  unadvertise(): void;
  publish(message: T): void;
  subscribe(callback: (message: T) => void): void;
  unsubscribe(callback?: (message: T) => void): void;
  removeAllListeners(event?: string): unknown;
}

/** What a roslib transport factory returns (roslib's `ITransport`). */
export interface RoslibTransport {
  send(message: RosbridgeOp): void;
  close(): void;
  isConnecting(): boolean;
  isOpen(): boolean;
  isClosing(): boolean;
  isClosed(): boolean;
}

interface AbstractTransportInstance {
  emit(event: 'open' | 'close' | 'error', payload: unknown): boolean;
  emit(event: 'message', payload: unknown): boolean;
  on(event: 'message', fn: (message: RosbridgeOp) => void): unknown;
  /** `protected` in roslib; decodes JSON / CBOR / fragments and emits `message`. */
  handleRawMessage(data: unknown): void;
}

interface RoslibModule {
  Ros: new (options: { url?: string; transportFactory?: (url: string) => Promise<RoslibTransport> }) => RoslibRos;
  Topic: new <T>(options: {
    ros: RoslibRos;
    name: string;
    messageType: string;
    queue_size?: number;
    latch?: boolean;
    throttle_rate?: number;
    queue_length?: number;
    compression?: string;
    reconnect_on_close?: boolean;
  }) => RoslibTopic<T>;
  AbstractTransport: abstract new () => AbstractTransportInstance;
}

/** roslib with the types above. */
export const roslib = roslibModule as unknown as RoslibModule;

/** Options of {@link WsTransport}. */
export interface WsTransportOptions {
  /** Abort the opening handshake after this long (ms). */
  readonly handshakeTimeoutMs: number;
  /** Destroy the socket if the peer does not answer our close frame within this long (ms). */
  readonly closeTimeoutMs: number;
  /** Called (with the socket) each time a frame we sent has been written out, or failed to be. */
  readonly onFlushed: () => void;
  /** Called for every decoded incoming rosbridge message (before roslib dispatches it). */
  readonly onMessage: (message: RosbridgeOp) => void;
}

/** A roslib transport over a `ws` WebSocket that dexbridge can inspect. */
export class WsTransport extends roslib.AbstractTransport implements RoslibTransport {
  readonly socket: WebSocket;
  readonly #onFlushed: (err?: Error) => void;

  constructor(url: string, opts: WsTransportOptions) {
    super();
    // Throws synchronously for a malformed URL: roslib's connect() then rejects.
    // `closeTimeout` (ws ≥ 8.19) is not in @types/ws yet.
    const wsOptions: WebSocket.ClientOptions & { closeTimeout: number } = {
      handshakeTimeout: opts.handshakeTimeoutMs,
      closeTimeout: opts.closeTimeoutMs,
      perMessageDeflate: false,
    };
    this.socket = new WebSocket(url, wsOptions);
    this.#onFlushed = () => opts.onFlushed();
    const s = this.socket;
    // Always listen for 'error': an EventEmitter without one throws.
    s.on('open', () => this.emit('open', undefined));
    s.on('close', (code: number, reason: Buffer) => this.emit('close', { code, reason: reason.toString() }));
    s.on('error', (err: Error) => this.emit('error', err));
    s.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      this.handleRawMessage(isBinary ? toArrayBuffer(data) : rawToString(data));
    });
    this.on('message', (m) => opts.onMessage(m));
  }

  send(message: RosbridgeOp): void {
    this.socket.send(JSON.stringify(message), this.#onFlushed);
  }

  close(): void {
    this.socket.close(1000);
  }

  /** Bytes queued in the socket but not yet written to the network. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  isConnecting(): boolean {
    return this.socket.readyState === WebSocket.CONNECTING;
  }
  isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }
  isClosing(): boolean {
    return this.socket.readyState === WebSocket.CLOSING;
  }
  isClosed(): boolean {
    return this.socket.readyState === WebSocket.CLOSED;
  }
}

function rawToString(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function toArrayBuffer(data: WebSocket.RawData): ArrayBuffer {
  const buf = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data;
  const out = new ArrayBuffer(buf.byteLength);
  new Uint8Array(out).set(buf);
  return out;
}
