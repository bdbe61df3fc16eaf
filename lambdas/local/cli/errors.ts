/**
 * Errors the CLI maps to exit codes in one place (`runCli`): a `UsageError` (bad flag, bad configuration,
 * missing tool) exits 2 with its `hint`; a `ChecksFailedError` (a command whose job is to check, and a
 * check failed: `probe`) exits 1 with its one-line message and no stack; anything else exits 1 as an
 * unexpected failure.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  /** What to do instead, in one line. */
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
  }
}

/** The command ran to the end and its checks failed: exit 1, for scripts and CI. The output already says which. */
export class ChecksFailedError extends Error {
  override name = 'ChecksFailedError';
}

/** The command was stopped by SIGINT/SIGTERM and has cleaned up: exit 130, as a shell reports Ctrl-C. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
}
