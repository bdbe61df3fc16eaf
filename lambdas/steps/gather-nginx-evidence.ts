/**
 * Step 1: read what nginx wrote in the window — the error log's upstream failures and the access log's
 * traffic — store it (redacted) with what could and could not be read of each log, and name the hosts to
 * examine.
 */

import { TrafficAggregator } from '../core/nginx/access-log.ts';
import {
  coverageState,
  type LogCoverage,
  type NginxLogCoverage,
  type UtcOffsetBasis,
  unavailableCoverage,
} from '../core/nginx/coverage.ts';
import { ErrorLogCollector, type ErrorLogSummary } from '../core/nginx/error-log.ts';
import { LineSplitter } from '../core/nginx/log-lines.ts';
import { accessLineTimeMs, errorLineLocalMs, inferUtcOffsetMinutes } from '../core/nginx/log-time.ts';
import { redactText } from '../core/redact.ts';
import type { TrafficSummary, UpstreamFailure } from '../core/types.ts';
import type { LogSource } from '../ports.ts';
import { type EvidenceRef, WorkflowInputSchema } from './contracts.ts';
import { findTarget, parseUtcOffset, type StepDeps, storeKeys } from './deps.ts';

/** What the gather step stores; the classify step reads it back. */
export interface NginxEvidence {
  errorLogSource: string;
  accessLogSource?: string;
  errorLog: ErrorLogSummary;
  traffic?: TrafficSummary;
  /** Why the access log could not be read, when it could not. */
  accessLogError?: string;
  /** Why the error log could not be read, when it could not (missing, unreadable). */
  errorLogError?: string;
  /** The error log was read only in part (its time budget ran out): what was not read. */
  errorLogPartial?: string;
  /** What could be read of each log, and the UTC offset the error log was read with. */
  coverage: NginxLogCoverage;
}

/** Failures kept in the stored evidence: the groups carry the counts, these are the quotable lines. */
const STORED_FAILURES = 50;
// nginx's local time is at most 14 hours ahead of UTC and 12 behind.
const MAX_AHEAD_MS = 14 * 3_600_000;

export async function gatherNginxEvidence(raw: unknown, deps: StepDeps): Promise<EvidenceRef> {
  const input = WorkflowInputSchema.parse(raw);
  const target = findTarget(deps.config, input.target);
  const fromMs = Date.parse(input.window.from);
  const toMs = Date.parse(input.window.to);
  const logs = deps.logLocations(target);

  // The access log first: its timestamps carry the zone nginx writes its local time in.
  let traffic: TrafficSummary | undefined;
  let accessLog: LogCoverage | undefined;
  let accessLogError: string | undefined;
  let accessZone: number | undefined;
  if (logs.access !== undefined) {
    try {
      const aggregator = new TrafficAggregator({ fromMs, toMs });
      const request = { log: logs.access, fromMs, toMs, lineTimeMs: accessLineTimeMs };
      for await (const chunk of deps.logs.chunks(request)) aggregator.push(chunk);
      traffic = aggregator.end();
      const stats = aggregator.stats();
      accessZone = stats.zoneMinutes;
      accessLog = {
        state: coverageState({ lines: stats.lines, unreadable: stats.malformed }),
        source: logs.access,
        lines: stats.lines,
        unreadable: stats.malformed,
        truncated: stats.truncated,
        inWindow: traffic.requests,
        samples: stats.unreadableSamples,
        prefixed: stats.prefixed,
      };
    } catch (error) {
      // The access log adds traffic figures and the time zone: its loss is reported, not fatal.
      accessLogError = error instanceof Error ? error.message : String(error);
      accessLog = unavailableCoverage(logs.access, error);
    }
  }

  const offset = await errorLogOffset(target.nginx.utcOffset, accessZone, deps, logs.error);
  const collector = new ErrorLogCollector({
    fromMs,
    toMs,
    utcOffsetMinutes: offset.minutes,
    inferUtcOffset: offset.basis === 'host-default' || offset.basis === 'file-mtime',
  });
  const known = offset.basis === 'configured' || offset.basis === 'access-log';
  // Seek with the offset when it is settled; otherwise by the earliest UTC time a local time can stand for.
  const lineTimeMs = known
    ? (line: string) => shift(errorLineLocalMs(line), -offset.minutes * 60_000)
    : (line: string) => shift(errorLineLocalMs(line), -MAX_AHEAD_MS);
  let errorLogError: string | undefined;
  let errorLogPartial: string | undefined;
  let errorLogCoverage: LogCoverage | undefined;
  try {
    await readErrorLog(
      deps.logs,
      { log: logs.error, fromMs, toMs, lineTimeMs, stampLines: !known },
      collector,
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'LogReadBudgetError') {
      // A read that ran out of time keeps what it read: partial evidence, said so in the report.
      errorLogPartial = error.message;
    } else {
      errorLogError = error instanceof Error ? error.message : String(error);
      errorLogCoverage = unavailableCoverage(logs.error, error);
    }
  }
  const summary = collector.summary();
  if (summary.utcOffsetFromPrefix) {
    offset.minutes = summary.utcOffsetMinutes ?? offset.minutes;
    offset.basis = 'prefix';
    offset.detail = 'from the zoned time the log shipper wrote before each line';
  } else if (!known && (summary.afterWindow ?? 0) > 0 && summary.inWindow === 0) {
    offset.detail = `${offset.detail ?? ''}${offset.detail ? '; ' : ''}${summary.afterWindow} error-log lines read as after the window: the UTC offset may be wrong (set nginx.utcOffset)`;
  }
  const errorLog = redactSummary(summary);
  errorLogCoverage ??= {
    state: coverageState({ lines: summary.linesRead, unreadable: summary.malformed }),
    source: logs.error,
    lines: summary.linesRead,
    unreadable: summary.malformed,
    truncated: summary.truncated ?? 0,
    inWindow: summary.inWindow,
    samples: summary.unreadableSamples ?? [],
    prefixed: summary.prefixed ?? {},
  };

  const coverage: NginxLogCoverage = { errorLog: errorLogCoverage, errorLogUtcOffset: offset };
  if (accessLog) coverage.accessLog = accessLog;
  const evidence: NginxEvidence = { errorLogSource: logs.error, errorLog, coverage };
  if (errorLogError !== undefined) evidence.errorLogError = errorLogError;
  if (errorLogPartial !== undefined) evidence.errorLogPartial = errorLogPartial;
  if (logs.access !== undefined) {
    evidence.accessLogSource = logs.access;
    if (traffic) evidence.traffic = traffic;
    if (accessLogError !== undefined) evidence.accessLogError = accessLogError;
  }

  const key = storeKeys.nginxEvidence(input.incidentId);
  await deps.store.put(key, JSON.stringify(evidence), 'application/json');

  const nginxHost = deps.nginxHost(target);
  const hosts = input.logsOnly
    ? []
    : [...new Set([nginxHost, ...target.upstreams.map((u) => u.host ?? nginxHost)])].slice(0, 16);
  const upstreams = [
    ...new Set(errorLog.groups.map((g) => g.peer).filter((p): p is string => p !== undefined)),
  ].slice(0, 20);
  return { key, hosts, failures: errorLog.groups.reduce((sum, g) => sum + g.count, 0), upstreams };
}

