import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANONYMOUS_PREFIX, fromSegment, isSegmentMessage } from '../src/ingest/adapters/segment.js';
import { canonicalEvent, MAX_TS, MIN_TS, orderRevenue, type CanonicalEvent } from '../src/core/event.js';

/**
 * Fixtures follow the payloads in Segment's "Spec: Common Fields" and "Spec: V2 Ecommerce
 * Events" and RudderStack's "Common Fields" and ecommerce event spec: the properties of the
 * spec examples wrapped in the envelope each tool sends (context, integrations, the four
 * timestamps, channel, ...).
 */

// ---- Segment: analytics.js in a browser, as Segment delivers it downstream -------------

/** The device clock runs 100.672 s fast; Segment's `timestamp` is corrected for that. */
const segmentTimes = {
  originalTimestamp: '2026-03-02T14:09:12.402Z',
  sentAt: '2026-03-02T14:09:12.581Z',
  receivedAt: '2026-03-02T14:07:31.909Z',
  timestamp: '2026-03-02T14:07:31.730Z',
};
const SEGMENT_TS = Date.parse('2026-03-02T14:07:31.730Z');

const segmentBrowserContext = {
  ip: '203.0.113.7',
  library: { name: 'analytics.js', version: 'npm:next-1.70.0' },
  locale: 'en-US',
  page: {
    path: '/product/monopoly-3rd-edition',
    referrer: 'https://www.example.com/games',
    search: '',
    title: 'Monopoly: 3rd Edition',
    url: 'https://www.example.com/product/monopoly-3rd-edition',
  },
  userAgent:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36',
  campaign: { name: 'spring_sale', source: 'newsletter', medium: 'email' },
};

const segmentProductViewed = {
  anonymousId: '507f191e810c19729de860ea',
  context: segmentBrowserContext,
  event: 'Product Viewed',
  integrations: { All: true, Mixpanel: false, Salesforce: false },
  messageId: 'ajs-next-1709388451402-7f3c9e1a-6b2d-4c1e-9f7a-2d1b8e5c4a90',
  properties: {
    product_id: '507f1f77bcf86cd799439011',
    sku: 'G-32',
    category: 'Games',
    name: 'Monopoly: 3rd Edition',
    brand: 'Hasbro',
    variant: '200 pieces',
    price: 18.99,
    quantity: 1,
    coupon: 'MAYDEALS',
    currency: 'usd',
    position: 3,
    value: 18.99,
    url: 'https://www.example.com/product/path',
    image_url: 'https://www.example.com/product/path.jpg',
  },
  ...segmentTimes,
  type: 'track',
  userId: '97980cfea0067',
  version: 2,
};

const segmentProductAdded = {
  ...segmentProductViewed,
  event: 'Product Added',
  messageId: 'ajs-next-1709388460112-0c4e2b7d-1a9f-4e3b-8d2c-5f6a7b8c9d01',
  properties: {
    cart_id: 'skdjsidjsdkdj29j',
    product_id: '507f1f77bcf86cd799439011',
    sku: 'G-32',
    category: 'Games',
    name: 'Monopoly: 3rd Edition',
    brand: 'Hasbro',
    variant: '200 pieces',
    price: 18.99,
    quantity: 2,
    coupon: 'MAYDEALS',
    position: 3,
    url: 'https://www.example.com/product/path',
    image_url: 'https://www.example.com/product/path.jpg',
  },
};

const segmentCheckoutStarted = {
  ...segmentProductViewed,
  event: 'Checkout Started',
  messageId: 'ajs-next-1709388502871-3e5f7a9b-2c4d-4e6f-8a0b-1c3d5e7f9a2b',
  properties: {
    order_id: '50314b8e9bcf000000000000',
    affiliation: 'Google Store',
    value: 30,
    revenue: 25.0,
    shipping: 3,
    tax: 2,
    discount: 2.5,
    coupon: 'hasbros',
    currency: 'USD',
    products: [
      {
        product_id: '507f1f77bcf86cd799439011',
        sku: '45790-32',
        name: 'Monopoly: 3rd Edition',
        price: 19,
        quantity: 1,
        category: 'Games',
      },
      {
        product_id: '505bd76785ebb509fc183733',
        sku: '46493-32',
        name: 'Uno Card Game',
        price: 3,
        quantity: 2,
        category: 'Games',
      },
    ],
  },
};

const segmentPage = {
  anonymousId: '507f191e810c19729de860ea',
  context: segmentBrowserContext,
  integrations: { All: true },
  messageId: 'ajs-next-1709388440001-9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  name: 'Monopoly: 3rd Edition',
  properties: {
    path: '/product/monopoly-3rd-edition',
    referrer: 'https://www.example.com/games',
    search: '',
    title: 'Monopoly: 3rd Edition',
    url: 'https://www.example.com/product/monopoly-3rd-edition',
  },
  ...segmentTimes,
  type: 'page',
  userId: '97980cfea0067',
  version: 2,
};

