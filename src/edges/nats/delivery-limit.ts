/**
 * JetStream's delivery count as a poison detector. A message that crashes the process is
 * never acknowledged, so it comes back after every restart with a higher count; past
 * `maxDeliveries` it is rejected as `VIGIL_ERR_POISON` before it reaches the graph, and the
 * crash loop ends. A redelivery while an earlier delivery of the same stream sequence is still
 * in this process (input held back by a refusing dead-letter stream longer than ack_wait) is
 * not poison: it is let through, to become a duplicate.
 */
export class DeliveryLimit {
  /** Stream sequence → deliveries of it received and not yet committed. */
  private readonly held = new Map<number, number>();

  constructor(private readonly maxDeliveries: number) {}

  /** Records a delivery; true when it is over the limit and no earlier delivery of it is held here. */
  receive(seq: number, deliveries: number): boolean {
    const held = this.held.get(seq) ?? 0;
    this.held.set(seq, held + 1);
    return deliveries > this.maxDeliveries && held === 0;
  }

  /** A delivery of `seq` was committed (acked) or handed back. */
  release(seq: number): void {
    const held = this.held.get(seq);
    if (held === undefined) return;
    if (held <= 1) this.held.delete(seq);
    else this.held.set(seq, held - 1);
  }
}
