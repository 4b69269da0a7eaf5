// rx dataset end to end: parse entries (built-in reducers and a function), failed runs kept as rows,
// CSV / JSON Lines / Parquet (read back with DuckDB, an independent reader), over ssh and locally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { DuckDBInstance } from '@duckdb/node-api';
import { gitdir } from '../helpers/gitdir.ts';
import { rxJson, eventually } from '../helpers/rx.ts';
import { clusterSession } from '../helpers/cluster.ts';

const files = {
  'config.inlist': '&controls\n  m = 1\n  fail = 0\n  log_L = 0\n/\n',
  // A MESA-like history.data: 5 rows, log_L = m * model_number, star_age = 10 * model_number.
  'run.sbatch': [
    '#!/bin/bash',
    'get() { awk -v k="$1" \'$1 == k { print $3 }\' config.inlist; }',
    'm=$(get m)',
    'if [ "$(get fail)" = 1 ]; then echo "ERROR: failing on purpose" >&2; exit 3; fi',
    'awk -v m="$m" \'BEGIN {',
    '  printf "%40s %40s\\n", 1, 2; printf "%40s %40s\\n", "version_number", "initial_mass"; printf "%40s %40s\\n", "\\"r24\\"", m; print ""',
    '  printf "%40s %40s %40s\\n", 1, 2, 3; printf "%40s %40s %40s\\n", "model_number", "star_age", "log_L"',
    '  for (i = 1; i <= 5; i++) printf "%40d %40.16E %40.16E\\n", i, 10 * i, m * i',
    '}\' > history.data',
    'printf "a,b\\n1,2\\n3,4\\n" > results.csv',
    '',
  ].join('\n'),
};

const sweepTs = (remote: string) => `
import { defineSweep } from 'remote-experiments';
export default defineSweep({
  name: 'ds',
  branch: 'main',
  base_config: { log_L: 0 },
  // Three runs that produce outputs and one that fails (exit 3) before writing any.
  points: [{ m: 1.5, fail: 0 }, { m: 2, fail: 0 }, { m: 4, fail: 0 }, { m: 1, fail: 1 }],
  patcher: { type: 'mesa', file: 'config.inlist' },
  parse: [
    { file: 'history.data', reduce: [{ last: ['star_age', 'log_L'] }, { max: ['log_L'] }, { at: { where: 'model_number >= 3', columns: ['star_age'] } }] },
    { file: 'results.csv', parser: 'csv', prefix: 'csv_', reduce: (t: any, ctx: any) => ({ rows: t.rows.length, m_seen: ctx.params.m }) },
  ],
  remote: ${remote},
});
`;

type Row = Record<string, unknown>;

