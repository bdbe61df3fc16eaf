/**
 * What the diagnosis could read, and what follows from it: `healthy` only on logs that were read,
 * `insufficient-evidence` when nothing at all could be read, lower confidence for every verdict that
 * rests on partly unreadable logs, and findings that say what could not be looked at.
 */

import type { LogCoverage } from '../nginx/coverage.ts';
import { redactText } from '../redact.ts';
import type { Finding } from '../types.ts';
import type { Cause, Context } from './context.ts';

/** A log's state for the classifier; `not-configured` for an access log nobody named. */
export type LogState = LogCoverage['state'] | 'not-configured';

export interface LogReadability {
  name: 'error log' | 'access log';
  source: string | undefined;
  state: LogState;
  lines: number;
  unreadable: number;
  samples: string[];
  detail?: string;
}

/** The state of both logs: from the log source's coverage when it reports one, else from the counts. */
export function readability(ctx: Context): { errorLog: LogReadability; accessLog: LogReadability } {
  const e = ctx.evidence;
  const errorLog: LogReadability = e.coverage?.errorLog
    ? fromCoverage('error log', e.errorLogSource, e.coverage.errorLog)
    : e.errorLog
      ? {
          name: 'error log',
          source: e.errorLogSource,
          state:
            e.errorLog.linesRead > 0 && e.errorLog.malformed >= e.errorLog.linesRead
              ? 'unreadable'
              : e.errorLog.inWindow > 0
                ? 'read'
                : 'empty',
          lines: e.errorLog.linesRead,
          unreadable: e.errorLog.malformed,
          samples: [],
        }
      : {
          name: 'error log',
          source: e.errorLogSource,
          state: 'missing',
          lines: 0,
          unreadable: 0,
          samples: [],
        };
  const accessFailure = e.stepFailures.find((f) => f.error === 'access log not read');
  const accessLog: LogReadability = e.coverage?.accessLog
    ? fromCoverage('access log', e.accessLogSource, e.coverage.accessLog)
    : accessFailure
      ? {
          name: 'access log',
          source: e.accessLogSource,
          state: 'unreadable',
          lines: 0,
          unreadable: 0,
          samples: [],
          ...(accessFailure.cause ? { detail: accessFailure.cause } : {}),
        }
      : e.traffic
        ? {
            name: 'access log',
            source: e.accessLogSource,
            state:
              e.traffic.requests === 0 && e.traffic.malformed > 0
                ? 'unreadable'
                : e.traffic.requests > 0
                  ? 'read'
                  : 'empty',
            lines: e.traffic.requests + e.traffic.malformed,
            unreadable: e.traffic.malformed,
            samples: [],
          }
        : {
            name: 'access log',
            source: e.accessLogSource,
            state: e.accessLogSource === undefined ? 'not-configured' : 'missing',
            lines: 0,
            unreadable: 0,
            samples: [],
          };
  return { errorLog, accessLog };
}

function fromCoverage(
  name: LogReadability['name'],
  source: string | undefined,
  coverage: LogCoverage,
): LogReadability {
  return {
    name,
    source: coverage.source || source,
    state: coverage.state,
    lines: coverage.lines,
    unreadable: coverage.unreadable,
    samples: coverage.samples,
    ...(coverage.error === undefined ? {} : { detail: coverage.error }),
  };
}

export function isReadable(log: LogReadability): boolean {
  return log.state === 'read' || log.state === 'empty';
}

/** Share of the looked-at lines that could not be understood (0 when every line was). */
function unreadableShare(log: LogReadability): number {
  return log.lines > 0 ? Math.min(1, log.unreadable / log.lines) : 0;
}

function describe(log: LogReadability): string {
  const where = log.source ? ` (${log.source})` : '';
  switch (log.state) {
    case 'missing':
      return `the ${log.name}${where} is missing${log.detail ? `: ${log.detail}` : ''}`;
    case 'no-readable-lines':
    case 'unreadable':
      return log.lines > 0 && log.unreadable >= log.lines
        ? `none of the ${log.lines} lines of the ${log.name}${where} could be read`
        : `the ${log.name}${where} could not be read${log.detail ? `: ${log.detail}` : ''}`;
    default:
      return `${log.unreadable} of ${log.lines} lines of the ${log.name}${where} could not be read`;
  }
}

/**
 * The cause when the error log names no failure: `healthy` only when both logs were read; otherwise what
 * can be read decides, and when nothing can, `insufficient-evidence`.
 */
