// Parsers: the real MESA fixtures, synthetic edge cases (3-digit exponents, partial last rows,
// malformed input with file, line and column), CSV/TSV, JSON, key=value, #SBATCH, Slurm output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import { parsers, ParseError, MesaData } from '../../parsers/index.ts';
import { fortranNumber } from '../../parsers/namelist.ts';

const path = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const fixture = (name: string) => readFileSync(path(name), 'utf8');
const r22 = fixture('mesa/r22-summer-school.history.data');
const r12778 = fixture('mesa/r12778-gasgiant.history.data');
const inlist = fixture('mesa/r22-summer-school.inlist_project');

/** Where a parse error points. */
function errorAt(fn: () => unknown, file: string, line: number, column: number, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ParseError, String(e));
    assert.deepEqual([e.file, e.line, e.column], [file, line, column], e.message);
    assert.match(e.message, re);
    assert.ok(e.message.startsWith(`${file}:${line}:${column}: `));
    return true;
  });
}

/** A straightforward (slow) reading of a history file, to check the fast one against. */
function naive(text: string): { names: string[]; rows: number[][] } {
  const lines = text.split('\n');
  const names = lines[5]!.trim().split(/\s+/);
  const rows = lines.slice(6).filter(l => l.trim()).map(l => l.trim().split(/\s+/).map(t => Number(t.replace(/d/i, 'e').replace(/(\d)([+-]\d+)$/, '$1e$2'))));
  return { names, rows };
}

// ───────────────────────────── mesaInlist ─────────────────────────────

test('mesaInlist: the real inlist, typed and group-qualified', () => {
  const v = parsers.mesaInlist(inlist);
  // commented-out settings are not read
  assert.equal(v['star_job.save_model_filename'], undefined);
  assert.deepEqual(v, {
    'star_job.create_pre_main_sequence_model': false,
    'star_job.pgstar_flag': true,
    'star_job.pause_before_terminate': true,
    'kap.use_type2_opacities': true,
    'kap.zbase': 0.02,
    'controls.initial_mass': 2,
    'controls.initial_z': 0.02,
    'controls.x_logical_ctrl(1)': true,
    'controls.xa_central_lower_limit_species(1)': 'h1',
    'controls.xa_central_lower_limit(1)': 0.5,
    'controls.energy_eqn_option': 'dedt',
    'controls.use_gold_tolerances': true,
  });
  assert.equal(parsers.mesaInlist(Buffer.from(inlist))['kap.zbase'], 0.02);
});

test('mesaInlist: Fortran literals, duplicates (last wins, reported), comments only outside strings', () => {
  const text = [
    '&Controls',
    "  Initial_Mass = 1d0 ! first",
    '\tinitial_mass\t=\t2.5D-1',
    "  note = 'it''s ! not a comment / nor an end'",
    '  dq = "say ""hi"""',
    '  flags = .TRUE., .f., T, F',
    '  x_ctrl( 1 ) = 1.0-100',
    '  big = 3*0.5, 1e+300',
    '  ! initial_mass = 99',
    '/',
    '&pgstar pgstar_flag = .false. /',
  ].join('\n');
  const warnings: string[] = [];
  const v = parsers.mesaInlist(text, { file: 'inlist_x', warn: w => warnings.push(w) });
  assert.deepEqual(v, {
    'controls.initial_mass': 0.25,
    'controls.note': "it's ! not a comment / nor an end",
    'controls.dq': 'say "hi"',
    'controls.flags': [true, false, true, false],
    'controls.x_ctrl(1)': 1e-100,
    'controls.big': [0.5, 0.5, 0.5, 1e300],
    'pgstar.pgstar_flag': false,
  });
  assert.deepEqual(warnings, ["inlist_x: 'controls.initial_mass' is set 2 times (lines 2, 3); the last one wins, as in MESA"]);
  const d = parsers.namelist(text);
  assert.deepEqual(d.duplicates, [{ key: 'controls.initial_mass', lines: [2, 3] }]);
  assert.deepEqual(d.groups, ['controls', 'pgstar']);
});