async function checkDataset(cwd: string, env: Record<string, string>) {
  // CSV: one row per experiment, failed ones included with empty results.
  const summary = await rxJson<{ file: string; rows: number; complete: number; columns: string[] }[]>(['dataset', '--sweep', 'ds'], { cwd, env });
  const n = 4;
  assert.equal(summary[0]!.rows, n);
  assert.equal(summary[0]!.complete, 3);
  const cols = summary[0]!.columns;
  assert.deepEqual(cols.slice(0, 13), ['sweep', 'key', 'sha', 'base', 'dir', 'job_id', 'state', 'exit_code', 'attempts', 'submitted_at', 'start', 'end', 'elapsed_s']);
  // The parameter log_L is a param; the result of the same name gets '_' (psweep's rule).
  for (const c of ['log_L', 'log_L_', 'log_L_max', 'star_age_at', 'csv_rows']) assert.ok(cols.includes(c), `${c} in ${cols.join(' ')}`);
  const rows = parseCsv(await readFile(summary[0]!.file, 'utf8'), { columns: true }) as Row[];
  assert.equal(rows.length, n);
  for (const r of rows.filter(r => r.fail === '0')) {
    const m = Number(r.m);
    assert.equal(r.state, 'COMPLETED');
    assert.equal(Number(r.log_L_), 5 * m, 'last log_L');
    assert.equal(Number(r.log_L_max), 5 * m);
    assert.equal(Number(r.star_age), 50);
    assert.equal(Number(r.star_age_at), 30);
    assert.equal(Number(r.csv_rows), 2);
    assert.equal(Number(r.csv_m_seen), m);
    assert.equal(r.log_L, '0', 'the parameter keeps its name and value');
    assert.match(String(r.sha), /^[0-9a-f]{40}$/);
    assert.ok(r.job_id && r.submitted_at && r.dir);
  }
  const bad = rows.find(r => r.fail === '1')!;
  assert.equal(bad.state, 'FAILED');
  assert.equal(bad.exit_code, '3');
  assert.equal(bad.log_L_max, '');
  assert.match(String(bad.notes), /history\.data: not produced/);
  // JSON Lines and Parquet hold the same table; Parquet read back by DuckDB.
  const jl = (await rxJson<{ file: string }[]>(['dataset', '--sweep', 'ds', '--format', 'jsonl', '--offline'], { cwd, env }))[0]!.file;
  const lines = (await readFile(jl, 'utf8')).trim().split('\n').map(l => JSON.parse(l) as Row);
  const pq = (await rxJson<{ file: string }[]>(['dataset', '--sweep', 'ds', '--format', 'parquet', '--out', 'out/ds.parquet', '--offline'], { cwd, env }))[0]!.file;
  assert.equal(pq, join(cwd, 'out/ds.parquet'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const read = await conn.runAndReadAll(`SELECT key, state, exit_code, m, log_L_max, star_age_at, csv_rows, notes FROM read_parquet('${pq.replace(/'/g, "''")}') ORDER BY key`);
  const fromPq = read.getRowObjectsJson() as Row[];
  assert.equal(fromPq.length, n);
  for (const r of fromPq) {
    const j = lines.find(l => l.key === r.key)!;
    assert.equal(r.state, j.state);
    assert.equal(r.exit_code, j.exit_code);
    assert.equal(r.m, j.m);
    assert.equal(r.log_L_max, j.log_L_max);
    assert.equal(r.star_age_at, j.star_age_at);
    assert.equal(r.csv_rows, j.csv_rows);
    assert.equal(r.notes, j.notes);
  }
  const types = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${pq.replace(/'/g, "''")}')`)).getRowObjectsJson() as { column_name: string; column_type: string }[];
  const type = (c: string) => types.find(t => t.column_name === c)?.column_type;
  assert.equal(type('log_L_max'), 'DOUBLE');
  assert.equal(type('exit_code'), 'INTEGER');
  assert.equal(type('state'), 'VARCHAR');
}

test('local: dataset with reducers and a function, failed run kept, csv/jsonl/parquet agree', async t => {
  const g = await gitdir(t, { origin: true, files });
  await writeFile(join(g.work, 'sweep.ts'), sweepTs("{ host: 'local' }"));
  await g.commit('sweep');
  await rxJson(['submit', '--sweep', 'sweep.ts'], { cwd: g.work });
  await eventually('all finished', 60_000, async () => {
    const rows = await rxJson<{ state: string }[]>(['status'], { cwd: g.work });
    return rows.length === 4 && rows.every(r => r.state === 'COMPLETED' || r.state === 'FAILED') ? true : undefined;
  });
  await checkDataset(g.work, {});
});

test('slurm over ssh: dataset fetches with one rsync and parses', async t => {
  const c = await clusterSession(t, 'rx-ds');
  if (!c) return;
  const { env } = c;
  const g = await gitdir(t, { origin: true, files });
  await writeFile(join(g.work, 'sweep.ts'), sweepTs(JSON.stringify(c.remote())));
  await g.commit('sweep');
  await g.git.push('origin', 'main');
  await rxJson(['submit', '--sweep', 'sweep.ts'], { cwd: g.work, env });
  await eventually('all finished', 120_000, async () => {
    const rows = await rxJson<{ state: string }[]>(['status'], { cwd: g.work, env });
    return rows.length === 4 && rows.every(r => r.state === 'COMPLETED' || r.state === 'FAILED') ? true : undefined;
  });
  await checkDataset(g.work, env);
});
