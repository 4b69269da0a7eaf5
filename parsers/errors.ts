// Errors and small helpers shared by the parsers: every malformed input is reported with the file,
// the line and the column (1-based), never turned into a silent wrong value.
import { RxError } from '../src/errors.ts';

/** Options every parser takes. */
export interface ParseOptions {
  /** File name used in error messages (default: the parser's usual file name). */
  file?: string;
  /** Called with each warning (duplicate key, partial last row, …); warnings are also returned where the result has room for them. */
  warn?: (message: string) => void;
}

/** Malformed input: `file:line:column: reason`. */
export class ParseError extends RxError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}:${column}: ${reason}`);
  }
}

/** 1-based line and column of a character offset. */
export function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** A ParseError at a character offset of `text`. */
export function errorAt(file: string, text: string, offset: number, reason: string): ParseError {
  const { line, column } = lineCol(text, offset);
  return new ParseError(file, line, column, reason);
}

/** Parsers accept a string or a Buffer (decoded as UTF-8, a leading BOM dropped). */
export function asText(input: string | Uint8Array): string {
  const s = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/** Levenshtein distance, for "closest names" in messages. */
export function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

/** The `n` names closest to `name` (case-insensitive edit distance; substrings rank first). */
export function closest(name: string, names: Iterable<string>, n = 3): string[] {
  const lower = name.toLowerCase();
  return [...new Set(names)]
    .map(k => {
      const kl = k.toLowerCase();
      return [k, distance(lower, kl) - (kl.includes(lower) || lower.includes(kl) ? 0.5 : 0)] as const;
    })
    .sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1))
    .slice(0, n)
    .map(x => x[0]);
}

/** A fast offset → 1-based line function for many look-ups in one text. */
export function lineFinder(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return offset => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}