test('mesaInlist: malformed input is an error with file, line and column', () => {
  errorAt(() => parsers.mesaInlist("&c\n  x = 'abc\n/\n", { file: 'inlist_a' }), 'inlist_a', 2, 7, /unterminated string/);
  errorAt(() => parsers.mesaInlist('&c\n  x = 1\n', { file: 'inlist_b' }), 'inlist_b', 1, 1, /&c is not closed with '\/'/);
  errorAt(() => parsers.mesaInlist('&c\n  x = 1.2.3\n/\n'), 'inlist', 2, 7, /malformed number '1\.2\.3'/);
  errorAt(() => parsers.mesaInlist('&c\n  1\n/\n'), 'inlist', 2, 3, /a value without a key/);
  errorAt(() => parsers.mesaInlist('&c\n  x = 1\n&d\n/\n'), 'inlist', 3, 1, /&c is not closed/);
  const w: string[] = [];
  assert.equal(parsers.mesaInlist('&c\n  s = abc\n/\n', { warn: m => w.push(m) })['c.s'], 'abc');
  assert.match(w[0]!, /inlist:2:7: unquoted string 'abc'/);
});

test('fortranNumber: d and q exponents, exponents without a letter, nothing else', () => {
  assert.equal(fortranNumber('1d-12'), 1e-12);
  assert.equal(fortranNumber('1.5D+3'), 1500);
  assert.equal(fortranNumber('2.'), 2);
  assert.equal(fortranNumber('.5'), 0.5);
  assert.equal(fortranNumber('-1.2345678901234567-100'), -1.2345678901234567e-100);
  assert.equal(fortranNumber('1.0+100'), 1e100);
  for (const bad of ['', '1.2.3', 'e5', '0x10', '1e', '--1', '1_000', 'Infinity', '1 2']) assert.equal(fortranNumber(bad), undefined, bad);
});

// ───────────────────────────── mesaHistory / mesaProfile ─────────────────────────────

test('mesaHistory: r22.05.1 file with 11 header columns, every value equal to a straightforward reading', () => {
  const h = parsers.mesaHistory(r22);
  assert.ok(h instanceof MesaData);
  assert.equal(Object.keys(h.header).length, 11);
  assert.equal(h.header.version_number, 'r22.05.1');
  assert.equal(h.header.burn_min1, 50);
  assert.equal(h.header.msun, 1.9884098706980504e33);
  assert.equal(h.length, 5);
  assert.equal(h.names.length, 60);
  assert.equal(h.truncated, false);
  assert.deepEqual(h.warnings, []);
  const n = naive(r22);
  n.names.forEach((name, j) => n.rows.forEach((r, i) => assert.ok(Object.is(h.columns[name]![i], r[j]), `${name}[${i}]`)));
  assert.ok(h.columns.star_age instanceof Float64Array);
  assert.deepEqual([...h.columns.model_number!], [1, 5, 10, 15, 20]);
  assert.equal(h.kinds.model_number, 'integer');
  assert.equal(h.kinds.star_age, 'real');
  assert.equal(h.columns.star_age![0], 1.767766952966369e4);
  assert.equal(h.columns.period_f![4], -1e99, 'sentinel values are kept as written…');
  assert.ok(Number.isNaN(parsers.mesaHistory(r22, { sentinels: [-1e99] }).columns.period_f![4]!), '…unless named');
});

