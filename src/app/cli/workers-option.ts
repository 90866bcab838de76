import { Option } from 'commander';
import { VigilError } from '../../core/errors.js';
import type { VigilConfig } from '../config/schema.js';

/** The most worker threads `engine.workers` allows (the config schema's bound). */
export const MAX_WORKERS = 32;

/**
 * `--workers N` as given on a command line or to a command's function: a whole number in
 * 1..MAX_WORKERS, else `VIGIL_ERR_USAGE` naming the value (checked while parsing, so a dry
 * run refuses it too).
 */
export function parseWorkers(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_WORKERS))
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `--workers must be a whole number of worker threads from 1 to ${MAX_WORKERS} (got ${JSON.stringify(String(value))})`,
    );
  return n;
}

/** The commands' `--workers <n>` option; without it, `engine.workers` of the config decides. */
export function workersOption(): Option {
  return new Option(
    '--workers <n>',
    'worker threads running the graph by customer partition (default: engine.workers, 1 = the single-threaded engine)',
  ).argParser((v: string) => parseWorkers(v));
}

/** Worker threads for a run: the option when given, else the config's `engine.workers`. */
export function workersFor(config: VigilConfig, option: string | number | undefined): number {
  return option === undefined ? config.engine.workers : parseWorkers(option);
}
