// YAML (the yaml package): the document as plain data; errors give file, line and column.
import { parseDocument } from 'yaml';
import { asText, ParseError, type ParseOptions } from './errors.ts';

export function yaml<T = unknown>(input: string | Uint8Array, opts: ParseOptions = {}): T {
  const text = asText(input);
  const file = opts.file ?? 'file.yaml';
  const doc = parseDocument(text, { prettyErrors: true });
  const err = doc.errors[0];
  if (err) {
    const lp = err.linePos?.[0];
    throw new ParseError(file, lp?.line ?? 0, lp?.col ?? 0, err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''));
  }
  for (const w of doc.warnings) opts.warn?.(`${file}: ${w.message.split('\n')[0]}`);
  return doc.toJS() as T;
}