test('mesaHistory: MESA 12778 file with 8 header columns (no msun/rsun/lsun), 139 rows from model 103', () => {
  const h = parsers.mesaHistory(Buffer.from(r12778), { file: 'LOGS/history.data' });
  assert.equal(Object.keys(h.header).length, 8);
  assert.equal(h.header.version_number, '12778');
  assert.equal(h.header.msun, undefined);
  assert.equal(h.length, 139);
  assert.equal(h.names.length, 61);
  assert.equal(h.columns.model_number![0], 103);
  const n = naive(r12778);
  n.names.forEach((name, j) => n.rows.forEach((r, i) => assert.ok(Object.is(h.columns[name]![i], r[j]), `${name}[${i}]`)));
  // conveniences
  const last = h.last();
  assert.equal(last.model_number, h.columns.model_number![138]);
  assert.deepEqual(h.row(-1), last);
  const age = h.column('star_age');
  assert.equal(h.max('star_age'), Math.max(...age));
  assert.equal(h.min('star_age'), Math.min(...age));
  const mid = age[70]!;
  const found = h.findRow('star_age', '>=', mid)!;
  assert.equal(found.index, [...age].findIndex(a => a >= mid));
  assert.equal(found.row.star_age, age[found.index]);
  assert.deepEqual(h.findRow(r => r.star_age! >= mid), found);
  assert.equal(h.findRow('star_age', '<', -1), undefined);
  assert.equal(h.column('LOG_L'), h.column('log_L'), 'case-insensitive fallback');
  assert.throws(() => h.column('star_agee'), /LOGS\/history\.data: no column 'star_agee'; closest: star_age/);
});

test('mesaProfile: synthetic profile with 3-digit exponents written without E, and the largest double', () => {
  const p = parsers.mesaProfile(readFileSync(path('parsers/profile-synthetic.data')));
  assert.deepEqual(p.header, { model_number: 42, num_zones: 4, initial_mass: 1, star_age: 1.2345678901234567e9, version_number: 'r24.08.1', compiler: 'gfortran' });
  assert.deepEqual(p.names, ['zone', 'mass', 'logT', 'x_mass_fraction_H', 'eps_nuc']);
  assert.deepEqual([...p.columns.eps_nuc!], [0, 1.2345678901234567e-100, 2.5e101, 1.7976931348623157e308]);
  assert.equal(p.kinds.zone, 'integer');
  assert.equal(p.min('eps_nuc'), 0);
  // the same from a string, with a non-ASCII header string, and from a plain Uint8Array
  const text = readFileSync(path('parsers/profile-synthetic.data'), 'utf8').replace('"gfortran"', '"gförtran"');
  assert.equal(parsers.mesaProfile(text).header.compiler, 'gförtran');
  assert.deepEqual([...parsers.mesaProfile(text).columns.eps_nuc!], [...p.columns.eps_nuc!]);
  assert.equal(parsers.mesaProfile(new Uint8Array(Buffer.from(text))).header.compiler, 'gförtran');
});

/** The fixture's header and rows, and a function building a file with chosen rows. */
const lines22 = r22.split('\n');
const head22 = lines22.slice(0, 6).join('\n') + '\n';
const rows22 = lines22.slice(6).filter(l => l.trim());

test('mesaHistory: a partial last row (a run still writing) is ignored and reported, at every cut point (fast-check)', () => {
  const full = head22 + rows22.join('\n') + '\n';
  const lastStart = head22.length + rows22.slice(0, 4).join('\n').length + 1;
  fc.assert(
    fc.property(fc.integer({ min: lastStart, max: full.length }), cut => {
      const text = full.slice(0, cut);
      const h = parsers.mesaHistory(text);
      const lastLine = text.slice(lastStart);
      const complete = cut === full.length || (cut >= full.length - 1 && /\s$/.test(lastLine)) || (lastLine.trim().split(/\s+/).length === 60 && /\s$/.test(lastLine));
      if (lastLine.trim() === '') {
        assert.equal(h.length, 4);
        assert.equal(h.truncated, false);
      } else if (complete) {
        assert.equal(h.length, 5);
        assert.equal(h.truncated, false);
      } else {
        assert.equal(h.length, 4, `cut at ${cut}`);
        assert.equal(h.truncated, true);
        assert.match(h.warnings[0]!, /history\.data:11: the last row is incomplete \(is the run still writing\?\); it was ignored/);
      }
      // never a value that was not in the file
      for (const name of h.names) for (let i = 0; i < h.length; i++) assert.ok(!Number.isNaN(h.columns[name]![i]!));
    }),
    { numRuns: 300 },
  );
});

