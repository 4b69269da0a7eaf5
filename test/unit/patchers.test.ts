// Patchers: each built-in patcher on real and synthetic files, patch → parse round trips with
// hostile values (fast-check), and the multi-patcher routing of src/patch.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { patchers, PatchError } from '../../patchers/index.ts';
import { mesaHas } from '../../patchers/mesa.ts';
import { parsers } from '../../parsers/index.ts';
import { applyTextPatcher, patcherFiles, validatePatcher, type BuiltinPatcher } from '../../src/sweep/patch.ts';
import { ConfigError } from '../../src/errors.ts';
import { patchers as fromPackage, parsers as parsersFromPackage } from '../../src/index.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const inlist = fixture('mesa/r22-summer-school.inlist_project');

// A string fast-check may make hostile: quotes, `!`, `/`, `&`, `$`, `#`, `;`, `=`, `:`, blanks, unicode.
const nasty = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.constantFrom("'", '"', '!', '/', '&', '$', '#', ';', '=', ':', ' ', '\t', 'a', '1', '.', 'e', '-', '\\', '{', '}', '[', ']', ',', '*') }),
  fc.constantFrom('true', 'false', 'null', '1', '1.0', '1e3', '007', '.true.', '~', 'yes', '- x', '# c', 'a: b', ' lead', 'trail ', '', '/', "'", '"'),
);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });

test('package exports: patchers and parsers namespaces', () => {
  assert.equal(fromPackage, patchers);
  assert.equal(parsersFromPackage, parsers);
  for (const k of ['mesa', 'template', 'json', 'yaml', 'keyvalue', 'sbatch']) assert.equal(typeof (fromPackage as Record<string, unknown>)[k], 'function');
  assert.match(fromPackage.mesa(inlist, { initial_mass: 2.5 }), /initial_mass = 2\.5 ! in Msun units/);
});

// ───────────────────────────── mesa ─────────────────────────────

test('mesa: patch → parse round trip on the real inlist, hostile values (fast-check)', () => {
  const keys = ['initial_mass', 'initial_z', 'zbase', 'pgstar_flag', 'energy_eqn_option', 'xa_central_lower_limit_species(1)', 'x_logical_ctrl(1)'];
  const value = fc.oneof(finite, fc.boolean(), nasty.filter(s => !/[\r\n]/.test(s)), fc.array(finite, { minLength: 2, maxLength: 4 }), fc.integer());
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...keys), value, { minKeys: 1 }), fc.constantFrom<'e' | 'd'>('e', 'd'), (values, exponent) => {
      const out = patchers.mesa(inlist, values, { exponent });
      const parsed = parsers.mesaInlist(out);
      const before = parsers.mesaInlist(inlist);
      assert.deepEqual(Object.keys(parsed), Object.keys(before), 'no key added or lost');
      for (const [k, v] of Object.entries(values)) {
        const full = Object.keys(parsed).find(x => x.endsWith('.' + k.toLowerCase()))!;
        assert.deepEqual(parsed[full], JSON.parse(JSON.stringify(v)), `${k} reads back`); // -0 is written 0, as the parameter hash has it
      }
      for (const k of Object.keys(before)) if (!keys.some(x => k.endsWith('.' + x))) assert.deepEqual(parsed[k], before[k]);
      assert.equal(out.split('\n').length, inlist.split('\n').length);
    }),
    { numRuns: 300 },
  );
});

test('mesa: the substring bug (`mass` vs `initial_mass`), mixed case, tabs, commented duplicates', () => {
  const text = '&controls\n\tinitial_mass = 1\n\t! mass = 9\n\tMass\t=\t2 ! the real one\n\tMASS_change = 3\n/\n';
  assert.equal(patchers.mesa(text, { mass: 5 }), '&controls\n\tinitial_mass = 1\n\t! mass = 9\n\tMass\t=\t5 ! the real one\n\tMASS_change = 3\n/\n');
  assert.equal(patchers.mesa(text, { INITIAL_MASS: 1.5, 'Controls.Mass_Change': 0 }), '&controls\n\tinitial_mass = 1.5\n\t! mass = 9\n\tMass\t=\t2 ! the real one\n\tMASS_change = 0\n/\n');
  // only commented out: never activated
  assert.throws(() => patchers.mesa('&controls\n  ! mass = 1\n  !mass=2\n/\n', { mass: 3 }), /key 'mass' is not set in inlist/);
});

