// The namelist parser against gfortran, the compiler MESA is built with: test/fixtures/namelist/
// holds namelist files (cases/*.nml), a Fortran program reading them as MESA does (reference.f90),
// the script running it (run.sh) and its captured output (expected.txt, with the gfortran version
// that produced it). The first test compares the parser with expected.txt and always runs; the
// second regenerates the reference with the gfortran found here (under CI=true it installs gfortran
// when it can: root and apt-get) and checks that the checked-in expected.txt is still what gfortran reads.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { namelist, type InlistValue } from '../../parsers/namelist.ts';
import { patchers } from '../../patchers/index.ts';

const dir = fileURLToPath(new URL('../fixtures/namelist/', import.meta.url));
const expectedText = readFileSync(dir + 'expected.txt', 'utf8');

/** expected.txt → case file → sorted lines. */
function blocks(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('== ')) out.set(line.slice(3), (cur = []));
    else if (line !== '' && !line.startsWith('# produced by')) cur!.push(line);
  }
  for (const l of out.values()) l.sort();
  return out;
}

// The variables reference.f90 declares (all arrays 1-based).
const shapes: Record<string, number[]> = { 'controls.x': [6], 'controls.s': [3], 'controls.l': [3], 'controls.m': [2, 2], 'controls.y': [], 'star_job.n': [], 'star_job.t': [] };

/** `x`, `x(3)`, `x(1:5:2)`, `m(1,2)` → name and subscripts (lower bound, stride); written here, not taken from the parser. */
function subscripts(key: string): { base: string; subs: { lo: number; st: number }[] | null } {
  const m = /^([a-z_][a-z0-9_]*)(?:\(([^()]*)\))?$/.exec(key);
  assert.ok(m, `unexpected key ${key}`);
  if (m[2] === undefined) return { base: m[1]!, subs: null };
  return { base: m[1]!, subs: m[2].split(',').map(s => ({ lo: Number(s.split(':')[0] || 1), st: Number(s.split(':')[2] ?? 1) })) };
}

const show = (v: InlistValue): string => (typeof v === 'boolean' ? (v ? 'T' : 'F') : typeof v === 'string' ? `'${v.trimEnd()}'` : String(v));

/** The parser's record as the elements it sets, in reference.f90's output format; every key must agree on each element. */
function elements(text: string): string[] {
  const set = new Map<string, { v: string; from: string }>();
  for (const [key, value] of Object.entries(namelist(text).values)) {
    const dot = key.indexOf('.');
    const d = subscripts(key.slice(dot + 1));
    const name = key.slice(0, dot + 1) + d.base;
    const shape = shapes[name];
    assert.ok(shape, `${key}: not a variable of reference.f90`);
    const vals = Array.isArray(value) ? value : [value];
    // Storage position of each value → element subscripts (column-major), as Fortran fills them.
    const at = (p: number): string => {
      if (shape.length === 0) return name;
      let lin: number;
      if (d.subs === null) lin = p;
      else if (d.subs.length === 1) {
        const s = d.subs[0]!;
        lin = s.lo - 1 + p * s.st;
      } else lin = d.subs.reduce((acc, s, k) => acc + (s.lo - 1) * shape.slice(0, k).reduce((a, b) => a * b, 1), 0) + p;
      const idx: number[] = [];
      for (const n of shape) {
        idx.push((lin % n) + 1);
        lin = Math.floor(lin / n);
      }
      return `${name}(${idx.join(',')})`;
    };
    vals.forEach((v, p) => {
      if (v === null) return;
      const el = at(p);
      const prev = set.get(el);
      assert.ok(!prev || prev.v === show(v), `${el}: '${prev?.from}' says ${prev?.v}, '${key}' says ${show(v)}`);
      set.set(el, { v: show(v), from: key });
    });
  }
  return [...set].map(([el, { v }]) => `${el} = ${v}`).sort();
}

test('namelist parser reads every fixture case as gfortran does (checked-in reference test/fixtures/namelist/expected.txt)', () => {
  const expected = blocks(expectedText);
  const cases = readdirSync(dir + 'cases').filter(f => f.endsWith('.nml')).sort();
  assert.deepEqual([...expected.keys()].sort(), cases, 'expected.txt covers every case (regenerate it with run.sh)');
  // All cases at once, so that a failure shows every case that differs.
  const got = Object.fromEntries(cases.map(c => {
    try {
      return [c, elements(readFileSync(dir + 'cases/' + c, 'utf8'))];
    } catch (e) {
      return [c, [`error: ${(e as Error).message}`]];
    }
  }));
  assert.deepEqual(got, Object.fromEntries(expected));
});

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Whether gfortran can be used: present, or installed under CI=true when possible; otherwise the skip reason. */
function gfortran(): string | null {
  if (has('gfortran')) return null;
    const canInstall = process.env.CI === 'true' && process.getuid?.() === 0 && has('apt-get');
    if (!canInstall) return `gfortran is not installed (apt-get install gfortran)${process.env.CI === 'true' ? ' and cannot be installed here (not root or no apt-get)' : ''}; the parser was compared with the checked-in reference instead`;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'gfortran'], { env, encoding: 'utf8' });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update'], { env, encoding: 'utf8' });
      r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'gfortran'], { env, encoding: 'utf8' });
    }
    assert.equal(r.status, 0, `CI=true: installing gfortran failed:\n${r.stderr}`);
  return null;
}