test('mesaHistory: NaN, Infinity, asterisks, D exponents, CRLF, blank trailing lines, restarts', () => {
  const pad = (s: string) => s.padStart(40) + ' ';
  const names = lines22[5]!.trim().split(/\s+/);
  const first = rows22[0]!.trim().split(/\s+/);
  const row = (vals: Record<number, string>, model?: number) =>
    first.map((t, j) => pad(j === 0 && model !== undefined ? String(model) : (vals[j] ?? t))).join('');
  const text = head22 + [row({ 2: 'NaN', 3: '-Infinity', 4: '1.5D+00' }, 1), row({ 5: '*******' }, 2), row({}, 3), row({}, 2), row({}, 3), row({}, 4)].join('\r\n') + '\r\n\n\n';
  const warnings: string[] = [];
  const h = parsers.mesaHistory(text, { warn: w => warnings.push(w) });
  assert.equal(h.length, 6);
  assert.ok(Number.isNaN(h.columns[names[2]!]![0]!));
  assert.equal(h.columns[names[3]!]![0], -Infinity);
  assert.equal(h.columns[names[4]!]![0], 1.5);
  assert.ok(Number.isNaN(h.columns[names[5]!]![1]!));
  assert.match(warnings[0]!, /history\.data:8:\d+: '\*\*\*\*\*\*\*' \(a value too wide for its field\) in column 'log_xmstar' read as NaN/);
  // MESA restarted from model 2 and 3: keep what the run really followed
  assert.deepEqual([...h.withoutRestarts().columns.model_number!], [1, 2, 3, 4]);
});

test('mesaHistory: malformed input is an error with file, line and column, never a wrong value', () => {
  const names = rows22[0]!;
  errorAt(() => parsers.mesaHistory(head22 + names.replace('2493', '24x3') + '\n', { file: 'h.data' }), 'h.data', 7, names.indexOf('2493') + 1, /not a number: '24x3' \(column 'num_zones'\)/);
  const cut = names.indexOf(' ', 200);
  errorAt(() => parsers.mesaHistory(head22 + names.slice(0, cut) + '\n' + names + '\n'), 'history.data', 7, cut + 1, /row has 5 values, expected 60/);
  errorAt(() => parsers.mesaHistory(head22 + names + ' 1\n'), 'history.data', 7, names.length + 2, /row has more than 60 values/);
  errorAt(() => parsers.mesaHistory(head22 + names.replace('2493', '0x10') + '\n'), 'history.data', 7, names.indexOf('2493') + 1, /not a number: '0x10'/);
  errorAt(() => parsers.mesaHistory(head22 + names.replace('2493', '12345678901234567890') + '\n'), 'history.data', 7, names.indexOf('2493') + 1, /integer 12345678901234567890 is too large to be exact/);
  errorAt(() => parsers.mesaHistory(lines22.slice(0, 3).join('\n')), 'history.data', 4, 1, /the file ends in its header/);
  errorAt(() => parsers.mesaHistory(lines22[0] + '\n' + lines22[1] + '\n' + lines22[2]!.replace('"CRMATH"', '') + '\n\n' + lines22.slice(4).join('\n')), 'history.data', 3, expectCol(lines22[2]!), /10 header values for 11 header names/);
  errorAt(() => parsers.mesaHistory(lines22.slice(0, 3).join('\n') + '\nx\n' + lines22.slice(4).join('\n')), 'history.data', 4, 1, /expected an empty line/);
  errorAt(() => parsers.mesaHistory(lines22.slice(0, 4).join('\n') + '\n' + lines22[4]!.replace(' 7 ', ' 8 ') + '\n' + lines22.slice(5).join('\n')), 'history.data', 5, lines22[4]!.indexOf(' 7 ') + 2, /expected column number 7, got '8'/);
});
function expectCol(line3: string): number {
  // the last header value after removing one: its column
  const fields = [...line3.replace('"CRMATH"', '').matchAll(/\S+/g)];
  return fields[fields.length - 1]!.index! + 1;
}

// ───────────────────────────── csv / tsv ─────────────────────────────

