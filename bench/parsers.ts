// Parser and patcher throughput (wired into `npm run bench` by bench/run.ts):
// - mesaHistory on a ≥ 50 MB history.data built from a real fixture by repeating its rows
//   (target ≥ 100 MB/s), read from disk as a Buffer, decoding included;
// - patching 10 000 points of a ~12 kB inlist through the sweep's patcher pipeline (target ≤ 1 s).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parsers } from '../parsers/index.ts';
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
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await benchPatch(say);
}
