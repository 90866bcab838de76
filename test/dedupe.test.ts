import { describe, expect, it } from 'vitest';
import { SeenEventIds } from '../src/state/seen-event-ids.js';

const HOUR = 3_600_000;

describe('event id de-duplication', () => {
  it('takes no distinct id for a duplicate, across 1M ids and table growth', () => {
    const seen = new SeenEventIds(1000 * HOUR, 4_000_000);
    let falseDuplicates = 0;
    for (let i = 0; i < 1_000_000; i++)
      if (seen.checkAndAdd(`evt-${i.toString(36)}-${(i * 7919) % 1000}`, i)) falseDuplicates++;
    expect(falseDuplicates).toBe(0);
    expect(seen.size).toBe(1_000_000);
    let found = 0;
    for (let i = 0; i < 1_000_000; i += 997)
      if (seen.checkAndAdd(`evt-${i.toString(36)}-${(i * 7919) % 1000}`, i)) found++;
    expect(found).toBe(Math.ceil(1_000_000 / 997));
  });

  it('remembers an id for at least the retention and forgets it within two', () => {
    const seen = new SeenEventIds(HOUR, 1_000_000);
    expect(seen.checkAndAdd('a', 0)).toBe(false);
    expect(seen.checkAndAdd('a', HOUR - 1)).toBe(true);
    seen.checkAndAdd('b', HOUR); // the generation turns: 'a' is in the previous one
    expect(seen.checkAndAdd('a', HOUR + 10)).toBe(true);
    seen.checkAndAdd('c', 2 * HOUR); // turns again: 'a' is gone
    expect(seen.checkAndAdd('a', 2 * HOUR + 10)).toBe(false);
  });

  it('never holds more than maxIds, turning generations early and counting it', () => {
    const seen = new SeenEventIds(1000 * HOUR, 10_000);
    for (let i = 0; i < 100_000; i++) {
      seen.checkAndAdd(`id${i}`, 0);
      expect(seen.size).toBeLessThanOrEqual(10_000);
    }
    expect(seen.capTurns).toBeGreaterThan(0);
    expect(seen.checkAndAdd('id99999', 0)).toBe(true); // the newest are still remembered
    expect(seen.bytes).toBeLessThanOrEqual(2 * 16_384 * 8);
  });
});
