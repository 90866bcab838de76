import { coreBench, printCore } from './core.js';

/**
 * `npm run bench -- <suite> [options]`. Suites print figures; nothing here asserts. Quote
 * ratios from one run: the machines are shared and absolute figures move ±20%.
 *   core [--quick]   the whole graph vs a bare decode+aggregate loop, at 100k and 1M customers
 */
const [suite = 'core', ...args] = process.argv.slice(2);
const quick = args.includes('--quick');

async function main(): Promise<void> {
  switch (suite) {
    case 'core': {
      const rows = [];
      rows.push(await coreBench({ customers: 100_000, events: quick ? 300_000 : 1_500_000, format: 'msgpack', repeats: quick ? 1 : 3 }));
      if (!quick) {
        rows.push(await coreBench({ customers: 100_000, events: 1_500_000, format: 'json', repeats: 3 }));
        rows.push(await coreBench({ customers: 1_000_000, events: 3_000_000, format: 'msgpack', repeats: 1 }));
      }
      printCore(rows);
      break;
    }
    default:
      throw new Error(`unknown bench suite '${suite}' (known: core)`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(String((e as Error)?.stack ?? e) + '\n');
  process.exitCode = 1;
});
