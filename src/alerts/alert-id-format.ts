/** Digits of the hash in an id: 128 bits (alert-id.ts says why). */
export const HASH_HEX_DIGITS = 32;

/** The pattern every id of this type matches: `<type>:<32 hex digits>` (used by the alert schema). */
export function alertIdPattern(type: string): RegExp {
  return new RegExp(`^${type.replace(/[.]/g, '\\.')}:[0-9a-f]{${HASH_HEX_DIGITS}}$`);
}
