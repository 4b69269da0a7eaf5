// The small error hierarchy. Only src/cli.ts turns these into messages and exit codes.

/** Base class: every error rx raises on purpose. `exitCode` is what the CLI exits with. */
export class RxError extends Error {
  exitCode = 1;
  /** A line telling the user what to do next, printed under the message. */
  hint?: string;
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hint = opts.hint;
  }
}

/** Bad input (sweep file, options, names). Raised before anything ran or changed. */
export class ConfigError extends RxError {
  override exitCode = 2;
}

/** A process (local or remote) failed; carries what ran and what it said. */
export class CommandError extends RxError {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode_: number | null,
    readonly stderr: string,
    readonly stdout: string,
    readonly durationMs: number,
    opts: { hint?: string; where?: string; signal?: string | null } = {},
  ) {
    const tail = stderr.trim().split('\n').slice(-8).join('\n');
    const how = opts.signal ? `killed by ${opts.signal}` : `exit code ${exitCode_}`;
    super(`${opts.where ? opts.where + ': ' : ''}\`${argv.map(a => (/^[\w./:=@%+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ').slice(0, 300)}\` failed (${how})${tail ? '\n' + tail : ''}`, { hint: opts.hint });
    this.exitCode = 3;
  }
}

/** ssh could not connect or authenticate, or the host key was refused. */
export class ConnectionError extends RxError {
  override exitCode = 4;
}

/** Ledger/state is inconsistent in a way rx will not guess about. */
export class StateError extends RxError {
  override exitCode = 5;
}
