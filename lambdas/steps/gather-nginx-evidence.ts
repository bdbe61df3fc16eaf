/**
 * Step 1: read what nginx wrote in the window — the error log's upstream failures and the access log's
 * traffic — store it (redacted) and name the hosts to examine.
 */

import { TrafficAggregator } from '../core/nginx/access-log.ts';
import { ErrorLogCollector, type ErrorLogSummary } from '../core/nginx/error-log.ts';
import { redactText } from '../core/redact.ts';
import type { TrafficSummary, UpstreamFailure } from '../core/types.ts';
import { type EvidenceRef, WorkflowInputSchema } from './contracts.ts';
import { findTarget, parseUtcOffset, type StepDeps, storeKeys } from './deps.ts';
import { splitLines } from './lines.ts';

/** What the gather step stores; the classify step reads it back. */
export interface NginxEvidence {
  errorLogSource: string;
  accessLogSource?: string;
  errorLog: ErrorLogSummary;
  traffic?: TrafficSummary;
  /** Why the access log could not be read, when it could not (the error log is required). */
  accessLogError?: string;
  /** The error log was read only in part (its time budget ran out): what was not read. */
  errorLogPartial?: string;
}

/** Failures kept in the stored evidence: the groups carry the counts, these are the quotable lines. */
const STORED_FAILURES = 50;

export async function gatherNginxEvidence(raw: unknown, deps: StepDeps): Promise<EvidenceRef> {
  const input = WorkflowInputSchema.parse(raw);
  const target = findTarget(deps.config, input.target);
  const fromMs = Date.parse(input.window.from);
  const toMs = Date.parse(input.window.to);
  const logs = deps.logLocations(target);

  const collector = new ErrorLogCollector({
    fromMs,
    toMs,
    utcOffsetMinutes: parseUtcOffset(target.nginx.utcOffset, deps.defaultUtcOffsetMinutes),
  });
  let errorLogPartial: string | undefined;
  try {
    for await (const line of splitLines(deps.logs.chunks({ log: logs.error, fromMs, toMs }))) {
      collector.push(line);
    }
  } catch (error) {
    // A read that ran out of time keeps what it read: partial evidence, said so in the report.
    if (!(error instanceof Error && error.name === 'LogReadBudgetError')) throw error;
    errorLogPartial = error.message;
  }
  const errorLog = redactSummary(collector.summary());

  const evidence: NginxEvidence = { errorLogSource: logs.error, errorLog };
  if (errorLogPartial !== undefined) evidence.errorLogPartial = errorLogPartial;
  if (logs.access !== undefined) {
    evidence.accessLogSource = logs.access;
    try {
      const aggregator = new TrafficAggregator({ fromMs, toMs });
      for await (const chunk of deps.logs.chunks({ log: logs.access, fromMs, toMs })) aggregator.push(chunk);
      evidence.traffic = aggregator.end();
    } catch (error) {
      // The access log only adds traffic figures: its loss is reported, not fatal.
      evidence.accessLogError = error instanceof Error ? error.message : String(error);
    }
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
