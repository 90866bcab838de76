import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../bench/cli.js';
import { dryRun } from '../src/app/cli/program.js';

/**
 * Every command README.md and docs/*.md show runs as written: shell lines in fenced blocks and
 * `vigil …` in inline code. A `vigil` command is parsed by the real command line without
 * running (a dry run); a usage synopsis (with [optional] parts or a|b choices) must name a
 * command whose --help lists every option it shows. Bench commands are parsed by the bench's
 * command line, `npx tsx FILE` must name a file, `npm run X` a script.
 */
const root = new URL('../', import.meta.url);
const docs = [
  'README.md',
  ...readdirSync(new URL('docs/', root))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const scripts = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> })
  .scripts;

interface DocCommand {
  file: string;
  text: string;
  /** Inline code in prose names a command (`vigil fit`, `vigil replay --triggers`) rather than spelling out a run. */
  inline?: boolean;
}

/** Shell-like words: quotes grouped, stopping at a redirection, pipe, `&` or comment. */
export function words(line: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:'([^']*)'|"([^"]*)"|([^\s'"]+))/gy;
  let m: RegExpExecArray | null;
  let word = '';
  while ((m = re.exec(line)) !== null) {
    const gap = m[0].length - m[0].trimStart().length > 0;
    if (gap && word !== '') {
      out.push(word);
      word = '';
    }
    const bare = m[3];
    if (bare !== undefined && (/^[<>|&;]/.test(bare) || ((gap || word === '') && bare.startsWith('#')))) break;
    word += m[1] ?? m[2] ?? bare ?? '';
  }
  if (word !== '') out.push(word);
  return out;
}

function extract(file: string): DocCommand[] {
  const text = readFileSync(new URL(file, root), 'utf8');
  const found: DocCommand[] = [];
  let fence: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const f = /^```(\w*)/.exec(line);
    if (f) {
      fence = fence === undefined ? f[1]! : undefined;
      continue;
    }
    if (fence !== undefined) {
      if (!['sh', 'bash', 'shell', ''].includes(fence)) continue;
      let cmd = line;
      while (cmd.endsWith('\\') && i + 1 < lines.length) cmd = cmd.slice(0, -1) + ' ' + lines[++i]!.trim();
      const w = words(cmd.replace(/^\s*(?:[A-Z_][A-Z0-9_]*=(?:'[^']*'|"[^"]*"|\S*)\s+)+/, ''));
      if (/^(npx|npm|node)$/.test(w[0] ?? '') || (fence !== '' && w[0] === 'vigil')) found.push({ file, text: cmd });
    } else {
      for (const m of line.matchAll(/`((?:npx )?vigil(?: [^`]*)?)`/g)) found.push({ file, text: m[1]!, inline: true });
    }
  }
  return found;
}

const commands = docs.flatMap(extract);
const synopsis = (s: string) => /\[|\||…|\.\.\./.test(s.replace(/'[^']*'|"[^"]*"/g, ''));

async function check(c: DocCommand): Promise<void> {
  const env = /^\s*((?:[A-Z_][A-Z0-9_]*=(?:'[^']*'|"[^"]*"|\S*)\s+)*)(.*)$/.exec(c.text)!;
  const w = words(env[2]!);
  const where = `${c.file}: ${c.text}`;
  let args: string[];
  if (w[0] === 'vigil') args = w.slice(1);
  else if (w[0] === 'npx' && (w[1] === 'vigil' || w[1] === 'vigil-engine')) args = w.slice(2);
  else if (w[0] === 'npm' && w[1] === 'run' && w[2] === 'vigil' && w[3] === '--') args = w.slice(4);
  else if (w[0] === 'npm' && w[1] === 'run' && w[2] === 'bench') {
    const parsed = parseBenchArgs(
      w.slice(4),
      () => {},
      () => {},
    );
    expect('exit' in parsed ? parsed.exit : 0, where).toBe(0);
    return;
  } else if (w[0] === 'npx' && w[1] === 'tsx') {
    expect(existsSync(new URL(w[2]!, root)), where).toBe(true);
    return;
  } else if (w[0] === 'npm') {
    const script = w[1] === 'run' ? w.find((x, i) => i > 1 && !x.startsWith('-')) : w[1];
    if (script !== 'ci' && script !== 'install') expect(scripts[script!], where).toBeDefined();
    return;
  } else if (w[0] === 'node' && w[1] === 'dist/src/app/cli.js') args = w.slice(2);
  else throw new Error(`no check for ${where}`);

  if (c.inline === true || synopsis(env[2]!)) {
    // The command path is the leading words that are commands; its help must list each option shown.
    const path: string[] = [];
    for (const a of args) {
      if (
        a.startsWith('-') ||
        !(await dryRun([...path, a, '--help'])).out.startsWith(`Usage: vigil ${[...path, a].join(' ')} `)
      )
        break;
      path.push(a);
    }
    const help = await dryRun([...path, '--help']);
    expect(help.code, where).toBe(0);
    for (const opt of env[2]!.match(/(?<![\w-])--[a-z][\w-]*/g) ?? [])
      expect(help.out, `${where}: ${opt}`).toMatch(new RegExp(`${opt}(?![\\w-])`));
    return;
  }
  const r = await dryRun(args);
  expect(r.err, where).toBe('');
  expect(r.code, where).toBe(0);
  if (args[0] === 'help' || args.includes('--help') || args.includes('--version')) expect(r.out, where).not.toBe('');
  else expect(r.parsed.length, where).toBe(1);
}

describe('commands in README.md and docs/*.md', () => {
  it('finds the commands of every doc that shows some', () => {
    expect(commands.filter((c) => c.file === 'README.md').length).toBeGreaterThan(15);
    expect(new Set(commands.map((c) => c.file))).toEqual(
      new Set([
        'README.md',
        'docs/analytics.md',
        'docs/architecture.md',
        'docs/nats.md',
        'docs/ops.md',
        'docs/stream.md',
        'docs/triggers.md',
      ]),
    );
  });

  it('a usage mistake fails the check (the oracle can fail)', async () => {
    await expect(check({ file: 'x', text: 'npx vigil replay shop.jsonl --trigers' })).rejects.toThrow();
    await expect(check({ file: 'x', text: 'vigil start [--portt N]' })).rejects.toThrow();
    await expect(check({ file: 'x', text: 'vigil replay --trigger', inline: true })).rejects.toThrow();
    await expect(check({ file: 'x', text: 'npx vigil replay' })).rejects.toThrow();
    await expect(check({ file: 'x', text: 'npm run bench -- core --quik' })).rejects.toThrow();
    await expect(check({ file: 'x', text: 'npx tsx examples/nope.ts' })).rejects.toThrow();
  });

  for (const c of commands) {
    it(`${c.file}: ${c.text}`, () => check(c));
  }
});
