import { eventBounds, type CanonicalEvent } from './event.js';

/**
 * The canonical event's hot path: a decoded value that already is exactly a canonical
 * event, as nearly every message is, is taken as it is, without the copy a zod parse
 * makes. It must be a plain object with only its type's keys, each of the JS type the
 * schema (`canonicalEvent`) declares, no key present with the value undefined, numbers
 * finite, and no bound of `eventBounds` broken. Anything else (a key zod would strip, a
 * wrong type, a broken bound) gives undefined, and the caller parses the value with
 * `canonicalEvent`, which rejects it with its reason and path or returns the stripped copy.
 *
 * Contract, held by test/schema.property.test.ts on random, edge-heavy input: whenever this
 * returns an event, `canonicalEvent` accepts the value and returns an equal one.
 */
export function canonicalInPlace(value: unknown): CanonicalEvent | undefined {
  if (!isPlainObject(value)) return undefined;
  const type = value.type;
  if (typeof type !== 'string') return undefined;
  const shape = shapes[type];
  if (shape === undefined) return undefined;
  let required = 0;
  for (const key in value) {
    const kind = shape[key];
    if (kind === undefined || !fits(kind, value[key])) return undefined;
    if (kind === Kind.type || kind >= Kind.requiredString) required++;
  }
  if (required !== requiredCounts[type]) return undefined;
  const event = value as unknown as CanonicalEvent;
  return eventBounds(event).length === 0 ? event : undefined;
}

/** A field's JS type; values from `requiredString` on are required. */
const enum Kind {
  type,
  string,
  number,
  boolean,
  campaign,
  requiredString,
  requiredNumber,
  items,
}

type Shape = Readonly<Record<string, Kind>>;

const base = {
  type: Kind.type,
  id: Kind.requiredString,
  customerId: Kind.requiredString,
  ts: Kind.requiredNumber,
  sessionId: Kind.string,
  currency: Kind.string,
  campaign: Kind.campaign,
  coupon: Kind.string,
};
const product = { productId: Kind.requiredString, category: Kind.string, price: Kind.number, quantity: Kind.number };

/** Each event type's keys, as `eventStructure` in event.ts declares them. */
const shapes: Readonly<Record<string, Shape | undefined>> = Object.assign(Object.create(null) as object, {
  page_view: { ...base },
  product_view: { ...base, ...product },
  add_to_cart: { ...base, ...product },
  remove_from_cart: { ...base, ...product },
  checkout_started: { ...base, orderId: Kind.string },
  purchase: { ...base, orderId: Kind.requiredString, items: Kind.items },
  feedback: { ...base, productId: Kind.string, orderId: Kind.string, rating: Kind.number, complaint: Kind.boolean },
});
for (const type in shapes) Object.setPrototypeOf(shapes[type]!, null);

const requiredCounts: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(shapes).map(([type, shape]) => [
    type,
    Object.values(shape!).filter((k) => k === Kind.type || k >= Kind.requiredString).length,
  ]),
);

const itemShape: Shape = Object.assign(Object.create(null) as object, {
  productId: Kind.requiredString,
  category: Kind.string,
  price: Kind.requiredNumber,
  quantity: Kind.requiredNumber,
});
const campaignShape: Shape = Object.assign(Object.create(null) as object, {
  id: Kind.requiredString,
  channel: Kind.string,
});

function fits(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case Kind.type:
      return true; // chose the shape
    case Kind.string:
    case Kind.requiredString:
      return typeof v === 'string';
    case Kind.number:
    case Kind.requiredNumber:
      return typeof v === 'number' && Number.isFinite(v);
    case Kind.boolean:
      return typeof v === 'boolean';
    case Kind.campaign:
      return fitsShape(v, campaignShape, 1);
    case Kind.items:
      if (!Array.isArray(v)) return false;
      for (let i = 0; i < v.length; i++) if (!fitsShape(v[i], itemShape, 3)) return false;
      return true;
  }
}

function fitsShape(v: unknown, shape: Shape, requiredKeys: number): boolean {
  if (!isPlainObject(v)) return false;
  let required = 0;
  for (const key in v) {
    const kind = shape[key];
    if (kind === undefined || !fits(kind, v[key])) return false;
    if (kind >= Kind.requiredString) required++;
  }
  return required === requiredKeys;
}

/** An object literal as JSON and msgpack decoders make them (zod would copy anything more exotic). */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}
