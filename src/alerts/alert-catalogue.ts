import type { AlertTypeSpec } from './alert-type.js';

/**
 * What the registry of alert types generates besides code: the dashboard's module and the
 * docs' tables. Pure functions of the specs, so a test can run them on a copy of the
 * registry; `scripts/alert-docs.ts` writes them and a test checks the files agree.
 */

/** Marks a generated block in a docs page; the text between a pair is replaced. */
export const GENERATED_BEGIN =
  '<!-- generated from src/alerts/types/ by `npx tsx scripts/alert-docs.ts`: do not edit by hand -->';
export const GENERATED_END = '<!-- end of generated block -->';

/** The CloudEvents `type` of an alert type's triggers (delivery/marketing/cloudevent.ts encodes with it). */
export function cloudEventType(type: string): string {
  return `io.vigil.${type}.v1`;
}

/** src/server/dashboard/alert-types.js: the dashboard's list of types, labels and colours. */
export function dashboardModule(specs: readonly AlertTypeSpec[]): string {
  const rows = specs.map(
    (s) =>
      `  { type: ${JSON.stringify(s.type)}, label: ${JSON.stringify(s.dashboard.label)}, colour: ${JSON.stringify(s.dashboard.colour)} },`,
  );
  return `// Generated from src/alerts/types/ by \`npx tsx scripts/alert-docs.ts\`; do not edit by hand.
/** Every alert type, in the registry's order: its badge's label and colour. */
export const ALERT_TYPES = [
${rows.join('\n')}
];
`;
}

/** docs/alerts.md: one row per type, what its data holds, its score, identity, audience and policy. */
export function alertsTable(specs: readonly AlertTypeSpec[]): string {
  const rows = specs.map(
    (s) =>
      `| \`${s.type}\` | ${s.docs.data} | ${s.docs.score} | ${s.docs.occasion} | ${s.audience} | ${s.severities.join(', ')} | \`alerts.policies.${s.policyKey}\` |`,
  );
  return [
    '| type | `data` | `score` | occasion (in the id) | audience | severity | cooldown / hysteresis |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** docs/triggers.md: per type, whether it is a trigger, its CloudEvents type and its subject. */
export function triggersTable(specs: readonly AlertTypeSpec[]): string {
  const rows = specs.map((s) =>
    s.audience === 'marketing'
      ? `| \`${s.type}\` | \`${cloudEventType(s.type)}\` | \`<prefix>.${s.type}\` |`
      : `| \`${s.type}\` | not a trigger (audience ops) | |`,
  );
  return [
    '| alert type | CloudEvents `type` | subject (`triggers.nats.subjectPrefix`) |',
    '|---|---|---|',
    ...rows,
  ].join('\n');
}

/** `page` with the text between its generated markers replaced by `block`; throws when the markers are missing. */
export function withGeneratedBlock(page: string, block: string): string {
  const begin = page.indexOf(GENERATED_BEGIN);
  const end = page.indexOf(GENERATED_END, begin);
  if (begin < 0 || end < 0) throw new Error('the page has no generated block markers');
  return page.slice(0, begin + GENERATED_BEGIN.length) + '\n' + block + '\n' + page.slice(end);
}
