import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** One suite's table: a column per configuration, a row per figure. */
export type BenchRows = Record<string, string | number>[];

/**
 * A bench run as written by `--json FILE`: every table cell, plus what it takes to judge the
 * figures later (machine, commit, config, the suite's options).
 */
export interface BenchResults {
  readonly format: 'vigil-bench/1';
  readonly suite: string;
  readonly args: readonly string[];
  readonly date: string;
  readonly commit: string;
  readonly dirty: boolean;
  readonly machine: {
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
    node: string;
    platform: string;
    loadavg?: number[];
  };
  readonly config: Record<string, string | undefined>;
  readonly tables: Record<string, BenchRows>;
  /** Free-text findings a suite prints under its table. */
  readonly notes: string[];
}

const collected: { tables: Record<string, BenchRows>; notes: string[] } = { tables: {}, notes: [] };

/** Keeps a printed table for `--json` (the name tells tables of one suite apart). */
export function recordTable(name: string, rows: BenchRows): void {
  collected.tables[name] = rows;
}

export function recordNote(line: string): void {
  collected.notes.push(line);
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function benchResults(suite: string, args: readonly string[]): BenchResults {
  const cpu = cpus();
  return {
    format: 'vigil-bench/1',
    suite,
    args,
    date: new Date().toISOString(),
    commit: git(['rev-parse', 'HEAD']) || 'unknown',
    dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryBytes: totalmem(),
      node: process.version,
      platform: process.platform,
    },
    // The settings a bench reads from the environment (VIGIL_* overrides the engine's config).
    config: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('VIGIL_'))),
    tables: collected.tables,
    notes: collected.notes,
  };
}

export function writeBenchResults(file: string, suite: string, args: readonly string[]): void {
  writeFileSync(file, JSON.stringify(benchResults(suite, args), null, 2) + '\n');
}