// ---- Segment: a server-side library, the order as the shop's backend reports it --------

const segmentOrderCompleted = {
  context: { library: { name: '@segment/analytics-node', version: '2.1.2' } },
  event: 'Order Completed',
  integrations: {},
  messageId: 'node-next-1709388613000-4b6d8f0a-1c3e-4a5b-9d7f-0e2c4a6b8d0f',
  originalTimestamp: '2026-03-02T14:10:13.000Z',
  properties: {
    checkout_id: 'fksdjfsdjfisjf9sdfjsd9f',
    order_id: '50314b8e9bcf000000000000',
    affiliation: 'Google Store',
    total: 27.5,
    subtotal: 22.5,
    revenue: 25.0,
    shipping: 3,
    tax: 2,
    discount: 2.5,
    coupon: 'hasbros',
    currency: 'USD',
    products: [
      {
        product_id: '507f1f77bcf86cd799439011',
        sku: '45790-32',
        name: 'Monopoly: 3rd Edition',
        price: 19,
        quantity: 1,
        category: 'Games',
        url: 'https://www.example.com/product/path',
        image_url: 'https:///www.example.com/product/path.jpg',
      },
      {
        product_id: '505bd76785ebb509fc183733',
        sku: '46493-32',
        name: 'Uno Card Game',
        price: 3,
        quantity: 2,
        category: 'Games',
      },
    ],
  },
  receivedAt: '2026-03-02T14:10:13.211Z',
  sentAt: '2026-03-02T14:10:13.190Z',
  timestamp: '2026-03-02T14:10:13.021Z',
  type: 'track',
  userId: '97980cfea0067',
  version: 2,
};

// ---- RudderStack: the JavaScript SDK's payload as it POSTs it (no server stamps yet) ---

const RUDDER_SESSION = 1772460000000;
const rudderWebContext = {
  app: {
    name: 'RudderLabs JavaScript SDK',
    namespace: 'com.rudderlabs.javascript',
    version: '3.11.0',
    installType: 'npm',
  },
  library: { name: 'RudderLabs JavaScript SDK', version: '3.11.0' },
  campaign: {},
  locale: 'en-US',
  os: { name: '', version: '' },
  page: {
    path: '/cart',
    referrer: 'https://www.estore.com/best-seller/1',
    referring_domain: 'www.estore.com',
    search: '',
    title: 'Your cart',
    url: 'https://www.estore.com/cart',
    tab_url: 'https://www.estore.com/cart',
    initial_referrer: '$direct',
    initial_referring_domain: '',
  },
  screen: { width: 1440, height: 900, density: 2, innerWidth: 1440, innerHeight: 789 },
  sessionId: RUDDER_SESSION,
  timezone: 'GMT+0100',
  traits: {},
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36',
};

const rudderProductRemoved = {
  type: 'track',
  event: 'Product Removed',
  properties: {
    cart_id: 'ksjdj92dj29dj92d2j',
    product_id: '622c6f5d5cf86a4c77358033',
    sku: '8472-998-0112',
    category: 'Games',
    name: 'Cones of Dunshire',
    brand: 'Wyatt Games',
    variant: 'expansion pack',
    price: 49.99,
    quantity: 5,
    coupon: 'PREORDER15',
    position: 1,
    url: 'https://www.website.com/product/path',
    image_url: 'https://www.website.com/product/path.webp',
  },
  anonymousId: '78c53c15-32a1-4b65-adac-bec2d7bb8fab',
  channel: 'web',
  context: rudderWebContext,
  originalTimestamp: '2026-03-02T14:11:05.118Z',
  integrations: { All: true },
  messageId: 'b6b1a4f6-0d4e-4d57-9c55-6a2e7f1d3c21',
  sentAt: '2026-03-02T14:11:05.140Z',
};

const rudderPage = {
  type: 'page',
  name: 'Cart',
  properties: {
    name: 'Cart',
    path: '/cart',
    referrer: 'https://www.estore.com/best-seller/1',
    search: '',
    title: 'Your cart',
    url: 'https://www.estore.com/cart',
  },
  anonymousId: '78c53c15-32a1-4b65-adac-bec2d7bb8fab',
  channel: 'web',
  context: { ...rudderWebContext, sessionStart: true },
  originalTimestamp: '2026-03-02T14:11:00.004Z',
  integrations: { All: true },
  messageId: '0f3c2d1e-7a6b-4c5d-8e9f-a0b1c2d3e4f5',
  sentAt: '2026-03-02T14:11:00.020Z',
};

