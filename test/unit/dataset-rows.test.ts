// rx dataset --rows (long format) on real files: one row per table row of each run (row count =
// the sum of the runs' table rows), the run's provenance and params on every row, the same table
// as CSV, JSON Lines and Parquet (read back with DuckDB); times ISO 8601 UTC and Parquet TIMESTAMP;
// no exit code for cancelled or never-started runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { exitCodeOf, isoUtc, toParquet, buildDataset, type DatasetRun } from '../../src/results/dataset.ts';
import { longSchema, readRunTable, tableParser, writeLongDataset, type LongRun } from '../../src/results/long-rows.ts';
import { ConfigError } from '../../src/errors.ts';

const HISTORY = new URL('../fixtures/mesa/r22-summer-school.history.data', import.meta.url);

const runOf = (key: string, params: Record<string, unknown>, state = 'COMPLETED', exit: number | null = 0): DatasetRun => ({
  provenance: { sweep: 's', key, sha: 'a'.repeat(40), base: 'b'.repeat(40), dir: `/r/${key}`, job_id: key, state, exit_code: exit, attempts: 1, submitted_at: isoUtc('2026-03-01T10:00:00.123Z'), start: isoUtc('2026-03-01T10:00:05'), end: null, elapsed_s: 5 },
  params, results: {}, notes: [],
});

test('isoUtc: zoned times normalised to UTC, Slurm\'s zone-less times read as UTC, junk is null', () => {
  assert.equal(isoUtc('2026-03-01T10:00:05'), '2026-03-01T10:00:05.000Z');
  assert.equal(isoUtc('2026-03-01T10:00:05Z'), '2026-03-01T10:00:05.000Z');
  assert.equal(isoUtc('2026-03-01T12:00:05+02:00'), '2026-03-01T10:00:05.000Z');
  assert.equal(isoUtc('2026-03-01T10:00:05.5Z'), '2026-03-01T10:00:05.500Z');
  for (const bad of [null, undefined, '', 'Unknown', 'None', 42]) assert.equal(isoUtc(bad), null, String(bad));
  fc.assert(fc.property(fc.date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }), d => isoUtc(d.toISOString()) === d.toISOString()));
});

test('exitCodeOf: cancelled and never-started runs have no exit code, never a 0 that reads as success', () => {
  assert.equal(exitCodeOf('CANCELLED', 0, '2026-01-01T00:00:00'), null, 'cancelled while running (Slurm says 0:15)');
  assert.equal(exitCodeOf('CANCELLED by 1000', 0, null), null, 'cancelled while pending');
  assert.equal(exitCodeOf('PENDING', null, null), null);
  assert.equal(exitCodeOf('NODE_FAIL', 0, null), null, 'never started');
  assert.equal(exitCodeOf('COMPLETED', 0, '2026-01-01T00:00:00'), 0);
  assert.equal(exitCodeOf('FAILED', 3, null), 3, 'a failure keeps its code even without a start time');
  assert.equal(exitCodeOf('TIMEOUT', 0, '2026-01-01T00:00:00'), 0);
});

test('tableParser: MESA history/profile and CSV/TSV; anything else is a config error', () => {
  assert.equal(tableParser('LOGS/history.data'), 'mesaHistory');
  assert.equal(tableParser('LOGS/profile12.data'), 'mesaProfile');
  assert.equal(tableParser('out/t.csv'), 'csv');
  assert.equal(tableParser('t.tsv'), 'tsv');
  assert.throws(() => tableParser('inlist_project'), ConfigError);
  assert.throws(() => tableParser('x.bin'), ConfigError);
});

test('longSchema: provenance, params, row, table columns; a taken name gets _; types fixed for provenance', () => {
  const s = longSchema([runOf('1', { m: 1, log_L: 0 }), runOf('2', { m: 2, log_L: 0, extra: 'e' })], { names: ['model', 'log_L', 'state', 'note'], values: new Map<string, unknown[]>([['model', [1]], ['log_L', [0.5]], ['state', ['x']], ['note', ['a', 1]]]) });
  assert.deepEqual(s.columns.slice(14), ['m', 'log_L', 'extra', 'row', 'model', 'log_L_', 'state_', 'note']);
  assert.equal(s.source.log_L_, 'log_L');
  assert.equal(s.types.submitted_at, 'TIMESTAMP');
  assert.equal(s.types.exit_code, 'INT32');
  assert.equal(s.types.row, 'INT32');
  assert.equal(s.types.log_L_, 'DOUBLE');
  assert.equal(s.types.note, 'STRING', 'mixed values: text');
});

