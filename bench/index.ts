import { coreBench, printCore } from './core.js';

/**
 * `npm run bench -- <suite> [options]`. Suites print figures; nothing here asserts. Quote
 * ratios from one run: the machines are shared and absolute figures move ±20%.
 *   core [--quick]   the whole graph vs a bare decode+aggregate loop: 100k customers (msgpack,
 *                    JSON; medians of 5 and 3 alternating runs) and 1M customers (one run).
 *                    --quick: 20k customers, one run, to check the bench works.
 */
const [suite = 'core', ...args] = process.argv.slice(2);
const quick = args.includes('--quick');

async function main(): Promise<void> {
  switch (suite) {
    case 'core': {
      const rows = [];
      rows.push(await coreBench({ customers: quick ? 20_000 : 100_000, days: 7, format: 'msgpack', repeats: quick ? 1 : 5 }));
      if (!quick) {
        rows.push(await coreBench({ customers: 100_000, days: 7, format: 'json', repeats: 3 }));
        rows.push(await coreBench({ customers: 1_000_000, days: 2, format: 'msgpack', repeats: 1 }));
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
