import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VigilError } from './errors.js';

/**
 * The package's root: the nearest folder above this module holding `config/default.json`.
 * Works from src/ (tsx, vitest) and from dist/src/ alike.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'config', 'default.json'))) return dir;
    dir = dirname(dir);
  }
  throw new VigilError('VIGIL_ERR_CONFIG', 'config/default.json not found above ' + fileURLToPath(import.meta.url));
}
