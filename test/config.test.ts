import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envOverrides, loadConfig } from '../src/app/config/load.js';
import { VigilError } from '../src/core/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-config-'));
const file = (name: string, body: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
};

function configError(fn: () => unknown): VigilError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VigilError) return e;
    throw e;
  }
  throw new Error('expected a VigilError');
}

describe('configuration', () => {
  it('loads the defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.state.windows.map((w) => w.name)).toEqual(['1h', '24h', '7d', '30d']);
    expect(c.state.windows.map((w) => w.horizonMs)).toEqual([3_600_000, 86_400_000, 604_800_000, 2_592_000_000]);
  });

  it('layers default.json, then --config, then VIGIL_* variables', () => {
    const f = file('layer.json', { pipeline: { batchSize: 100 }, dedupe: { retentionMs: 600_000 } });
    const c = loadConfig({ file: f, env: { VIGIL_PIPELINE__BATCH_SIZE: '300', UNRELATED: 'x' } });
    expect(c.pipeline.batchSize).toBe(300);
    expect(c.dedupe.retentionMs).toBe(600_000);
    expect(c.dedupe.maxIds).toBe(loadConfig({ env: {} }).dedupe.maxIds);
  });

  it('maps environment names to paths', () => {
    expect(envOverrides({ VIGIL_EVENT_TIME__MAX_OUT_OF_ORDERNESS_MS: '10', VIGIL_DEMO__SEED: 'seven' })).toEqual({
      eventTime: { maxOutOfOrdernessMs: 10 },
      demo: { seed: 'seven' },
    });
  });

  it('lists every problem by path, and starts nothing', () => {
    const f = file('bad.json', {
      pipeline: { batchSize: 0 },
      dedupe: { retentionMs: 'long' },
      state: { windows: [{ name: '1h', horizonMs: 3_600_000, buckets: 7 }] },
      typo: true,
    });
    const e = configError(() => loadConfig({ file: f, env: { VIGIL_DEMO__SEED: 'seven' } }));
    expect(e.code).toBe('VIGIL_ERR_CONFIG');
    const paths = e.details.map((d) => d.split(':')[0]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'pipeline.batchSize',
        'dedupe.retentionMs',
        'state.windows.0.buckets',
        'demo.seed',
        '(root)',
      ]),
    );
  });

  it('refuses a de-duplication retention shorter than out-of-orderness plus lateness', () => {
    const e = configError(() =>
      loadConfig({
        env: {},
        overrides: {
          dedupe: { retentionMs: 60_000 },
          eventTime: { maxOutOfOrdernessMs: 5000, allowedLatenessMs: 60_000 },
        },
      }),
    );
    expect(e.details.map((d) => d.split(':')[0])).toEqual(['dedupe.retentionMs']);
  });

  it('refuses churn bars below the churn.risk hysteresis enter', () => {
    const paths = (overrides: Record<string, unknown>) =>
      configError(() => loadConfig({ env: {}, overrides })).details.map((d) => d.split(':')[0]);
    expect(paths({ analytics: { churn: { warnAt: 0.6, corroborateAt: 0.6 } } })).toEqual([
      'analytics.churn.warnAt',
      'analytics.churn.corroborateAt',
    ]);
    expect(paths({ analytics: { churn: { corroborateAt: 0.65 } } })).toEqual(['analytics.churn.corroborateAt']);
    // The bars follow the gate: with enter lowered to 0.5, 0.6 is allowed.
    const ok = loadConfig({
      env: {},
      overrides: {
        analytics: { churn: { warnAt: 0.6, corroborateAt: 0.6 } },
        alerts: { policies: { churnRisk: { hysteresis: { enter: 0.5, exit: 0.4 } } } },
      },
    });
    expect(ok.analytics.churn.warnAt).toBe(0.6);
  });

  it('says which file is unreadable or not JSON', () => {
    expect(configError(() => loadConfig({ file: join(dir, 'missing.json'), env: {} })).code).toBe('VIGIL_ERR_CONFIG');
    expect(configError(() => loadConfig({ file: file('broken.json', '{ nope'), env: {} })).message).toContain(
      'broken.json',
    );
  });
});
