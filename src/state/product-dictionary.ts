import { productBit, productIdBit } from './activity-aggregate.js';

/**
 * Interns product ids to small integers so per-customer state can hold products in typed
 * arrays. Bounded: past `maxProducts`, new products share the overflow id 0, so a stream of
 * random product ids cannot grow memory without limit.
 */
export const OVERFLOW_PRODUCT = 0;

export class ProductDictionary {
  private readonly index = new Map<string, number>();
  private readonly names: string[] = ['(other)'];
  /** Each product's window sketch bit (`productIdBit`), taken once when it is interned. */
  private readonly bits: number[] = [productBit(OVERFLOW_PRODUCT)];

  constructor(private readonly maxProducts: number) {}

  intern(productId: string): number {
    const known = this.index.get(productId);
    if (known !== undefined) return known;
    if (this.names.length > this.maxProducts) return OVERFLOW_PRODUCT;
    const id = this.names.length;
    this.names.push(productId);
    this.bits.push(productIdBit(productId));
    this.index.set(productId, id);
    return id;
  }

  lookup(productId: string): number | undefined {
    return this.index.get(productId);
  }

  /** The window sketch bit of an interned product. */
  bitOf(id: number): number {
    return this.bits[id] ?? this.bits[OVERFLOW_PRODUCT]!;
  }

  name(id: number): string {
    return this.names[id] ?? this.names[OVERFLOW_PRODUCT]!;
  }

  get size(): number {
    return this.names.length - 1;
  }

  snapshot(): string[] {
    return this.names.slice(1);
  }

  restore(names: readonly string[]): void {
    this.index.clear();
    this.names.length = 1;
    this.bits.length = 1;
    for (const n of names) this.intern(n);
  }
}
