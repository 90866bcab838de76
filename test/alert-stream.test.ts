import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertTypes, severities, type Alert } from '../src/alerts/alert.js';
import { withAlertId } from '../src/alerts/alert-id.js';
import { alertFilter, matcher } from '../src/alerts/alert-filter.js';
import { AlertRing } from '../src/server/alert-ring.js';

/** Groundwork for the live stream (issue 5): the resume ring and subscription filters. */
const TS = Date.UTC(2026, 0, 1);
const segments = ['champions', 'at_risk', 'new_customers'] as const;

function alert(
  i: number,
  type = alertTypes[i % alertTypes.length]!,
  seg: string | null = segments[i % 3]!,
  sev = severities[i % 3]!,
  score = (i % 11) / 10,
): Alert {
  const draft = {
    type: 'churn.risk',
    customerId: `c${i}`,
    ts: TS + i,
    severity: sev,
    score,
    reasons: ['test'],
    segment: seg,
    data: { pAlive: 0.2, expectedPurchases: 0.1, horizonMs: 1000, clv: 1, lastPurchaseTs: TS, rule: 'bgnbd_p_alive' },
  } as const;
  // The ring and the filter read type, segment, severity and score only; the data stays a churn's.
  return withAlertId({ ...draft, type } as unknown as Parameters<typeof withAlertId>[0]);
}

describe('AlertRing', () => {
  it('serves every alert after `since` still held, in order, and names exactly what aged out (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 70 }),
        (capacity, pushed, since) => {
          const ring = new AlertRing(capacity);
          const all = Array.from({ length: pushed }, (_, i) => ring.push(alert(i)));
          expect(ring.sequence).toBe(pushed);
          const held = all.filter((e) => e.seq > pushed - capacity);
          const r = ring.after(since);
          expect(r.alerts).toEqual(held.filter((e) => e.seq > since));
          const firstHeld = Math.max(1, pushed - capacity + 1);
          expect(r.missed).toEqual(pushed > 0 && since + 1 < firstHeld ? { from: since + 1, to: firstHeld - 1 } : null);
          // `at` is what the hub's paced resume reads: exactly the held entries, nothing else.
          for (let seq = since - 5; seq <= since + 5; seq++)
            expect(ring.at(seq)).toEqual(held.find((e) => e.seq === seq));
        },
      ),
    );
  });

  it('numbers alerts from 1 and refuses a capacity that is not a positive integer', () => {
    const ring = new AlertRing(2);
    expect(ring.after(0)).toEqual({ alerts: [], missed: null });
    expect(ring.push(alert(0)).seq).toBe(1);
    expect(() => new AlertRing(0)).toThrow(RangeError);
    expect(() => new AlertRing(1.5)).toThrow(RangeError);
  });
});

describe('alert filters', () => {
  it('match exactly the alerts a brute-force reading of the filter accepts (property)', () => {
    const filterArb = fc.record(
      {
        types: fc.subarray([...alertTypes]),
        segments: fc.subarray([...segments]),
        minSeverity: fc.constantFrom(...severities),
        minScore: fc.double({ min: 0, max: 1, noNaN: true }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(filterArb, fc.array(fc.nat(200), { maxLength: 40 }), (filter, ids) => {
        expect(alertFilter.safeParse(filter).success).toBe(true);
        const match = matcher(filter);
        for (const i of ids) {
          const a = alert(i, alertTypes[i % 5]!, i % 7 === 0 ? null : segments[i % 3]!);
          const expected =
            (!filter.types?.length || filter.types.includes(a.type)) &&
            (!filter.segments?.length || (a.segment !== null && (filter.segments as string[]).includes(a.segment))) &&
            severities.indexOf(a.severity) >= (filter.minSeverity ? severities.indexOf(filter.minSeverity) : 0) &&
            a.score >= (filter.minScore ?? 0);
          expect(match(a)).toBe(expected);
        }
      }),
    );
  });

  it('refuses unknown types, unknown keys and out-of-range scores by path', () => {
    const issues = (v: unknown) => alertFilter.safeParse(v).error?.issues.map((i) => i.path.join('.'));
    expect(issues({ types: ['teleport'] })).toEqual(['types.0']);
    expect(issues({ minScore: 2 })).toEqual(['minScore']);
    expect(issues({ everything: true })).toEqual(['']);
  });
});