test('mesa: missing key names the key, the file and the closest keys', () => {
  assert.throws(() => patchers.mesa(inlist, { intial_mass: 1 }, { file: 'inlist_project' }), (e: unknown) => {
    assert.ok(e instanceof PatchError);
    assert.match((e as Error).message, /^key 'intial_mass' is not set in inlist_project; closest keys: initial_mass/);
    return true;
  });
  assert.throws(() => patchers.mesa(inlist, { 'pgstar.x': 1 }, { file: 'inlist_project' }), /there is no &pgstar group in inlist_project/);
  assert.throws(() => patchers.mesa(inlist, { new_key: 1 }, { add: true }), /to add it, qualify it with its group, e\.g\. 'controls\.new_key'/);
});

test('mesa: a value continued over several lines is replaced whole; other forms of namelist', () => {
  const text = '&controls\n  x_ctrl = 1, 2,\n     3, 4 ! four\n  y = 1\n/\n';
  assert.equal(patchers.mesa(text, { x_ctrl: [9, 8] }), '&controls\n  x_ctrl = 9, 8\n      ! four\n  y = 1\n/\n');
  assert.equal(patchers.mesa('&controls\n  x = 1,\n    2\n  y = 1\n/\n', { x: 3 }), '&controls\n  x = 3\n  y = 1\n/\n');
  // one-line group, &end, key = with no value, CRLF
  assert.equal(patchers.mesa('&kap Zbase = 0.02, x = 1 /\n', { zbase: 0.014 }), '&kap Zbase = 0.014, x = 1 /\n');
  assert.equal(patchers.mesa('&kap Zbase = 0.02 /\n', { 'kap.y': true }, { add: true }), '&kap Zbase = 0.02  y = .true. /\n');
  assert.equal(patchers.mesa('$kap\n  zbase = 0.02\n$end\n', { zbase: 1 }), '$kap\n  zbase = 1\n$end\n');
  assert.equal(patchers.mesa('&kap\n  zbase =\n/\n', { zbase: 1 }), '&kap\n  zbase = 1\n/\n');
  assert.equal(patchers.mesa('&kap\r\n  zbase = 0.02\r\n/\r\n', { zbase: 1, 'kap.q': 2 }, { add: true }), '&kap\r\n  zbase = 1\r\n    q = 2\r\n/\r\n');
  // duplicates inside one group are all set (MESA reads the last)
  assert.equal(patchers.mesa('&c\n  x = 1\n  x = 2\n/\n', { x: 3 }), '&c\n  x = 3\n  x = 3\n/\n');
  // the same assignment twice
  assert.throws(() => patchers.mesa('&c\n  x = 1\n/\n', { x: 3, 'c.x': 4 }), /'x' and 'c\.x' set the same assignment/);
  // a malformed inlist is a clear error with line and column
  assert.throws(() => patchers.mesa("&c\n  x = 'abc\n/\n", { x: 1 }), /cannot patch inlist: inlist:2:7: unterminated string/);
});

test('mesa: values containing newlines or a slash cannot break the namelist', () => {
  assert.throws(() => patchers.mesa(inlist, { energy_eqn_option: 'a\nb' }), /cannot contain a line break/);
  assert.throws(() => patchers.mesa(inlist, { initial_mass: Infinity }), /cannot be written/);
  assert.throws(() => patchers.mesa(inlist, { initial_mass: null }), /cannot write null/);
  assert.throws(() => patchers.mesa(inlist, { initial_mass: {} }), /cannot write object/);
  const out = patchers.mesa(inlist, { energy_eqn_option: "/ &controls x = 1 / ! '" });
  assert.equal(parsers.mesaInlist(out)['controls.energy_eqn_option'], "/ &controls x = 1 / ! '");
  assert.equal(mesaHas(inlist, 'Controls.Initial_Mass'), true);
  assert.equal(mesaHas(inlist, 'star_job.initial_mass'), false);
});