test('writeLongDataset: rows = sum of table rows; every row carries its run; csv, jsonl and parquet agree', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'rx-rows-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const hist = join(dir, 'history.data');
  await writeFile(hist, readFileSync(HISTORY));
  const csvFile = join(dir, 'b.csv');
  await writeFile(csvFile, 'model_number,star_age,flag\n1,10,true\n2,20,\n');
  const histRows = (await readRunTable(hist, 'history.data')).length;
  // Three runs with the history, one cancelled before it wrote anything.
  const runs: LongRun[] = [
    { run: runOf('1', { m: 1 }), read: () => readRunTable(hist, 'r1/history.data') },
    { run: runOf('2', { m: 2 }), read: () => readRunTable(hist, 'r2/history.data') },
    { run: runOf('3', { m: 3 }, 'CANCELLED', exitCodeOf('CANCELLED', 0, null)), read: async () => undefined },
  ];
  const out = (f: string) => join(dir, f);
  const csv = await writeLongDataset(runs, 'csv', out('l.csv'));
  assert.equal(csv.rows, 2 * histRows);
  assert.equal(csv.runs, 2);
  assert.deepEqual(csv.missing.map(m => m.key), ['3']);
  const rows = parseCsv(await readFile(out('l.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  assert.equal(rows.length, 2 * histRows);
  assert.deepEqual(rows.map(r => r.key).filter((k, i, a) => a.indexOf(k) === i), ['1', '2']);
  assert.equal(rows[0]!.row, '0');
  assert.equal(rows[histRows - 1]!.row, String(histRows - 1));
  assert.equal(rows[histRows]!.m, '2');
  assert.equal(rows[0]!.submitted_at, '2026-03-01T10:00:00.123Z');
  assert.equal(rows[0]!.start, '2026-03-01T10:00:05.000Z');
  const h = await readRunTable(hist, 'history.data');
  assert.equal(Number(rows[histRows + 3]!.log_L), h.columns.log_L![3]);

  const jl = await writeLongDataset(runs, 'jsonl', out('l.jsonl'));
  const lines = (await readFile(out('l.jsonl'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, jl.rows);
  assert.equal(lines[histRows + 4]!.star_age, h.columns.star_age![4]);
  assert.equal(lines[histRows + 4]!.key, '2');

  await writeLongDataset(runs, 'parquet', out('l.parquet'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const q = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  const pq = `read_parquet('${out('l.parquet')}')`;
  assert.deepEqual(await q(`SELECT count(*)::INTEGER AS n FROM ${pq}`), [{ n: 2 * histRows }]);
  const types = Object.fromEntries((await q(`DESCRIBE SELECT * FROM ${pq}`)).map(r => [r.column_name, r.column_type]));
  assert.match(String(types.submitted_at), /^TIMESTAMP/);
  assert.equal(types.row, 'INTEGER');
  assert.equal(types.log_L, 'DOUBLE');
  const agg = await q(`SELECT key, count(*)::INTEGER AS n, max(star_age) AS a FROM ${pq} GROUP BY key ORDER BY key`);
  assert.deepEqual(agg.map(r => [r.key, r.n]), [['1', histRows], ['2', histRows]]);
  assert.equal(Number(agg[0]!.a), Math.max(...(Array.from(h.columns.star_age!) as number[])));

  // A CSV table with a boolean column with a gap, and a run whose file is unreadable: reported, not fatal.
  const mixed: LongRun[] = [
    { run: runOf('1', { m: 1 }), read: () => readRunTable(csvFile, 'b.csv') },
    { run: runOf('2', { m: 2 }), read: async () => { throw new Error('b.csv:3:1: truncated'); } },
  ];
  const m = await writeLongDataset(mixed, 'parquet', out('m.parquet'));
  assert.equal(m.rows, 2);
  assert.deepEqual(m.missing, [{ key: '2', why: 'b.csv:3:1: truncated' }]);
  const flags = await q(`SELECT flag FROM read_parquet('${out('m.parquet')}') ORDER BY row`);
  assert.deepEqual(flags.map(r => r.flag), [true, null]);
});

test('wide Parquet: times are TIMESTAMP, a cancelled run\'s exit code is NULL', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'rx-wide-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const table = buildDataset([runOf('1', { m: 1 }), runOf('2', { m: 2 }, 'CANCELLED', exitCodeOf('CANCELLED', 0, null))]);
  await writeFile(join(dir, 'w.parquet'), toParquet(table));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const rows = (await conn.runAndReadAll(`SELECT key, exit_code, strftime(submitted_at, '%Y-%m-%dT%H:%M:%S.%g') AS t FROM read_parquet('${join(dir, 'w.parquet')}') ORDER BY key`)).getRowObjectsJson();
  assert.deepEqual(rows, [{ key: '1', exit_code: 0, t: '2026-03-01T10:00:00.123' }, { key: '2', exit_code: null, t: '2026-03-01T10:00:00.123' }]);
});
