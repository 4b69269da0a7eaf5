// JSON: JSON.parse for speed; when it fails, a small position-tracking parser finds the line and
// column (Node's own message does not always give them). The same parser gives the patcher the
// character range of every value, so patching rewrites only the values it sets.
import { asText, errorAt, type ParseOptions } from './errors.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export type JsonNode =
  | { kind: 'object'; start: number; end: number; entries: { key: string; keyStart: number; value: JsonNode }[] }
  | { kind: 'array'; start: number; end: number; items: JsonNode[] }
  | { kind: 'scalar'; start: number; end: number };

type JsonEntry = { key: string; keyStart: number; value: JsonNode };

/** Parses JSON text into nodes with character ranges. Malformed input is a ParseError with line and column. */
export function jsonTree(text: string, file = 'file.json'): JsonNode {
  const p = new JsonScanner(text, file);
  const root = p.value();
  p.ws();
  if (p.i < p.n) p.fail(p.i, `unexpected '${text[p.i]}' after the end of the JSON value`);
  return root;
}

/** A recursive-descent parser over `text`; `i` is the position of the next character to read. */
class JsonScanner {
  i = 0;
  readonly n: number;

  constructor(
    readonly text: string,
    readonly file: string,
  ) {
    this.n = text.length;
  }

  fail(at: number, why: string): never {
    throw errorAt(this.file, this.text, Math.min(at, this.n), why);
  }

  /** Skips JSON whitespace. */
  ws(): void {
    const text = this.text;
    let i = this.i;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
    this.i = i;
  }

  /** The string opening at `i` (checked here so that errors have a position; decoded by JSON.parse). */
  str(): string {
    const { text, n } = this;
    const s = this.i;
    let i = s + 1;
    for (;;) {
      if (i >= n) this.fail(s, 'unterminated string');
      const c = text.charCodeAt(i);
      if (c === 34) break;
      if (c < 32) this.fail(i, 'control character in a string (write it as an escape, e.g. \\n)');
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) this.fail(i, 'bad \\u escape (expected 4 hex digits)');
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail(i, `bad escape '\\${e ?? ''}'`);
        i += 2;
        continue;
      }
      i++;
    }
    this.i = ++i;
    return JSON.parse(text.slice(s, i)) as string;
  }

  value(): JsonNode {
    this.ws();
    const s = this.i;
    const c = this.text[s];
    if (c === undefined) return this.fail(s, 'unexpected end of input (expected a value)');
    if (c === '{') return this.object(s);
    if (c === '[') return this.array(s);
    if (c === '"') {
      this.str();
      return { kind: 'scalar', start: s, end: this.i };
    }
    return this.literal(s, c);
  }

  private object(s: number): JsonNode {
    const text = this.text;
    this.i++;
    const entries: JsonEntry[] = [];
    this.ws();
    if (text[this.i] === '}') {
      this.i++;
      return { kind: 'object', start: s, end: this.i, entries };
    }
    for (;;) {
      this.ws();
      if (text[this.i] !== '"') this.fail(this.i, this.i >= this.n ? 'unexpected end of input (expected a key)' : `expected a key in double quotes, got '${text[this.i]}'`);
      const keyStart = this.i;
      const key = this.str();
      this.ws();
      if (text[this.i] !== ':') this.fail(this.i, `expected ':' after the key ${JSON.stringify(key)}`);
      this.i++;
      entries.push({ key, keyStart, value: this.value() });
      if (this.endOfList('}', "'}'")) return { kind: 'object', start: s, end: this.i, entries };
    }
  }

  private array(s: number): JsonNode {
    this.i++;
    const items: JsonNode[] = [];
    this.ws();
    if (this.text[this.i] === ']') {
      this.i++;
      return { kind: 'array', start: s, end: this.i, items };
    }
    for (;;) {
      items.push(this.value());
      if (this.endOfList(']', "']'")) return { kind: 'array', start: s, end: this.i, items };
    }
  }

  /** After an entry or item: a ',' (false: more follow) or the closing bracket (true); anything else fails. */
  private endOfList(close: string, quoted: string): boolean {
    this.ws();
    const c = this.text[this.i];
    if (c !== ',' && c !== close) this.fail(this.i, this.i >= this.n ? `unexpected end of input (expected ',' or ${quoted})` : `expected ',' or ${quoted}, got '${c}'`);
    this.i++;
    return c === close;
  }

  /** A number, true, false or null, which must not run on into other word characters. */
  private literal(s: number, c: string): JsonNode {
    const text = this.text;
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(s, s + 400));
    if (!m) return this.fail(s, `unexpected '${c}' (expected a value)`);
    this.i = s + m[0].length;
    if (/^[\w.+-]/.test(text[this.i] ?? '')) this.fail(s, `invalid value '${text.slice(s, this.i + 1)}'`);
    return { kind: 'scalar', start: s, end: this.i };
  }
}

/** Parses JSON; errors give file, line and column. */
export function json<T = JsonValue>(input: string | Uint8Array, opts: ParseOptions = {}): T {
  const text = asText(input);
  try {
    return JSON.parse(text) as T;
  } catch {
    jsonTree(text, opts.file ?? 'file.json');
    throw errorAt(opts.file ?? 'file.json', text, 0, 'invalid JSON');
  }
}