async function readErrorLog(
  logs: LogSource,
  request: Parameters<LogSource['chunks']>[0],
  collector: ErrorLogCollector,
): Promise<void> {
  const splitter = new LineSplitter({
    line: (text) => collector.push(text),
    oversized: (head, bytes) => collector.pushOversized(head, bytes),
  });
  for await (const chunk of logs.chunks(request)) splitter.push(chunk);
  splitter.end();
}

function shift(ms: number | undefined, by: number): number | undefined {
  return ms === undefined ? undefined : ms + by;
}

/**
 * The error log's UTC offset: the configuration's; else the access log's zone (nginx writes both in the
 * same local time); else the newest error-log line's local time against the file's modification time;
 * else the host's default (a prefix with a zoned time may still settle it while reading).
 */
async function errorLogOffset(
  configured: string | undefined,
  accessZone: number | undefined,
  deps: StepDeps,
  log: string,
): Promise<NginxLogCoverage['errorLogUtcOffset']> {
  const result = (minutes: number, basis: UtcOffsetBasis, detail?: string) =>
    detail === undefined ? { minutes, basis } : { minutes, basis, detail };
  const fromFile = await offsetFromFile(deps.logs, log, deps.defaultUtcOffsetMinutes);
  if (configured !== undefined && /^[+-]\d{2}:\d{2}$/.test(configured)) {
    const minutes = parseUtcOffset(configured, deps.defaultUtcOffsetMinutes);
    const other = accessZone ?? fromFile;
    return other !== undefined && other !== minutes
      ? result(
          minutes,
          'configured',
          `the logs suggest ${formatOffset(other)}; nginx.utcOffset says ${configured}`,
        )
      : result(minutes, 'configured');
  }
  if (accessZone !== undefined)
    return result(accessZone, 'access-log', "the zone of the access log's timestamps");
  if (fromFile !== undefined) {
    return result(
      fromFile,
      'file-mtime',
      "the newest error-log line's local time against the file's modification time",
    );
  }
  return result(deps.defaultUtcOffsetMinutes, 'host-default');
}

/**
 * The offset the newest error-log line was written in, judged by the file's modification time — only when
 * that is telling: nginx writes the error log unbuffered, so a live log's newest line is dated within a
 * second of the mtime (to the quarter hour that is the zone), and a line that would be dated after the
 * mtime under the assumed offset cannot be. A copied or quiet log (mtime unrelated to its last line) says
 * nothing and the assumed offset stays.
 */
async function offsetFromFile(logs: LogSource, log: string, assumed: number): Promise<number | undefined> {
  const description = await logs.describe?.(log).catch(() => undefined);
  if (!description) return undefined;
  for (let i = description.lastLines.length - 1; i >= 0; i--) {
    const localMs = errorLineLocalMs(description.lastLines[i]!);
    if (localMs === undefined) continue;
    const offset = inferUtcOffsetMinutes(localMs, description.modifiedMs);
    if (offset === undefined) return undefined;
    const residualMs = Math.abs(localMs - offset * 60_000 - description.modifiedMs);
    const impossible = localMs - assumed * 60_000 > description.modifiedMs + 60_000;
    return residualMs <= 60_000 || impossible ? offset : undefined;
  }
  return undefined;
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

function redactFailure(failure: UpstreamFailure): UpstreamFailure {
  const entry = {
    ...failure.entry,
    raw: redactText(failure.entry.raw),
    message: redactText(failure.entry.message),
  };
  entry.context = Object.fromEntries(
    Object.entries(failure.entry.context).map(([k, v]) => [k, v === undefined ? v : redactText(v)]),
  );
  return { ...failure, entry };
}

/** Nothing unredacted is stored: every quoted line passes through `redactText`. */
function redactSummary(summary: ErrorLogSummary): ErrorLogSummary {
  return {
    ...summary,
    failures: summary.failures.slice(-STORED_FAILURES).map(redactFailure),
    groups: summary.groups.map((g) => ({ ...g, example: redactFailure(g.example) })),
    symptoms: summary.symptoms.map((s) => ({
      ...s,
      symptom: redactFailure(s.symptom),
      causes: s.causes.slice(0, 5).map(redactFailure),
    })),
  };
}
