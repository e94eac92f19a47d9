import { once } from 'node:events';
import type { Socket } from 'node:net';
import { AbortedError } from '../../common/errors.js';
import type { HostPort } from './address.js';
import type { DialedSocket } from './secure.js';
import { type Frame, FrameDecoder } from './frame.js';
import { SnapshotTransferError } from './errors.js';

/**
 * A dialed socket used as a sequence of awaits (connect, write with backpressure, read a frame), for
 * the one-shot snapshot stream. Every wait also ends when the socket fails, goes idle for
 * `idleTimeoutMs`, or `signal` aborts, so nothing here can hang.
 */
export class FramedConnection {
  private readonly socket: Socket;
  private readonly frames: Frame[] = [];
  private frameArrived: (() => void) | null = null;
  private readonly failed: Promise<never>;
  private readonly readyEvent: DialedSocket['readyEvent'];
  private ready = false;

  constructor(target: HostPort, dial: (target: HostPort, keepAlive: boolean) => DialedSocket, frameBytesMax: number, idleTimeoutMs: number, signal: AbortSignal) {
    const { socket, readyEvent } = dial(target, false);
    this.socket = socket;
    this.readyEvent = readyEvent;
    socket.once(readyEvent, () => (this.ready = true));
    socket.setTimeout(idleTimeoutMs, () => socket.destroy(new SnapshotTransferError(`no progress for ${idleTimeoutMs} ms`)));
    this.failed = new Promise<never>((_, reject) => {
      socket.on('error', (e) => reject(new SnapshotTransferError(e.message, { cause: e })));
      socket.once('close', () => reject(new SnapshotTransferError('connection closed')));
      const onAbort = (): void => {
        reject(new AbortedError('snapshot send aborted', { cause: signal.reason }));
        socket.destroy();
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      socket.once('close', () => signal.removeEventListener('abort', onAbort));
    });
    this.failed.catch(() => undefined);
    const decoder = new FrameDecoder(frameBytesMax);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.frames.push(...decoder.push(chunk));
        this.frameArrived?.();
      } catch (e) {
        socket.destroy(e as Error);
      }
    });
  }

  async connected(): Promise<void> {
    if (this.ready) return;
    await Promise.race([once(this.socket, this.readyEvent), this.failed]);
  }

  /** Resolves once the socket can take more: at most one frame beyond the high-water mark is buffered. */
  async write(frame: Uint8Array): Promise<void> {
    if (this.socket.destroyed) await this.failed;
    if (!this.socket.write(frame)) await Promise.race([once(this.socket, 'drain'), this.failed]);
  }

  async readFrame(): Promise<Frame> {
    for (;;) {
      const frame = this.frames.shift();
      if (frame !== undefined) return frame;
      await Promise.race([new Promise<void>((resolve) => (this.frameArrived = resolve)), this.failed]);
      this.frameArrived = null;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