export function noFailureCause(ctx: Context): Cause {
  const { errorLog, accessLog } = readability(ctx);
  const traffic = ctx.evidence.traffic;
  const window = `${ctx.evidence.window.from} – ${ctx.evidence.window.to}`;
  const errorOk = isReadable(errorLog);
  const accessOk = accessLog.state === 'not-configured' || isReadable(accessLog);
  if (errorLog.state === 'empty' && accessLog.state === 'empty') {
    return {
      rootCause: 'insufficient-evidence',
      peer: undefined,
      confidence: 0.5,
      summary: `No data for the window ${window}: the access log holds no request and the error log no line in it. Nothing failed that nginx logged, but nothing was served either: gatewatch does not call an empty window healthy.`,
      findings: [
        {
          category: 'insufficient-evidence',
          severity: 'warning',
          title: 'Neither log has a line in the window',
          evidence: [],
        },
      ],
      nextSteps: [
        'Widen the window (`--since 1h`), or check that nginx writes to the logs gatewatch reads (`nginx -T | grep -E "access_log|error_log"`).',
      ],
      ruledOut: [],
    };
  }
  if (errorOk && accessOk) {
    const requests = traffic
      ? `${traffic.requests} requests, ${traffic.status5xx} with 5xx`
      : 'no access log read';
    const partial = Math.max(unreadableShare(errorLog), unreadableShare(accessLog));
    return {
      rootCause: 'healthy',
      peer: undefined,
      confidence: 0.9 - 0.4 * partial,
      summary: `No upstream failure in the window ${window} (${requests}).`,
      findings: [],
      nextSteps: [],
      ruledOut: ['upstream failures: none in the nginx error log for the window'],
    };
  }
  const unread = [errorLog, accessLog].filter((l) => l.state !== 'not-configured' && !isReadable(l));
  const what = unread.map(describe).join('; ');
  if (!errorOk && !accessOk) {
    return {
      rootCause: 'insufficient-evidence',
      peer: undefined,
      confidence: 0.2,
      summary: `No verdict: ${what}. Nothing in the window could be read, so gatewatch cannot say whether nginx failed.`,
      findings: [],
      nextSteps: readSteps(unread),
      ruledOut: [],
    };
  }
  // One log was read and shows nothing wrong; the other could not be read.
  const seen = errorOk
    ? 'the error log shows no upstream failure'
    : traffic
      ? `the access log shows ${traffic.requests} requests, ${traffic.status5xx} with 5xx`
      : 'the access log shows no failure';
  return {
    rootCause: 'insufficient-evidence',
    peer: undefined,
    confidence: 0.4,
    summary: `Not established: ${seen}, but ${what}. gatewatch does not call a window healthy on a log it could not read.`,
    findings: [],
    nextSteps: readSteps(unread),
    ruledOut: [],
  };
}

function readSteps(unread: LogReadability[]): string[] {
  return unread.map((log) =>
    log.state === 'missing'
      ? `Point gatewatch at the ${log.name} nginx writes (\`nginx -T | grep ${log.name === 'error log' ? 'error_log' : 'access_log'}\`)${log.source ? `; ${log.source} does not exist` : ''}.`
      : log.state === 'no-readable-lines' || (log.state === 'unreadable' && log.lines > 0)
        ? `The ${log.name}'s lines are in a format gatewatch does not read (see the samples): write it plain, or tell gatewatch its prefix.`
        : `Let gatewatch read ${log.source ?? `the ${log.name}`} (run it as a user in nginx's log group, or with sudo).`,
  );
}

/**
 * Lowers the confidence of a verdict that rests on partly unreadable logs, and says what could not be
 * read as findings. A verdict that is not about the logs (`healthy`, `insufficient-evidence`) already
 * carries it.
 */
export function coverageFindings(ctx: Context, cause: Cause): Finding[] {
  const { errorLog, accessLog } = readability(ctx);
  const out: Finding[] = [];
  for (const log of [errorLog, accessLog]) {
    if (log.state === 'not-configured') continue;
    const partial = log.unreadable > 0 && isReadable(log);
    if (!partial && isReadable(log)) continue;
    if (cause.rootCause !== 'healthy' && cause.rootCause !== 'insufficient-evidence') {
      cause.confidence *= partial ? 1 - 0.3 * unreadableShare(log) : 0.8;
    }
    out.push({
      category: 'insufficient-evidence',
      severity: isReadable(log) ? 'info' : 'warning',
      title: `${describe(log).replace(/^the/, 'The')}${log.unreadable > 0 && isReadable(log) ? ': those lines were skipped' : ''}`,
      evidence: log.samples.slice(0, 3).map((sample) => ({
        source: log.source ?? log.name,
        excerpt: redactText(sample.slice(0, 300)),
      })),
    });
  }
  return out;
}
