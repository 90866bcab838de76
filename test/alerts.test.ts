import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MAX_CART_ITEMS,
  MAX_REASON_LENGTH,
  MAX_REASONS,
  MAX_RECOMMENDATIONS,
  alertSchema,
  alertTypes,
  customerAlertTypes,
  type CustomerAlertType,
  isMarketingFacing,
  marketingAlertTypes,
  severityRank,
  type AlertDraft,
  type AlertType,
} from '../src/alerts/alert.js';
import { alertId, occasionOf, withAlertId, type AlertIdInputs } from '../src/alerts/alert-id.js';
import { alertsConfig, policiesByType, type AlertPolicy } from '../src/alerts/config.js';
import { AlertCooldowns } from '../src/alerts/cooldown.js';
import { SuppressionList, loadSuppressionFile } from '../src/alerts/suppression.js';
import { isVigilError } from '../src/core/errors.js';

const TS = Date.UTC(2024, 4, 1, 12);
const DAY = 86_400_000;

const drafts: Record<AlertType, AlertDraft> = {
  'churn.risk': {
    type: 'churn.risk',
    customerId: 'c-1',
    ts: TS,
    severity: 'warning',
    score: 0.82,
    reasons: ['P(alive) fell to 0.18', 'no purchase for 94 days, usually every 21'],
    segment: 'at_risk',
    data: {
      pAlive: 0.18,
      expectedPurchases: 0.3,
      horizonMs: 90 * DAY,
      clv: 120.5,
      lastPurchaseTs: TS - 94 * DAY,
      rule: 'bgnbd_p_alive',
    },
  },
  'value.tier_changed': {
    type: 'value.tier_changed',
    customerId: 'c-1',
    ts: TS,
    severity: 'info',
    score: 0.6,
    reasons: ['predicted CLV rose above the gold threshold'],
    segment: null,
    data: { from: 'silver', to: 'gold', clv: 1500 },
  },
  'segment.changed': {
    type: 'segment.changed',
    customerId: 'c-1',
    ts: TS,
    severity: 'info',
    score: 0.5,
    reasons: ['recency dropped from 5 to 3'],
    segment: 'needs_attention',
    data: { from: 'champions', to: 'needs_attention', r: 3, f: 5, m: 4 },
  },
  'cart.abandoned': {
    type: 'cart.abandoned',
    customerId: 'c-1',
    ts: TS,
    severity: 'warning',
    score: 0.7,
    reasons: ['session ended with 2 items in the cart'],
    segment: null,
    data: {
      items: [{ productId: 'p-1' }, { productId: 'p-2' }],
      quantity: 3,
      sessionEnd: TS - 3_600_000,
      recommendations: ['p-3'],
    },
  },
  'recommendation.cross_sell': {
    type: 'recommendation.cross_sell',
    customerId: 'c-1',
    ts: TS,
    severity: 'info',
    score: 0.4,
    reasons: ['often bought together with p-1'],
    segment: 'champions',
    data: { orderId: 'o-7', basedOn: ['p-1'], recommendations: [{ productId: 'p-4', score: 0.31 }] },
  },
  'demand.spike': {
    type: 'demand.spike',
    customerId: null,
    ts: TS,
    severity: 'warning',
    score: 0.97,
    reasons: [
      'units in drinks for the day from 2024-04-30T12:00:00.000Z: 140, above the 95 % interval 80–120 of its forecast 100',
    ],
    segment: null,
    data: {
      category: 'drinks',
      granularity: 'daily',
      measure: 'units',
      bucketStart: TS - DAY,
      bucketMs: DAY,
      actual: 140,
      forecast: 100,
      lo95: 80,
      hi95: 120,
    },
  },
  'demand.drop': {
    type: 'demand.drop',
    customerId: null,
    ts: TS,
    severity: 'warning',
    score: 0.99,
    reasons: [
      'units in _all for the day from 2024-04-30T12:00:00.000Z: 10, below the 95 % interval 80–120 of its forecast 100',
    ],
    segment: null,
    data: {
      category: '_all',
      granularity: 'daily',
      measure: 'units',
      bucketStart: TS - DAY,
      bucketMs: DAY,
      actual: 10,
      forecast: 100,
      lo95: 80,
      hi95: 120,
    },
  },
  'campaign.report': {
    type: 'campaign.report',
    customerId: null,
    ts: TS,
    severity: 'info',
    score: 0.9,
    reasons: ['summer: 120 first-time and 30 returning buyers of 900 reached'],
    segment: null,
    data: {
      campaign: 'summer',
      asOf: TS,
      final: true,
      level: 0.95,
      firstSeen: TS - 120 * DAY,
      lastSeen: TS - 90 * DAY,
      reached: 900,
      converted: 150,
      firstTimeBuyers: 120,
      returningBuyers: 30,
      revenuePerCustomer: 41.5,
      repeat: [
        {
          days: 90,
          eligible: 120,
          baselineEligible: 400,
          campaignRate: { estimate: 0.4, lo: 0.32, hi: 0.49 },
          baselineRate: { estimate: 0.3, lo: 0.26, hi: 0.35 },
          uplift: { estimate: 0.1, lo: 0.003, hi: 0.19 },
          supported: true,
        },
      ],
      verdict: 'uplift',
    },
  },
};