// ---- RudderStack: as the server forwards it (receivedAt, timestamp, request_ip added) ---

const rudderCheckoutStarted = {
  anonymousId: '78c53c15-32a1-4b65-adac-bec2d7bb8fab',
  channel: 'web',
  context: { ...rudderWebContext, traits: { email: 'alex@example.com' } },
  event: 'Checkout Started',
  integrations: { All: true },
  messageId: '5d8e2f1a-3b4c-4d6e-9f0a-1b2c3d4e5f60',
  originalTimestamp: '2026-03-02T14:12:40.500Z',
  properties: {
    checkout_id: '9bcf000000000000',
    affiliation: 'Apple Store',
    value: 20,
    revenue: 15.0,
    shipping: 22,
    tax: 1,
    discount: 1.5,
    coupon: 'ImagePro',
    currency: 'eur',
    products: [{ product_id: '123', sku: 'G-32', name: 'Monopoly', price: 14, quantity: 1, category: 'Games' }],
  },
  receivedAt: '2026-03-02T14:12:40.870Z',
  request_ip: '192.0.2.10',
  rudderId: 'a9f1c2e3-4b5d-4f6a-8b7c-9d0e1f2a3b4c',
  sentAt: '2026-03-02T14:12:40.560Z',
  timestamp: '2026-03-02T14:12:40.810Z',
  type: 'track',
  userId: 'user_1hKOmRA4el9Zt1WSfVJIVo4GRlm',
};

const rudderOrderCompleted = {
  ...rudderCheckoutStarted,
  event: 'Order Completed',
  messageId: '8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d',
  properties: {
    checkout_id: '9bcf000000000000',
    order_id: 'transactionId',
    affiliation: 'Apple Store',
    total: 30.0,
    subtotal: 22.5,
    revenue: 25.0,
    shipping: 3,
    tax: 2,
    discount: 2.5,
    coupon: 'hasbros',
    currency: 'USD',
    products: [
      {
        product_id: '622c6f5d5cf86a4c77358033',
        sku: '8472-998-0112',
        name: 'Cones of Dunshire',
        price: 49.99,
        quantity: 5,
        category: 'Games',
      },
      {
        product_id: '577c6f5d5cf86a4c7735ba03',
        sku: '3309-483-2201',
        name: 'Five Crowns',
        price: 5.99,
        quantity: 2,
        category: 'Games',
      },
    ],
  },
};

// ---- helpers --------------------------------------------------------------------------

/** Maps a call, asserts it mapped, and asserts the candidate passes the canonical schema. */
function mapped(call: unknown): CanonicalEvent {
  const result = fromSegment(call);
  if (!result.ok) throw new Error(`expected a mapping, got ${result.reason} at '${result.path}'`);
  const parsed = canonicalEvent.safeParse(result.event);
  if (!parsed.success) throw new Error(`candidate fails the canonical schema: ${JSON.stringify(parsed.error.issues)}`);
  expect(parsed.data).toEqual(result.event);
  return parsed.data;
}