// ───────────────────────────── template ─────────────────────────────

test('template: $name, ${name}, $$; unknown placeholders and stray $ are errors with line and column', () => {
  const t = '#!/bin/bash\nM=$mass Z=${ initial_z }${x.y}\necho $$HOME costs $$5\n';
  assert.equal(patchers.template(t, { mass: 1.5, initial_z: 0.02, 'x.y': true, unused: 1 }), '#!/bin/bash\nM=1.5 Z=0.02true\necho $HOME costs $5\n');
  assert.equal(patchers.template('${a}', { a: [1, { b: 'c' }] }), '[1,{"b":"c"}]');
  assert.throws(() => patchers.template(t, { mass: 1 }, { file: 'run.sh' }), (e: unknown) => {
    assert.ok(e instanceof PatchError);
    assert.match((e as Error).message, /^run\.sh:2:11: placeholder 'initial_z' has no value; parameters: mass/);
    return true;
  });
  assert.throws(() => patchers.template('a\n  $(date)', {}), /template:2:3: '\$' starts no placeholder/);
  assert.throws(() => patchers.template('cost: $5', {}), /template:1:7: '\$' starts no placeholder/);
  assert.throws(() => patchers.template('${}', {}), /starts no placeholder/);
});

test('template: round trip over hostile text and values (fast-check)', () => {
  // A template made of literal pieces (with $ escaped as $$) and placeholders renders to the pieces and the values.
  const piece = fc.oneof(nasty.map(s => ({ lit: s })), fc.constantFrom('a', 'b_1', 'x.y').map(name => ({ name })));
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 8 }), fc.record({ a: nasty, b_1: nasty, 'x.y': nasty }), (pieces, values) => {
      const tpl = pieces.map(p => ('lit' in p ? p.lit.replace(/\$/g, '$$$$') : `\${${p.name}}`)).join('');
      const want = pieces.map(p => ('lit' in p ? p.lit : (values as Record<string, string>)[p.name])).join('');
      assert.equal(patchers.template(tpl, values), want);
    }),
  );
});

// ───────────────────────────── json ─────────────────────────────

test('json: paths, array indices, formatting kept, add, clear errors', () => {
  const t = '{\n  "a": { "b": 1, "c": [10, 20] },\n  "s": "x" // not JSON\n}';
  assert.throws(() => patchers.json(t, { s: 1 }, { file: 'cfg.json' }), /cannot patch cfg\.json: cfg\.json:3:12: expected ',' or '}'/);
  const ok = '{\n  "a": { "b": 1, "c": [10, 20] },\n  "s": "x"\n}\n';
  assert.equal(patchers.json(ok, { 'a.b': 2, 'a.c[1]': 21, s: 'y"z' }), '{\n  "a": { "b": 2, "c": [10, 21] },\n  "s": "y\\"z"\n}\n');
  assert.equal(patchers.json(ok, { 'a.c.0': null }), '{\n  "a": { "b": 1, "c": [null, 20] },\n  "s": "x"\n}\n');
  assert.equal(patchers.json(ok, { 'a.d.e': 1, n: [1] }, { add: true }), '{\n  "a": { "b": 1, "c": [10, 20], "d": {"e":1} },\n  "s": "x",\n  "n": [1]\n}\n');
  assert.throws(() => patchers.json(ok, { 'a.x': 1 }, { file: 'cfg.json' }), /key 'a\.x' is not set in cfg\.json: 'x' is not in 'a'; closest keys there: b, c/);
  assert.throws(() => patchers.json(ok, { 'a.b': NaN }), /cannot be written as JSON/);
  assert.throws(() => patchers.json(ok, { a: 1, 'a.b': 2 }), /'a' and 'a\.b' set the same value/);
});