/** A valid alert of the type as plain JSON data, to break in one place. */
function goodJson(type: AlertType): any {
  return structuredClone(withAlertId(drafts[type]));
}

function issuePaths(value: unknown): string[] {
  const r = alertSchema.safeParse(value);
  expect(r.success).toBe(false);
  return r.error!.issues.map((i) => i.path.join('.'));
}

describe('alert schema', () => {
  it('accepts a well-formed alert of every type, equal to itself after parsing', () => {
    for (const type of alertTypes) {
      const alert = withAlertId(drafts[type]);
      expect(alertSchema.parse(alert)).toEqual(alert);
      expect(alert.id.startsWith(`${type}:`)).toBe(true);
    }
  });

  it('rejects bad alerts and names the path', () => {
    const cases: [any, string][] = [
      [{ ...goodJson('churn.risk'), type: 'churn.maybe' }, 'type'],
      [{ ...goodJson('churn.risk'), id: 'nope' }, 'id'],
      [{ ...goodJson('churn.risk'), id: goodJson('cart.abandoned').id }, 'id'], // another type's id
      [{ ...goodJson('churn.risk'), score: 1.5 }, 'score'],
      [{ ...goodJson('churn.risk'), ts: TS + 0.5 }, 'ts'],
      [{ ...goodJson('churn.risk'), customerId: '' }, 'customerId'],
      [{ ...goodJson('churn.risk'), customerId: null }, 'customerId'],
      [{ ...goodJson('demand.spike'), customerId: 'c-1' }, 'customerId'],
      [
        { ...goodJson('demand.drop'), data: { ...goodJson('demand.drop').data, granularity: 'weekly' } },
        'data.granularity',
      ],
      [{ ...goodJson('churn.risk'), severity: 'panic' }, 'severity'],
      [{ ...goodJson('churn.risk'), reasons: [] }, 'reasons'],
      [{ ...goodJson('churn.risk'), reasons: ['ok', ''] }, 'reasons.1'],
      [{ ...goodJson('churn.risk'), segment: 'At Risk' }, 'segment'],
      [{ ...goodJson('churn.risk'), extra: 1 }, ''],
      [{ ...goodJson('churn.risk'), data: { ...goodJson('churn.risk').data, pAlive: -0.1 } }, 'data.pAlive'],
      [{ ...goodJson('value.tier_changed'), data: { from: 'gold', to: 'gold', clv: 1 } }, 'data.to'],
      [{ ...goodJson('segment.changed'), data: { ...goodJson('segment.changed').data, r: 6 } }, 'data.r'],
      [{ ...goodJson('cart.abandoned'), data: { ...goodJson('cart.abandoned').data, items: [] } }, 'data.items'],
      [
        { ...goodJson('cart.abandoned'), data: { ...goodJson('cart.abandoned').data, recommendations: ['p', 'p'] } },
        'data.recommendations',
      ],
      [
        {
          ...goodJson('recommendation.cross_sell'),
          data: { ...goodJson('recommendation.cross_sell').data, orderId: undefined },
        },
        'data.orderId',
      ],
    ];
    for (const [value, path] of cases) expect(issuePaths(value), JSON.stringify(value)).toContain(path);
  });

  it('bounds reasons, cart items and recommendations', () => {
    const tooManyReasons = { ...goodJson('churn.risk'), reasons: Array.from({ length: MAX_REASONS + 1 }, () => 'r') };
    expect(issuePaths(tooManyReasons)).toContain('reasons');
    const longReason = { ...goodJson('churn.risk'), reasons: ['x'.repeat(MAX_REASON_LENGTH + 1)] };
    expect(issuePaths(longReason)).toContain('reasons.0');
    const cart = goodJson('cart.abandoned');
    cart.data.items = Array.from({ length: MAX_CART_ITEMS + 1 }, (_, i) => ({ productId: `p${i}`, quantity: 1 }));
    expect(issuePaths(cart)).toContain('data.items');
    const cross = goodJson('recommendation.cross_sell');
    cross.data.recommendations = Array.from({ length: MAX_RECOMMENDATIONS + 1 }, (_, i) => ({
      productId: `p${i}`,
      score: 1,
    }));
    expect(issuePaths(cross)).toContain('data.recommendations');
    const exact = goodJson('churn.risk');
    exact.reasons = Array.from({ length: MAX_REASONS }, () => 'y'.repeat(MAX_REASON_LENGTH));
    expect(alertSchema.safeParse(exact).success).toBe(true);
  });

  it('classifies every type as marketing or ops, and orders severities', () => {
    // Demand and campaign reports are about a category or a campaign, never a customer: ops only.
    expect([...marketingAlertTypes].sort()).toEqual(
      alertTypes.filter((t) => !t.startsWith('demand.') && t !== 'campaign.report').sort(),
    );
    expect(severityRank.info < severityRank.warning && severityRank.warning < severityRank.critical).toBe(true);
  });
});

