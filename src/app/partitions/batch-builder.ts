/** A growing batch of raw bytes for one worker. */
export class BatchBuilder {
  bytes = new Uint8Array(1 << 16);
  index = new Uint32Array(3 * 256);
  size = 0;
  count = 0;

  add(partition: number, payload: Uint8Array): void {
    if (this.size + payload.length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(2 * this.bytes.length, this.size + payload.length));
      grown.set(this.bytes.subarray(0, this.size));
      this.bytes = grown;
    }
    if (3 * this.count + 3 > this.index.length) {
      const grown = new Uint32Array(2 * this.index.length);
      grown.set(this.index);
      this.index = grown;
    }
    this.bytes.set(payload, this.size);
    const at = 3 * this.count++;
    this.index[at] = partition;
    this.index[at + 1] = this.size;
    this.index[at + 2] = this.size + payload.length;
    this.size += payload.length;
  }

  /** The batch as exactly sized buffers to transfer; the builder starts over. */
  take(): { bytes: ArrayBuffer; index: Uint32Array } {
    const bytes = this.bytes.slice(0, this.size).buffer;
    const index = this.index.slice(0, 3 * this.count);
    this.size = 0;
    this.count = 0;
    return { bytes, index };
  }
}
