// The csv/tsv parser against the implementation it replaced (kept below, verbatim but for imports,
// as the oracle): random tables written by a small CSV writer of this file (quotes, delimiters and
// newlines in quoted cells, empty cells, numbers in many spellings, comments, BOM, CRLF) and random
// character soup must give the same table, or the same error, from a string and from a Buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { csv, tsv, type CsvOptions, type CsvTable, type CsvValue } from '../../parsers/csv.ts';
import { ParseError } from '../../parsers/errors.ts';

// ───────────────────────── the oracle: parsers/csv.ts before it was made fast ─────────────────────────

function oracleAsText(input: string | Uint8Array): string {
  const s = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

function oraclePlainNumber(s: string): number | undefined {
  if (!/^[+-]?(?:0|[1-9]\d*|(?=\.\d))(?:\.\d*)?(?:[eE][+-]?\d+)?$/.test(s)) return undefined;
  const v = Number(s);
  if (/^[+-]?\d+$/.test(s) && !Number.isSafeInteger(v) && String(v) !== s.replace(/^\+/, '')) return undefined;
  return Number.isFinite(v) ? v : undefined;
}

function oracleTypedCell(v: string): CsvValue {
  if (v === '') return null;
  if (v === 'true' || v === 'TRUE' || v === 'True') return true;
  if (v === 'false' || v === 'FALSE' || v === 'False') return false;
  if (v === 'NaN' || v === 'nan') return NaN;
  if (/^[+-]?(inf|infinity)$/i.test(v)) return v.startsWith('-') ? -Infinity : Infinity;
  return oraclePlainNumber(v) ?? v;
}

function oracle(input: string | Uint8Array, opts: CsvOptions, isTsv: boolean): CsvTable {
  const text = oracleAsText(input);
  const file = opts.file ?? (isTsv ? 'file.tsv' : 'file.csv');
  const header = opts.header ?? true;
  const cast = opts.cast ?? true;
  let records: CsvValue[][];
  try {
    records = parse(text, {
      delimiter: opts.delimiter ?? (isTsv ? '\t' : ','),
      quote: opts.quote === false ? null : (opts.quote ?? (isTsv ? null : '"')),
      comment: opts.comment,
      skip_empty_lines: true,
      relax_column_count: false,
      cast: (value, ctx) => (!cast || ctx.quoting || (header && ctx.lines === 1) ? value : oracleTypedCell(value)),
    }) as CsvValue[][];
  } catch (e) {
    const err = e as { code?: string; lines?: number; index?: number; message: string };
    if (err.code?.startsWith('CSV_')) {
      const counts = /expect (\d+), got (\d+)/.exec(err.message);
      const field = counts ? Math.min(Number(counts[1]), Number(counts[2])) + 1 : (err.index ?? 0) + 1;
      throw new ParseError(file, err.lines ?? 0, field, `${err.message.replace(/\s+(?:on|at) line \d+\s*$/, '').replace(/ at line \d+/, '')} (field ${field})`);
    }
    throw e;
  }
  if (records.length === 0) return { names: [], rows: [] };
  const names = header ? records[0]!.map(String) : records[0]!.map((_, i) => String(i + 1));
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) throw new ParseError(file, 1, i + 1, `column name '${n}' appears twice in the header`);
    seen.add(n);
  });
  const rows = (header ? records.slice(1) : records).map(r => {
    const o: Record<string, CsvValue> = {};
    names.forEach((n, i) => Object.defineProperty(o, n, { value: r[i] ?? null, enumerable: true, writable: true, configurable: true }));
    return o;
  });
  return { names, rows };
}

// ───────────────────────── comparison ─────────────────────────

type Outcome = { table: CsvTable } | { error: string; type: string };

function outcome(f: () => CsvTable): Outcome {
  try {
    return { table: f() };
  } catch (e) {
    const err = e as Error;
    const where = e instanceof ParseError ? `${e.file}:${e.line}:${e.column}` : '';
    return { error: `${where} ${err.message}`, type: err.constructor.name };
  }
}

/** The new parser gives what the oracle gives (deepStrictEqual: -0, NaN, prototypes, key order), for a string and a Buffer. */
function same(input: string | Uint8Array, opts: CsvOptions, isTsv = false): Outcome {
  const want = outcome(() => oracle(input, opts, isTsv));
  const fn = isTsv ? tsv : csv;
  assert.deepStrictEqual(outcome(() => fn(input, opts)), want);
  if (typeof input === 'string') assert.deepStrictEqual(outcome(() => fn(Buffer.from(input), opts)), want);
  return want;
}

