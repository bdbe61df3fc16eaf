/**
 * Errors the CLI maps to exit codes in one place (`bin/gatewatch.ts`): a `UsageError` (bad flag, bad
 * configuration, missing tool) exits 2 with its `hint`; anything else exits 1.
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
