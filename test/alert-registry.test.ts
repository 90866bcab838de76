import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { alertGeneratedFiles } from '../scripts/alert-docs.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the registry of alert types', () => {
  it('generated the dashboard module and the docs tables as they are in the repository', () => {
    for (const [path, text] of Object.entries(alertGeneratedFiles())) {
      expect(readFileSync(join(root, path), 'utf8'), `${path} is stale: run npx tsx scripts/alert-docs.ts`).toBe(text);
    }
  });

  // A copy of src/alerts/ (and the core it imports) under the repository, so that zod
  // resolves from its node_modules; the copy's registry gets one more type, and the schema,
  // the dashboard module and the docs tables derived from it must all carry that type.
  const copy = join(root, 'test-artifacts', `alert-registry-${process.pid}`);
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('picks up a new type from its one file: schema, dashboard module and docs tables', async () => {
    rmSync(copy, { recursive: true, force: true });
    mkdirSync(join(copy, 'src'), { recursive: true });
    cpSync(join(root, 'src', 'alerts'), join(copy, 'src', 'alerts'), { recursive: true });
    cpSync(join(root, 'src', 'core'), join(copy, 'src', 'core'), { recursive: true });
    writeFileSync(
      join(copy, 'src', 'alerts', 'types', 'stock-watch.ts'),
      `import * as z from 'zod';
import { key } from '../alert-fields.js';
import { defineAlertType } from '../alert-type.js';

export const stockWatch = defineAlertType({
  type: 'stock.watch',
  data: z.strictObject({ productId: key, views: z.number().int().min(1) }),
  audience: 'ops',
  subject: 'customer',
  occasion: (d) => [d.productId],
  policyKey: 'stockWatch',
  severities: ['info'],
  dashboard: { label: 'stock watch', colour: '#123456' },
  status: 'stock',
  docs: { data: '\`productId\`, \`views\`', score: 'views / 100, at most 1', occasion: 'the product id' },
});
`,
    );
    const registry = join(copy, 'src', 'alerts', 'registry.ts');
    writeFileSync(
      registry,
      readFileSync(registry, 'utf8')
        .replace(
          'import { valueTierChanged }',
          "import { stockWatch } from './types/stock-watch.js';\nimport { valueTierChanged }",
        )
        // However the list is formatted: one more element before its closing bracket.
        .replace(/,?\s*\] as const;/, ', stockWatch] as const;'),
    );

    expect(readFileSync(registry, 'utf8')).toContain('stockWatch] as const');
    const alerts = await import(join(copy, 'src', 'alerts', 'alert.ts'));
    const ids = await import(join(copy, 'src', 'alerts', 'alert-id.ts'));
    const catalogue = await import(join(copy, 'src', 'alerts', 'alert-catalogue.ts'));
    const { alertTypeSpecs } = await import(registry);

    expect(alerts.alertTypes).toContain('stock.watch');
    expect(alerts.alertAudience['stock.watch']).toBe('ops');
    expect(alerts.marketingAlertTypes).not.toContain('stock.watch');
    const draft = {
      type: 'stock.watch',
      customerId: 'c1',
      ts: Date.UTC(2025, 0, 1),
      severity: 'info',
      score: 0.5,
      reasons: ['viewed often'],
      segment: null,
      data: { productId: 'p9', views: 50 },
    };
    const alert = ids.withAlertId(draft);
    expect(alert.id).toMatch(/^stock\.watch:[0-9a-f]{32}$/);
    // The occasion rule, declared once in the type's file, is what the id hashes.
    expect(ids.occasionOf(draft)).toEqual(['p9']);
    expect(alert.id).toBe(ids.alertId({ type: 'stock.watch', customerId: 'c1', ts: draft.ts, occasion: ['p9'] }));
    expect(alerts.alertSchema.safeParse(alert).success).toBe(true);
    expect(alerts.alertSchema.safeParse({ ...alert, data: { productId: 'p9' } }).success).toBe(false);

    const dashboard = catalogue.dashboardModule(alertTypeSpecs);
    expect(dashboard).toContain('{ type: "stock.watch", label: "stock watch", colour: "#123456" }');
    const table = catalogue.alertsTable(alertTypeSpecs);
    expect(table).toContain(
      '| `stock.watch` | `productId`, `views` | views / 100, at most 1 | the product id | ops | info | `alerts.policies.stockWatch` |',
    );
    expect(catalogue.triggersTable(alertTypeSpecs)).toContain('| `stock.watch` | not a trigger (audience ops) | |');
    // And the real registry's tables, unchanged, lack it.
    expect(alertGeneratedFiles()['docs/alerts.md']).not.toContain('stock.watch');
  });
});
