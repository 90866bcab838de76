import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorDocs } from '../scripts/error-docs.js';

describe('reference docs', () => {
  it('docs/errors.md is what the error registry generates', () => {
    expect(readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')).toBe(errorDocs());
  });
});
