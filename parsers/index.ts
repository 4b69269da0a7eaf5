// The `parsers` namespace: `import { parsers } from 'remote-experiments'`.
// Every parser takes the file's text (a string or a Buffer) and `{ file }` to name it in errors.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { mesaInlist, namelist } from './namelist.ts';
import { mesaHistory, mesaProfile, MesaData } from './mesa-data.ts';
import { csv, tsv } from './csv.ts';
import { json } from './json.ts';
import { yaml } from './yaml.ts';
import { keyvalue } from './keyvalue.ts';
import { sbatch } from './sbatch.ts';
import { slurmOut } from './slurm-out.ts';
import type { ParseOptions } from './errors.ts';

export { ParseError } from './errors.ts';
export type { ParseOptions } from './errors.ts';
export { MesaData } from './mesa-data.ts';
export type { MesaDataOptions, MesaRow, MesaHeaderValue } from './mesa-data.ts';
export type { InlistValue, NamelistDetails } from './namelist.ts';
export type { CsvOptions, CsvTable, CsvValue } from './csv.ts';
export type { JsonValue } from './json.ts';
export type { KeyValue } from './keyvalue.ts';
export type { SlurmOut, SlurmOutOptions } from './slurm-out.ts';

/** The parsers a sweep's `parse` entries (and `fromFile`) can name: the one registry of names. */
const byName = { mesaInlist, mesaHistory, mesaProfile, csv, tsv, json, yaml, keyvalue, sbatch, slurmOut } as const;

export type ParserName = keyof typeof byName;

/** Every parser name, in registry order. */
export const parserNames = Object.keys(byName) as readonly ParserName[];

/** Is `name` one of the parser names? */
export function isParserName(name: unknown): name is ParserName {
  return typeof name === 'string' && Object.hasOwn(byName, name);
}

/** Which parser suits a file, by its name (`history.data`, `profile12.data`, `inlist_project`, `x.csv`, `slurm-42.out`, …); undefined if none. */
export function parserFor(path: string): ParserName | undefined {
  const b = basename(path).toLowerCase();
  if (b === 'history.data' || /history.*\.data$/.test(b)) return 'mesaHistory';
  if (/^profile.*\.data$/.test(b)) return 'mesaProfile';
  if (b.startsWith('inlist')) return 'mesaInlist';
  if (b.endsWith('.csv')) return 'csv';
  if (b.endsWith('.tsv') || b.endsWith('.tab')) return 'tsv';
  if (b.endsWith('.json')) return 'json';
  if (b.endsWith('.yaml') || b.endsWith('.yml')) return 'yaml';
  if (b.endsWith('.sbatch')) return 'sbatch';
  if (/^slurm-.*\.out$/.test(b) || b.endsWith('.out')) return 'slurmOut';
  if (/\.(ini|cfg|conf|env|properties|txt)$/.test(b) || b === '.env') return 'keyvalue';
  return undefined;
}

/** Reads and parses a file, with the parser named or chosen by `parserFor`; errors name the path. */
async function fromFile(path: string, name?: ParserName, opts: Omit<ParseOptions, 'file'> & Record<string, unknown> = {}): Promise<unknown> {
  const p = name ?? parserFor(path);
  if (!p) throw new Error(`${path}: no parser for this file name; name one (${parserNames.join(', ')})`);
  return byName[p](await readFile(path), { ...opts, file: path });
}

export const parsers = {
  ...byName,
  /** Everything about an inlist: values, groups in order, duplicate assignments, warnings. */
  namelist,
  parserFor,
  fromFile,
  MesaData,
};

export { mesaInlist, namelist, mesaHistory, mesaProfile, csv, tsv, json, yaml, keyvalue, sbatch, slurmOut, fromFile };
