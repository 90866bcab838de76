import { readFileSync, writeFileSync } from 'node:fs';
import { alertsTable, dashboardModule, triggersTable, withGeneratedBlock } from '../src/alerts/alert-catalogue.js';
import { alertTypeSpecs } from '../src/alerts/registry.js';

/**
 * The files the registry of alert types generates (src/alerts/types/, registry.ts): the
 * dashboard's module and the alert tables of docs/alerts.md and docs/triggers.md. Run after
 * adding or changing a type; a test checks the files agree with the registry.
 */
export function alertGeneratedFiles(): Record<string, string> {
  const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
  return {
    'src/server/dashboard/alert-types.js': dashboardModule(alertTypeSpecs),
    'docs/alerts.md': withGeneratedBlock(read('docs/alerts.md'), alertsTable(alertTypeSpecs)),
    'docs/triggers.md': withGeneratedBlock(read('docs/triggers.md'), triggersTable(alertTypeSpecs)),
  };
}

if (process.argv[1]?.endsWith('alert-docs.ts')) {
  for (const [path, text] of Object.entries(alertGeneratedFiles()))
    writeFileSync(new URL(`../${path}`, import.meta.url), text);
}
