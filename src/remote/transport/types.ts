// Where run directories live and scheduler commands run: this machine, or a cluster over ssh.

export interface ExecOptions {
  /** Called for each complete stdout line as it arrives, so progress is recorded as it happens. */
  onLine?: (line: string) => void;
  /** Do not throw on non-zero exit. */
  allowFailure?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

export interface Transport {
  readonly kind: 'local' | 'ssh';
  /** A label for messages: `local` or `user@host:port`. */
  readonly label: string;
  /**
   * Runs one bash script on the target (fed on stdin to `bash -s`, so its size is not limited by
   * the command line). Scripts are built with the sh`…` template of src/quote.ts, which quotes every value.
   * On failure (non-zero exit, unless allowFailure) rejects with a CommandError whose argv is
   * ['bash', '-s'] on the target and whose stderr is the script's stderr.
   */
  exec(script: string, opts?: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
}
