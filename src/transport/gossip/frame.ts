import type { Socket } from 'node:net';

/**
 * One length-prefixed frame per direction on a push/pull connection: [u32 BE length][payload].
 * The reader enforces a byte limit before buffering, so a peer cannot make us hold more than that.
 */
export const FRAME_HEADER_BYTES = 4;

export function encodeFrame(payload: Uint8Array): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload]);
}

export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
}

/** Resolves with the first frame on `socket` (rejects on close, error or a frame beyond the limit). */
export function readFrame(socket: Socket, payloadBytesMax: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    let want = -1;
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('connection closed before a full frame arrived'));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      have += chunk.length;
      if (want < 0 && have >= FRAME_HEADER_BYTES) {
        want = Buffer.concat(chunks).readUInt32BE(0);
        if (want > payloadBytesMax) {
          cleanup();
          reject(new FrameTooLargeError(`push/pull frame of ${want} bytes exceeds ${payloadBytesMax}`));
          return;
        }
      }
      if (want >= 0 && have >= FRAME_HEADER_BYTES + want) {
        cleanup();
        const all = Buffer.concat(chunks);
        resolve(new Uint8Array(all.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + want)));
      }
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}
