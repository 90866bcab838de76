import type { CopyBytes } from '../state/copy-bytes.js';

/**
 * Buffers a checkpoint copies live state into, kept from one checkpoint to the next.
 *
 * A capture asks for its copies in the same order every time (the state's parts are walked
 * in a fixed order), so the i-th copy of a capture reuses the i-th buffer. A buffer grows
 * with headroom and is touched once when allocated, so later copies land in mapped pages:
 * the engine's pause for a capture is then a memcpy of its state, not page faults and a GC
 * of freshly allocated copies.
 *
 * The buffers are SharedArrayBuffers, so the checkpoint writer thread reads the copies
 * where they are.
 *
 * Contract: the copies of one capture stay valid until the next `begin()`; a checkpoint
 * writes them out before it captures again.
 */
export class CaptureArena {
  private buffers: Uint8Array[] = [];
  private next = 0;

  /** Bytes held between checkpoints. */
  get retainedBytes(): number {
    return this.buffers.reduce((sum, b) => sum + b.byteLength, 0);
  }

  begin(): CopyBytes {
    this.next = 0;
    return (bytes) => this.copy(bytes);
  }

  /** Gives the memory back (the engine stops checkpointing). */
  release(): void {
    this.buffers = [];
  }

  private copy(bytes: Uint8Array): Uint8Array {
    const i = this.next++;
    let buffer = this.buffers[i];
    if (buffer === undefined || buffer.byteLength < bytes.byteLength) {
      const size = Math.ceil(bytes.byteLength * 1.25) + 4096;
      buffer = new Uint8Array(new SharedArrayBuffer(size));
      buffer.fill(0); // map the pages now, not during the next capture
      this.buffers[i] = buffer;
    }
    const out = buffer.subarray(0, bytes.byteLength);
    out.set(bytes);
    return out;
  }
}
