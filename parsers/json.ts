// JSON: JSON.parse for speed; when it fails, a small position-tracking parser finds the line and
// column (Node's own message does not always give them). The same parser gives the patcher the
// character range of every value, so patching rewrites only the values it sets.
import { asText, errorAt, type ParseOptions } from './errors.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export type JsonNode =
  | { kind: 'object'; start: number; end: number; entries: { key: string; keyStart: number; value: JsonNode }[] }
  | { kind: 'array'; start: number; end: number; items: JsonNode[] }
  | { kind: 'scalar'; start: number; end: number };

/** Parses JSON text into nodes with character ranges. Malformed input is a ParseError with line and column. */
export function jsonTree(text: string, file = 'file.json'): JsonNode {
  let i = 0;
  const n = text.length;
  const fail = (at: number, why: string): never => {
    throw errorAt(file, text, Math.min(at, n), why);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else return;
    }
  };
  const str = (): string => {
    const s = i;
    i++;
    for (;;) {
      if (i >= n) fail(s, 'unterminated string');
      const c = text.charCodeAt(i);
      if (c === 34) break;
      if (c < 32) fail(i, 'control character in a string (write it as an escape, e.g. \\n)');
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail(i, 'bad \\u escape (expected 4 hex digits)');
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail(i, `bad escape '\\${e ?? ''}'`);
        i += 2;
        continue;
      }
      i++;
    }
    i++;
    return JSON.parse(text.slice(s, i)) as string;
  };
  const value = (): JsonNode => {
    ws();
    const s = i;
    const c = text[i];
    if (c === undefined) return fail(i, 'unexpected end of input (expected a value)');
    if (c === '{') {
      i++;
      const entries: { key: string; keyStart: number; value: JsonNode }[] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', start: s, end: i, entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(i, i >= n ? 'unexpected end of input (expected a key)' : `expected a key in double quotes, got '${text[i]}'`);
        const keyStart = i;
        const key = str();
        ws();
        if (text[i] !== ':') fail(i, `expected ':' after the key ${JSON.stringify(key)}`);
        i++;
        entries.push({ key, keyStart, value: value() });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { kind: 'object', start: s, end: i, entries };
        }
        fail(i, i >= n ? "unexpected end of input (expected ',' or '}')" : `expected ',' or '}', got '${text[i]}'`);
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', start: s, end: i, items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { kind: 'array', start: s, end: i, items };
        }
        fail(i, i >= n ? "unexpected end of input (expected ',' or ']')" : `expected ',' or ']', got '${text[i]}'`);
      }
    }
    if (c === '"') {
      str();
      return { kind: 'scalar', start: s, end: i };
    }
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) return fail(i, `unexpected '${c}' (expected a value)`);
    i += m[0].length;
    if (/^[\w.+-]/.test(text[i] ?? '')) fail(s, `invalid value '${text.slice(s, i + 1)}'`);
    return { kind: 'scalar', start: s, end: i };
  };
  const root = value();
  ws();
  if (i < n) fail(i, `unexpected '${text[i]}' after the end of the JSON value`);
  return root;
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
