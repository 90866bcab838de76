import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { VigilError } from '../../core/errors.js';

/**
 * Reads click files in the `SessionId ItemId Time` format of session-rec's prepared data
 * (rn5l/session-rec, `data/rsc15/prepared/`): a header line, then one click a line, fields
 * separated by tabs (or other whitespace), Time in unix seconds. Ids stay strings: they are
 * names from someone else's system, interned by whoever uses them.
 */
export interface SessionClick {
  readonly session: string;
  readonly item: string;
  /** Event time, unix seconds as in the file (fractions allowed). */
  readonly time: number;
}

const HEADER = ['SessionId', 'ItemId', 'Time'] as const;
const FIELD_SEPARATOR = /\s+/;

/** Streams the clicks of a file in file order; a malformed line stops the read with its line number. */
export async function* readSessionClicks(path: string): AsyncGenerator<SessionClick> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (lineNumber === 1) {
        checkHeader(path, line);
        continue;
      }
      if (line.trim() === '') continue;
      yield parseClick(path, lineNumber, line);
    }
  } catch (e) {
    if (e instanceof VigilError) throw e;
    throw new VigilError('VIGIL_ERR_INPUT_FILE', `cannot read ${path}`, [(e as Error).message], { cause: e });
  } finally {
    lines.close();
    stream.destroy();
  }
  if (lineNumber === 0)
    throw new VigilError('VIGIL_ERR_INPUT_FILE', `${path} is empty`, ['expected a header: SessionId ItemId Time']);
}

function checkHeader(path: string, line: string): void {
  const fields = line.trim().split(FIELD_SEPARATOR);
  if (fields.length !== HEADER.length || fields.some((f, i) => f !== HEADER[i])) {
    throw new VigilError('VIGIL_ERR_INPUT_FILE', `${path}:1: expected the header "SessionId ItemId Time"`, [
      `line 1: ${clip(line)}`,
    ]);
  }
}

function parseClick(path: string, lineNumber: number, line: string): SessionClick {
  const fields = line.trim().split(FIELD_SEPARATOR);
  const bad = (why: string): VigilError =>
    new VigilError('VIGIL_ERR_INPUT_FILE', `${path}:${lineNumber}: ${why}`, [`line ${lineNumber}: ${clip(line)}`]);
  if (fields.length !== HEADER.length) throw bad(`expected 3 fields (SessionId ItemId Time), found ${fields.length}`);
  const [session, item, timeText] = fields as [string, string, string];
  const time = Number(timeText);
  if (!Number.isFinite(time) || timeText === '') throw bad(`Time is not a number: ${clip(timeText)}`);
  return { session, item, time };
}

function clip(text: string): string {
  return text.length > 80 ? text.slice(0, 77) + '...' : text;
}

/** One session's clicks in time order, items as dictionary numbers. */
export interface ClickSession {
  readonly id: string;
  readonly items: number[];
  /** Event times in ms. */
  readonly times: number[];
}

/** Anything that turns an item id into a small integer (the engine's `ProductDictionary`). */
export interface ItemInterner {
  intern(itemId: string): number;
}

/**
 * Reads a whole file into sessions ordered as session-rec's evaluation orders them
 * (`test_data.sort_values([SessionId, Time])`): by session id (numerically when every id is
 * a number), then by time, clicks at the same time in file order. For evaluation only: it
 * holds the file in memory.
 */
export async function readClickSessions(
  path: string,
  items: ItemInterner,
): Promise<{ sessions: ClickSession[]; clicks: number }> {
  const byId = new Map<string, { items: number[]; times: number[] }>();
  let clicks = 0;
  for await (const click of readSessionClicks(path)) {
    clicks++;
    let s = byId.get(click.session);
    if (s === undefined) {
      s = { items: [], times: [] };
      byId.set(click.session, s);
    }
    s.items.push(items.intern(click.item));
    s.times.push(click.time * 1000);
  }
  const ids = [...byId.keys()];
  const numeric = ids.every((id) => Number.isFinite(Number(id)));
  ids.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const sessions = ids.map((id) => {
    const s = byId.get(id)!;
    const order = s.times.map((_, i) => i).sort((a, b) => s.times[a]! - s.times[b]! || a - b);
    return { id, items: order.map((i) => s.items[i]!), times: order.map((i) => s.times[i]!) };
  });
  return { sessions, clicks };
}
