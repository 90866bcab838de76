import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertIdPattern } from '../src/alerts/alert-id.js';
import { alertSchema, alertTypes, marketingAlertTypes, type AlertType } from '../src/alerts/alert.js';
import { SuppressionList } from '../src/alerts/suppression.js';
import { MarketingGate } from '../src/delivery/marketing/audience.js';
import { toCloudEvent, vigilCloudEvent } from '../src/delivery/marketing/cloudevent.js';
import { PSEUDONYM_CHARS, Pseudonymiser } from '../src/delivery/marketing/pseudonym.js';
import { cloudEventSpec } from './support/cloudevents-spec.js';
import { testConfig } from './support/engine-harness.js';
import { runWithSinks, shopMessages } from './support/shop-alerts.js';

const KEY = 'a key for the unit tests of pseudonyms, 32+ characters';
// Customer alerts: the marketing side never sees the ops types (demand, campaign reports); demand alerts are turned off here.
const { alerts } = await runWithSinks(
  testConfig({ demand: { alerts: { granularities: [] } } }),
  shopMessages(200, 45, 3),
  [],
);
const customerId = (a: (typeof alerts)[number]): string => a.customerId!;
const every = new Set<AlertType>(alertTypes);

describe('pseudonyms', () => {
  it('are deterministic, keyed, of the documented form, and distinct for distinct ids (fast-check)', () => {
    const p = new Pseudonymiser(KEY);
    const other = new Pseudonymiser(KEY + '!');
    const form = new RegExp(`^p-[A-Za-z0-9_-]{${PSEUDONYM_CHARS}}$`);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 64 }), { minLength: 2, maxLength: 50 }),
        (ids) => {
          const ps = ids.map((id) => p.customer(id));
          return (
            ps.every((x) => form.test(x)) &&
            new Set(ps).size === ids.length &&
            ids.every((id, i) => p.customer(id) === ps[i] && other.customer(id) !== ps[i])
          );
        },
      ),
    );
  });

  it('a pseudonymised alert is still a valid alert, with a re-keyed id of the same pattern and nothing else changed', () => {
    const p = new Pseudonymiser(KEY);
    expect(new Set(alerts.map((a) => a.type)).size).toBe(marketingAlertTypes.length);
    for (const a of alerts) {
      const out = p.apply(a);
      expect(alertSchema.safeParse(out).success).toBe(true);
      expect(out.id).toMatch(alertIdPattern(a.type));
      expect(out.id).not.toBe(a.id);
      expect(out.customerId).toBe(p.customer(customerId(a)));
      expect({ ...out, id: a.id, customerId: a.customerId }).toEqual(a);
    }
  });
});

describe('the marketing gate', () => {
  it('holds back exactly the suppressed customers, lets the rest through, and drops unwanted types', () => {
    const customers = [...new Set(alerts.map(customerId))];
    const suppressed = new Set(customers.filter((_, i) => i % 2 === 0));
    const gate = MarketingGate.of(SuppressionList.of(suppressed, 1000), null);
    for (const a of alerts) {
      expect(gate.outgoing(a, every)).toBe(suppressed.has(customerId(a)) ? 'suppressed' : a);
      expect(gate.outgoing(a, new Set(alertTypes.filter((t) => t !== a.type)))).toBe('unwanted');
    }
    expect(marketingAlertTypes).toEqual(alertTypes.filter((t) => !t.startsWith('demand.') && t !== 'campaign.report'));
  });

  it('pseudonymises what it lets through', () => {
    const gate = MarketingGate.of(SuppressionList.empty, KEY);
    const p = new Pseudonymiser(KEY);
    for (const a of alerts) expect(gate.outgoing(a, every)).toEqual(p.apply(a));
  });
});

describe('CloudEvents encoding', () => {
  it('every alert type encodes to an event the spec checker and the Vigil schema accept', () => {
    for (const a of alerts) {
      const e = toCloudEvent(a, 'urn:vigil:test');
      expect(cloudEventSpec.safeParse(e).success).toBe(true);
      expect(vigilCloudEvent.parse(e)).toEqual(e);
      expect(Date.parse(e.time)).toBe(a.ts);
    }
  });

  it('the spec checker refuses what the spec forbids', () => {
    const e = toCloudEvent(alerts[0]!, 'urn:vigil:test');
    const bad = (x: object) => cloudEventSpec.safeParse({ ...e, ...x }).success;
    expect(bad({})).toBe(true);
    expect(bad({ id: '' })).toBe(false);
    expect(bad({ source: '' })).toBe(false);
    expect(bad({ source: 'has spaces' })).toBe(false);
    expect(bad({ specversion: '0.3' })).toBe(false);
    expect(bad({ type: '' })).toBe(false);
    expect(bad({ time: '2026-13-01' })).toBe(false);
    expect(bad({ time: '2026-01-01 10:00:00' })).toBe(false);
    expect(bad({ subject: '' })).toBe(false);
    expect(bad({ Bad_Name: 1 })).toBe(false);
    for (const required of ['id', 'source', 'specversion', 'type'] as const) {
      const missing: Record<string, unknown> = { ...e };
      delete missing[required];
      expect(cloudEventSpec.safeParse(missing).success).toBe(false);
    }
  });
});
