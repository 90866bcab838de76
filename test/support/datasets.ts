/**
 * Where the shared public data sets live: `shared/datasets` in the nearest ancestor of the
 * project root that has one, so the main checkout (/work/main → /work/shared) and a worktree
 * (/work/wt/i21 → /work/shared) read the same files, in place.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function findDatasets(): string {
  for (let dir = dirname(PROJECT_ROOT); ; dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'datasets');
    if (existsSync(candidate) || dirname(dir) === dir) return candidate;
  }
}

const DATASETS = findDatasets();

/** Absolute path of a file (or folder, with a trailing slash) under shared/datasets. */
export function datasetPath(relative: string): string {
  return join(DATASETS, relative) + (relative.endsWith('/') ? '/' : '');
}
