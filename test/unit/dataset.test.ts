import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import fc from 'fast-check';
import { applyReducer, defaultReduce, parseWhere, validateReducer } from '../../src/results/reduce.ts';
import { buildDataset, parquetType, toCsv, toJsonLines, PROVENANCE } from '../../src/results/dataset.ts';
import { parsers } from '../../parsers/index.ts';
import { ConfigError } from '../../src/errors.ts';

const history = parsers.mesaHistory(readFileSync(new URL('../fixtures/mesa/r22-summer-school.history.data', import.meta.url)));

test('built-in reducers on a real MESA history: last, max, min, at', () => {
  const n = history.length;
  const r = applyReducer([{ last: ['star_age', 'log_L'] }, { max: ['log_L'] }, { min: ['log_Teff'] }, { at: { where: 'model_number >= 3', columns: ['star_age'] } }], history, 'history.data');
  assert.equal(r.star_age, history.column('star_age')[n - 1]);
  assert.equal(r.log_L, history.column('log_L')[n - 1]);
  assert.equal(r.log_L_max, Math.max(...history.column('log_L')));
  assert.equal(r.log_Teff_min, Math.min(...history.column('log_Teff')));
  const i = [...history.column('model_number')].findIndex(v => v >= 3);
  assert.equal(r.star_age_at, i >= 0 ? history.column('star_age')[i] : null);
  assert.equal(Object.keys(applyReducer('last', history, 'h')).length, new Set(history.names).size);
  assert.deepEqual(applyReducer({ at: { where: 'log_L > 1e9', columns: ['star_age'] } }, history, 'h'), { star_age_at: null });
});

test('reducers on CSV tables; default reduce flattens objects; bad reducers are config errors', () => {
  const t = parsers.csv('a,b\n1,x\n3,y\n');
  assert.deepEqual(applyReducer([{ last: ['a', 'b'] }, { max: ['a'] }], t, 't.csv'), { a: 3, b: 'y', a_max: 3 });
  assert.throws(() => applyReducer({ last: ['zz'] }, t, 't.csv'), /no column 'zz'/);
  assert.deepEqual(defaultReduce({ x: 1, y: { z: 2 } }, 'f.json'), { x: 1, y: '{"z":2}' });
  assert.throws(() => validateReducer({ mean: ['a'] }, 'parse.reduce'), (e: Error) => e instanceof ConfigError && /parse\.reduce: unknown reducer/.test(e.message));
  assert.throws(() => parseWhere('a ~ 1', 'w'), /expected '<column> <op> <number>'/);
  assert.deepEqual(parseWhere('center_h1 <= 1e-4', 'w'), { column: 'center_h1', op: '<=', value: 1e-4 });
});

test('dataset columns: provenance first, params, results; clashes get _ appended, nothing hidden', () => {
  const prov = Object.fromEntries(PROVENANCE.map(c => [c, c === 'key' ? '1' : null])) as never;
  const d = buildDataset([
    { provenance: prov, params: { mass: 1, state: 'p' }, results: { mass: 2, log_L: 3 }, notes: [] },
    { provenance: prov, params: { mass: 2, z: 0.1 }, results: {}, notes: ['history.data: not produced (yet)'] },
  ]);
  assert.deepEqual(d.columns, [...PROVENANCE, 'mass', 'state_', 'z', 'mass_', 'log_L', 'notes']);
  assert.equal(d.rows[0]!.mass, 1);
  assert.equal(d.rows[0]!.mass_, 2);
  assert.equal(d.rows[0]!.state_, 'p');
  assert.equal(d.rows[1]!.log_L, null);
  assert.equal(d.rows[1]!.notes, 'history.data: not produced (yet)');
});

test('CSV and JSON Lines round-trip hostile strings', () => {
  fc.assert(fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 5 }), strs => {
    const prov = Object.fromEntries(PROVENANCE.map(c => [c, null])) as never;
    const d = buildDataset(strs.map((s, i) => ({ provenance: prov, params: { s, i }, results: {}, notes: [] })));
    const rows = parseCsv(toCsv(d), { columns: true }) as Record<string, string>[];
    assert.deepEqual(rows.map(r => r.s), strs);
    assert.deepEqual(toJsonLines(d).trim().split('\n').map(l => JSON.parse(l).s), strs);
  }));
});

test('parquet column types: fixed for provenance, stable for params and results', () => {
  assert.equal(parquetType([1, 2, null], 'exit_code'), 'INT32');
  assert.equal(parquetType([null], 'elapsed_s'), 'DOUBLE');
  assert.equal(parquetType([null], 'job_id'), 'STRING');
  assert.equal(parquetType([1, 2, null], 'n_steps'), 'DOUBLE', 'integers are DOUBLE: the type does not depend on the values swept');
  assert.equal(parquetType([1.5, 2]), 'DOUBLE');
  assert.equal(parquetType([2 ** 40]), 'DOUBLE');
  assert.equal(parquetType([true, null]), 'BOOLEAN');
  assert.equal(parquetType(['a', 1]), 'STRING');
  assert.equal(parquetType([null]), 'STRING');
});

test('reducers skip what is not a number: empty cells, strings, booleans never count as 0 or 1', () => {
  const t = parsers.csv('t,x,flag\n1,5,true\n2,,false\n3,7,true\n4,abc,false\n');
  assert.deepEqual(applyReducer([{ min: ['x'] }, { max: ['x'] }, { max: ['flag'] }], t, 't.csv'), { x_min: 5, x_max: 7, flag_max: null });
  assert.deepEqual(applyReducer({ at: { where: 'x < 6', columns: ['t'] } }, t, 't.csv'), { t_at: 1 });
  assert.deepEqual(applyReducer({ at: { where: 'x != 5', columns: ['t'] } }, t, 't.csv'), { t_at: 3 });
  assert.deepEqual(applyReducer([{ last: ['t'] }, { last: ['t'] }], t, 't.csv'), { t: 4, t_: 4 }, 'nothing hides another');
});

test('a parameter named notes does not take the notes column', () => {
  const prov = Object.fromEntries(PROVENANCE.map(c => [c, null])) as never;
  const d = buildDataset([{ provenance: prov, params: { notes: 'mine' }, results: {}, notes: ['x'] }]);
  assert.equal(d.rows[0]!.notes, 'x');
  assert.equal(d.rows[0]!.notes_, 'mine');
});