// ───────────────────────── an independent CSV writer and random tables ─────────────────────────

const SPELLINGS = [
  '1', '-0', '+0', '0', '00', '007', '1e5', '1E-5', '1e+5', '.5', '-.5', '+.5', '5.', '1.0', '1.e3', '.', '-', '+', 'e5', '1e', '1e+',
  '0x10', '0b1', '1_000', ' 7', '7 ', '1,5', 'NaN', 'nan', 'NAN', 'Infinity', '-Infinity', '+inf', 'INF', 'iNfInItY', 'infinit',
  'true', 'True', 'TRUE', 'tRue', 'false', 'False', 'FALSE', '', '9007199254740993', '12345678901234567890', '100000000000000000000',
  '-9007199254740992', '1e400', '-1e400', '1e-400', '0.1e1', '٣', '１', '1d5', 'null',
];

const cellText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SPELLINGS) },
  { weight: 2, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.tuple(fc.double({ noNaN: true }), fc.integer({ min: 0, max: 16 })).map(([x, p]) => x.toExponential(p)) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(10n ** 22n), max: 10n ** 22n }).map(String) },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', ' ', ',', ';', '"', "'", '\n', '\r', '\t', '#', '1', '.', 'e', '-', 'é', '€'), maxLength: 8 }) },
);

interface Cell { text: string; quoted: boolean }
interface Dialect { delimiter: string; quote: string | null; comment?: string; eol: string }

/** Writes a cell; a cell that needs quotes is quoted whatever was asked (impossible without a quote: then undefined). */
function writeCell(c: Cell, d: Dialect): string | undefined {
  const special = c.text.includes(d.delimiter) || /[\r\n]/.test(c.text) || (d.quote !== null && c.text.includes(d.quote)) || c.text.includes('"')
    || (d.comment !== undefined && c.text.includes(d.comment));
  if (!c.quoted && !special) return c.text;
  if (d.quote === null) return undefined;
  // csv-parse's escape is always `"`: a quote or a `"` inside a quoted cell is written `"` + it.
  let out = '';
  for (const ch of c.text) out += ch === d.quote || ch === '"' ? `"${ch}` : ch;
  return d.quote + out + d.quote;
}

const dialect: fc.Arbitrary<Dialect> = fc.record({
  delimiter: fc.constantFrom(',', ';', '\t', '|'),
  quote: fc.constantFrom<string | null>('"', '"', "'", null),
  comment: fc.constantFrom<string | undefined>(undefined, undefined, '#'),
  eol: fc.constantFrom('\n', '\r\n'),
});

const tableCase = fc.record({
  d: dialect,
  width: fc.integer({ min: 1, max: 5 }),
  cells: fc.array(fc.record({ text: cellText, quoted: fc.boolean() }), { minLength: 1, maxLength: 60 }),
  names: fc.array(fc.record({ text: fc.oneof(fc.constantFrom('mass', 'z', 'x y', '1.0', '2', '', 'true', '__proto__', 'a,b', 'toString'), cellText), quoted: fc.boolean() }), { minLength: 5, maxLength: 5 }),
  header: fc.boolean(),
  cast: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(false)),
  bom: fc.boolean(),
  trailingEol: fc.boolean(),
  blankEvery: fc.integer({ min: 0, max: 7 }),
  commentEvery: fc.integer({ min: 0, max: 5 }),
  buffer: fc.boolean(),
});

/** The CSV text of a random table, written line by line (blank and comment lines between rows). */
function writeTable(t: typeof tableCase extends fc.Arbitrary<infer T> ? T : never): string | undefined {
  const lines: string[] = [];
  const rows: Cell[][] = [];
  if (t.header) rows.push(t.names.slice(0, t.width));
  for (let i = 0; i + t.width <= t.cells.length; i += t.width) rows.push(t.cells.slice(i, i + t.width));
  for (const [i, r] of rows.entries()) {
    if (t.blankEvery && i % t.blankEvery === 1) lines.push('');
    if (t.d.comment && t.commentEvery && i % t.commentEvery === 0) lines.push(`${t.d.comment} a comment, "with" quotes 1.0`);
    const cells = r.map(c => writeCell(c, t.d));
    if (cells.includes(undefined)) return undefined;
    lines.push(cells.join(t.d.delimiter));
  }
  return (t.bom ? '\ufeff' : '') + lines.join(t.d.eol) + (t.trailingEol ? t.d.eol : '');
}