describe('alert ids', () => {
  it('are pinned: changing the derivation would break de-duplication of replays across versions', () => {
    expect(withAlertId(drafts['churn.risk']).id).toBe(PINNED_CHURN_ID);
  });

  it('depend on the occasion, not on scores, reasons or model outputs', () => {
    const base = drafts['churn.risk'];
    const id = withAlertId(base).id;
    expect(withAlertId(structuredClone(base)).id).toBe(id);
    const rescored = {
      ...base,
      score: 0.9,
      severity: 'critical',
      reasons: ['refitted'],
      data: { ...(base.data as any), pAlive: 0.1 },
    } as AlertDraft;
    expect(withAlertId(rescored).id).toBe(id);
    expect(withAlertId({ ...base, ts: base.ts + 1 }).id).not.toBe(id);
    expect(withAlertId({ ...base, customerId: 'c-2' } as AlertDraft).id).not.toBe(id);
    expect(
      withAlertId({ ...base, data: { ...(base.data as any), rule: 'purchase_gap_overdue' } } as AlertDraft).id,
    ).not.toBe(id);
    expect(occasionOf(drafts['cart.abandoned'])).toEqual([TS - 3_600_000]);
    expect(occasionOf(drafts['recommendation.cross_sell'])).toEqual(['o-7']);
    expect(occasionOf(drafts['segment.changed'])).toEqual(['champions', 'needs_attention']);
    expect(occasionOf(drafts['demand.spike'])).toEqual(['drinks', 'daily', 'units']);
    // Demand alerts of two series at the same instant are two alerts.
    const spike = drafts['demand.spike'] as Extract<AlertDraft, { type: 'demand.spike' }>;
    expect(withAlertId({ ...spike, data: { ...spike.data, category: 'food' } }).id).not.toBe(withAlertId(spike).id);
  });

  // Strings rich in the characters a naive encoding would confuse: separators, quotes, escapes.
  const tricky = fc.string({
    unit: fc.constantFrom('a', 'b', ':', '|', ',', '"', '\\', '[', ']', '\u0000', 'é'),
    maxLength: 6,
  });
  const inputs: fc.Arbitrary<AlertIdInputs> = fc.record({
    type: fc.constantFrom(...alertTypes),
    customerId: tricky,
    ts: fc.integer({ min: 0, max: 4 }),
    occasion: fc.array(fc.oneof(tricky, fc.integer({ min: 0, max: 3 })), { maxLength: 3 }),
  });

  it('are equal exactly when the inputs are (fast-check)', () => {
    fc.assert(
      fc.property(inputs, inputs, (a, b) => {
        const same =
          JSON.stringify(a) ===
          JSON.stringify({ type: b.type, customerId: b.customerId, ts: b.ts, occasion: b.occasion });
        expect(alertId(a) === alertId(b)).toBe(same);
        expect(alertId(a)).toBe(alertId(structuredClone(a)));
      }),
      { numRuns: 2000 },
    );
  });

  it('differ when any one input changes (fast-check)', () => {
    fc.assert(
      fc.property(inputs, tricky, fc.nat(3), (a, s, which) => {
        const next = alertTypes[(alertTypes.indexOf(a.type) + 1) % alertTypes.length]!;
        const b: AlertIdInputs =
          which === 0
            ? { ...a, customerId: a.customerId + s + 'x' }
            : which === 1
              ? { ...a, ts: a.ts + 1 }
              : which === 2
                ? { ...a, occasion: [...a.occasion, s] }
                : { ...a, type: next };
        expect(alertId(b)).not.toBe(alertId(a));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('alert ids, built without JSON.stringify', () => {
  // The reference derivation, as documented in alert-id.ts: SHA-256 of the JSON array.
  const reference = (i: AlertIdInputs): string =>
    `${i.type}:${createHash('sha256')
      .update(JSON.stringify(['vigil.alert.v1', i.type, i.customerId, i.ts, ...i.occasion]))
      .digest('hex')
      .slice(0, 32)}`;
  // Any string (lone surrogates and control characters included) and any number (−0, NaN, ±∞, exponents).
  const anyString = fc.string({ unit: 'binary', maxLength: 12 });
  const anyNumber = fc.oneof(
    fc.double(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.integer({ min: 0, max: 2 ** 21 }).map((k) => 1e8 * k + (k % 7) * 1e7), // halves with leading zeros in the low one
    fc.constantFrom(-0, NaN, Infinity, -Infinity, 1e21, 1e-7, 1e8, 1e8 - 1, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2),
  );
  const anyInputs: fc.Arbitrary<AlertIdInputs> = fc.record({
    type: fc.constantFrom(...alertTypes),
    customerId: anyString,
    ts: anyNumber,
    occasion: fc.array(fc.oneof(anyString, anyNumber), { maxLength: 4 }),
  });

  it('equal the SHA-256 of the JSON array for any strings and numbers (fast-check)', () => {
    fc.assert(
      fc.property(anyInputs, (i) => {
        expect(alertId(i)).toBe(reference(i));
      }),
      { numRuns: 3000 },
    );
  });

  it('equal it for the strings JSON escapes and the ones it leaves alone', () => {
    const strings = [
      '',
      'c-1',
      '"',
      '\\',
      'a"b',
      '\u0000',
      '\u001f',
      ' ',
      '\u007f',
      '\u2028',
      '\u2029',
      '\ud7ff',
      '\ud800',
      '\udfff',
      '\ue000',
      '😀',
      'x\ud83d',
      '\ude00y',
      'é',
      '\n\t',
    ];
    for (const customerId of strings) {
      for (const part of strings) {
        const i: AlertIdInputs = {
          type: 'recommendation.cross_sell',
          customerId,
          ts: 1_735_689_600_000,
          occasion: [part],
        };
        expect(alertId(i), JSON.stringify([customerId, part])).toBe(reference(i));
      }
    }
  });

  it("withAlertId gives a draft's alertId and the fields of { id, ...draft }, in that order (fast-check)", () => {
    const label = fc.stringMatching(/^[a-z][a-z0-9_]{0,31}$/);
    const draft: fc.Arbitrary<AlertDraft> = fc
      .record({
        type: fc.constantFrom(...alertTypes),
        customerId: anyString,
        ts: anyNumber,
        rule: label,
        from: label,
        to: label,
        sessionEnd: anyNumber,
        orderId: anyString,
      })
      .map(({ type, customerId, ts, rule, from, to, sessionEnd, orderId }) => {
        const base = structuredClone(drafts[type]) as any;
        const data = { ...base.data };
        if (type === 'churn.risk') data.rule = rule;
        if (type === 'value.tier_changed' || type === 'segment.changed') Object.assign(data, { from, to });
        if (type === 'cart.abandoned') data.sessionEnd = sessionEnd;
        if (type === 'recommendation.cross_sell') data.orderId = orderId;
        return { ...base, customerId, ts, data } as AlertDraft;
      });
    fc.assert(
      fc.property(draft, (d) => {
        const alert = withAlertId(d);
        expect(alert.id).toBe(reference({ type: d.type, customerId: d.customerId, ts: d.ts, occasion: occasionOf(d) }));
        expect(JSON.stringify(alert)).toBe(JSON.stringify({ id: alert.id, ...d }));
      }),
      { numRuns: 2000 },
    );
  });
});

/** Computed once from the draft above; see the test that uses it. */
const PINNED_CHURN_ID = 'churn.risk:10b4b0f29e416f4dbeb67614fe194bf7';

// ---- cooldown and hysteresis ----

const noGate: AlertPolicy = { cooldownMs: 0, hysteresis: null };
function policies(over: Partial<Record<AlertType, AlertPolicy>>): Record<AlertType, AlertPolicy> {
  return { ...Object.fromEntries(alertTypes.map((t) => [t, noGate])), ...over } as Record<AlertType, AlertPolicy>;
}

describe('alert cooldowns', () => {
  it('fires once for a customer hovering at the threshold, again only after exit and cooldown', () => {
    const gates = new AlertCooldowns(
      policies({ 'churn.risk': { cooldownMs: DAY, hysteresis: { enter: 0.7, exit: 0.5 } } }),
    );
    const fire = (score: number, ts: number) => gates.tryFire(3, 'churn.risk', score, ts);
    expect(fire(0.71, 0)).toBe(true);
    expect([fire(0.69, 1), fire(0.72, 2), fire(0.68, 3), fire(0.95, 2 * DAY)]).toEqual([false, false, false, false]);
    expect(fire(0.45, 2 * DAY + 1)).toBe(false); // re-arms
    expect(fire(0.8, 2 * DAY + 2)).toBe(true);
    expect(fire(0.4, 2 * DAY + 3)).toBe(false); // re-arms, but the cooldown holds
    expect(fire(0.8, 2 * DAY + 4)).toBe(false);
    expect(fire(0.8, 3 * DAY + 2)).toBe(true); // armed all along; cooldown over
    expect(gates.tryFire(4, 'churn.risk', 0.9, 0)).toBe(true); // another customer is independent
    expect(gates.tryFire(3, 'cart.abandoned', 0, 0)).toBe(true); // and another type
  });

  it('handles a falling score (enter below exit) and cooldown-only types', () => {
    const gates = new AlertCooldowns(
      policies({
        'churn.risk': { cooldownMs: 0, hysteresis: { enter: 0.2, exit: 0.4 } },
        'cart.abandoned': { cooldownMs: 100, hysteresis: null },
      }),
    );
    expect([0.3, 0.2, 0.1, 0.35, 0.4, 0.15].map((s, i) => gates.tryFire(0, 'churn.risk', s, i))).toEqual([
      false,
      true,
      false,
      false,
      false,
      true,
    ]);
    expect([0, 50, 99, 100, 150, 200].map((ts) => gates.tryFire(0, 'cart.abandoned', NaN, ts))).toEqual([
      true,
      false,
      false,
      true,
      false,
      true,
    ]);
    expect(gates.tryFire(0, 'cart.abandoned', 1, 50)).toBe(false); // older evidence than the last firing
  });

  it('re-arms on request for either band direction, keeping the cooldown', () => {
    const gates = new AlertCooldowns(
      policies({
        'churn.risk': { cooldownMs: 10, hysteresis: { enter: 0.2, exit: 0.4 } },
        'segment.changed': { cooldownMs: 10, hysteresis: { enter: 0.7, exit: 0.5 } },
      }),
    );
    for (const [type, high] of [
      ['churn.risk', 0.1],
      ['segment.changed', 0.9],
    ] as const) {
      gates.rearm(0, type); // never fired: nothing to re-arm, and it must not count as a firing
      expect(gates.tryFire(0, type, high, 0)).toBe(true);
      expect(gates.tryFire(0, type, high, 20)).toBe(false);
      gates.rearm(0, type);
      expect(gates.tryFire(0, type, high, 5)).toBe(false); // cooldown
      expect(gates.tryFire(0, type, high, 20)).toBe(true);
    }
  });

  it('forgets a cleared slot, so the next customer in it starts fresh', () => {
    const gates = new AlertCooldowns(policies({ 'cart.abandoned': { cooldownMs: DAY, hysteresis: null } }));
    expect(gates.tryFire(7, 'cart.abandoned', 1, 0)).toBe(true);
    expect(gates.tryFire(7, 'cart.abandoned', 1, 1)).toBe(false);
    gates.clearSlot(7);
    expect(gates.tryFire(7, 'cart.abandoned', 1, 2)).toBe(true);
  });

  it('holds 45 bytes a customer: 45 MB for a million', () => {
    expect(AlertCooldowns.bytesPerSlot).toBe(45);
    expect(new AlertCooldowns(policies({}), 1_000_000).bytes).toBe(45_000_000);
  });

  it('restores by type name, dropping unknown types and starting missing ones fresh', () => {
    const gates = new AlertCooldowns(policies({ 'cart.abandoned': { cooldownMs: 10, hysteresis: null } }));
    gates.tryFire(1, 'cart.abandoned', 1, 100);
    const s = gates.snapshot(2);
    // Rebuild the snapshot with only two columns, in another order, one of them unknown.
    const f64 = new Float64Array(s.lastFired.slice().buffer);
    const col = customerAlertTypes.indexOf('cart.abandoned');
    const lastFired = new Float64Array(2 * 2).fill(NaN);
    lastFired[1 * 2 + 1] = f64[1 * customerAlertTypes.length + col]!;
    const restored = new AlertCooldowns(policies({ 'cart.abandoned': { cooldownMs: 10, hysteresis: null } }), 16);
    restored.restore({
      types: ['gone.type', 'cart.abandoned'],
      slots: 2,
      lastFired: new Uint8Array(lastFired.buffer),
      flags: new Uint8Array(4),
    });
    expect(restored.tryFire(1, 'cart.abandoned', 1, 105)).toBe(false);
    expect(restored.tryFire(1, 'cart.abandoned', 1, 110)).toBe(true);
    expect(restored.tryFire(0, 'churn.risk', 1, 0)).toBe(true);
    expect(() => restored.restore({ ...s, slots: 3 })).toThrow(expect.objectContaining({ code: 'VIGIL_ERR_SNAPSHOT' }));
  });

  const scoreValues = [0, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 1, NaN];
  const thresholds = [0, 0.25, 0.5, 0.75, 1];
  const band = fc
    .tuple(fc.constantFrom(...thresholds), fc.constantFrom(...thresholds))
    .filter(([enter, exit]) => enter !== exit)
    .map(([enter, exit]) => ({ enter, exit }));
  const policy: fc.Arbitrary<AlertPolicy> = fc.record({
    // Multiples of the time step, so ts − lastFired often lands exactly on the cooldown.
    cooldownMs: fc.constantFrom(0, 10, 50, 200),
    hysteresis: fc.option(band, { nil: null }),
  });
  type Op =
    | { op: 'offer'; slot: number; type: CustomerAlertType; score: number; ts: number }
    | { op: 'clear'; slot: number }
    | { op: 'snapshot' };
  // Mostly a few slots, so histories grow long; sometimes a far one, so the arrays grow.
  const slotArb = fc.oneof({ weight: 6, arbitrary: fc.nat(2) }, { weight: 1, arbitrary: fc.nat(40) });
  const offer = fc.record({
    op: fc.constant('offer' as const),
    slot: slotArb,
    type: fc.constantFrom(...customerAlertTypes.slice(0, 3)),
    score: fc.constantFrom(...scoreValues),
    ts: fc.integer({ min: 0, max: 100 }).map((n) => n * 10),
  });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 30, arbitrary: offer },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const), slot: slotArb }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('snapshot' as const) }) },
  );

  /**
   * The rule stated over the whole history since the slot was last cleared, not as a state
   * machine: fire when the score is past enter, no earlier firing is within the cooldown,
   * and (with a band) a score past exit was seen since the last firing.
   */
  function oracleFires(
    p: AlertPolicy,
    history: { score: number; ts: number; fired: boolean }[],
    score: number,
    ts: number,
  ): boolean {
    const band = p.hysteresis;
    const rising = band !== null && band.enter > band.exit;
    const pastEnter = (s: number) => (rising ? s >= band!.enter : s <= band!.enter);
    const pastExit = (s: number) => (rising ? s <= band!.exit : s >= band!.exit);
    if (band !== null && (Number.isNaN(score) || !pastEnter(score))) return false;
    let last = -1;
    for (let i = 0; i < history.length; i++) if (history[i]!.fired) last = i;
    if (last < 0) return true;
    if (band !== null && !history.slice(last + 1).some((h) => pastExit(h.score))) return false;
    return ts - history[last]!.ts >= p.cooldownMs;
  }

  it('decides like the brute-force oracle over random histories, across clears, growth and snapshots (fast-check)', () => {
    let firings = 0;
    let held = 0;
    fc.assert(
      fc.property(
        fc.tuple(policy, policy, policy),
        fc.array(opArb, { minLength: 100, maxLength: 300 }),
        ([p0, p1, p2], ops) => {
          const ps = policies({ [alertTypes[0]]: p0, [alertTypes[1]]: p1, [alertTypes[2]]: p2 });
          let gates = new AlertCooldowns(ps, 4);
          const histories = new Map<string, { score: number; ts: number; fired: boolean }[]>();
          let highWater = 0;
          for (const o of ops) {
            if (o.op === 'clear') {
              gates.clearSlot(o.slot);
              for (const t of alertTypes) histories.delete(`${o.slot}/${t}`);
            } else if (o.op === 'snapshot') {
              // Through msgpack, as engine snapshots travel: decoded bytes may be unaligned.
              const s = msgpackDecode(msgpackEncode(gates.snapshot(highWater))) as ReturnType<
                AlertCooldowns['snapshot']
              >;
              gates = new AlertCooldowns(ps, 4);
              gates.restore(s);
            } else {
              highWater = Math.max(highWater, o.slot + 1);
              const key = `${o.slot}/${o.type}`;
              const history = histories.get(key) ?? [];
              const expected = oracleFires(ps[o.type], history, o.score, o.ts);
              const fired = gates.tryFire(o.slot, o.type, o.score, o.ts);
              expect(fired).toBe(expected);
              if (fired) firings++;
              else if (history.some((h) => h.fired)) held++;
              history.push({ score: o.score, ts: o.ts, fired });
              histories.set(key, history);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    // The runs must exercise both outcomes often, or agreement would prove little.
    expect(firings).toBeGreaterThan(5000);
    expect(held).toBeGreaterThan(5000);
  });
});

// ---- suppression ----

describe('suppression list', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-alerts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('blocks marketing-facing alerts of suppressed customers for marketing destinations only', () => {
    const list = SuppressionList.of(['opted-out'], 10);
    for (const type of alertTypes) {
      const alert = { ...withAlertId(drafts[type]), customerId: 'opted-out' };
      const other = { ...alert, customerId: 'c-1' };
      expect(list.mayDeliver(alert, 'ops')).toBe(true);
      expect(list.mayDeliver(alert, 'marketing')).toBe(!isMarketingFacing(type));
      expect(list.mayDeliver(other, 'marketing')).toBe(true);
    }
    expect(SuppressionList.empty.mayDeliver(withAlertId(drafts['cart.abandoned']), 'marketing')).toBe(true);
  });

  it('reads one id per line (trimmed, CRLF, BOM, blank lines) or a JSON array; # is part of an id', () => {
    const lines = SuppressionList.parse('\ufeffa\r\n  b  \n\n#c\na\n', 3);
    expect(lines.size).toBe(3);
    for (const id of ['a', 'b', '#c']) expect(lines.isSuppressed(id)).toBe(true);
    expect(lines.isSuppressed('c')).toBe(false);
    const json = SuppressionList.parse(' ["x", "y:z", "x"]', 2);
    expect([json.size, json.isSuppressed('y:z')]).toEqual([2, true]);
  });

  it('refuses a list over the bound or with a bad entry, naming the place but never the id', () => {
    const refuse = (text: string, max: number, where: RegExp) => {
      let err: unknown;
      try {
        SuppressionList.parse(text, max);
      } catch (e) {
        err = e;
      }
      expect(isVigilError(err)).toBe(true);
      const message = (err as Error).message;
      expect(message).toMatch(where);
      expect(message).not.toContain('secret-customer');
    };
    refuse('secret-customer-1\nsecret-customer-2\nsecret-customer-3\n', 2, /more than 2/);
    refuse(`ok\n${'secret-customer'.repeat(20)}\n`, 10, /line 2/);
    refuse('["secret-customer", 7]', 10, /element 1/);
    refuse('["secret-customer"', 10, /does not parse/);
    refuse('{"secret-customer": 1}', 10, /.+/);
    expect(() => SuppressionList.of(['a', 'b', 'c'], 2)).toThrow(/more than 2/);
  });

  it('loads a file within its size bound and reports an unreadable one', async () => {
    const path = join(dir, 'suppressed.txt');
    writeFileSync(path, 'a\nb\n');
    const list = await loadSuppressionFile(path, { maxIds: 10, maxFileBytes: 100 });
    expect(list.isSuppressed('b')).toBe(true);
    await expect(loadSuppressionFile(path, { maxIds: 10, maxFileBytes: 3 })).rejects.toMatchObject({
      code: 'VIGIL_ERR_SUPPRESSION_LIST',
    });
    await expect(
      loadSuppressionFile(join(dir, 'missing.txt'), { maxIds: 10, maxFileBytes: 100 }),
    ).rejects.toMatchObject({
      code: 'VIGIL_ERR_INPUT_FILE',
    });
  });
});

// ---- config section ----

const proposedAlertsDefaults = {
  policies: {
    churnRisk: { cooldownMs: 7 * DAY, hysteresis: { enter: 0.7, exit: 0.5 } },
    valueTierChanged: { cooldownMs: 7 * DAY, hysteresis: null },
    segmentChanged: { cooldownMs: 7 * DAY, hysteresis: null },
    cartAbandoned: { cooldownMs: DAY, hysteresis: null },
    recommendationCrossSell: { cooldownMs: DAY, hysteresis: null },
    demandSpike: { cooldownMs: DAY, hysteresis: { enter: 0.95, exit: 0.8 } },
    demandDrop: { cooldownMs: DAY, hysteresis: { enter: 0.95, exit: 0.8 } },
    campaignReport: { cooldownMs: 0, hysteresis: null },
  },
  suppression: { file: null, maxIds: 1_000_000, maxFileBytes: 64 * 1024 * 1024 },
};

describe('alerts config section', () => {
  it('accepts the proposed defaults and keys policies by alert type', () => {
    const config = alertsConfig.parse(proposedAlertsDefaults);
    const byType = policiesByType(config.policies);
    expect(Object.keys(byType).sort()).toEqual([...alertTypes].sort());
    expect(byType['churn.risk'].hysteresis).toEqual({ enter: 0.7, exit: 0.5 });
  });

  it('rejects a band without a gap, a missing type and a misspelt key, by path', () => {
    const paths = (value: unknown) => alertsConfig.safeParse(value).error!.issues.map((i) => i.path.join('.'));
    const flat = structuredClone(proposedAlertsDefaults) as any;
    flat.policies.churnRisk.hysteresis = { enter: 0.6, exit: 0.6 };
    expect(paths(flat)).toContain('policies.churnRisk.hysteresis.exit');
    const missing = structuredClone(proposedAlertsDefaults) as any;
    delete missing.policies.cartAbandoned;
    expect(paths(missing)).toContain('policies.cartAbandoned');
    const misspelt = structuredClone(proposedAlertsDefaults) as any;
    misspelt.suppression.maxId = 1;
    expect(paths(misspelt)).toContain('suppression');
  });
});
