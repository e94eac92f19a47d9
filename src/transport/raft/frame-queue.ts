/**
 * FIFO of encoded frames bounded by count and by bytes. A full queue refuses (the caller drops and
 * reports) rather than growing: a slow peer must not eat the leader's memory.
 */
export class FrameQueue {
  private items: Uint8Array[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly messagesMax: number,
    private readonly bytesMax: number,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get queuedBytes(): number {
    return this.bytes;
  }

  /** False when the frame would exceed either bound. */
  offer(frame: Uint8Array): boolean {
    if (this.length >= this.messagesMax || this.bytes + frame.byteLength > this.bytesMax) return false;
    this.items.push(frame);
    this.bytes += frame.byteLength;
    return true;
  }

  poll(): Uint8Array | undefined {
    if (this.head >= this.items.length) return undefined;
    const frame = this.items[this.head];
    this.items[this.head] = EMPTY;
    this.head += 1;
    // Compact once the consumed prefix dominates, keeping poll O(1) amortized.
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (frame !== undefined) this.bytes -= frame.byteLength;
    return frame;
  }

  /** Empties the queue; returns how many frames were discarded. */
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return n;
  }
}

const EMPTY = new Uint8Array(0);
