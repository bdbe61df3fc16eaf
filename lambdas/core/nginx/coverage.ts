/**
 * What gatewatch could read of each nginx log: the classifier must never call "healthy" a log it could not
 * read. The log sources (files, CloudWatch Logs) and the gather step fill it; the report quotes it.
 */
import { redactText } from '../redact.ts';
import type { LogPrefixKind } from './log-prefix.ts';

/**
 * - `read`: lines were read and at least one was an nginx line;
 * - `missing`: the log does not exist (no file, no log group);
 * - `unreadable`: it exists but gatewatch may not read it (EACCES, AccessDenied) or reading failed;
 * - `empty`: it exists and holds no line in the window (CloudWatch) or no line at all (file);
 * - `no-readable-lines`: it has lines, none of them an nginx line gatewatch can read.
 */
export type LogCoverageState = 'read' | 'missing' | 'unreadable' | 'empty' | 'no-readable-lines';

/** How the error log's UTC offset was settled (nginx writes the error log in local time without a zone). */
export type UtcOffsetBasis = 'configured' | 'access-log' | 'prefix' | 'file-mtime' | 'host-default';

/** What was read of one log. */
export interface LogCoverage {
  state: LogCoverageState;
  /** A path or a log group. */
  source: string;
  /** Non-blank lines seen. */
  lines: number;
  /** Lines that are not nginx lines gatewatch can read (truncated ones included). */
  unreadable: number;
  /** Lines longer than the line cap: not read, counted as unreadable. */
  truncated: number;
  /** Readable lines dated inside the window. */
  inWindow: number;
  /** A few unreadable lines, redacted and cut to {@link SAMPLE_CHARS} characters. */
  samples: string[];
  /** Lines read through a known prefix, by prefix. */
  prefixed?: Partial<Record<LogPrefixKind, number>>;
  /** Why the log is missing or unreadable, in words. */
  error?: string;
}

/** Coverage of both logs, as the gather step stores it with the nginx evidence. */
export interface NginxLogCoverage {
  errorLog: LogCoverage;
  accessLog?: LogCoverage;
  /** The UTC offset the error log was read with, in minutes, and where it came from. */
  errorLogUtcOffset: { minutes: number; basis: UtcOffsetBasis; detail?: string };
}

/** Thrown by a log source when a log is missing or may not be read; `reason` says which. */
export class LogUnavailableError extends Error {
  override readonly name = 'LogUnavailableError';
  readonly reason: 'missing' | 'unreadable';

  constructor(reason: 'missing' | 'unreadable', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

export const MAX_SAMPLES = 3;
export const SAMPLE_CHARS = 200;

/** An unreadable line as the report may show it: redacted, control characters escaped, cut short. */
export function describeUnreadable(line: string): string {
  const cut = line.length > SAMPLE_CHARS * 4 ? line.slice(0, SAMPLE_CHARS * 4) : line;
  const visible = redactText(cut).replace(
    /[\u0000-\u0008\u000b-\u001f\u007f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return visible.length > SAMPLE_CHARS || cut.length < line.length
    ? `${visible.slice(0, SAMPLE_CHARS)}…`
    : visible;
}

/** The state a log that could be opened is in, from its counts. */
export function coverageState(counts: { lines: number; unreadable: number }): LogCoverageState {
  if (counts.lines === 0) return 'empty';
  return counts.unreadable >= counts.lines ? 'no-readable-lines' : 'read';
}

/** The coverage of a log that could not be read at all. */
export function unavailableCoverage(source: string, error: unknown): LogCoverage {
  const state = error instanceof LogUnavailableError ? error.reason : 'unreadable';
  return {
    state,
    source,
    lines: 0,
    unreadable: 0,
    truncated: 0,
    inWindow: 0,
    samples: [],
    error: error instanceof Error ? error.message : String(error),
  };
}
