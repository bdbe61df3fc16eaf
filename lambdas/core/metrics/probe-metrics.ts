/**
 * A probe run as metrics: per target `ProbeFailed` (the alarmed 0/1) and, locally, `ProbeLatency`, and one
 * `Heartbeat` for the run itself. The probe result's other facts (status, failure kind and message, phases,
 * the address) ride along as EMF properties: searchable with Logs Insights, never a metric (no cost per
 * value). Everything in a probe result is already redacted.
 */
import type { ProbeResult } from '../probe/types.ts';
import { DIMENSION_NAMES, type JsonValue, METRIC_NAMES, type MetricRecord, PROBER } from './records.ts';

/** What the scheduler needs of a target. */
export interface ScheduledProbeTarget {
  name: string;
  probe?: { intervalSeconds: number } | undefined;
}

/**
 * The targets to probe in a run at `atMs` of a prober that runs every `scheduleSeconds`: those with a
 * probe whose interval is at most the schedule's run every time; a longer interval runs every k-th slot
 * of the epoch-aligned schedule grid (k = interval / schedule, rounded up), so a 5-minute probe on a
 * 1-minute schedule runs at :00, :05, :10 … and each of its alarm periods holds one sample.
 */
export function dueProbeTargets<T extends ScheduledProbeTarget>(
  targets: readonly T[],
  atMs: number,
  scheduleSeconds: number,
): (T & { probe: NonNullable<T['probe']> })[] {
  const slot = Math.floor(atMs / (scheduleSeconds * 1000));
  return targets.filter((target): target is T & { probe: NonNullable<T['probe']> } => {
    if (target.probe === undefined) return false;
    const every = Math.max(1, Math.ceil(target.probe.intervalSeconds / scheduleSeconds));
    return slot % every === 0;
  });
}

/** Latency means something when an answer (or, for TCP, a connection) came back. */
function measuredLatency(result: ProbeResult): boolean {
  return result.ok || result.failure?.kind === 'assertion';
}

export interface ProbeRecordOptions {
  /**
   * `metric`: `ProbeLatency` is a metric next to `ProbeFailed` (locally, where metrics are free);
   * `property`: it is only an EMF property (AWS: one custom metric per target is all the alarms need).
   * @default 'metric'
   */
  latency?: 'metric' | 'property';
}

/** One record per probe result, at the time the probe started. */
export function probeRecords(
  results: readonly ProbeResult[],
  options: ProbeRecordOptions = {},
): MetricRecord[] {
  const latencyMetric = (options.latency ?? 'metric') === 'metric';
  return results.map((result) => {
    const properties: Record<string, JsonValue> = {
      url: result.url,
      ok: result.ok,
      attempts: result.attempts,
      phasesMs: { ...result.phases },
    };
    if (result.status !== undefined) properties.status = result.status;
    if (result.failure !== undefined) {
      properties.failureKind = result.failure.kind;
      properties.failureMessage = result.failure.message;
    }
    if (result.address !== undefined) properties.address = result.address;
    if (result.certificate !== undefined) properties.certificateDaysLeft = result.certificate.daysLeft;
    if (!latencyMetric && measuredLatency(result)) properties.latencyMs = result.phases.total;
    const failedAssertions = result.assertions.filter((a) => !a.ok).map((a) => a.detail);
    if (failedAssertions.length > 0) properties.failedAssertions = failedAssertions;
    return {
      atMs: Date.parse(result.at),
      dimensions: { [DIMENSION_NAMES.target]: result.target },
      metrics: [
        { name: METRIC_NAMES.probeFailed, unit: 'Count', value: result.ok ? 0 : 1 },
        ...(measuredLatency(result) && latencyMetric
          ? [{ name: METRIC_NAMES.probeLatency, unit: 'Milliseconds' as const, value: result.phases.total }]
          : []),
      ],
      properties,
    };
  });
}

/**
 * The prober's heartbeat: published once per completed run, whatever the probes found (a run with no
 * target due still beats). A prober that crashes, hangs or is not invoked publishes nothing, and the
 * heartbeat alarm treats the missing datapoints as breaching.
 */
export function heartbeatRecord(atMs: number, results: readonly ProbeResult[]): MetricRecord {
  return {
    atMs,
    dimensions: { [DIMENSION_NAMES.prober]: PROBER },
    metrics: [{ name: METRIC_NAMES.heartbeat, unit: 'Count', value: 1 }],
    properties: { probed: results.length, failed: results.filter((r) => !r.ok).length },
  };
}

/**
 * Records as plain JSON log lines, one per line: the same dimensions, metric values and properties as
 * their EMF documents, without the `_aws` member, so CloudWatch makes no metric of them (a probe result
 * that is not published stays searchable with Logs Insights).
 */
export function probeLogLines(records: readonly MetricRecord[]): string[] {
  return records.map(
    (record) =>
      `${JSON.stringify({
        timestamp: new Date(record.atMs).toISOString(),
        ...record.dimensions,
        ...Object.fromEntries(record.metrics.map((m) => [m.name, m.value])),
        ...record.properties,
      })}\n`,
  );
}
