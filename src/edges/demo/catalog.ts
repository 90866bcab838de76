import type { Random } from './random.js';
import { WeightedSampler, zipfWeight } from './zipf.js';

/**
 * Shop categories with the share of the catalogue they hold and their price shape
 * (log-normal: median price and spread). Groceries are many and cheap, electronics few
 * and dear, which is what makes order values and baskets differ by category.
 */
export const shopCategories = [
  { name: 'groceries', share: 0.16, medianPrice: 4, priceSpread: 0.6 },
  { name: 'beauty', share: 0.1, medianPrice: 16, priceSpread: 0.6 },
  { name: 'books', share: 0.1, medianPrice: 14, priceSpread: 0.4 },
  { name: 'clothing', share: 0.12, medianPrice: 35, priceSpread: 0.6 },
  { name: 'shoes', share: 0.06, medianPrice: 65, priceSpread: 0.5 },
  { name: 'toys', share: 0.07, medianPrice: 22, priceSpread: 0.7 },
  { name: 'home', share: 0.08, medianPrice: 30, priceSpread: 0.8 },
  { name: 'kitchen', share: 0.07, medianPrice: 25, priceSpread: 0.8 },
  { name: 'sports', share: 0.07, medianPrice: 40, priceSpread: 0.8 },
  { name: 'garden', share: 0.05, medianPrice: 30, priceSpread: 0.9 },
  { name: 'electronics', share: 0.08, medianPrice: 90, priceSpread: 1.0 },
  { name: 'jewellery', share: 0.04, medianPrice: 70, priceSpread: 0.9 },
] as const;
export type ShopCategory = (typeof shopCategories)[number]['name'];

/** Price floor and ceiling: nothing free, nothing a demo basket cannot plausibly hold. */
const MIN_PRICE = 0.99;
const MAX_PRICE = 999.99;
/** Popularity exponent: s a little above 1 is the usual fit for retail item views. */
export const DEFAULT_POPULARITY_EXPONENT = 1.1;

export interface Product {
  /** `p00042`: zero-padded so ids sort like the catalogue. */
  readonly id: string;
  readonly category: ShopCategory;
  readonly categoryIndex: number;
  /** Euros, whole cents. */
  readonly price: number;
  /** 1 is the best seller; the Zipf weight of this rank is the product's popularity. */
  readonly popularityRank: number;
}

/** Shelf prices end in .99 (above a few euros) or .x9, as shops price them. */
function shelfPrice(raw: number): number {
  const cents = raw >= 5 ? Math.round(raw) * 100 - 1 : Math.round(raw * 10) * 10 - 1;
  return Math.min(MAX_PRICE, Math.max(MIN_PRICE, cents / 100));
}

/**
 * The product catalogue: ids, categories, prices and a Zipf popularity over the whole
 * catalogue. Popularity ranks are shuffled against ids, so best sellers are spread over the
 * catalogue and its categories rather than being p00001, p00002, ...
 */
export class Catalog {
  readonly products: readonly Product[];
  private readonly everywhere: WeightedSampler;
  /** Per category: its products (by index) and a sampler over their global popularity. */
  private readonly inCategory: ({ products: Product[]; sampler: WeightedSampler } | undefined)[];
  private readonly categoryPopularity: WeightedSampler;

  constructor(size: number, random: Random, popularityExponent = DEFAULT_POPULARITY_EXPONENT) {
    if (!Number.isSafeInteger(size) || size < 1)
      throw new RangeError(`a catalogue needs at least one product, got ${size}`);
    const categoryShare = new WeightedSampler(shopCategories.map((c) => c.share));
    const ranks = new Int32Array(size);
    for (let i = 0; i < size; i++) ranks[i] = i + 1;
    for (let i = size - 1; i > 0; i--) {
      const j = random.int(i + 1);
      const t = ranks[i]!;
      ranks[i] = ranks[j]!;
      ranks[j] = t;
    }
    const digits = Math.max(5, String(size - 1).length);
    const products: Product[] = new Array(size);
    const weights = new Float64Array(size);
    const byCategory: Product[][] = shopCategories.map(() => []);
    for (let i = 0; i < size; i++) {
      const categoryIndex = categoryShare.sample(random);
      const category = shopCategories[categoryIndex]!;
      const product: Product = {
        id: 'p' + String(i).padStart(digits, '0'),
        category: category.name,
        categoryIndex,
        price: shelfPrice(random.logNormal(Math.log(category.medianPrice), category.priceSpread)),
        popularityRank: ranks[i]!,
      };
      products[i] = product;
      weights[i] = zipfWeight(product.popularityRank, popularityExponent);
      byCategory[categoryIndex]!.push(product);
    }
    this.products = products;
    this.everywhere = new WeightedSampler(weights);
    this.inCategory = byCategory.map((list) =>
      list.length === 0
        ? undefined
        : {
            products: list,
            sampler: new WeightedSampler(list.map((p) => zipfWeight(p.popularityRank, popularityExponent))),
          },
    );
    const categoryWeights = byCategory.map((list) =>
      list.reduce((sum, p) => sum + zipfWeight(p.popularityRank, popularityExponent), 0),
    );
    this.categoryPopularity = new WeightedSampler(categoryWeights);
  }

  get size(): number {
    return this.products.length;
  }

  /** A product drawn by popularity across the whole shop. */
  popularProduct(random: Random): Product {
    return this.products[this.everywhere.sample(random)]!;
  }

  /** A product drawn by popularity within one category (any product if it has none). */
  popularProductIn(categoryIndex: number, random: Random): Product {
    const shelf = this.inCategory[categoryIndex];
    if (shelf === undefined) return this.popularProduct(random);
    return shelf.products[shelf.sampler.sample(random)]!;
  }

  /** A category index drawn by how much of the shop's popularity it holds; never an empty one. */
  popularCategory(random: Random): number {
    return this.categoryPopularity.sample(random);
  }
}
