/**
 * Reads the diagnostics script's framed output. The first `@@GATEWATCH <nonce> START` line fixes the run's
 * nonce; after it only frames carrying that nonce count, and only `|`-prefixed lines inside a frame are a
 * check's output. Anything else (a frame with another nonce, text the agent or a shell added) is ignored,
 * so nothing a process name or a log line contains can open, close or fake a check.
 */
import type { CheckStatus } from '../types.ts';

/** One check as the script reported it. `output` is raw (not redacted): `interpretHostFacts` redacts. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  exitCode?: number;
  durationMs: number;
  /** Why the check was skipped, failed or errored (`timed out after 10s`, `ss not found (PATH=…)`). */
  detail?: string;
  output: string;
  /** The script kept only the first `GW_OUTPUT_CAP` bytes of the output. */
  truncated: boolean;
}

export interface DiagnosticsRun {
  nonce: string;
  host: string;
  /** When the script started, as it said (ISO-8601, UTC); empty when the header had no usable time. */
  at: string;
  checks: CheckResult[];
  /** The script reached its DONE line: every check it meant to run has a frame. */
  complete: boolean;
}

/** The text is not the diagnostics script's output at all (no START header). */
export class DiagnosticsOutputError extends Error {
  override name = 'DiagnosticsOutputError';
}

const START = /^@@GATEWATCH ([0-9a-f]{16,64}) START(?: (.*))?$/;
const FRAME = /^@@GATEWATCH ([0-9a-f]{16,64}) (BEGIN|END|DONE)(?: (.*))?$/;
const CHECK_NAME = /^[a-z][a-z0-9-]{0,63}$/;
const STATUSES: readonly CheckStatus[] = ['ok', 'failed', 'skipped', 'error'];

export interface ParseOptions {
  /** Checks that were asked for: one missing from the output becomes an `error` result saying so. */
  expectedChecks?: readonly string[];
}

/**
 * Parses the script's stdout into checks. A check that began and never ended (the script was stopped,
 * the output was cut) is an `error` with a detail saying so. Throws {@link DiagnosticsOutputError} when
 * there is no START header.
 */
export function parseDiagnosticsOutput(stdout: string, options: ParseOptions = {}): DiagnosticsRun {
  const lines = stdout.split('\n');
  let index = 0;
  let header: RegExpExecArray | null = null;
  for (; index < lines.length; index++) {
    header = START.exec(stripCr(lines[index]!));
    if (header) break;
  }
  if (!header) {
    throw new DiagnosticsOutputError(
      'no "@@GATEWATCH <nonce> START" header: this is not the output of the gatewatch diagnostics script',
    );
  }
  const nonce = header[1]!;
  const fields = readFields(header[2] ?? '');
  const run: DiagnosticsRun = {
    nonce,
    host: fields.get('host') ?? '',
    at: isoOrEmpty(fields.get('at')),
    checks: [],
    complete: false,
  };

  let open: { name: string; output: string[] } | undefined;
  const unfinished = (detail: string): void => {
    if (!open) return;
    run.checks.push({
      name: open.name,
      status: 'error',
      durationMs: 0,
      detail,
      output: open.output.join('\n'),
      truncated: false,
    });
    open = undefined;
  };

  for (index++; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.startsWith('|')) {
      // NUL bytes from a command's output carry nothing a report could show.
      open?.output.push(line.slice(1).replaceAll('\u0000', ''));
      continue;
    }
    const frame = FRAME.exec(stripCr(line));
    if (!frame || frame[1] !== nonce) continue;
    const kind = frame[2]!;
    const attrs = readFields(frame[3] ?? '');
    if (kind === 'DONE') {
      unfinished('the check never reported its end');
      run.complete = true;
      break;
    }
    const name = attrs.get('name') ?? '';
    if (!CHECK_NAME.test(name)) continue;
    if (kind === 'BEGIN') {
      unfinished('the check never reported its end (the next check began)');
      open = { name, output: [] };
      continue;
    }
    if (!open || open.name !== name) continue;
    run.checks.push(finishCheck(name, open.output.join('\n'), attrs));
    open = undefined;
  }
  unfinished('the check started but never finished: the script was stopped or its output was cut');

  for (const expected of options.expectedChecks ?? []) {
    if (!run.checks.some((c) => c.name === expected)) {
      run.checks.push({
        name: expected,
        status: 'error',
        durationMs: 0,
        detail: 'the check never started: the script ended before reaching it',
        output: '',
        truncated: false,
      });
    }
  }
  return run;
}

function finishCheck(name: string, output: string, attrs: Map<string, string>): CheckResult {
  const statusText = attrs.get('status') ?? '';
  const status = (STATUSES as readonly string[]).includes(statusText)
    ? (statusText as CheckStatus)
    : undefined;
  const exit = attrs.get('exit');
  const ms = attrs.get('ms');
  const reason = decodeField(attrs.get('reason') ?? '');
  const result: CheckResult = {
    name,
    status: status ?? 'error',
    durationMs: ms !== undefined && /^\d{1,12}$/.test(ms) ? Number(ms) : 0,
    output,
    truncated: attrs.get('truncated') === '1',
  };
  if (exit !== undefined && /^-?\d{1,6}$/.test(exit)) result.exitCode = Number(exit);
  if (status === undefined)
    result.detail = `the check ended with an unreadable status "${statusText.slice(0, 40)}"`;
  else if (reason !== '') result.detail = reason;
  return result;
}

/** `key=value` pairs separated by spaces; values are percent-encoded by the script when they need it. */
function readFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of text.trim().split(/ +/)) {
    const eq = part.indexOf('=');
    if (eq > 0 && !fields.has(part.slice(0, eq))) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return fields;
}

/** Percent-decoding that never throws: a malformed sequence is kept as written. */
export function decodeField(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        // Not UTF-8 (the script encodes bytes): keep each byte as the Latin-1 character it names.
        return run.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) =>
          String.fromCharCode(Number.parseInt(hex, 16)),
        );
      }
    });
  }
}

function isoOrEmpty(value: string | undefined): string {
  return value !== undefined && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/.test(value) ? value : '';
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
