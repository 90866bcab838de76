/**
 * The CDNOW sample (Fader, Hardie & Lee 2005), read in place from ../shared/datasets/cdnow,
 * turned into the per-customer statistics the BG/NBD and Gamma–Gamma models take.
 *
 * Conventions, checked against the published summaries for all 2,357 customers:
 * - time unit: the week; times count whole calendar days between dates, divided by 7;
 * - all purchases on one day are one transaction (their values add up);
 * - calibration ends on 1997-09-30, and purchases made that day are in it;
 * - T is the day count from the first purchase to 1997-09-30 (272 days = 38.86 weeks for
 *   a customer who started on 1997-01-01: the end is the start of that day, not its end);
 * - x counts the repeat transactions, t_x is the day of the last one (0 when x = 0);
 * - mean spend is the mean value of the repeat transactions in the calibration period,
 *   the first purchase left out (the csv's zbar, rounded half-up to cents).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { datasetPath } from './datasets.js';

const DATASET_DIR = pathToFileURL(datasetPath('cdnow/'));
const CALIBRATION_END = dayNumber('19970930');
const DAYS_PER_WEEK = 7;

export interface CdnowCustomer {
  /** The sample id, 1..2357 (the csv's ID). */
  id: number;
  x: number;
  tx: number;
  T: number;
  /** Transaction values (one per purchase day, first purchase included) in cents, by day. */
  calibrationTransactionCents: number[];
  /** Mean value of the repeat transactions in dollars; 0 when x = 0. */
  meanRepeatSpend: number;
}

/** Days since 1970-01-01 for a yyyymmdd date, independent of the local time zone. */
function dayNumber(yyyymmdd: string): number {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  return Date.UTC(year, month - 1, day) / 86_400_000;
}

/** Calibration-period statistics of every customer in CDNOW_sample.txt, by sample id. */
export function loadCdnowCalibration(): CdnowCustomer[] {
  const text = readFileSync(new URL('CDNOW_sample.txt', DATASET_DIR), 'utf8');
  // sample id → purchase day → value in cents (integer cents keep the sums exact)
  const purchases = new Map<number, Map<number, number>>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5) continue;
    const [, sampleId, date, , dollars] = fields as [string, string, string, string, string];
    const id = Number(sampleId);
    const day = dayNumber(date);
    let days = purchases.get(id);
    if (days === undefined) purchases.set(id, (days = new Map()));
    days.set(day, (days.get(day) ?? 0) + Math.round(Number(dollars) * 100));
  }

  const customers: CdnowCustomer[] = [];
  for (const [id, days] of purchases) {
    const ordered = [...days.entries()].sort((u, v) => u[0] - v[0]);
    const first = (ordered[0] as [number, number])[0];
    const inCalibration = ordered.filter(([day]) => day <= CALIBRATION_END);
    const last = (inCalibration[inCalibration.length - 1] as [number, number])[0];
    const repeatCents = inCalibration.slice(1).map(([, cents]) => cents);
    customers.push({
      id,
      x: repeatCents.length,
      tx: (last - first) / DAYS_PER_WEEK,
      T: (CALIBRATION_END - first) / DAYS_PER_WEEK,
      calibrationTransactionCents: inCalibration.map(([, cents]) => cents),
      meanRepeatSpend: repeatCents.length === 0 ? 0 : repeatCents.reduce((s, c) => s + c, 0) / repeatCents.length / 100,
    });
  }
  return customers.sort((u, v) => u.id - v.id);
}

export interface SummaryRow {
  id: number;
  x: number;
  tx: number;
  T: number;
}

export interface SummaryRowWithSpend extends SummaryRow {
  zbar: number;
}

/** cdnow_customers_summary.csv (ID, frequency, recency, T) as published by lifetimes. */
export function readCdnowSummary(): SummaryRow[] {
  return readCsv('cdnow_customers_summary.csv', 4).map(([id, x, tx, T]) => ({ id, x, tx, T }));
}

/** cdnow_customers_summary_with_transactions.csv (ID, x, t_x, T, zbar). */
export function readCdnowSummaryWithSpend(): SummaryRowWithSpend[] {
  return readCsv('cdnow_customers_summary_with_transactions.csv', 5).map(([id, x, tx, T, zbar]) => ({
    id,
    x,
    tx,
    T,
    zbar,
  }));
}

type Row = [number, number, number, number, number];

/** The numeric rows of a csv with a header line; missing trailing columns read as NaN. */
function readCsv(name: string, columns: number): Row[] {
  const lines = readFileSync(new URL(name, DATASET_DIR), 'utf8').trim().split('\n');
  return lines.slice(1).map((line) => {
    const cells = line.split(',').map(Number);
    if (cells.length !== columns || cells.some(Number.isNaN)) throw new Error(`${name}: bad row ${line}`);
    return [0, 1, 2, 3, 4].map((i) => cells[i] ?? NaN) as Row;
  });
}

/** Rounds half-up to cents from integer cents, as the published zbar was rounded. */
export function meanCentsRoundedHalfUp(cents: readonly number[]): number {
  if (cents.length === 0) return 0;
  const sum = cents.reduce((s, c) => s + c, 0);
  return Math.floor((2 * sum + cents.length) / (2 * cents.length)) / 100;
}