test('csv and tsv: typed cells, quoted cells stay strings, errors give line and field', () => {
  assert.deepEqual(parsers.csv('mass,z,name,ok,empty\n1.5,0.02,"1.0",true,\n2,1e-3,star,FALSE,x\n'), {
    names: ['mass', 'z', 'name', 'ok', 'empty'],
    rows: [
      { mass: 1.5, z: 0.02, name: '1.0', ok: true, empty: null },
      { mass: 2, z: 0.001, name: 'star', ok: false, empty: 'x' },
    ],
  });
  assert.deepEqual(parsers.csv('1.0,007\n', { header: false }).rows, [{ 1: 1, 2: '007' }]);
  assert.deepEqual(parsers.csv('a,b\n1,2\n', { cast: false }).rows, [{ a: '1', b: '2' }]);
  assert.deepEqual(parsers.tsv('a\tb c\n1\t"x,y\n'), { names: ['a', 'b c'], rows: [{ a: 1, 'b c': '"x,y' }] });
  errorAt(() => parsers.csv('a,b\n1,2\n3,4,5\n', { file: 'runs.csv' }), 'runs.csv', 3, 3, /Invalid Record Length/);
  errorAt(() => parsers.csv('a,b\n1,"2\n'), 'file.csv', 2, 2, /Quote Not Closed/);
  errorAt(() => parsers.csv('a,a\n1,2\n'), 'file.csv', 1, 2, /column name 'a' appears twice/);
});

// ───────────────────────────── json, yaml, keyvalue, sbatch, slurmOut ─────────────────────────────

test('json and yaml: errors give line and column', () => {
  assert.deepEqual(parsers.json('{"a": [1, 2.5e3, "x"]}'), { a: [1, 2500, 'x'] });
  errorAt(() => parsers.json('{\n  "a": 1,\n  "b": [1, 2,]\n}', { file: 'p.json' }), 'p.json', 3, 14, /unexpected '\]'/);
  errorAt(() => parsers.json('{"a": 1} x'), 'file.json', 1, 10, /after the end of the JSON value/);
  errorAt(() => parsers.json('{"a": "x\ny"}'), 'file.json', 1, 9, /control character in a string/);
  errorAt(() => parsers.json(''), 'file.json', 1, 1, /unexpected end of input/);
  assert.deepEqual(parsers.yaml('a: 1 # c\nb: [x, "y"]\n'), { a: 1, b: ['x', 'y'] });
  errorAt(() => parsers.yaml('a: 1\na: 2\n', { file: 's.yaml' }), 's.yaml', 2, 1, /Map keys must be unique/);
});

test('keyvalue: separators, sections, typed values, duplicates reported', () => {
  const w: string[] = [];
  const v = parsers.keyvalue('# c\nsteps = 10\nname: "a \\"b\\"" # comment\nexport MODE=fast\nzip=007\n[solver]\ntol = 1e-6 ; inline\nflag = true\n[solver]\ntol = 2\n', { file: 'x.cfg', warn: m => w.push(m) });
  assert.deepEqual(v, { steps: 10, name: 'a "b"', MODE: 'fast', zip: '007', 'solver.tol': 2, 'solver.flag': true });
  assert.deepEqual(w, ["x.cfg:10: 'solver.tol' is set again (first on line 7); the last one wins"]);
  errorAt(() => parsers.keyvalue('a = 1\njust words\n', { file: 'x.cfg' }), 'x.cfg', 2, 1, /expected 'key = value', 'key: value' or '\[section\]'/);
  errorAt(() => parsers.keyvalue('a = "x\n'), 'config', 1, 5, /unterminated double-quoted value/);
});

test('sbatch: directives up to the first command, short options by their long names', () => {
  const w: string[] = [];
  const text = '#!/bin/bash\n# a comment\n#SBATCH --time=1:00:00\n#SBATCH -n 4 --mem 4G -c2 # note\n#SBATCH -J "my job" --exclusive\n#SBATCH -t 2:00:00\nmodule load x\n#SBATCH --qos=ignored\n';
  assert.deepEqual(parsers.sbatch(text, { warn: m => w.push(m) }), { time: '2:00:00', ntasks: '4', mem: '4G', 'cpus-per-task': '2', 'job-name': 'my job', exclusive: true });
  assert.deepEqual(w, ['run.sbatch:6: --time is given again (first on line 3); the last one wins']);
  errorAt(() => parsers.sbatch('#SBATCH --time=1 oops\n'), 'run.sbatch', 1, 18, /expected an option/);
});