test('json: patch → parse round trip with hostile values (fast-check)', () => {
  const base = '{"a": {"b": 0, "list": [1, 2, 3]}, "c": "x"}';
  fc.assert(
    fc.property(fc.record({ 'a.b': fc.jsonValue(), 'a.list[2]': fc.jsonValue(), c: nasty }, { requiredKeys: [] }), values => {
      const out = parsers.json<Record<string, any>>(patchers.json(base, values));
      const want = JSON.parse(base);
      if ('a.b' in values) want.a.b = values['a.b'];
      if ('a.list[2]' in values) want.a.list[2] = values['a.list[2]'];
      if ('c' in values) want.c = values.c;
      assert.deepEqual(out, JSON.parse(JSON.stringify(want)));
    }),
  );
});

// ───────────────────────────── yaml ─────────────────────────────

test('yaml: comments, quoting and layout of untouched parts are kept', () => {
  const t = "# settings\nrun:\n  mass: 1.0   # Msun\n  name: 'a b'\n  flags: [x, y]\nlist:\n  - 1\n  - 2 # second\n";
  assert.equal(
    patchers.yaml(t, { 'run.mass': 2, 'run.name': "it's", 'list[1]': 'true', 'run.flags.0': 'z' }),
    "# settings\nrun:\n  mass: 2   # Msun\n  name: 'it''s'\n  flags: [z, y]\nlist:\n  - 1\n  - \"true\" # second\n",
  );
  assert.throws(() => patchers.yaml(t, { 'run.mas': 1 }, { file: 's.yaml' }), /key 'run\.mas' is not set in s\.yaml: 'mas' is not in 'run'; closest keys there: mass/);
  const added = patchers.yaml(t, { 'run.z': 0.02, 'new.k': 'v' }, { add: true });
  assert.deepEqual(parsers.yaml(added), { run: { mass: 1, name: 'a b', flags: ['x', 'y'], z: 0.02 }, list: [1, 2], new: { k: 'v' } });
  assert.match(added, /# settings/);
  assert.equal(patchers.yaml('a:\nb: 1\n', { a: 5 }), 'a: 5\nb: 1\n');
  assert.throws(() => patchers.yaml('a: [1\n', { a: 1 }), /cannot patch file\.yaml: file\.yaml:/);
});

test('yaml: patch → parse round trip with hostile values (fast-check)', () => {
  const base = "top: 1 # c\nnest:\n  s: 'q'\n  p: plain\n  d: \"dq\"\n  block: |\n    text\n  seq:\n    - a\n    - b\nafter: end\n";
  const v = fc.oneof(nasty, finite, fc.boolean(), fc.constant(null), fc.jsonValue());
  fc.assert(
    fc.property(fc.record({ top: v, 'nest.s': v, 'nest.p': v, 'nest.d': v, 'nest.block': v, 'nest.seq[1]': v }, { requiredKeys: [] }), values => {
      const out = parsers.yaml<Record<string, any>>(patchers.yaml(base, values));
      const want = parsers.yaml<Record<string, any>>(base);
      for (const [k, x] of Object.entries(values)) {
        if (k === 'top') want.top = x;
        else if (k === 'nest.seq[1]') want.nest.seq[1] = x;
        else want.nest[k.slice(5)] = x;
      }
      assert.deepEqual(JSON.parse(JSON.stringify(out)), JSON.parse(JSON.stringify(want)));
      assert.equal(out.after, 'end');
    }),
    { numRuns: 200 },
  );
});

// ───────────────────────────── keyvalue ─────────────────────────────

test('keyvalue: separators, sections, comments, quoting kept; add; ambiguity', () => {
  const t = '# run config\nsteps = 10 # per run\nname: "a"\nexport MODE=fast\n[solver]\ntol=1e-6\n[output]\ntol = 2\n';
  assert.equal(
    patchers.keyvalue(t, { steps: 20, name: 'b c', MODE: 'slow #1', 'solver.tol': 1e-8 }),
    '# run config\nsteps = 20 # per run\nname: "b c"\nexport MODE=\'slow #1\'\n[solver]\ntol=1e-8\n[output]\ntol = 2\n',
  );
  assert.throws(() => patchers.keyvalue(t, { tol: 1 }), /key 'tol' is set in several sections of config \(\[solver\], \[output\]\); qualify it/);
  assert.throws(() => patchers.keyvalue(t, { stepz: 1 }, { file: 'run.cfg' }), /key 'stepz' is not set in run\.cfg; closest keys: steps/);
  assert.equal(patchers.keyvalue('a = 1\n[s]\nb = 2\n', { c: 3, 's.d': 4, 't.e': 5 }, { add: true }), 'a = 1\nc = 3\n[s]\nb = 2\ns.d = 4\n'.replace('s.d', 'd') + '\n[t]\ne = 5\n');
});

test('keyvalue: patch → parse round trip with hostile values (fast-check)', () => {
  const base = "a = 1\nb: x # comment\nc='q'\n[sec]\nd = \"e\"\n";
  const v = fc.oneof(nasty, finite, fc.boolean());
  fc.assert(
    fc.property(fc.record({ a: v, b: v, c: v, 'sec.d': v }, { requiredKeys: [] }), values => {
      const out = parsers.keyvalue(patchers.keyvalue(base, values));
      const want = { ...parsers.keyvalue(base), ...values };
      assert.deepEqual(out, JSON.parse(JSON.stringify(want)));
    }),
  );
});

test('keyvalue: shell files and export lines — bash sources back exactly the string (fast-check, real bash)', async () => {
  const { run } = await import('../../src/proc.ts');
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'rx-kv-'));
  try {
    // Hostile strings (no NUL: no shell variable can hold one), plus the findings of the review.
    const strings = [...fc.sample(fc.string({ unit: 'binary' }).map(s => s.replace(/\0/g, '')), 150), ...fc.sample(nasty, 100),
      '$(touch /tmp/rx-kv-pwned)', '`id`', 'a b', 'cost=$5', "it's", 'a\nb', '\r\n', 'x\\', '', '-n', '~', '1.5', '007', '!x'];
    const cases: { file: string; text: string; value: string }[] = [];
    for (const [i, s] of strings.entries()) {
      cases.push({ file: join(dir, `e${i}.cfg`), text: patchers.keyvalue('# run settings\nexport KEY=old # keep\nexport OTHER=1\n', { KEY: s }, { file: 'e.cfg' }), value: s });
      cases.push({ file: join(dir, `s${i}.env`), text: patchers.keyvalue('KEY=old\nOTHER=x\n', { KEY: s }, { file: 'run.env' }), value: s });
    }
    for (const c of cases) await writeFile(c.file, c.text);
    const script = 'for f in "$@"; do ( source "$f"; printf \'%s\\0\' "$KEY" ); done';
    const r = await run(['bash', '-c', script, 'bash', ...cases.map(c => c.file)]);
    const back = r.stdout.split('\0').slice(0, -1);
    assert.equal(back.length, cases.length);
    cases.forEach((c, i) => {
      assert.equal(back[i], c.value, `bash read ${JSON.stringify(back[i])} from ${JSON.stringify(c.text)}`);
      assert.equal(String(parsers.keyvalue(c.text, { file: c.file }).KEY), String(typeof parsers.keyvalue(c.text, { file: c.file }).KEY === 'number' ? Number(c.value) : c.value), 'rx reads it back as bash does');
    });
    assert.throws(() => patchers.keyvalue('export KEY=1\n', { KEY: 'a\0b' }), /cannot hold a NUL byte/);
    // INI files are not shell: their quoting stays as it was.
    assert.equal(patchers.keyvalue('[s]\nk = 1\n', { 's.k': 'a b' }), '[s]\nk = a b\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// ───────────────────────────── sbatch ─────────────────────────────

test('sbatch: long and short forms kept, flags, add after the last directive, nothing after the first command', () => {
  const t = '#!/bin/bash\n#SBATCH --time=1:00:00\n#SBATCH -n 4 --mem 4G # memory\n#SBATCH -J job --exclusive\n\nmodule load mesa\n#SBATCH --qos=late\n./rn\n';
  assert.equal(
    patchers.sbatch(t, { time: '2:00:00', '-n': 8, '--mem': '8G', 'job-name': 'my job', exclusive: false }),
    '#!/bin/bash\n#SBATCH --time=2:00:00\n#SBATCH -n 8 --mem 8G # memory\n#SBATCH -J "my job"\n\nmodule load mesa\n#SBATCH --qos=late\n./rn\n',
  );
  assert.equal(patchers.sbatch(t, { partition: 'short', 'cpus-per-task': 2, time: 30 }, { add: true }).split('\n').slice(1, 7).join('\n'), '#SBATCH --time=30\n#SBATCH -n 4 --mem 4G # memory\n#SBATCH -J job --exclusive\n#SBATCH --partition=short\n#SBATCH --cpus-per-task=2\n');
  assert.throws(() => patchers.sbatch(t, { qos: 'x' }), /option 'qos' \(--qos\) is not set by an #SBATCH line in run\.sbatch/);
  assert.throws(() => patchers.sbatch(t, { time: '1\n#SBATCH --x' }), /cannot contain a line break/);
  assert.equal(patchers.sbatch('#SBATCH -t5\n', { t: 10 }), '#SBATCH -t10\n');
  assert.equal(patchers.sbatch('#SBATCH --exclusive\n', { exclusive: false }), '');
});

test('sbatch: patch → parse round trip with hostile values (fast-check)', () => {
  const base = '#!/bin/bash\n#SBATCH --time=1:00:00 -n 4\n#SBATCH --job-name "x y"\n#SBATCH -o out.txt\necho\n';
  const v = fc.oneof(nasty.filter(s => s !== '' && !/[\r\n\0]/.test(s) && !(s.includes('"') && s.includes("'"))), fc.integer({ min: 0 }));
  fc.assert(
    fc.property(fc.record({ time: v, n: v, 'job-name': v, output: v }, { requiredKeys: [] }), values => {
      const out = parsers.sbatch(patchers.sbatch(base, values));
      const want: Record<string, unknown> = { ...parsers.sbatch(base) };
      for (const [k, x] of Object.entries(values)) want[k === 'n' ? 'ntasks' : k] = String(x);
      assert.deepEqual(out, want);
    }),
  );
});

// ───────────────────────────── src/patch.ts: several patchers ─────────────────────────────

const pgstar = '&pgstar\n  pgstar_flag_dummy = 0\n  Grid1_win_flag = .true.\n/\n';
const sbatchText = '#!/bin/bash\n#SBATCH --time=1:00:00\n#SBATCH --mem=4G\n./rn\n';
const files = () =>
  new Map([
    ['inlist_project', Buffer.from(inlist)],
    ['inlist_pgstar', Buffer.from(pgstar)],
    ['run.sbatch', Buffer.from(sbatchText)],
    ['params.json', Buffer.from('{"seed": 1}\n')],
  ]);
const textOf = (changes: { path: string; content: Buffer | null }[], path: string) => changes.find(c => c.path === path)!.content!.toString();

test('several patchers: every param goes to the patcher whose file has it; prefixes and keys route explicitly', () => {
  const spec = validatePatcher([
    { type: 'mesa', file: 'inlist_project' },
    { type: 'mesa', file: 'inlist_pgstar' },
    { type: 'sbatch', file: 'run.sbatch', prefix: 'sbatch.' },
    { type: 'json', file: 'params.json', keys: ['seed'] },
  ]) as BuiltinPatcher[];
  assert.deepEqual(patcherFiles(spec), ['inlist_project', 'inlist_pgstar', 'run.sbatch', 'params.json']);
  const changes = applyTextPatcher(spec, files(), { initial_mass: 3, grid1_win_flag: false, 'sbatch.time': '2:00:00', 'sbatch.mem': '8G', seed: 7 }, 'point 0');
  assert.equal(changes.length, 4);
  assert.equal(parsers.mesaInlist(textOf(changes, 'inlist_project'))['controls.initial_mass'], 3);
  assert.equal(parsers.mesaInlist(textOf(changes, 'inlist_pgstar'))['pgstar.grid1_win_flag'], false);
  assert.deepEqual(parsers.sbatch(textOf(changes, 'run.sbatch')), { time: '2:00:00', mem: '8G' });
  assert.equal(textOf(changes, 'params.json'), '{"seed": 7}\n');
});

test('several patchers: a param no patcher places is an error naming it, each file and the point', () => {
  const spec = validatePatcher([{ type: 'mesa', file: 'inlist_project' }, { type: 'mesa', file: 'inlist_pgstar' }]);
  assert.throws(
    () => applyTextPatcher(spec as BuiltinPatcher[], files(), { initial_mass: 3, intial_z: 0.1 }, "sweep 's' point 3 (x)"),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match((e as Error).message, /^sweep 's' point 3 \(x\): parameter 'intial_z' is set by none of the patched files: key 'intial_z' is not set in inlist_project; closest keys: initial_z.*; key 'intial_z' is not set in inlist_pgstar/);
      return true;
    },
  );
  // one patcher: its own message
  assert.throws(() => applyTextPatcher(validatePatcher({ type: 'mesa', file: 'inlist_project' }) as BuiltinPatcher, files(), { intial_z: 1 }, 'p1'), /^ConfigError: p1: key 'intial_z' is not set in inlist_project; closest keys: initial_z/);
  // keys/prefix leave nothing for it
  assert.throws(() => applyTextPatcher(validatePatcher([{ type: 'sbatch', file: 'run.sbatch', prefix: 'sbatch.' }]) as BuiltinPatcher[], files(), { x: 1 }, 'p2'), /p2: parameter 'x' goes to no patcher/);
  // a prefixed param is not in its file
  assert.throws(() => applyTextPatcher(validatePatcher([{ type: 'sbatch', file: 'run.sbatch', prefix: 'sbatch.' }]) as BuiltinPatcher[], files(), { 'sbatch.qos': 1 }, 'p3'), /p3: option 'qos' \(--qos\) is not set by an #SBATCH line in run\.sbatch/);
  // a patcher error (ambiguity, bad value) names the point and the file
  assert.throws(() => applyTextPatcher(validatePatcher({ type: 'json', file: 'params.json' }) as BuiltinPatcher, files(), { seed: NaN }, 'p4'), /p4: params\.json: seed: NaN cannot be written as JSON/);
});

test('several patchers: the same file twice is patched in order; add inserts only what no file has', () => {
  const spec = validatePatcher([
    { type: 'mesa', file: 'inlist_project', keys: ['initial_mass'] },
    { type: 'mesa', file: 'inlist_project', add: true },
    { type: 'mesa', file: 'inlist_pgstar', add: true },
  ]) as BuiltinPatcher[];
  const changes = applyTextPatcher(spec, files(), { initial_mass: 4, initial_z: 0.03, 'controls.new_thing': 1, 'pgstar.grid1_win_flag': false }, 'p');
  assert.equal(changes.length, 2);
  const v = parsers.mesaInlist(textOf(changes, 'inlist_project'));
  assert.equal(v['controls.initial_mass'], 4);
  assert.equal(v['controls.initial_z'], 0.03);
  assert.equal(v['controls.new_thing'], 1);
  assert.equal(parsers.mesaInlist(textOf(changes, 'inlist_pgstar'))['pgstar.grid1_win_flag'], false);
  assert.equal(v['pgstar.grid1_win_flag'], undefined, 'not added to a file that lacks the group');
});

test('several patchers: a template gets every param it is routed; custom text patchers are functions', () => {
  const base = new Map([['run.sh', Buffer.from('mass=$initial_mass\n')], ['inlist_project', Buffer.from(inlist)], ['notes.txt', Buffer.from('v1\n')]]);
  const spec = validatePatcher([
    { type: 'template', file: 'run.sh' },
    { type: 'mesa', file: 'inlist_project' },
    { type: (text: string, values: Record<string, unknown>) => text + `note=${values.note}\n`, file: 'notes.txt', keys: ['note'] },
  ]) as BuiltinPatcher[];
  const changes = applyTextPatcher(spec, base, { initial_mass: 2, note: 'hi' }, 'p');
  assert.equal(textOf(changes, 'run.sh'), 'mass=2\n');
  assert.equal(textOf(changes, 'notes.txt'), 'v1\nnote=hi\n');
  assert.match(textOf(changes, 'inlist_project'), /initial_mass = 2 !/);
  const bad = validatePatcher({ type: () => { throw new Error('boom'); }, file: 'notes.txt' }) as BuiltinPatcher;
  assert.throws(() => applyTextPatcher(bad, base, {}, "sweep 's' point 2"), /sweep 's' point 2: the patcher function for notes\.txt failed: boom/);
  assert.throws(() => applyTextPatcher(validatePatcher({ type: 'template', file: 'run.sh' }) as BuiltinPatcher, base, {}, 'p9'), /p9: run\.sh:1:6: placeholder 'initial_mass' has no value/);
});

test('validatePatcher: lists, options per type, messages name the entry', () => {
  const bad: [unknown, RegExp][] = [
    [[], /patcher: the list of patchers is empty/],
    [[{ type: 'mesa', file: 'a' }, { type: 'nope', file: 'b' }], /patcher\[1\]\.type: unknown patcher "nope"; known: mesa, template, json, yaml, keyvalue, sbatch/],
    [[{ type: 'mesa', file: 'a' }, () => {}], /patcher\[1\]: a function patcher \(dir, config\) cannot be part of a list/],
    [{ type: 'template', file: 'a', add: true }, /patcher\.add: unknown option for the template patcher; known: type, file, keys, prefix/],
    [{ type: 'mesa', file: 'a', exponent: 'q' }, /patcher\.exponent: expected 'e' or 'd'/],
    [{ type: 'mesa', file: 'a', keys: [] }, /patcher\.keys: expected a non-empty list/],
    [{ type: 'sbatch', file: 'a', prefix: 3 }, /patcher\.prefix: expected a non-empty string/],
    [[{ type: 'yaml', file: '/etc/x' }], /patcher\[0\]\.file/],
    ['mesa', /patcher: expected \{ type: 'mesa', file: 'inlist_project' \}/],
  ];
  for (const [p, re] of bad) assert.throws(() => validatePatcher(p), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message), String(re));
  assert.equal(typeof validatePatcher(() => {}), 'function');
});

test('several patchers: a malformed file is a ConfigError naming the point and the file, with line and column', () => {
  const base = new Map([['inlist_a', Buffer.from("&controls\n  x = 'oops\n/\n")], ['inlist_b', Buffer.from('&controls\n  y = 1\n/\n')]]);
  for (const add of [false, true]) {
    const spec = validatePatcher([{ type: 'mesa', file: 'inlist_b' }, { type: 'mesa', file: 'inlist_a', add }]) as BuiltinPatcher[];
    assert.throws(() => applyTextPatcher(spec, base, { y: 2 }, 'point 7'), (e: unknown) => e instanceof ConfigError && /^point 7: cannot patch inlist_a: inlist_a:2:7: unterminated string/.test((e as Error).message));
  }
});
