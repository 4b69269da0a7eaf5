// rx completion: scripts generated from the commander program. The bash one is loaded into a real
// bash and asked for completions the way bash asks (COMP_WORDS/COMP_CWORD, then the function).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { program } from '../../src/cli.ts';
import { commandSpecs, completion } from '../../src/commands/completion.ts';
import { run } from '../../src/proc.ts';
import { shq } from '../../src/quote.ts';

async function withScript<T>(text: string, f: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'rx-completion-'));
  try {
    const file = join(dir, 'rx.bash');
    await writeFile(file, text);
    return await f(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What bash completes for the command line `words` (the last word being completed). */
async function complete(file: string, words: string[], cwd = process.cwd()): Promise<string[]> {
  const script = `source ${shq(file)}
COMP_WORDS=(${words.map(shq).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=()
_rx rx ${shq(words.at(-1)!)} ${shq(words.at(-2) ?? '')}
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await run(['bash', '--norc', '--noprofile', '-c', script], { cwd });
  return r.stdout.split('\n').filter(Boolean);
}

test('bash: `complete -p rx` after sourcing, and every command of the program is offered', async () => {
  const commands = program().commands.map(c => c.name());
  assert.ok(commands.includes('logs') && commands.includes('completion') && commands.includes('init') && commands.includes('diff'));
  await withScript(completion(program(), 'bash'), async file => {
    const p = await run(['bash', '--norc', '--noprofile', '-c', `source ${shq(file)}; complete -p rx`]);
    assert.equal(p.stdout.trim(), 'complete -F _rx rx');
    assert.deepEqual((await complete(file, ['rx', ''])).sort(), [...commands, '--help', '--version'].sort());
    assert.deepEqual(await complete(file, ['rx', 'st']), ['status']);
  });
});

test('bash: options of a command, choices of an option, and the completion shells', async () => {
  await withScript(completion(program(), 'bash'), async file => {
    const statusOpts = await complete(file, ['rx', 'status', '--']);
    for (const o of ['--sweep', '--failed', '--state', '--watch', '--interval', '--json', '--offline', '--cwd', '--help']) assert.ok(statusOpts.includes(o), o);
    assert.deepEqual(await complete(file, ['rx', 'logs', '--t']), ['--tail']);
    assert.deepEqual(await complete(file, ['rx', 'dataset', '--format', 'p']), ['parquet']);
    assert.deepEqual((await complete(file, ['rx', 'completion', ''])).sort(), ['bash', 'fish', 'zsh']);
    // -C <dir> before the command is skipped when finding the command.
    assert.deepEqual(await complete(file, ['rx', '-C', '/tmp', 'fetch', '--max']), ['--max-size']);
  });
});

test('bash: --sweep completes the sweep names of the repository around the current directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rx-completion-repo-'));
  try {
    await run(['git', 'init', '-q', dir]);
    for (const s of ['mass_scan', 'z-grid']) {
      await run(['mkdir', '-p', join(dir, '.rx/sweeps', s)]);
      await writeFile(join(dir, '.rx/sweeps', s, 'ledger.jsonl'), '');
    }
    await run(['mkdir', '-p', join(dir, '.rx/sweeps/not-a-sweep')]);
    await withScript(completion(program(), 'bash'), async file => {
      assert.deepEqual(await complete(file, ['rx', 'status', '--sweep', ''], dir), ['mass_scan', 'z-grid']);
      assert.deepEqual(await complete(file, ['rx', 'fetch', '--sweep', 'z'], dir), ['z-grid']);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('zsh and fish scripts name every command and every long option', () => {
  const specs = commandSpecs(program());
  const zsh = completion(program(), 'zsh');
  const fish = completion(program(), 'fish');
  assert.match(zsh, /^#compdef rx/);
  for (const s of specs) {
    assert.match(zsh, new RegExp(`^    '${s.name}:`, 'm'));
    assert.match(zsh, new RegExp(`^    ${s.name}\\) _arguments`, 'm'));
    assert.match(fish, new RegExp(`-a ${s.name} -d`));
    for (const o of s.options) if (o.long) {
      assert.ok(zsh.includes(o.long), `${s.name} ${o.long} in zsh`);
      assert.ok(fish.includes(`__fish_seen_subcommand_from ${s.name}' -l ${o.long.slice(2)}`), `${s.name} ${o.long} in fish`);
    }
  }
  // Descriptions cannot break out of their quotes.
  for (const line of zsh.split('\n').filter(l => /_arguments/.test(l))) assert.equal((line.match(/(?<!\\)'/g) ?? []).length % 2, 0, line);
});