function rejected(call: unknown): { reason: string; path: string } {
  const result = fromSegment(call);
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.event)}`);
  return { reason: result.reason, path: result.path };
}

const schema = (path: string) => ({ reason: 'VIGIL_ERR_SCHEMA', path });
const unknownEvent = (path: string) => ({ reason: 'VIGIL_ERR_SEGMENT_UNKNOWN_EVENT', path });

function withProperties<T extends { properties: object }>(call: T, properties: Record<string, unknown>): T {
  return { ...call, properties: { ...call.properties, ...properties } };
}
function without<T extends object>(call: T, ...keys: string[]): Partial<T> {
  const copy = { ...call } as Record<string, unknown>;
  for (const k of keys) delete copy[k];
  return copy as Partial<T>;
}

// ---- mapping --------------------------------------------------------------------------

describe('fromSegment: Segment calls', () => {
  it('maps Product Viewed to product_view, with the skew-corrected timestamp and currency upper-cased', () => {
    expect(mapped(segmentProductViewed)).toEqual({
      id: segmentProductViewed.messageId,
      type: 'product_view',
      customerId: '97980cfea0067',
      ts: SEGMENT_TS,
      campaign: { id: 'spring_sale', channel: 'email' },
      productId: '507f1f77bcf86cd799439011',
      category: 'Games',
      price: 18.99,
      quantity: 1,
      currency: 'USD',
    });
  });

  it('maps Product Added to add_to_cart', () => {
    expect(mapped(segmentProductAdded)).toEqual({
      id: segmentProductAdded.messageId,
      type: 'add_to_cart',
      customerId: '97980cfea0067',
      ts: SEGMENT_TS,
      campaign: { id: 'spring_sale', channel: 'email' },
      productId: '507f1f77bcf86cd799439011',
      category: 'Games',
      price: 18.99,
      quantity: 2,
    });
  });

  it('maps Checkout Started to checkout_started with order_id, ignoring its products', () => {
    expect(mapped(segmentCheckoutStarted)).toEqual({
      id: segmentCheckoutStarted.messageId,
      type: 'checkout_started',
      customerId: '97980cfea0067',
      ts: SEGMENT_TS,
      campaign: { id: 'spring_sale', channel: 'email' },
      orderId: '50314b8e9bcf000000000000',
      currency: 'USD',
      coupon: 'hasbros',
    });
  });

  it('maps Order Completed with products[] to purchase; its value is the sum of price × quantity', () => {
    const e = mapped(segmentOrderCompleted);
    expect(e).toEqual({
      id: segmentOrderCompleted.messageId,
      type: 'purchase',
      customerId: '97980cfea0067',
      ts: Date.parse('2026-03-02T14:10:13.021Z'),
      orderId: '50314b8e9bcf000000000000',
      coupon: 'hasbros',
      currency: 'USD',
      items: [
        { productId: '507f1f77bcf86cd799439011', price: 19, quantity: 1, category: 'Games' },
        { productId: '505bd76785ebb509fc183733', price: 3, quantity: 2, category: 'Games' },
      ],
    });
    if (e.type !== 'purchase') throw new Error('not a purchase');
    expect(orderRevenue(e)).toBe(19 * 1 + 3 * 2);
  });

  it('maps a page call to page_view', () => {
    expect(mapped(segmentPage)).toEqual({
      id: segmentPage.messageId,
      type: 'page_view',
      customerId: '97980cfea0067',
      ts: SEGMENT_TS,
      campaign: { id: 'spring_sale', channel: 'email' },
    });
  });
});

describe('fromSegment: RudderStack calls', () => {
  it('maps an SDK payload: Product Removed, anonymous, numeric context.sessionId, originalTimestamp as ts', () => {
    expect(mapped(rudderProductRemoved)).toEqual({
      id: rudderProductRemoved.messageId,
      type: 'remove_from_cart',
      customerId: 'anon:78c53c15-32a1-4b65-adac-bec2d7bb8fab',
      ts: Date.parse('2026-03-02T14:11:05.118Z'),
      sessionId: String(RUDDER_SESSION),
      productId: '622c6f5d5cf86a4c77358033',
      category: 'Games',
      price: 49.99,
      quantity: 5,
    });
  });

  it('maps a page call to page_view with the session', () => {
    expect(mapped(rudderPage)).toEqual({
      id: rudderPage.messageId,
      type: 'page_view',
      customerId: 'anon:78c53c15-32a1-4b65-adac-bec2d7bb8fab',
      ts: Date.parse('2026-03-02T14:11:00.004Z'),
      sessionId: String(RUDDER_SESSION),
    });
  });

  it('maps a server-stamped Checkout Started: ts from timestamp, orderId from checkout_id', () => {
    expect(mapped(rudderCheckoutStarted)).toEqual({
      id: rudderCheckoutStarted.messageId,
      type: 'checkout_started',
      customerId: 'user_1hKOmRA4el9Zt1WSfVJIVo4GRlm',
      ts: Date.UTC(2026, 2, 2, 14, 12, 40, 810),
      sessionId: String(RUDDER_SESSION),
      orderId: '9bcf000000000000',
      currency: 'EUR',
      coupon: 'ImagePro',
    });
  });

  it('maps Order Completed: order_id wins over checkout_id; value is the sum of the items', () => {
    const e = mapped(rudderOrderCompleted);
    if (e.type !== 'purchase') throw new Error('not a purchase');
    expect(e.orderId).toBe('transactionId');
    expect(e.items).toEqual([
      { productId: '622c6f5d5cf86a4c77358033', price: 49.99, quantity: 5, category: 'Games' },
      { productId: '577c6f5d5cf86a4c7735ba03', price: 5.99, quantity: 2, category: 'Games' },
    ]);
    expect(orderRevenue(e)).toBeCloseTo(49.99 * 5 + 5.99 * 2, 10);
  });
});

describe('fromSegment: field rules', () => {
  it('without products, an order becomes one item priced at revenue, else total', () => {
    const noProducts = without(segmentOrderCompleted, 'properties');
    const byRevenue = mapped({
      ...noProducts,
      properties: { order_id: 'o-17', revenue: 25, total: 27.5, currency: 'gbp' },
    });
    expect(byRevenue).toMatchObject({
      type: 'purchase',
      orderId: 'o-17',
      currency: 'GBP',
      items: [{ productId: 'o-17', price: 25, quantity: 1 }],
    });
    const byTotal = mapped({ ...noProducts, properties: { order_id: 'o-18', total: 27.5, products: [] } });
    expect(byTotal).toMatchObject({ items: [{ productId: 'o-18', price: 27.5, quantity: 1 }] });
    expect(rejected({ ...noProducts, properties: { order_id: 'o-19', products: [] } })).toEqual(
      schema('properties.products'),
    );
  });

  it('takes productId from product_id, else sku, else id; numbers become strings; empty strings count as absent', () => {
    const productOf = (p: Record<string, unknown>) =>
      (
        mapped(withProperties(segmentProductViewed, { product_id: undefined, sku: undefined, ...p })) as {
          productId: string;
        }
      ).productId;
    expect(productOf({ product_id: 9714107479, sku: 'SEG-02' })).toBe('9714107479');
    expect(productOf({ product_id: '', sku: 'SEG-02' })).toBe('SEG-02');
    expect(productOf({ product_id: null, id: 'v1-id' })).toBe('v1-id');
    expect(rejected(withProperties(segmentProductViewed, { product_id: undefined, sku: undefined }))).toEqual(
      schema('properties.product_id'),
    );
    expect(rejected(without(segmentProductViewed, 'properties'))).toEqual(schema('properties.product_id'));
    expect(rejected(withProperties(segmentProductViewed, { product_id: 1.5 }))).toEqual(
      schema('properties.product_id'),
    );
  });

  it('defaults quantity to 1 and leaves price and category out when absent', () => {
    const e = mapped(withProperties(segmentProductAdded, { quantity: undefined, price: undefined, category: '' }));
    expect(e).toMatchObject({ quantity: 1 });
    expect(e).not.toHaveProperty('price');
    expect(e).not.toHaveProperty('category');
  });

  it('takes sessionId from context.sessionId, else properties.session_id', () => {
    expect(mapped(withProperties(segmentPage, { session_id: 'sess-42' }))).toMatchObject({ sessionId: 'sess-42' });
    expect(mapped(withProperties(rudderPage, { session_id: 'ignored' }))).toMatchObject({
      sessionId: String(RUDDER_SESSION),
    });
  });

  it('rejects mistyped fields at the Segment path', () => {
    expect(rejected(withProperties(segmentProductViewed, { price: '18.99' }))).toEqual(schema('properties.price'));
    const products = [...segmentOrderCompleted.properties.products];
    expect(
      rejected(withProperties(segmentOrderCompleted, { products: [products[0], { ...products[1], price: '3.00' }] })),
    ).toEqual(schema('properties.products.1.price'));
    expect(
      rejected(
        withProperties(segmentOrderCompleted, { products: [products[0], { ...products[1], price: undefined }] }),
      ),
    ).toEqual(schema('properties.products.1.price'));
    expect(rejected(withProperties(segmentOrderCompleted, { products: [{ name: 'no id', price: 1 }] }))).toEqual(
      schema('properties.products.0.product_id'),
    );
    expect(rejected({ ...segmentProductViewed, context: { sessionId: true } })).toEqual(schema('context.sessionId'));
  });

  it('rejects an order without order_id or checkout_id, and one with more products than an order may hold', () => {
    expect(rejected(withProperties(segmentOrderCompleted, { order_id: undefined, checkout_id: undefined }))).toEqual(
      schema('properties.order_id'),
    );
    const many = Array.from({ length: 101 }, (_, i) => ({ product_id: `p${i}`, price: 1 }));
    expect(rejected(withProperties(segmentOrderCompleted, { products: many }))).toEqual(schema('properties.products'));
  });
});

describe('fromSegment: campaigns and coupons (issue 22)', () => {
  const promotion = (event: string, properties: Record<string, unknown>) => ({
    ...without(segmentProductViewed, 'properties'),
    event,
    properties,
  });

  it('takes the campaign from context.campaign (UTM): name, medium else source; none without a name', () => {
    const withUtm = (campaign: unknown) => mapped({ ...segmentPage, context: { ...segmentBrowserContext, campaign } });
    expect(withUtm({ name: 'spring_sale', source: 'newsletter', medium: 'email' }).campaign).toEqual({
      id: 'spring_sale',
      channel: 'email',
    });
    expect(withUtm({ name: 'spring_sale', source: 'newsletter' }).campaign).toEqual({
      id: 'spring_sale',
      channel: 'newsletter',
    });
    expect(withUtm({ name: 'spring_sale' }).campaign).toEqual({ id: 'spring_sale' });
    expect(withUtm({ source: 'google', medium: 'cpc' }).campaign).toBeUndefined();
    expect(withUtm({}).campaign).toBeUndefined();
    expect(rejected({ ...segmentPage, context: { campaign: { name: 7 } } })).toEqual(schema('context.campaign.name'));
    // The RudderStack SDK sends an empty campaign object: no campaign.
    expect(mapped(rudderCheckoutStarted).campaign).toBeUndefined();
  });

  it('maps Promotion Viewed / Clicked to a page view whose campaign is the promotion', () => {
    for (const event of ['Promotion Viewed', 'Promotion Clicked']) {
      const e = mapped(
        promotion(event, {
          promotion_id: 'promo_1',
          creative: 'top_banner',
          name: '75% store-wide shoe sale',
          position: 'home_banner_top',
        }),
      );
      expect(e).toMatchObject({
        type: 'page_view',
        customerId: '97980cfea0067',
        campaign: { id: 'promo_1', channel: 'promotion' },
      });
      expect(mapped(promotion(event, { name: 'summer' })).campaign).toEqual({ id: 'summer', channel: 'promotion' });
      expect(rejected(promotion(event, { creative: 'x' }))).toEqual(schema('properties.promotion_id'));
    }
  });

  it('maps Coupon Applied to a page view carrying the coupon; coupon on checkouts and orders', () => {
    const e = mapped(
      promotion('Coupon Applied', {
        order_id: '50314b8e9bcf000000000000',
        cart_id: '923c',
        coupon_id: 'may_deals_2016',
        coupon_name: 'May Deals 2016',
        discount: 23.32,
      }),
    );
    expect(e).toMatchObject({
      type: 'page_view',
      coupon: 'may_deals_2016',
      campaign: { id: 'spring_sale', channel: 'email' },
    });
    expect(mapped(promotion('Coupon Applied', { coupon_name: 'May Deals 2016' })).coupon).toBe('May Deals 2016');
    expect(rejected(promotion('Coupon Applied', { discount: 1 }))).toEqual(schema('properties.coupon_id'));
    expect(mapped(segmentOrderCompleted).coupon).toBe('hasbros');
    // Product events carry no coupon (a product's coupon is not an applied one).
    expect(mapped(segmentProductViewed).coupon).toBeUndefined();
  });

  it('the mapped events pass the canonical schema, and a campaign id past its bound is rejected there', () => {
    const e = mapped(promotion('Promotion Clicked', { promotion_id: 'promo_1' }));
    expect(canonicalEvent.safeParse(e).success).toBe(true);
    const long = fromSegment({ ...segmentPage, context: { campaign: { name: 'x'.repeat(200) } } });
    if (!long.ok) throw new Error('the adapter leaves bounds to the canonical schema');
    const r = canonicalEvent.safeParse(long.event);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['campaign', 'id']);
  });
});

describe('fromSegment: unknown events and missing ids', () => {
  it('rejects track events it does not map at path event', () => {
    for (const event of [
      'Product List Viewed',
      'Cart Viewed',
      'Order Refunded',
      'Product Reviewed',
      'product viewed',
    ]) {
      expect(rejected({ ...segmentProductViewed, event })).toEqual(unknownEvent('event'));
    }
  });

  it('rejects other Segment call types at path type', () => {
    const identify = {
      ...without(segmentPage, 'properties', 'name'),
      type: 'identify',
      traits: { email: 'alex@example.com' },
    };
    expect(rejected(identify)).toEqual(unknownEvent('type'));
    expect(rejected({ ...segmentPage, type: 'screen' })).toEqual(unknownEvent('type'));
  });

  it('rejects a track call without an event name as a schema error', () => {
    expect(rejected(without(segmentProductViewed, 'event'))).toEqual(schema('event'));
    expect(rejected({ ...segmentProductViewed, event: 42 })).toEqual(schema('event'));
  });

  it('rejects a missing or empty messageId at path messageId', () => {
    expect(rejected(without(segmentProductViewed, 'messageId'))).toEqual(schema('messageId'));
    expect(rejected({ ...segmentProductViewed, messageId: '' })).toEqual(schema('messageId'));
  });

  it('rejects a call with neither userId nor anonymousId at path userId', () => {
    expect(rejected(without(segmentProductViewed, 'userId', 'anonymousId'))).toEqual(schema('userId'));
    expect(rejected({ ...segmentProductViewed, userId: null, anonymousId: '' })).toEqual(schema('userId'));
  });

  it('rejects what is not an object', () => {
    for (const v of [null, 'track', 42, [segmentPage]]) expect(fromSegment(v).ok).toBe(false);
  });
});

describe('fromSegment: anonymous users', () => {
  it('prefixes anonymousId, and prefers userId when both are present', () => {
    expect(mapped(without(segmentProductViewed, 'userId')).customerId).toBe(
      `${ANONYMOUS_PREFIX}507f191e810c19729de860ea`,
    );
    expect(mapped({ ...segmentProductViewed, userId: null }).customerId).toBe('anon:507f191e810c19729de860ea');
    expect(mapped({ ...rudderProductRemoved, userId: '' }).customerId).toBe(
      'anon:78c53c15-32a1-4b65-adac-bec2d7bb8fab',
    );
    expect(mapped(segmentProductViewed).customerId).toBe('97980cfea0067');
  });

  it('keeps anonymous and user ids apart: a userId with the anonymous prefix is rejected', () => {
    const asUser = mapped({ ...segmentPage, userId: '507f191e810c19729de860ea' }).customerId;
    const asAnonymous = mapped(without(segmentPage, 'userId')).customerId;
    expect(asUser).not.toBe(asAnonymous);
    expect(rejected({ ...segmentPage, userId: 'anon:507f191e810c19729de860ea' })).toEqual(schema('userId'));
  });
});

describe('fromSegment: timestamps', () => {
  it('without timestamp, applies the spec formula receivedAt − (sentAt − originalTimestamp)', () => {
    expect(mapped(without(segmentProductViewed, 'timestamp')).ts).toBe(SEGMENT_TS);
  });

  it('without timestamp or receivedAt, uses originalTimestamp; sentAt alone is not an event time', () => {
    expect(mapped(without(segmentProductViewed, 'timestamp', 'receivedAt')).ts).toBe(
      Date.parse(segmentTimes.originalTimestamp),
    );
    expect(rejected(without(segmentProductViewed, 'timestamp', 'originalTimestamp'))).toEqual(schema('timestamp'));
    expect(rejected(without(rudderProductRemoved, 'originalTimestamp'))).toEqual(schema('timestamp'));
  });

  it('rejects an unparsable timestamp at its own path, without falling back', () => {
    for (const bad of [
      'yesterday',
      '',
      '2026-03-02',
      '2026-03-02T14:07:31',
      '2026-13-02T14:07:31Z',
      'Mon, 02 Mar 2026 14:07:31 GMT',
      '1772460451730',
    ]) {
      expect(rejected({ ...segmentProductViewed, timestamp: bad })).toEqual(schema('timestamp'));
    }
    expect(rejected({ ...segmentProductViewed, timestamp: 1772460451730 })).toEqual(schema('timestamp'));
    expect(rejected({ ...rudderProductRemoved, originalTimestamp: 'not a date' })).toEqual(schema('originalTimestamp'));
    expect(rejected({ ...without(segmentProductViewed, 'timestamp'), sentAt: 'soon' })).toEqual(schema('sentAt'));
    expect(rejected({ ...without(segmentProductViewed, 'timestamp'), receivedAt: 'later' })).toEqual(
      schema('receivedAt'),
    );
  });

  it('accepts ISO 8601 with offsets, without seconds, and with microseconds', () => {
    expect(mapped({ ...segmentPage, timestamp: '2026-03-02T15:07:31.730+01:00' }).ts).toBe(SEGMENT_TS);
    expect(mapped({ ...segmentPage, timestamp: '2026-03-02T15:07:31.730+0100' }).ts).toBe(SEGMENT_TS);
    expect(mapped({ ...segmentPage, timestamp: '2026-03-02T14:07:31.730421Z' }).ts).toBe(SEGMENT_TS);
    expect(mapped({ ...segmentPage, timestamp: '2026-03-02T14:07Z' }).ts).toBe(Date.UTC(2026, 2, 2, 14, 7));
  });

  it('leaves the range check to the canonical schema', () => {
    const result = fromSegment({ ...segmentPage, timestamp: '1970-01-01T00:00:00Z' });
    expect(result).toMatchObject({ ok: true, event: { ts: 0 } });
    if (result.ok) expect(canonicalEvent.safeParse(result.event).success).toBe(false);
  });
});

describe('fromSegment: rejection paths', () => {
  const marker = fc.string({ maxLength: 12 }).map((s) => `§${s}`);
  const field = fc.constantFrom(
    'messageId',
    'userId',
    'anonymousId',
    'timestamp',
    'originalTimestamp',
    'event',
    'type',
    'properties.product_id',
    'properties.price',
    'properties.currency',
    'context.sessionId',
  );
  const inject = (call: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> => {
    const [head, tail] = path.split('.') as [string, string | undefined];
    if (tail === undefined) return { ...call, [head]: value };
    return { ...call, [head]: { ...(call[head] as object), [tail]: value } };
  };

  it('never carry an input value', () => {
    fc.assert(
      fc.property(
        field,
        fc.oneof(
          marker,
          marker.map((s) => [s]),
          marker.map((s) => ({ [s]: s })),
        ),
        (path, value) => {
          const result = fromSegment(inject(segmentProductViewed, path, value));
          if (!result.ok) {
            expect(result.path).not.toContain('§');
            expect(result.path).toMatch(/^[A-Za-z_]+(\.[A-Za-z_0-9]+)*$/);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---- recognition ----------------------------------------------------------------------

const canonicalSamples: CanonicalEvent[] = [
  { id: 'e1', type: 'page_view', customerId: 'c1', ts: SEGMENT_TS },
  { id: 'e2', type: 'product_view', customerId: 'c1', ts: SEGMENT_TS, productId: 'p1', price: 3 },
  { id: 'e3', type: 'add_to_cart', customerId: 'c1', ts: SEGMENT_TS, productId: 'p1', quantity: 2 },
  { id: 'e4', type: 'remove_from_cart', customerId: 'c1', ts: SEGMENT_TS, productId: 'p1' },
  { id: 'e5', type: 'checkout_started', customerId: 'c1', ts: SEGMENT_TS, orderId: 'o1' },
  {
    id: 'e6',
    type: 'purchase',
    customerId: 'c1',
    ts: SEGMENT_TS,
    orderId: 'o1',
    currency: 'USD',
    items: [{ productId: 'p1', price: 3, quantity: 1 }],
  },
  { id: 'e7', type: 'feedback', customerId: 'c1', ts: SEGMENT_TS, rating: 4 },
];

const keyArb = fc.string({ minLength: 1, maxLength: 128 });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const money = fc.double({ min: 0, max: 1e9, noNaN: true });
const quantity = fc.integer({ min: 1, max: 10_000 });
const category = fc.string({ minLength: 1, maxLength: 64 });
const baseFields = {
  id: keyArb,
  customerId: keyArb,
  ts: fc.integer({ min: MIN_TS, max: MAX_TS }),
  sessionId: maybe(keyArb),
  currency: maybe(fc.constantFrom('USD', 'EUR', 'GBP', 'JPY', 'CHF')),
};
const productFields = { productId: keyArb, category: maybe(category), price: maybe(money), quantity: maybe(quantity) };
const withoutUndefined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const validCanonical = fc
  .oneof(
    fc.record({ ...baseFields, type: fc.constant('page_view') }),
    fc.record({
      ...baseFields,
      ...productFields,
      type: fc.constantFrom('product_view', 'add_to_cart', 'remove_from_cart'),
    }),
    fc.record({ ...baseFields, type: fc.constant('checkout_started'), orderId: maybe(keyArb) }),
    fc.record({
      ...baseFields,
      type: fc.constant('purchase'),
      orderId: keyArb,
      items: fc.array(
        fc.record({ productId: keyArb, category: maybe(category), price: money, quantity }).map(withoutUndefined),
        { minLength: 1, maxLength: 5 },
      ),
    }),
    fc.record({
      ...baseFields,
      type: fc.constant('feedback'),
      productId: maybe(keyArb),
      rating: fc.integer({ min: 1, max: 5 }),
      complaint: maybe(fc.boolean()),
    }),
  )
  .map(withoutUndefined);
/** Unknown fields a canonical producer might add, including Segment's own names. */
const extraFields = fc.dictionary(
  fc.constantFrom(
    'messageId',
    'event',
    'userId',
    'anonymousId',
    'properties',
    'context',
    'timestamp',
    'integrations',
    'note',
  ),
  fc.oneof(fc.string(), fc.constant('track'), fc.integer(), fc.constant(null)),
);

describe('isSegmentMessage', () => {
  it('is true for Segment and RudderStack calls, including call types that are not mapped', () => {
    const calls = [
      segmentProductViewed,
      segmentProductAdded,
      segmentCheckoutStarted,
      segmentOrderCompleted,
      segmentPage,
      rudderProductRemoved,
      rudderPage,
      rudderCheckoutStarted,
      rudderOrderCompleted,
    ];
    for (const call of calls) expect(isSegmentMessage(call)).toBe(true);
    expect(isSegmentMessage({ ...segmentPage, type: 'identify' })).toBe(true);
    expect(isSegmentMessage(without(segmentProductViewed, 'messageId'))).toBe(true);
  });

  it('is false for canonical events and for what is neither', () => {
    for (const e of canonicalSamples) expect(isSegmentMessage(e)).toBe(false);
    for (const v of [
      null,
      undefined,
      'track',
      7,
      [],
      [segmentPage],
      {},
      { type: 'track', customerId: 'c1' },
      { messageId: 'm', type: 'purchase' },
    ]) {
      expect(isSegmentMessage(v)).toBe(false);
    }
  });

  it('never classifies a valid canonical event as Segment, whatever unknown fields it carries', () => {
    fc.assert(
      fc.property(validCanonical, extraFields, (event, extra) => {
        const withExtra = { ...extra, ...event };
        expect(canonicalEvent.safeParse(withExtra).success).toBe(true);
        expect(isSegmentMessage(withExtra)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