test('slurmOut: tail, Slurm verdicts, OOM, errors, MESA termination code', () => {
  const text = ['step 1', 'progress 10%\rprogress 50%\rprogress 90%', ' termination code: xa_central_lower_limit', 'Fortran runtime error: End of file', 'slurmstepd: error: Detected 1 oom_kill event in StepId=12.batch. Some of the step tasks have been OOM Killed.', 'slurmstepd: error: *** JOB 12 ON node1 CANCELLED AT 2024-05-01T10:00:00 DUE TO TIME LIMIT ***', ''].join('\n');
  const o = parsers.slurmOut(text, { lines: 3 });
  assert.equal(o.lineCount, 6);
  assert.equal(o.tail.length, 3);
  assert.equal(parsers.slurmOut(text).tail[1], 'progress 90%');
  assert.equal(o.terminationCode, 'xa_central_lower_limit');
  assert.equal(o.oom, true);
  assert.deepEqual(o.cancelled, { reason: 'TIME LIMIT', line: 'slurmstepd: error: *** JOB 12 ON node1 CANCELLED AT 2024-05-01T10:00:00 DUE TO TIME LIMIT ***' });
  assert.equal(o.errors.length, 3);
  assert.equal(parsers.slurmOut('slurmstepd: error: *** JOB 5 ON n CANCELLED AT 2024-05-01T10:00:00 ***\n').cancelled!.reason, 'CANCELLED');
  assert.deepEqual(parsers.slurmOut(''), { tail: [], lineCount: 0, cancelled: null, oom: false, errors: [], terminationCode: null });
});

test('parserFor and fromFile: the parser by file name; errors name the path', async t => {
  const cases: [string, string | undefined][] = [
    ['LOGS/history.data', 'mesaHistory'], ['LOGS/profile12.data', 'mesaProfile'], ['inlist_project', 'mesaInlist'], ['inlist', 'mesaInlist'],
    ['out.csv', 'csv'], ['x.tsv', 'tsv'], ['a.json', 'json'], ['s.yml', 'yaml'], ['run.sbatch', 'sbatch'], ['slurm-123.out', 'slurmOut'], ['a.ini', 'keyvalue'], ['photo.png', undefined],
  ];
  for (const [p, want] of cases) assert.equal(parsers.parserFor(p), want, p);
  const dir = await mkdtemp(join(tmpdir(), 'rx-parsers-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'history.data'), r22);
  await writeFile(join(dir, 'bad.json'), '{"a": }');
  const h = (await parsers.fromFile(join(dir, 'history.data'))) as MesaData;
  assert.equal(h.length, 5);
  await assert.rejects(parsers.fromFile(join(dir, 'bad.json')), (e: unknown) => e instanceof ParseError && e.file === join(dir, 'bad.json') && e.line === 1 && e.column === 7);
  await assert.rejects(parsers.fromFile(join(dir, 'x.png')), /no parser for this file name/);
});

test('repeat counts before strings, and integers too large to be exact are never rounded silently', () => {
  assert.deepEqual(parsers.mesaInlist("&c\n  a = 3*'abc'\n  b = 2*\"a b\", 1\n/\n"), { 'c.a': ['abc', 'abc', 'abc'], 'c.b': ['a b', 'a b', 1] });
  assert.throws(() => parsers.mesaInlist('&c\n  n = 12345678901234567890\n/\n'), /integer 12345678901234567890 is too large to be read exactly/);
  assert.deepEqual(parsers.csv('id,x\n12345678901234567890,1\n').rows[0], { id: '12345678901234567890', x: 1 });
  assert.equal(parsers.keyvalue('n = 12345678901234567890\n').n, '12345678901234567890');
});
