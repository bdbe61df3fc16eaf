/**
 * The probe Lambda, invoked every minute by an EventBridge schedule: probes every target that is due in
 * one invocation, with the AWS address policy (link-local, metadata and private addresses refused unless
 * a probe allows them), and writes `ProbeFailed` per target as EMF lines on stdout, which CloudWatch turns
 * into the metric the probe-failed alarm watches (the latency, status and failure ride along as
 * properties: one custom metric per target is all the alarm needs).
 *
 * **Sparse.** Only failures, and the next N + 2 results of a target after its last failure, become
 * datapoints (`core/metrics/probe-publication.ts` says why the alarm cannot tell the difference); the
 * other results are plain JSON log lines with the same fields, so a healthy target costs no custom
 * metric. What is still owed per target is kept in memory; a new execution environment (or one that
 * missed runs) reads it back from the metric itself with one `GetMetricData` query, and if that fails it
 * owes every target its tail (a few dense minutes: safe, only dearer).
 *
 * A failed probe is a datapoint, not an error: the invocation fails only when the prober itself cannot
 * run. The heartbeat alarm watches this function's own `Invocations` (free), and failed runs reach the
 * dead-letter queue.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import middy from '@middy/core';
import { AWS_PROBE_CONCURRENCY, AWS_SCHEDULE_SECONDS } from '../../lib/workflow/lambda-wiring.ts';
import { readProbeHistory } from '../adapters/aws/cloudwatch-probe-history.ts';
import { runProbes } from '../adapters/local/http-prober.ts';
import { alarmDefinitionsForTargets } from '../core/alarm/definitions.ts';
import type { GatewatchConfig } from '../core/config.ts';
import { emfLines } from '../core/metrics/emf.ts';
import { dueProbeTargets, probeLogLines, probeRecords } from '../core/metrics/probe-metrics.ts';
import {
  owedZerosFromHistory,
  publicationTail,
  sparseProbePublication,
} from '../core/metrics/probe-publication.ts';
import { configFromEnvironment } from './wiring/config.ts';

export interface ProbeRunSummary {
  /** When the run started, ISO-8601. */
  at: string;
  probed: number;
  /** `target: failure kind` of each failed probe. */
  failed: string[];
  /** Results published as `ProbeFailed` datapoints (failures and the tail after them). */
  published: number;
  /** How this run knew what was owed: kept in memory, read back from CloudWatch, or assumed (read failed). */
  owedFrom: 'memory' | 'metric' | 'assumed';
}

const logger = new Logger({ serviceName: 'gatewatch-probe' });
/** A run this much later than the previous one in this environment reads what is owed back. */
const STALE_AFTER_MS = 1.5 * AWS_SCHEDULE_SECONDS * 1000;
/** Metrics Insights reads the latest 3 hours only. */
const MAX_HISTORY_MS = 3 * 3600 * 1000;

interface Wiring {
  config: GatewatchConfig;
  /** Target → tail after a failure (N + 2 of its probe-failed alarm). */
  tails: Map<string, number>;
  /** How far back the tails reach, ms. */
  historyMs: number;
  cloudwatch: CloudWatchClient;
}
let wiring: Wiring | undefined;
let owed: Map<string, number> | undefined;
let lastRunAt = Number.NEGATIVE_INFINITY;

function wire(): Wiring {
  const config = configFromEnvironment(process.env);
  const tails = new Map<string, number>();
  let historyMs = 0;
  for (const definition of alarmDefinitionsForTargets(config.targets, {
    probeIntervalSeconds: AWS_SCHEDULE_SECONDS,
  })) {
    if (definition.metric.name !== 'ProbeFailed' || definition.target === undefined) continue;
    const tail = publicationTail(definition.evaluationPeriods);
    tails.set(definition.target, tail);
    historyMs = Math.max(historyMs, (tail + 2) * definition.periodSeconds * 1000);
  }
  return {
    config,
    tails,
    historyMs: Math.min(historyMs, MAX_HISTORY_MS),
    cloudwatch: new CloudWatchClient({}),
  };
}

async function owedAt(
  run: Wiring,
  startedAt: number,
): Promise<{ owed: Map<string, number>; from: ProbeRunSummary['owedFrom'] }> {
  if (owed !== undefined && startedAt - lastRunAt <= STALE_AFTER_MS) return { owed, from: 'memory' };
  const tailOf = (target: string) => run.tails.get(target) ?? 0;
  try {
    const history = await readProbeHistory(
      run.cloudwatch,
      startedAt - run.historyMs,
      startedAt,
      new Set(run.tails.keys()),
    );
    return { owed: owedZerosFromHistory(history, tailOf), from: 'metric' };
  } catch (error) {
    logger.warn('could not read what is owed back; publishing every target for its tail', {
      error: (error as Error).message,
    });
    return { owed: new Map(run.tails), from: 'assumed' };
  }
}

async function probeDueTargets(): Promise<ProbeRunSummary> {
  wiring ??= wire();
  const run = wiring;
  const startedAt = Date.now();
  const known = await owedAt(run, startedAt);
  const due = dueProbeTargets(run.config.targets, startedAt, AWS_SCHEDULE_SECONDS);
  const results = await runProbes(due, { mode: 'aws', concurrency: AWS_PROBE_CONCURRENCY });
  const split = sparseProbePublication(results, known.owed, (target) => run.tails.get(target) ?? 0);
  owed = split.owed;
  lastRunAt = startedAt;
  // EMF goes to stdout as raw lines: Lambda's JSON log format wraps console output, not stdout writes.
  for (const line of emfLines(probeRecords(split.published, { latency: 'property' }))) {
    process.stdout.write(line);
  }
  for (const line of probeLogLines(probeRecords(split.quiet, { latency: 'property' }))) {
    process.stdout.write(line);
  }
  const failed = results.filter((r) => !r.ok).map((r) => `${r.target}: ${r.failure?.kind ?? 'failed'}`);
  const summary: ProbeRunSummary = {
    at: new Date(startedAt).toISOString(),
    probed: results.length,
    failed,
    published: split.published.length,
    owedFrom: known.from,
  };
  logger.info('probe run', { ...summary });
  return summary;
}

export const handler = middy<unknown, ProbeRunSummary>(probeDueTargets).use(
  injectLambdaContext(logger, { resetKeys: true }),
);