test('expected.txt is what gfortran reads today (run.sh with the local gfortran)', t => {
  const skip = gfortran();
  if (skip) return t.skip(skip);
  const r = spawnSync('bash', [dir + 'run.sh'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  t.diagnostic(r.stdout.split('\n')[0]!);
  assert.deepEqual(blocks(r.stdout), blocks(expectedText));
});

// Random &controls groups over x(6): whole-array assignments, or element and slice assignments
// (whole and element ones are not mixed: their overlap needs the array's lower bound, which the
// parser does not assume), with null values, r* repeats, repeated keys and a repeated group.
const val = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -99, max: 99 }).map(String) }, { weight: 1, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined })).map(([r, v]) => `${r}*${v ?? ''}`) });
const count = (vals: string[]) => vals.reduce((n, v) => n + (/^\d\*/.test(v) ? Number(v[0]) : 1), 0);
const fits = (vals: string[], room: number) => {
  while (count(vals) > room) vals.pop();
  return vals.length ? vals : ['1'];
};
const spell = (i: number) => fc.constantFrom(`x(${i})`, `x(0${i})`, `x( ${i} )`, `X(+${i})`);
const element = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.array(val, { minLength: 1, maxLength: 4 })).chain(([i, vals]) => spell(i).map(k => `${k} = ${fits(vals, 7 - i).join(', ')}`));
const slice = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), fc.array(val, { minLength: 1, maxLength: 6 })).map(([a, b, st, vals]) => {
  const [lo, hi] = a <= b ? [a, b] : [b, a];
  return `x(${lo}:${hi}${st === 1 ? '' : ':' + st}) = ${fits(vals, Math.floor((hi - lo) / st) + 1).join(', ')}`;
});
const whole = fc.array(val, { minLength: 1, maxLength: 6 }).map(vals => `x = ${fits(vals, 6).join(', ')}`);
const group = fc.oneof(fc.array(fc.oneof(element, slice), { minLength: 1, maxLength: 6 }), fc.array(whole, { minLength: 1, maxLength: 3 }));
const file = fc.tuple(group, fc.option(group, { nil: undefined })).map(([g, again]) => `&controls\n  ${g.join('\n  ')}\n/\n` + (again ? `&controls\n  ${again.join('\n  ')}\n/\n` : ''));

/** Compiles the reference reader into a temp dir, runs `body` with it, removes the dir. */
function withReference(t: TestContext, body: (tmp: string) => void): void {
  const skip = gfortran();
  if (skip) return void t.skip(skip);
  const tmp = mkdtempSync(join(tmpdir(), 'rx-nml-'));
  try {
    const c = spawnSync('gfortran', ['-o', join(tmp, 'reference'), dir + 'reference.f90'], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    body(tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

test('property: random namelists read as gfortran reads them (live gfortran)', t => withReference(t, tmp => {
    let i = 0;
    fc.assert(
      fc.property(file, text => {
        const f = join(tmp, `case${i++}.nml`);
        writeFileSync(f, text);
        const r = spawnSync(join(tmp, 'reference'), [f], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.ok(!r.stdout.includes('error:'), `gfortran refused the generated file:\n${text}\n${r.stdout}`);
        assert.deepEqual(elements(text), r.stdout.split('\n').filter(l => l !== '').sort(), text);
      }),
      { numRuns: 150 },
    );
}));

test('property: after a patch gfortran reads the new value, or the patcher refused naming both lines (live gfortran)', t => withReference(t, tmp => {
    let i = 0;
    let patched = 0;
    let refused = 0;
    fc.assert(
      fc.property(file, fc.nat(), fc.integer({ min: 1, max: 3 }), (text, pick, n) => {
        // a key of the group that is read, as written there
        const first = text.slice(0, text.indexOf('/\n'));
        const keys = [...first.matchAll(/^ {2}(\S.*?) = /gm)].map(m => m[1]!);
        const key = keys[pick % keys.length]!;
        const s = subscripts(key.replace(/\s+/g, '').toLowerCase().replace(/\((?:\+|0)(\d)/, '($1'));
        const sub = s.subs?.[0];
        const hi = /:(\d+)/.exec(key)?.[1];
        const room = !sub ? 6 : hi ? Math.floor((Number(hi) - sub.lo) / sub.st) + 1 : 7 - sub.lo;
        const vals = Array.from({ length: Math.min(n, room) }, (_, k) => 500 + k);
        let out: string;
        try {
          out = patchers.mesa(text, { [key]: vals.length === 1 ? vals[0] : vals });
        } catch (e) {
          assert.match((e as Error).message, /cannot be patched precisely in inlist: '.+' on line \d+ comes after '.+' on line \d+ in &controls/, text);
          refused++;
          return;
        }
        patched++;
        const f = join(tmp, `patched${i++}.nml`);
        writeFileSync(f, out);
        const r = spawnSync(join(tmp, 'reference'), [f], { encoding: 'utf8' });
        const read = new Set(r.stdout.split('\n'));
        vals.forEach((v, p) => {
          const idx = sub ? sub.lo + p * sub.st : 1 + p;
          assert.ok(read.has(`controls.x(${idx}) = ${v}`), `${key} = ${vals} in\n${text}→\n${out}\ngfortran: ${r.stdout}`);
        });
      }),
      { numRuns: 150 },
    );
    t.diagnostic(`${patched} patched, ${refused} refused`);
}));
