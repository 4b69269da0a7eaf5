// Parser and patcher throughput (wired into `npm run bench` by bench/run.ts):
// - mesaHistory on a ≥ 50 MB history.data built from a real fixture by repeating its rows
//   (target ≥ 100 MB/s), read from disk as a Buffer, decoding included;
// - csv on a ~50 MB numeric CSV (200 000 rows × 30 columns, as a simulation writes it), from a
//   Buffer (target ≥ 5× the cast-callback parser it replaced), and the same file as
//   `rx dataset --rows` reads it (readRunTable: read, parse, turned into columns);
// - patching 10 000 points of a ~12 kB inlist through the sweep's patcher pipeline (target ≤ 1 s).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parsers } from '../parsers/index.ts';
import { readRunTable } from '../src/results/long-rows.ts';
import { applyTextPatcher, validatePatcher, type BuiltinPatcher } from '../src/sweep/patch.ts';

const fixture = (name: string) => readFile(new URL(`../test/fixtures/mesa/${name}`, import.meta.url), 'utf8');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function benchHistory(say: (line: string) => void, dir: string): Promise<void> {
  const src = await fixture('r12778-gasgiant.history.data');
  const lines = src.split('\n');
  const head = lines.slice(0, 6).join('\n') + '\n';
  const rows = lines.slice(6).filter(l => l.trim() !== '').join('\n') + '\n';
  const copies = Math.ceil(50.5e6 / rows.length);
  const file = join(dir, 'history.data');
  await writeFile(file, head + rows.repeat(copies));
  const runs: number[] = [];
  let bytes = 0;
  let shape = '';
  for (let i = 0; i < 5; i++) {
    const buf = await readFile(file);
    bytes = buf.length;
    const t0 = performance.now();
    const h = parsers.mesaHistory(buf, { file });
    runs.push(performance.now() - t0);
    shape = `${h.length.toLocaleString('en')} rows × ${h.names.length} columns`;
    if (h.truncated || h.length !== copies * (lines.length - 6 - (lines[lines.length - 1] === '' ? 1 : 0))) throw new Error(`bench: parsed ${h.length} rows`);
  }
  const mbs = (ms: number) => bytes / 1e6 / (ms / 1000);
  say(`- mesaHistory: ${(bytes / 1e6).toFixed(1)} MB history.data (${shape}, from a Buffer, decoding included): **${mbs(median(runs)).toFixed(0)} MB/s** median of ${runs.length}, best ${mbs(Math.min(...runs)).toFixed(0)} MB/s (target ≥ 100 MB/s)`);
}

/** A simulation's CSV output: a step column, then 29 columns of 6-digit reals over five magnitudes. */
function numericCsv(rows: number, columns: number): Buffer {
  const lines = [['step', ...Array.from({ length: columns - 1 }, (_, j) => `q${j + 1}`)].join(',')];
  let seed = 12345;
  for (let i = 0; i < rows; i++) {
    const cells = [String(i)];
    for (let j = 1; j < columns; j++) {
      seed = (seed * 16807) % 2147483647;
      cells.push(((seed / 2147483647) * 10 ** ((j % 5) - 2)).toPrecision(6));
    }
    lines.push(cells.join(','));
  }
  return Buffer.from(lines.join('\n') + '\n');
}

async function benchCsv(say: (line: string) => void, dir: string): Promise<void> {
  const ROWS = 200_000;
  const COLUMNS = 30;
  const file = join(dir, 'output.csv');
  await writeFile(file, numericCsv(ROWS, COLUMNS));
  const buf = await readFile(file);
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const t = parsers.csv(buf, { file });
    runs.push(performance.now() - t0);
    if (t.rows.length !== ROWS || t.names.length !== COLUMNS || typeof t.rows[ROWS - 1]![`q${COLUMNS - 1}`] !== 'number') throw new Error(`bench: csv parsed ${t.rows.length} rows`);
  }
  const mbs = (ms: number) => buf.length / 1e6 / (ms / 1000);
  const us = (ms: number) => (ms * 1000) / ROWS;
  say(`- csv: ${(buf.length / 1e6).toFixed(1)} MB numeric CSV (${ROWS.toLocaleString('en')} rows × ${COLUMNS} columns, from a Buffer, typing and row objects included): **${mbs(median(runs)).toFixed(1)} MB/s**, ${us(median(runs)).toFixed(1)} µs per row, median of ${runs.length}; best ${mbs(Math.min(...runs)).toFixed(1)} MB/s (target ≥ 5× the cast-callback parser it replaced, which read this file at 0.9 MB/s, 311 µs per row)`);
  const long: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const t = await readRunTable(file, 'output.csv');
    long.push(performance.now() - t0);
    if (t.length !== ROWS) throw new Error(`bench: readRunTable read ${t.length} rows`);
  }
  say(`  - the same file as \`rx dataset --rows output.csv\` reads it per run (readRunTable: read, parse, rows turned into columns): ${(median(long) / 1000).toFixed(2)} s, ${us(median(long)).toFixed(1)} µs per row, median of ${long.length}`);
}

async function benchPatch(say: (line: string) => void): Promise<void> {
  // A ~12 kB inlist: the real one, with many more controls (as production inlists have).
  const real = await fixture('r22-summer-school.inlist_project');
  const extra: string[] = [];
  for (let i = 1; extra.join('\n').length < 12000 - real.length; i++) extra.push(`    x_ctrl(${i}) = ${i}.5d0 ! control ${i}`, `    x_logical_ctrl(${i + 1}) = .false.`);
  const text = real.replace('/ ! end of controls namelist', `${extra.join('\n')}\n\n/ ! end of controls namelist`);
  const spec = validatePatcher({ type: 'mesa', file: 'inlist_project' }) as BuiltinPatcher;
  const base = new Map([['inlist_project', Buffer.from(text)]]);
  const N = 10_000;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const out = applyTextPatcher(spec, base, { initial_mass: 0.5 + i * 1e-4, initial_z: 0.02, 'x_ctrl(7)': i, energy_eqn_option: 'dedt' }, `point ${i}`);
    if (out.length !== 1) throw new Error('bench: patch');
  }
  const ms = performance.now() - t0;
  say(`- patching ${N.toLocaleString('en')} points (4 parameters each) of a ${(text.length / 1000).toFixed(1)} kB inlist through the sweep's patcher: **${(ms / 1000).toFixed(2)} s**, ${((ms * 1000) / N).toFixed(0)} µs per point (target ≤ 1 s)`);
}

export async function benchParsers(say: (line: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rx-bench-parsers-'));
  try {
    await benchHistory(say, dir);
    await benchCsv(say, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await benchPatch(say);
}
