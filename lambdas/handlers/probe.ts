/**
 * The probe Lambda, invoked every minute by an EventBridge schedule: probes every target that is due in
 * one invocation, with the AWS address policy (link-local, metadata and private addresses refused unless
 * a probe allows them), and writes its metrics as EMF lines on stdout — `ProbeFailed` per target (the
 * latency rides along as a property: one custom metric per target is all the alarms need) and the
 * prober's `Heartbeat` — which CloudWatch turns into the metrics the alarms watch.
 * A failed probe is a datapoint, not an error: the invocation fails only when the prober itself cannot
 * run, and then the missing heartbeat is the alarm.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { AWS_PROBE_CONCURRENCY, AWS_SCHEDULE_SECONDS } from '../../lib/workflow/lambda-wiring.ts';
import { runProbes } from '../adapters/local/http-prober.ts';
import type { GatewatchConfig } from '../core/config.ts';
import { emfLines } from '../core/metrics/emf.ts';
import { dueProbeTargets, heartbeatRecord, probeRecords } from '../core/metrics/probe-metrics.ts';
import { configFromEnvironment } from './wiring/config.ts';

export interface ProbeRunSummary {
  /** When the run started, ISO-8601. */
  at: string;
  probed: number;
  /** `target: failure kind` of each failed probe. */
  failed: string[];
}

const logger = new Logger({ serviceName: 'gatewatch-probe' });
let config: GatewatchConfig | undefined;

async function probeDueTargets(): Promise<ProbeRunSummary> {
  config ??= configFromEnvironment(process.env);
  const startedAt = Date.now();
  const due = dueProbeTargets(config.targets, startedAt, AWS_SCHEDULE_SECONDS);
  const results = await runProbes(due, { mode: 'aws', concurrency: AWS_PROBE_CONCURRENCY });
  // EMF goes to stdout as raw lines: Lambda's JSON log format wraps console output, not stdout writes.
  for (const line of emfLines([
    ...probeRecords(results, { latency: 'property' }),
    heartbeatRecord(startedAt, results),
  ])) {
    process.stdout.write(line);
  }
  const failed = results.filter((r) => !r.ok).map((r) => `${r.target}: ${r.failure?.kind ?? 'failed'}`);
  logger.info('probe run', { probed: results.length, failed });
  return { at: new Date(startedAt).toISOString(), probed: results.length, failed };
}

export const handler = middy<unknown, ProbeRunSummary>(probeDueTargets).use(
  injectLambdaContext(logger, { resetKeys: true }),
);
