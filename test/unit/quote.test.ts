import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { shq, shJoin, sh, ShFragment, type ShValue } from '../../src/quote.ts';
import { run } from '../../src/proc.ts';

const hostile = ["it's", '$(touch /tmp/rx-pwned)', '`id`', 'a;b', 'a\nb', 'ünï 😀', '', ' lead', '-n', "'", "''", '\\', '"$HOME"', '*', '~', 'a\tb', '!x', '$((1+1))'];

/** Strings made mostly of what shells treat specially (plus any unicode), never NUL. */
const nasty: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom("'", '"', '$(', ')', '`', '\n', '\r', '\t', ' ', '~', '~/', '-', '--', '\\', '$', '${', '}', '!', '*', '?', '[', ']', ';', '&', '|', '<', '>', '#', '=', '%', 'a', 'Z', '0', 'é', '😀', '\x01', '\x7f') }),
  fc.string({ unit: 'binary' }).filter(s => !s.includes('\0')),
  fc.tuple(fc.constantFrom('-', '--', '~', '~/', '-n ', '-e'), fc.string()).map(([a, b]) => a + b),
);

/** Runs one bash script; its stdout split on NUL (each case ends with one). */
async function bashNul(script: ShFragment, env?: NodeJS.ProcessEnv): Promise<string[]> {
  const r = await run(['bash', '-c', script.text], env ? { env } : {});
  return r.stdout.split('\0').slice(0, -1);
}

/** One line per case: `printf %s <value>`, then a NUL separator. */
function printEach(values: ShValue[]): ShFragment {
  return sh.lines(values.map(v => sh`printf %s ${v}; printf '\\0'`));
}

test('shq round-trips hostile strings through a real bash, never executing them', async () => {
  const script = hostile.map(s => `printf '%s\\0' ${shq(s)}`).join('\n');
  const r = await run(['bash', '-c', script]);
  assert.deepEqual(r.stdout.split('\0').slice(0, -1), hostile);
});

test('shq round-trips arbitrary strings (property, one bash run)', async () => {
  const samples = fc.sample(fc.string({ unit: 'binary' }).filter(s => !s.includes('\0')), 300);
  const r = await run(['bash', '-c', `printf '%s\\0' ${shJoin(samples)}`]);
  assert.deepEqual(r.stdout.split('\0').slice(0, -1), samples);
});

test('shq refuses NUL; plain words stay readable', () => {
  assert.throws(() => shq('a\0b'), /NUL/);
  assert.equal(shq('run.sbatch'), 'run.sbatch');
  assert.equal(shq("it's"), "'it'\\''s'");
});

test('sh`printf %s ${s}` prints exactly s in bash (property: one bash run per batch of strings)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(nasty, { minLength: 1, maxLength: 40 }), async strs => {
      assert.deepEqual(await bashNul(printEach([...strs, ...hostile])), [...strs, ...hostile]);
    }),
    { numRuns: 20 },
  );
});

test('sh.path: a leading ~/ (or ~ alone) is the home, the rest is literal (property)', async () => {
  const home = "/home/it's me $(x)";
  await fc.assert(
    fc.asyncProperty(fc.array(nasty, { minLength: 1, maxLength: 30 }), async tails => {
      const cases: [string, string][] = [
        ['~', home],
        ['~/', home + '/'],
        ['/abs/~/x', '/abs/~/x'],
        ['~x/y', '~x/y'],
        ['rel/dir', 'rel/dir'],
        ...tails.map((t): [string, string] => ['~/' + t, `${home}/${t}`]),
        ...tails.map((t): [string, string] => ['/' + t, '/' + t]),
      ];
      const got = await bashNul(printEach(cases.map(([p]) => sh.path(p))), { ...process.env, HOME: home });
      assert.deepEqual(got, cases.map(([, want]) => want));
    }),
    { numRuns: 8 },
  );
});

test('arrays interpolate as one quoted word per element; fragments and numbers may be elements', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(nasty, { minLength: 1, maxLength: 30 }), async strs => {
      const r = await run(['bash', '-c', sh`printf '%s\\0' ${strs}`.text]);
      assert.deepEqual(r.stdout.split('\0').slice(0, -1), strs);
    }),
    { numRuns: 8 },
  );
  const mixed = sh`printf '%s\\0' ${['a b', 7, -1.5, sh.path('~/x y'), sh`"$((1+1))"`, '']}`;
  assert.deepEqual(await bashNul(mixed, { ...process.env, HOME: '/h' }), ['a b', '7', '-1.5', '/h/x y', '2', '']);
  assert.equal(sh`x ${[]}y`.text, 'x y', 'an empty array is no words at all');
  assert.equal(sh`rm ${['plain', "it's"]}`.text, "rm plain 'it'\\''s'");
});

test('fragments nest as is: never quoted twice, at any depth', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(nasty, { minLength: 1, maxLength: 20 }), async strs => {
      const inner = strs.map(s => sh`printf '%s\\0' ${s}`);
      const nested = sh`${sh`${sh.lines(inner)}`}\n${sh.lines(inner)}`;
      assert.deepEqual(await bashNul(nested), [...strs, ...strs]);
    }),
    { numRuns: 8 },
  );
  const word = sh`${"it's"}`;
  assert.equal(sh`a ${word} ${sh`${word}`}`.text, "a 'it'\\''s' 'it'\\''s'");
  assert.equal(sh`echo ${sh.raw('"$HOME"')}`.text, 'echo "$HOME"');
  assert.equal(sh.lines([sh`a`, sh`b ${'c d'}`]).text, "a\nb 'c d'");
});

test('the template text is cooked like a plain template literal; numbers are words', () => {
  assert.equal(sh`printf 'a\\n' \${x} "$y"`.text, `printf 'a\\n' \${x} "$y"`);
  assert.equal(sh`n=${3} m=${-2} f=${0.5}`.text, 'n=3 m=-2 f=0.5');
});

test('refuses what is not a string, finite number, fragment or array of those, and NUL, when the script is built', () => {
  const bad: unknown[] = [undefined, null, true, {}, { text: 'x' }, () => 'x', Symbol('s'), 1n, NaN, Infinity, [['nested']], ['ok', undefined], [{}], new String('x')];
  for (const v of bad) {
    assert.throws(() => sh`rm -rf ${v as ShValue}`, TypeError, `should refuse ${String(v)}`);
  }
  assert.throws(() => sh`rm -rf ${undefined as unknown as string}/x`, /refusing to interpolate undefined after "rm -rf "/);
  assert.throws(() => sh`echo ${'a\0b'}`, /NUL/);
  assert.throws(() => sh`echo ${['a', 'b\0']}`, /NUL/);
  assert.throws(() => sh.raw('a\0b'), /NUL/);
  assert.throws(() => sh.path('~/a\0b'), /NUL/);
  assert.throws(() => sh.path(undefined as unknown as string), TypeError);
  assert.throws(() => sh.raw({} as unknown as string), TypeError);
  assert.throws(() => sh.lines(['echo hi' as unknown as ShFragment]), /line 0 is string, not an sh fragment/);
  assert.throws(() => new ShFragment(Symbol('rx.sh') as never, 'x'), TypeError);
});

test('a fragment never turns into a plain string implicitly (it would be quoted again)', () => {
  const f = sh`echo ${'a b'}`;
  assert.equal(f.text, "echo 'a b'");
  assert.throws(() => `${f}`, /nest it in sh/);
  assert.throws(() => 'x' + (f as unknown as string), /nest it in sh/);
  assert.throws(() => String(f), /nest it in sh/);
});
