import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { asyncApiDocument, openApiDocument } from '../src/server/api-specs.js';

/** docs/openapi.json and docs/asyncapi.json as the schemas generate them (test/api-specs.test.ts checks they are current). */
export function apiSpecFiles(): Record<string, string> {
  return {
    'docs/openapi.json': JSON.stringify(openApiDocument(), null, 2) + '\n',
    'docs/asyncapi.json': JSON.stringify(asyncApiDocument(), null, 2) + '\n',
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [file, text] of Object.entries(apiSpecFiles()))
    writeFileSync(new URL(`../${file}`, import.meta.url), text);
}
