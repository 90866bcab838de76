import { readFile, stat } from 'node:fs/promises';
import { VigilError } from '../core/errors.js';
import { MAX_KEY_LENGTH } from '../core/event.js';
import { isMarketingFacing, type Alert } from './alert.js';

/**
 * Customers who opted out of marketing. Their marketing-facing alerts never reach a
 * marketing destination; operations destinations still see them, because opting out of
 * marketing does not hide a customer from the shop's own staff.
 *
 * The list is exact (a Set of ids): a false match would silence a customer who did not opt
 * out, a missed one would contact someone who did. It is bounded by `maxIds`, and a
 * longer list is refused, never cut, since cutting it would quietly drop opt-outs. Errors
 * name line numbers or array indexes, never ids, as messages may reach logs.
 *
 * The list is immutable; to pick up new opt-outs, load the file again and swap the
 * reference.
 */
export type DestinationKind = 'marketing' | 'ops';

export interface SuppressionLimits {
  readonly maxIds: number;
  readonly maxFileBytes: number;
}

export class SuppressionList {
  static readonly empty = new SuppressionList(new Set());

  private constructor(private readonly ids: ReadonlySet<string>) {}

  /** Builds a list from ids already in hand (tests, an admin API); same bounds as a file. */
  static of(ids: Iterable<string>, maxIds: number): SuppressionList {
    const set = new Set<string>();
    let index = 0;
    for (const id of ids) {
      addId(set, id, `entry ${index++}`, maxIds);
    }
    return new SuppressionList(set);
  }

  /**
   * Parses a suppression list: a JSON array of ids when the first non-blank character is
   * `[` (a `{` is taken for JSON too, and refused, rather than read as one odd id),
   * otherwise one id per line. Lines are trimmed (exports often carry CR or trailing
   * blanks) and blank lines skipped. There is no comment syntax: ids are opaque, and one
   * starting with `#` must still be honoured.
   */
  static parse(text: string, maxIds: number): SuppressionList {
    const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    const set = new Set<string>();
    const first = body.trimStart()[0];
    if (first === '[' || first === '{') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw invalid('looks like JSON but does not parse');
      }
      if (!Array.isArray(parsed)) throw invalid('the JSON is not an array');
      for (let i = 0; i < parsed.length; i++) addId(set, parsed[i], `element ${i}`, maxIds);
      return new SuppressionList(set);
    }
    let line = 0;
    for (const raw of body.split('\n')) {
      line++;
      const id = raw.trim();
      if (id.length > 0) addId(set, id, `line ${line}`, maxIds);
    }
    return new SuppressionList(set);
  }

  get size(): number {
    return this.ids.size;
  }

  /** The ids, in the order first listed. */
  values(): IterableIterator<string> {
    return this.ids.values();
  }

  isSuppressed(customerId: string): boolean {
    return this.ids.has(customerId);
  }

  /** Whether this alert may go to a destination of this kind. */
  mayDeliver(alert: Pick<Alert, 'type' | 'customerId'>, destination: DestinationKind): boolean {
    if (destination === 'ops') return true;
    return !(isMarketingFacing(alert.type) && alert.customerId !== null && this.ids.has(alert.customerId));
  }
}

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_ERR_SUPPRESSION_LIST', `suppression list: ${message}`);
}

function addId(set: Set<string>, id: unknown, where: string, maxIds: number): void {
  if (typeof id !== 'string') throw invalid(`${where} is not a string`);
  if (id.length < 1 || id.length > MAX_KEY_LENGTH)
    throw invalid(`${where}: a customer id has 1 to ${MAX_KEY_LENGTH} characters`);
  set.add(id);
  if (set.size > maxIds)
    throw invalid(`more than ${maxIds} customers (alerts.suppression.maxIds); refusing to cut the list`);
}

/** Reads and parses a suppression list file, refusing one larger than `maxFileBytes` before reading it. */
export async function loadSuppressionFile(path: string, limits: SuppressionLimits): Promise<SuppressionList> {
  let text: string;
  try {
    const { size } = await stat(path);
    if (size > limits.maxFileBytes)
      throw invalid(`file is ${size} bytes, over alerts.suppression.maxFileBytes (${limits.maxFileBytes})`);
    const bytes = await readFile(path);
    // It may have grown between stat and read.
    if (bytes.byteLength > limits.maxFileBytes)
      throw invalid(`file is over alerts.suppression.maxFileBytes (${limits.maxFileBytes})`);
    text = bytes.toString('utf8');
  } catch (e) {
    if (e instanceof VigilError) throw e;
    throw new VigilError('VIGIL_ERR_INPUT_FILE', `cannot read suppression list ${path}`, [(e as Error).message], {
      cause: e,
    });
  }
  return SuppressionList.parse(text, limits.maxIds);
}
