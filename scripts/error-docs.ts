import { writeFileSync } from 'node:fs';
import { errorCodes, type ErrorCode } from '../src/core/errors.js';

/** Writes docs/errors.md from the registry in src/core/errors.ts (a test checks they agree). */
export function errorDocs(): string {
  const rows = (reject: boolean) =>
    (Object.keys(errorCodes) as ErrorCode[])
      .filter((c) => errorCodes[c].reject === reject)
      .map((c) => `| \`${c}\` | ${errorCodes[c].summary} |`)
      .join('\n');
  return `# Error codes

Generated from \`src/core/errors.ts\` by \`npx tsx scripts/error-docs.ts\`; do not edit by hand.
Codes are stable: match on them, never on message text.

## Reasons a message is rejected

A rejected message is counted under its reason (\`rejectedBy\` in the counters) together
with the zod issue path where one applies (\`items.0.price\`), never the offending value.

| code | meaning |
|---|---|
${rows(true)}

## Errors the engine and its commands raise

Commands print \`error <CODE>: <message>\` and the details, and exit with 2 for usage and
configuration errors, 1 for the others.

| code | meaning |
|---|---|
${rows(false)}
`;
}

if (process.argv[1]?.endsWith('error-docs.ts'))
  writeFileSync(new URL('../docs/errors.md', import.meta.url), errorDocs());
