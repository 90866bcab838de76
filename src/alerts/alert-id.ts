import { hash } from 'node:crypto';
import { alertTypes, alertTypeSpec, type Alert, type AlertDraft, type AlertType } from './alert.js';
import { HASH_HEX_DIGITS } from './alert-id-format.js';
import type { AlertOccasion } from './alert-type.js';

export { alertIdPattern } from './alert-id-format.js';
export type { AlertOccasion } from './alert-type.js';

/**
 * Deterministic alert ids. A replay of the same input must yield the same id, because the
 * id is what downstream de-duplicates on (`Nats-Msg-Id`, the CloudEvents `id`); and two
 * genuinely different alerts must never share one, or downstream would drop a real alert.
 *
 * The id is `<type>:<32 hex digits>`, the digits being the first 128 bits of SHA-256 over
 * the inputs below. 128 bits make an accidental collision negligible (about n²/2¹²⁹: under
 * 10⁻¹⁴ after 10¹² alerts). The type prefix keeps ids readable in logs without carrying
 * the customer id in clear.
 *
 * What goes in, and why:
 * - `type`: the same evidence may raise alerts of several types; each is its own alert.
 * - `customerId`: alerts are about one customer; two customers never share an alert (null
 *   for an alert about an aggregate, whose occasion names it).
 * - `ts`, the event time of the triggering evidence: separates successive alerts of one
 *   type for one customer. It must be event time taken from the input (the purchase's ts,
 *   a session's last activity, a timer's due time), never the watermark at which the
 *   engine noticed it: watermarks depend on arrival timing, and a replay would differ.
 * - the occasion (type-specific, declared once in the type's file, `types/`): what tells
 *   apart two alerts of one type for one customer at the same instant (two orders, two
 *   sessions, two rules).
 * What stays out: the score, reasons, severity and model outputs. A replay after the
 * model was refitted may compute slightly different numbers for the same occasion, and
 * it is still the same alert for downstream.
 */
const SCHEME = 'vigil.alert.v1';

export interface AlertIdInputs {
  readonly type: AlertType;
  /** null for an alert about an aggregate (demand), not a customer. */
  readonly customerId: string | null;
  readonly ts: number;
  readonly occasion: AlertOccasion;
}

export function alertId(inputs: AlertIdInputs): string {
  // JSON of an array is an unambiguous encoding: no choice of strings makes two different
  // input lists serialise alike (unlike joining with a separator). The scheme tag changes
  // every id deliberately if the derivation ever changes.
  let canonical = CANONICAL_HEAD[inputs.type] + jsonString(inputs.customerId) + ',' + jsonNumber(inputs.ts);
  for (const part of inputs.occasion)
    canonical += ',' + (typeof part === 'string' ? jsonString(part) : jsonNumber(part));
  return idOf(inputs.type, canonical + ']');
}

/**
 * The canonical string is `JSON.stringify([SCHEME, type, customerId, ts, ...occasion])`, built
 * here element by element: that is how JSON.stringify writes an array (elements joined by
 * commas, no spaces), and it saves the array, the spread and the serialiser's generic walk on
 * every alert (chosen by `npm run bench -- core`). Tests pin it to JSON.stringify.
 */
const CANONICAL_HEAD = Object.fromEntries(alertTypes.map((t) => [t, head(t)])) as Readonly<Record<AlertType, string>>;

function head(type: AlertType): string {
  return `[${JSON.stringify(SCHEME)},${JSON.stringify(type)},`;
}

/**
 * What JSON.stringify writes for a string. It escapes only quotes, backslashes, characters below U+0020
 * and lone surrogates; a string with none of these (an id, a rule name: nearly every string
 * here) is written as is between quotes, without the call into the serialiser. Any
 * surrogate, paired or not, takes the serialiser's path.
 */
function jsonString(s: string | null): string {
  // Not a string after all (a draft built around the types): whatever the serialiser made of it before.
  if (typeof s !== 'string') return String(JSON.stringify(s));
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return '"' + s + '"';
}

/**
 * What JSON.stringify writes for a number: its shortest round-trip form, `null` when not
 * finite. An event time (13 digits, past the small-integer range) is written as two halves
 * of at most 8 digits, each a small integer: the same digits without the general
 * double-to-string conversion; every id carries one or two of them.
 */
function jsonNumber(n: number): string {
  if (n >= 1e8 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n)) {
    const high = Math.floor(n / 1e8);
    const low = '' + (n - high * 1e8);
    return '' + high + ZEROS[8 - low.length] + low;
  }
  return Number.isFinite(n) ? '' + n : 'null';
}
const ZEROS = ['', '0', '00', '000', '0000', '00000', '000000', '0000000'];

function idOf(type: AlertType, canonical: string): string {
  const digest = hash('sha256', canonical, 'hex'); // one-shot: no Hash object per alert, unlike createHash
  return type + ':' + digest.slice(0, HASH_HEX_DIGITS);
}

/** `alertId` of a draft: the same canonical string, written without the intermediate inputs object. */
function draftId(draft: AlertDraft): string {
  let canonical = CANONICAL_HEAD[draft.type] + jsonString(draft.customerId) + ',' + jsonNumber(draft.ts);
  for (const part of occasionOf(draft))
    canonical += ',' + (typeof part === 'string' ? jsonString(part) : jsonNumber(part));
  return idOf(draft.type, canonical + ']');
}

/** The type-specific part of an alert's identity: its type's `occasion` rule. */
export function occasionOf(draft: AlertDraft): AlertOccasion {
  return (alertTypeSpec[draft.type].occasion as (data: AlertDraft['data']) => AlertOccasion)(draft.data);
}

/**
 * Completes a draft with its id: the one way analytics should make an `Alert`. The fields are
 * copied in the schema's order, `id` first (what a spread of the draft gives for drafts
 * written in that order, as the analytics write them), without the spread's generic copy.
 */
export function withAlertId(draft: AlertDraft): Alert {
  return {
    id: draftId(draft),
    type: draft.type,
    customerId: draft.customerId,
    ts: draft.ts,
    severity: draft.severity,
    score: draft.score,
    reasons: draft.reasons,
    segment: draft.segment,
    data: draft.data,
  } as Alert;
}
