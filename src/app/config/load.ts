import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VigilError } from '../../core/errors.js';
import { packageRoot } from '../../core/package-root.js';
import { configSchema, type VigilConfig } from './schema.js';

/**
 * Configuration comes from three layers, later ones winning: `config/default.json`, an
 * optional file (`--config`), then `VIGIL_*` environment variables. The merged result is
 * validated once; a bad config throws VIGIL_ERR_CONFIG listing every problem by path, so
 * nothing starts half-configured.
 *
 * Environment names map to paths by `__` between levels and SCREAMING_SNAKE to camelCase:
 * `VIGIL_DEDUPE__RETENTION_MS=60000` sets `dedupe.retentionMs`. Values are read as JSON
 * when they parse (numbers, booleans, arrays), else as plain strings.
 */
export interface ConfigSources {
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  /** Extra overrides applied last (command-line flags). */
  overrides?: Record<string, unknown>;
}

type Json = Record<string, unknown>;

export function defaultConfigPath(): string {
  return join(packageRoot(), 'config', 'default.json');
}

function readJsonFile(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new VigilError('VIGIL_ERR_CONFIG', `cannot read config file ${path}`, [(e as Error).message]);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new Error('the top level must be a JSON object');
    }
    return parsed as Json;
  } catch (e) {
    throw new VigilError('VIGIL_ERR_CONFIG', `config file ${path} is not a JSON object`, [(e as Error).message]);
  }
}

function isPlainObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep merge of plain objects; arrays and scalars from `over` replace those in `base`. */
export function mergeConfig(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? mergeConfig(out[k] as Json, v) : v;
  }
  return out;
}

const camel = (s: string) => s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export function envOverrides(env: Record<string, string | undefined>): Json {
  const out: Json = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('VIGIL_') || raw === undefined) continue;
    const path = name.slice('VIGIL_'.length).split('__').map(camel);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: keep the string
    }
    let node = out;
    for (const key of path.slice(0, -1)) {
      if (!isPlainObject(node[key])) node[key] = {};
      node = node[key] as Json;
    }
    node[path[path.length - 1]!] = value;
  }
  return out;
}

export function loadConfig(sources: ConfigSources = {}): VigilConfig {
  let merged = readJsonFile(defaultConfigPath());
  if (sources.file !== undefined) merged = mergeConfig(merged, readJsonFile(resolve(sources.file)));
  merged = mergeConfig(merged, envOverrides(sources.env ?? {}));
  if (sources.overrides) merged = mergeConfig(merged, sources.overrides);
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new VigilError('VIGIL_ERR_CONFIG', `invalid configuration (${problems.length} problem(s))`, problems);
  }
  return result.data;
}
