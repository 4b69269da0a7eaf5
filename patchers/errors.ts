// The error every built-in patcher throws for bad input (a key absent from the file, a value that
// cannot be written). src/patch.ts turns it into a ConfigError naming the sweep point.
import { RxError } from '../src/errors.ts';

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
