import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/app/engine.js';
import type { CanonicalEvent } from '../src/core/event.js';
import { EngineState } from '../src/app/engine-state.js';
import type { StateSignal } from '../src/state/signals.js';
import { SlotIds } from '../src/state/slot-ids.js';
import { RecordLayout, SlotRecords, type FieldType } from '../src/state/slot-records.js';
import { EventTimers } from '../src/state/timers.js';
import { WatermarkTracker } from '../src/state/watermark.js';
import { dump, message, runMessages, testConfig } from './support/engine-harness.js';

const T0 = Date.UTC(2026, 4, 1);
const MIN = 60_000;
const view = (customerId: string, ts: number, id: string) => ({ id, type: 'page_view', customerId, ts });

describe('sessions, TTL and event-time timers', () => {
  const config = testConfig({
    state: { sessionGapMs: 30 * MIN, ttlMs: 24 * 60 * MIN },
    eventTime: { maxOutOfOrdernessMs: 0, allowedLatenessMs: 60 * MIN },
  });

  it('closes a session once the watermark passes its last event plus the gap, not before', async () => {
    const msgs = [
      message(view('a', T0, '1')),
      message(view('a', T0 + 10 * MIN, '2')),
      message(view('b', T0 + 39 * MIN, '3')), // watermark 39 min: a's session (ends 40) still open
      message(view('b', T0 + 41 * MIN, '4')), // watermark 41 min: a's session closes
    ];
    const { signals } = await runMessages(config, msgs.slice(0, 3), { finite: false });
    expect(signals.filter((s) => s.kind === 'session_closed')).toEqual([]);
    const all = await runMessages(config, msgs, { finite: false });
    expect(all.signals).toEqual([
      { kind: 'session_closed', customerId: 'a', slot: 0, start: T0, end: T0 + 10 * MIN, events: 2, at: T0 + 41 * MIN },
    ]);
  });

  it('starts a new session after a gap, counting sessions', async () => {
    const msgs = [0, 5, 50, 55, 200].map((m, i) => message(view('a', T0 + m * MIN, `s${i}`)));
    const { engine, signals } = await runMessages(config, msgs);
    const v = engine.state.store.view('a', engine.state.watermark.watermark)!;
    expect(v.session.count).toBe(3);
    expect(
      signals.filter((s) => s.kind === 'session_closed').map((s) => s.kind === 'session_closed' && s.events),
    ).toEqual([2, 2]);
    expect(v.session.open).toBe(true); // end of input reaches 200 min; the last session ends at 230
  });

  it('evicts a customer idle for the TTL (event time) and frees the slot for a newcomer', async () => {
    const msgs = [
      message(view('old', T0, 'o1')),
      message(view('other', T0 + 25 * 60 * MIN, 'x1')),
      message(view('new', T0 + 25 * 60 * MIN + 1, 'n1')),
    ];
    const { engine, signals } = await runMessages(config, msgs);
    expect(engine.state.store.has('old')).toBe(false);
    expect(signals.some((s) => s.kind === 'evicted' && s.customerId === 'old')).toBe(true);
    expect(engine.state.store.size).toBe(2);
    expect(engine.state.store.capacity).toBeGreaterThanOrEqual(2);
    expect(engine.state.store.view('new', T0 + 25 * 60 * MIN + 1)!.events).toBe(1);
  });

  it("a signal's slot finds its customer as the id lookup does, after evictions and slot reuse too", () => {
    // Few ids, a one-hour TTL and jumps in time: customers are evicted and their slots reused.
    const step = fc.record({ customer: fc.integer({ min: 0, max: 5 }), advanceMin: fc.integer({ min: 0, max: 90 }) });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => {
        const store = new EngineState(testConfig({ state: { sessionGapMs: 30 * MIN, ttlMs: 60 * MIN } })).store;
        const probe = store.defineSignalTimer('probe');
        const signals: StateSignal[] = [];
        let ts = T0;
        let checked = 0;
        const check = (): void => {
          for (; checked < signals.length; checked++) {
            const s = signals[checked]!;
            if (s.kind !== 'evicted') expect(store.slotHolding(s.customerId, s.slot)).toBe(store.slotOf(s.customerId));
          }
        };
        steps.forEach(({ customer, advanceMin }, i) => {
          ts += advanceMin * MIN;
          store.advanceTo(ts - MIN, signals);
          check();
          const e = { id: `e${i}`, type: 'page_view', customerId: `c${customer}`, ts } as CanonicalEvent;
          const slot = store.apply(e, signals);
          check();
          store.timers.arm(slot, probe, ts + 45 * MIN);
        });
        store.advanceTo(ts + 1000 * MIN, signals);
        check();
        // A slot handed to someone else no longer answers for the evicted customer.
        for (const s of signals)
          if (s.kind !== 'evicted' && !store.has(s.customerId))
            expect(store.slotHolding(s.customerId, s.slot)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('resetting a slot gives zeros and each field its declared initial value, whatever was there', () => {
    const field = fc.record({
      type: fc.constantFrom<FieldType>('f64', 'u32', 'u16', 'u8'),
      count: fc.integer({ min: 1, max: 4 }),
      initial: fc.constantFrom(0, 1, 7, 255, NaN, -1.5),
    });
    fc.assert(
      fc.property(
        fc.array(field, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 5 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        (fields, slot, junk) => {
          const layout = new RecordLayout();
          fields.forEach((f, i) => layout.add(`f${i}`, f.type, f.count, f.initial));
          layout.seal();
          const records = new SlotRecords(layout, 6);
          for (let i = 0; i < records.u8.length; i++) records.u8[i] = junk[i % junk.length]!;
          const expected = records.u8.slice();
          // The reference: zero the record, then fill each field with its initial value.
          const stride = layout.bytesPerRecord;
          const ref = new SlotRecords(layout, 6);
          ref.u8.set(expected);
          ref.u8.fill(0, slot * stride, (slot + 1) * stride);
          fields.forEach((f, i) => {
            const at = slot * layout.stride(f.type) + layout.offset(`f${i}`);
            ref[f.type].fill(f.initial, at, at + f.count);
          });
          records.reset(slot);
          expect(records.u8).toEqual(ref.u8);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fires analytics timers in due order exactly when the watermark passes them', () => {
    const timers = new EventTimers(8);
    const kind = timers.defineKind('nothing_by_t');
    const other = timers.defineKind('other');
    timers.arm(3, kind, 500);
    timers.arm(1, kind, 100);
    timers.arm(2, other, 100);
    timers.arm(1, kind, 300); // re-armed: the 100 entry is stale now
    timers.arm(4, kind, 200);
    timers.cancel(4, kind);
    const fired: [number, number, number][] = [];
    timers.fireUntil(299, (s, k, d) => fired.push([s, k, d]));
    expect(fired).toEqual([[2, other, 100]]);
    timers.fireUntil(1000, (s, k, d) => fired.push([s, k, d]));
    expect(fired).toEqual([
      [2, other, 100],
      [1, kind, 300],
      [3, kind, 500],
    ]);
  });

  it('orders timers like a sorted list, for any arm/cancel sequence (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 15 }),
            fc.integer({ min: 0, max: 1 }),
            fc.integer({ min: 0, max: 1000 }),
            fc.boolean(),
          ),
        ),
        fc.integer({ min: 0, max: 1000 }),
        (ops, watermark) => {
          const timers = new EventTimers(4); // grows past 4 slots on demand
          timers.ensureSlotCapacity(16);
          const kinds = [timers.defineKind('a'), timers.defineKind('b')];
          const live = new Map<string, number>();
          for (const [slot, k, due, cancel] of ops) {
            if (cancel) {
              timers.cancel(slot, kinds[k]!);
              live.delete(`${slot}/${k}`);
            } else {
              timers.arm(slot, kinds[k]!, due);
              live.set(`${slot}/${k}`, due);
            }
          }
          const expected = [...live]
            .map(
              ([key, due]) => [Number(key.split('/')[0]), Number(key.split('/')[1]), due] as [number, number, number],
            )
            .filter(([, , due]) => due <= watermark)
            .sort((x, y) => x[2] - y[2] || x[0] - y[0] || x[1] - y[1]);
          const fired: [number, number, number][] = [];
          timers.fireUntil(watermark, (s, k, d) => fired.push([s, k, d]));
          expect(fired).toEqual(expected);
        },
      ),
    );
  });

  it('fires like a sorted list through arms, cancels, advances and re-arms from inside a firing (property)', () => {
    const op = fc.oneof(
      fc.record({
        op: fc.constant('arm' as const),
        slot: fc.integer({ min: 0, max: 40 }),
        kind: fc.integer({ min: 0, max: 2 }),
        due: fc.integer({ min: 0, max: 400 }),
      }),
      fc.record({
        op: fc.constant('cancel' as const),
        slot: fc.integer({ min: 0, max: 40 }),
        kind: fc.integer({ min: 0, max: 2 }),
      }),
      fc.record({
        op: fc.constant('advance' as const),
        by: fc.integer({ min: 0, max: 60 }),
        rearmEvery: fc.integer({ min: 0, max: 3 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 300, size: 'max' }), (ops) => {
        const timers = new EventTimers(4);
        timers.ensureSlotCapacity(41);
        const kinds = [timers.defineKind('a'), timers.defineKind('b'), timers.defineKind('c')];
        const live = new Map<number, number>(); // slot * 3 + kind → due
        let watermark = 0;
        for (const o of ops) {
          if (o.op === 'arm') {
            timers.arm(o.slot, kinds[o.kind]!, Math.max(o.due, watermark + 1));
            live.set(o.slot * 3 + o.kind, Math.max(o.due, watermark + 1));
          } else if (o.op === 'cancel') {
            timers.cancel(o.slot, kinds[o.kind]!);
            live.delete(o.slot * 3 + o.kind);
          } else {
            watermark += o.by;
            const fired: number[][] = [];
            const expected: number[][] = [];
            let n = 0;
            // The oracle: repeatedly take the least live (due, slot, kind) at or before the watermark.
            const oracle = new Map(live);
            for (;;) {
              let best: [number, number] | undefined;
              for (const [key, due] of oracle)
                if (due <= watermark && (best === undefined || due < best[1] || (due === best[1] && key < best[0])))
                  best = [key, due];
              if (best === undefined) break;
              oracle.delete(best[0]);
              expected.push([Math.floor(best[0] / 3), best[0] % 3, best[1]]);
              if (o.rearmEvery > 0 && ++n % o.rearmEvery === 0) oracle.set(best[0], best[1] + 7); // the handler re-arms it
            }
            n = 0;
            timers.fireUntil(watermark, (slot, kind, due) => {
              fired.push([slot, kind, due]);
              live.delete(slot * 3 + kind);
              if (o.rearmEvery > 0 && ++n % o.rearmEvery === 0) {
                timers.arm(slot, kind, due + 7);
                live.set(slot * 3 + kind, due + 7);
              }
            });
            expect(fired).toEqual(expected);
            expect(live).toEqual(oracle);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('watermarks', () => {
  it('trail the highest event time by the out-of-orderness bound and never go back', () => {
    const w = new WatermarkTracker(1000, 5000);
    expect(w.observe('p', 10_000, 0)).toBe(9000);
    expect(w.observe('p', 5_000, 0)).toBe(9000);
    expect(w.observe('p', 12_000, 0)).toBe(11_000);
  });

  it('are held back by the slowest active partition, until it has been idle for the timeout', () => {
    const w = new WatermarkTracker(0, 5000);
    w.observe('slow', 10_000, 0);
    w.observe('fast', 100_000, 0);
    expect(w.watermark).toBe(10_000);
    w.observe('fast', 200_000, 4000);
    expect(w.watermark).toBe(10_000);
    expect(w.refresh(5001)).toBe(200_000); // slow has said nothing for over 5 s
    w.observe('slow', 11_000, 6000); // slow speaks again: the watermark does not move back
    expect(w.watermark).toBe(200_000);
  });

  it('jump to the last event time when a finite input ends', () => {
    const w = new WatermarkTracker(60_000, 5000);
    w.observe('p', 1_000_000, 0);
    expect(w.watermark).toBe(940_000);
    expect(w.endOfInput()).toBe(1_000_000);
  });
});

describe('snapshots', () => {
  const config = testConfig({ state: { ttlMs: 10 * 24 * 60 * MIN } });
  const events = Array.from({ length: 3000 }, (_, i) => {
    const customerId = `c${(i * 7919) % 97}`;
    const ts = T0 + i * 3 * MIN - (i % 5) * MIN;
    if (i % 11 === 0)
      return {
        id: `e${i}`,
        type: 'purchase',
        customerId,
        ts,
        orderId: `o${i}`,
        items: [{ productId: `p${i % 13}`, price: 9.5, quantity: 1 + (i % 3) }],
      };
    if (i % 4 === 0) return { id: `e${i}`, type: 'add_to_cart', customerId, ts, productId: `p${i % 17}` };
    return { id: `e${i}`, type: 'product_view', customerId, ts, productId: `p${i % 23}` };
  });
  const msgs = events.map((e) => message(e));
  msgs.splice(1600, 0, msgs[1450]!, msgs[1590]!); // redeliveries after the cut, one of a message before it

  it('round-trip: snapshot, restore, snapshot gives the same bytes', async () => {
    const { engine } = await runMessages(config, msgs.slice(0, 1500), { finite: false });
    const bytes = engine.state.snapshot();
    const restored = new Engine(config);
    restored.state.restore(bytes, 0);
    expect(Buffer.from(restored.state.snapshot()).equals(Buffer.from(bytes))).toBe(true);
    expect(dump(restored)).toEqual(dump(engine));
  });

  it('an engine restored mid-stream ends exactly where an uninterrupted one does', async () => {
    const whole = await runMessages(config, msgs);
    const first = await runMessages(config, msgs.slice(0, 1500), { finite: false });
    const resumed = new Engine(config, { wallClock: () => Date.UTC(2030, 0, 1), processingClock: () => 0 });
    resumed.state.restore(first.engine.state.snapshot(), 0);
    const second = await runMessages(config, msgs.slice(1500), { engine: resumed });
    expect(dump(resumed)).toEqual(dump(whole.engine));
    expect([...first.signals, ...second.signals]).toEqual(whole.signals);
    const alerts = (r: { batches: { alerts: unknown[] }[] }) => r.batches.flatMap((b) => b.alerts);
    expect(alerts(whole).length).toBeGreaterThan(0);
    expect([...alerts(first), ...alerts(second)]).toEqual(alerts(whole));
    expect(resumed.state.counters.toJSON()).toEqual(whole.engine.state.counters.toJSON());
    expect(resumed.state.counters.duplicate).toBe(2);
  });

  it('slot ids: lookups, snapshot and restore agree with a map, and a cleared id leaves no byte behind (property)', () => {
    const op = fc.oneof(
      fc.record({ set: fc.nat(300), id: fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }) }),
      fc.record({ clear: fc.nat(300) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000 }), fc.constantFrom(0, 64, 1 << 16), (ops, compactAfter) => {
        const ids = new SlotIds(compactAfter);
        const oracle = new Map<number, string>();
        const gone = new Set<string>();
        for (const o of ops) {
          if ('set' in o) {
            ids.set(o.set, o.id);
            oracle.set(o.set, o.id);
          } else {
            if (oracle.has(o.clear)) gone.add(oracle.get(o.clear)!);
            ids.clear(o.clear);
            oracle.delete(o.clear);
          }
        }
        for (let slot = 0; slot <= 300; slot++) expect(ids.get(slot)).toBe(oracle.get(slot));
        const snap = ids.snapshot(301, (b) => b.slice());
        const restored = new SlotIds();
        const seen = new Map<number, string>();
        restored.restore(snap, (slot, id) => seen.set(slot, id));
        expect(seen).toEqual(oracle);
        for (let slot = 0; slot <= 300; slot++) expect(restored.get(slot)).toBe(oracle.get(slot));
        // An id no slot holds any longer is not in the table's bytes (unless a live id contains it).
        const text = Buffer.from(snap.table).toString('utf8');
        for (const id of gone)
          if (![...oracle.values()].some((live) => live.includes(id)) && id.trim().length > 2)
            expect(text.includes(id)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a corrupt snapshot with VIGIL_ERR_SNAPSHOT', () => {
    const engine = new Engine(config);
    expect(() => engine.state.restore(new Uint8Array([1, 2, 3]))).toThrow(
      expect.objectContaining({ code: 'VIGIL_ERR_SNAPSHOT' }),
    );
    const other = new Engine(testConfig({ state: { windows: [{ name: 'x', horizonMs: 60000, buckets: 2 }] } }));
    expect(() => other.state.restore(engine.state.snapshot())).toThrow(
      expect.objectContaining({ code: 'VIGIL_ERR_SNAPSHOT' }),
    );
  });
});

describe('purchase transactions (the BG/NBD and Gamma-Gamma statistics)', () => {
  const DAY = 24 * 60 * MIN;
  const config = testConfig({
    eventTime: { maxOutOfOrdernessMs: 3 * DAY, allowedLatenessMs: 3 * DAY },
    dedupe: { retentionMs: 7 * DAY },
  });
  const buy = (id: string, ts: number, price: number) => ({
    id,
    type: 'purchase',
    customerId: 'a',
    ts,
    orderId: `o${id}`,
    items: [{ productId: 'p', price, quantity: 1 }],
  });

  it('merges purchases on one UTC day; the first day is left out of the repeat value', async () => {
    const day0 = Date.UTC(2026, 4, 1);
    const msgs = [
      buy('1', day0 + 3 * MIN, 10),
      buy('2', day0 + 20 * 60 * MIN, 5),
      buy('3', day0 + DAY + MIN, 7),
      buy('4', day0 + DAY + 2 * MIN, 1),
      buy('5', day0 + 5 * DAY, 2),
    ];
    const { engine } = await runMessages(
      config,
      msgs.map((m) => message(m)),
    );
    const store = engine.state.store;
    expect(store.transactionStats(store.slotOf('a')!)).toEqual({
      first: day0 + 3 * MIN,
      last: day0 + 5 * DAY,
      repeat: 2,
      firstValue: 15,
      repeatValue: 10,
    });
  });

  it('counts an earlier first day that arrives late as the new first transaction', async () => {
    const day0 = Date.UTC(2026, 4, 10);
    const msgs = [buy('1', day0, 10), buy('2', day0 + DAY, 4), buy('3', day0 - 2 * DAY, 3)];
    const { engine } = await runMessages(
      config,
      msgs.map((m) => message(m)),
    );
    const store = engine.state.store;
    expect(store.transactionStats(store.slotOf('a')!)).toEqual({
      first: day0 - 2 * DAY,
      last: day0 + DAY,
      repeat: 2,
      firstValue: 3,
      repeatValue: 14,
    });
  });

  it('has none before the first purchase', async () => {
    const { engine } = await runMessages(config, [message(view('a', T0, 'v'))]);
    expect(engine.state.store.transactionStats(engine.state.store.slotOf('a')!)).toBeNull();
  });
});