test('random tables parse as the old implementation did (typing, quoting, header, errors)', () => {
  let tables = 0;
  fc.assert(fc.property(tableCase, t => {
    const text = writeTable(t);
    if (text === undefined) return;
    const opts: CsvOptions = { delimiter: t.d.delimiter, quote: t.d.quote ?? false, comment: t.d.comment, header: t.header, cast: t.cast };
    if ('table' in same(t.buffer ? Buffer.from(text) : text, opts)) tables++;
  }), { numRuns: 600 });
  assert.ok(tables > 200, `only ${tables} cases parsed to a table`);
});

test('character soup: the same table or the same error, csv and tsv', () => {
  const soup = fc.string({ unit: fc.constantFrom('a', '1', '0', '.', 'e', '-', '+', 'x', ' ', ',', ';', '"', "'", '\n', '\r', '\t', '#', 'N', 'I', 'n', 'f', '\ufeff', 'é'), maxLength: 60 });
  const opts = fc.record({
    delimiter: fc.constantFrom<string | undefined>(undefined, ',', ';', '\t'),
    quote: fc.constantFrom<string | false | undefined>(undefined, '"', "'", false),
    comment: fc.constantFrom<string | undefined>(undefined, '#'),
    header: fc.constantFrom<boolean | undefined>(undefined, true, false),
    cast: fc.constantFrom<boolean | undefined>(undefined, false),
  }, { requiredKeys: [] });
  fc.assert(fc.property(soup, opts, fc.boolean(), (text, o, isTsv) => {
    same(text, o, isTsv);
  }), { numRuns: 1500 });
});

test('bytes that are not UTF-8, and a BOM, read as the old implementation read them', () => {
  fc.assert(fc.property(fc.array(fc.oneof(fc.constantFrom(0x2c, 0x0a, 0x22, 0x31, 0x2e, 0x65, 0xef, 0xbb, 0xbf, 0xc3, 0xa9, 0xff, 0x80, 0xe2, 0x82)), { maxLength: 40 }), bytes => {
    same(Uint8Array.from(bytes), {});
    same(Buffer.from(Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes])), { header: false });
  }), { numRuns: 800 });
});

test('every spelling, quoted and not, in a header and in the body', () => {
  for (const s of SPELLINGS) {
    const quoted = `"${s}"`;
    same(`a,b\n${s},${quoted}\n${quoted},${s}\n`, {});
    same(`${s},${quoted}\n${s},1\n`, {});
    same(`\n${s},${quoted}\n${s},1\n`, {}); // the header not on line 1: typed, as csv-parse typed it
    same(`${s}\t${s}\n`, { header: false }, true);
  }
  const t = csv('a,b,c,d,e,f,g,h,i\n1,-0,1e5,.5,1.0,0x10, 7,NaN,Infinity\n"1",2,"-0",x,,"",true,False,-inf\n');
  assert.deepStrictEqual(t.rows, [
    { a: 1, b: -0, c: 100000, d: 0.5, e: 1, f: '0x10', g: ' 7', h: NaN, i: Infinity },
    { a: '1', b: 2, c: '-0', d: 'x', e: null, f: '', g: true, h: false, i: -Infinity },
  ]);
});

test('a quoted number in one cell and the same text unquoted in another keep their own types', () => {
  const text = 'x,y\n"1.5",1.5\n1.5,"1.5"\n"",\n';
  assert.deepStrictEqual(csv(text).rows, [{ x: '1.5', y: 1.5 }, { x: 1.5, y: '1.5' }, { x: '', y: null }]);
  same(text, {});
  // A quote other than csv-parse's escape `"`: `"` inside a quoted cell escapes the next character.
  assert.deepStrictEqual(same("x,y\n'1\"2',12\n", { quote: "'" }), { table: { names: ['x', 'y'], rows: [{ x: '12', y: 12 }] } });
  assert.deepStrictEqual(csv(Buffer.from('\ufeffn,__proto__\n1,2\n')).rows[0], Object.defineProperty({ n: 1 }, '__proto__', { value: 2, enumerable: true, writable: true, configurable: true }));
});

test('a large numeric table: rows, types and the last row as the oracle has them', () => {
  const names = Array.from({ length: 30 }, (_, j) => `c${j}`);
  const lines = [names.join(',')];
  for (let i = 0; i < 2000; i++) lines.push(names.map((_, j) => (j === 0 ? String(i) : ((i + 1) * (j + 0.5) * 10 ** (j % 9 - 4)).toPrecision(7))).join(','));
  const buf = Buffer.from(lines.join('\r\n') + '\r\n');
  const t = csv(buf, { file: 'big.csv' });
  assert.equal(t.rows.length, 2000);
  assert.deepStrictEqual(t, oracle(buf, { file: 'big.csv' }, false));
});
