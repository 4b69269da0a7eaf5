// The error every built-in patcher throws for bad input (a key absent from the file, a value that
// cannot be written). src/patch.ts turns it into a ConfigError naming the sweep point.
import { RxError } from '../src/errors.ts';
import { ParseError } from '../parsers/errors.ts';

export class PatchError extends RxError {
  constructor(
    message: string,
    /** The file being patched (as named in the options), and the parameter, when known. */
    readonly file?: string,
    readonly key?: string,
  ) {
    super(message);
  }
}

/** Options every built-in patcher takes. */
export interface PatchOptions {
  /** File name used in error messages. */
  file?: string;
  /** Insert keys that are absent instead of failing. */
  add?: boolean;
}

export type Values = Record<string, unknown>;

/** A built-in text patcher: pure (text, values, options) → new text, and a probe for which keys it can place. */
export interface TextPatcher<O extends PatchOptions = PatchOptions> {
  (text: string, values: Values, opts?: O): string;
}

/**
 * Wraps a file scanner with a small cache keyed by the text: a sweep patches the same base text
 * once per point, so it is scanned once. A parse error becomes a PatchError naming the file.
 */
export function cachedScanner<T>(scan: (text: string, file: string) => T): (text: string, file: string) => T {
  const cache = new Map<string, T>();
  return (text, file) => {
    const hit = cache.get(text);
    if (hit !== undefined) return hit;
    let s: T;
    try {
      s = scan(text, file);
    } catch (e) {
      if (e instanceof ParseError) throw new PatchError(`cannot patch ${file}: ${e.message}`, file);
      throw e;
    }
    if (cache.size >= 16) cache.delete(cache.keys().next().value!);
    cache.set(text, s);
    return s;
  };
}
