import type { CopyBytes } from '../../state/copy-bytes.js';

/**
 * Buffers a checkpoint copies live state into, kept from one checkpoint to the next.
 *
 * A capture asks for its copies in the same order every time (the state's parts are walked
 * in a fixed order), so the i-th copy of a capture reuses the i-th buffer. A buffer grows
 * with headroom, and its pages are mapped before a capture uses it, so the engine's pause
 * for a capture is a memcpy of its state, not page faults and a GC of fresh copies.
 *
 * Growing ahead: `reserve(sizes)` (sizes from a walk of the state, `measure`) allocates the
 * buffers a coming capture will need and hands them out to be touched elsewhere (the
 * writer thread, which takes the page faults); `adopt` puts them in use once touched. A
 * capture that outgrows the arena before then allocates and touches on the spot.
 *
 * The buffers are SharedArrayBuffers, so the checkpoint writer thread reads the copies
 * where they are.
 *
 * Contract: the copies of one capture stay valid until the next `begin()`; a checkpoint
 * writes them out before it captures again. A reserved buffer is not written here until
 * it is adopted.
 */
export class CaptureArena {
  private buffers: Uint8Array[] = [];
  private reserved = new Map<number, Uint8Array>();
  private reservation = 0;
  private next = 0;
  /** Copies that found no buffer ready and allocated one during the capture (the pause then includes page faults). */
  grownInCapture = 0;

  /** Bytes held between checkpoints. */
  get retainedBytes(): number {
    return this.buffers.reduce((sum, b) => sum + b.byteLength, 0);
  }

  begin(): CopyBytes {
    this.next = 0;
    return (bytes) => this.copy(bytes);
  }

  /**
   * Allocates, without touching them, the buffers a capture of parts of `sizes` bytes
   * would newly need; returns their memory, to be touched and then `adopt`ed with the
   * returned reservation (a later `reserve` supersedes it).
   */
  reserve(sizes: readonly number[]): { reservation: number; memory: SharedArrayBuffer[] } {
    this.reserved.clear();
    this.reservation++;
    const out: SharedArrayBuffer[] = [];
    sizes.forEach((size, i) => {
      if ((this.buffers[i]?.byteLength ?? -1) >= size) return;
      const buffer = allocate(size);
      this.reserved.set(i, buffer);
      out.push(buffer.buffer as SharedArrayBuffer);
    });
    return { reservation: this.reservation, memory: out };
  }

  /** Puts the buffers of `reservation` in use (their pages are mapped now), unless superseded. */
  adopt(reservation: number): void {
    if (reservation !== this.reservation) return;
    for (const [i, buffer] of this.reserved)
      if ((this.buffers[i]?.byteLength ?? -1) < buffer.byteLength) this.buffers[i] = buffer;
    this.reserved.clear();
  }

  /** Gives the memory back (the engine stops checkpointing). */
  release(): void {
    this.buffers = [];
    this.reserved.clear();
  }

  private copy(bytes: Uint8Array): Uint8Array {
    const i = this.next++;
    let buffer = this.buffers[i];
    if (buffer === undefined || buffer.byteLength < bytes.byteLength) {
      buffer = allocate(bytes.byteLength);
      buffer.fill(0); // map the pages now, not during the next capture
      this.grownInCapture++;
      this.buffers[i] = buffer;
    }
    const out = buffer.subarray(0, bytes.byteLength);
    out.set(bytes);
    return out;
  }
}

function allocate(bytes: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(Math.ceil(bytes * 1.25) + 4096));
}

/** The sizes of the buffers a capture copies, in order: what `reserve` takes. */
export function measuringCopy(sizes: number[]): CopyBytes {
  // Hands the live buffer back: the document it builds is only walked, never kept.
  return (bytes) => {
    sizes.push(bytes.byteLength);
    return bytes;
  };
}
