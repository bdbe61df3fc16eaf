/**
 * gatewatch's metrics as plain data: one {@link MetricRecord} is one timestamp, one set of dimensions and
 * the metrics measured there. The probe Lambda and the log watcher turn records into CloudWatch EMF
 * documents (`emf.ts`); the local pipeline feeds the same records to the alarm evaluator
 * ({@link alarmSamples}). Names and dimensions are said here once, next to the alarm definitions that
 * watch three of them.
 */
import { type AlarmMetricName, METRIC_NAMESPACE, PROBER_DIMENSION_VALUE } from '../alarm/definitions.ts';
import type { MetricSample } from '../alarm/evaluator.ts';

/** The CloudWatch namespace of every gatewatch metric. */
export const NAMESPACE = METRIC_NAMESPACE;

/** The value the heartbeat's `Prober` dimension carries. */
export const PROBER = PROBER_DIMENSION_VALUE;

/** CloudWatch units gatewatch uses. */
export type MetricUnit = 'Count' | 'Milliseconds' | 'Percent' | 'None';

/**
 * Every metric gatewatch publishes. The three alarm metrics are typed against the alarm definitions, so a
 * renamed alarm metric fails to compile here rather than leaving an alarm without data.
 */
export const METRIC_NAMES = {
  /** 1 for a failed probe run, 0 for a passing one; dimension `Target`. Alarmed. */
  probeFailed: 'ProbeFailed' satisfies AlarmMetricName,
  /**
   * Total time of a probe that got an answer (or a TCP connection), ms. Published as a metric only
   * locally; in AWS it rides along as an EMF property (a custom metric per target costs $0.30 a month and
   * no alarm reads it; Logs Insights still finds it).
   */
  probeLatency: 'ProbeLatency',
  /** 1 per completed prober run; dimension `Prober`. Alarmed (missing is breaching). */
  heartbeat: 'Heartbeat' satisfies AlarmMetricName,
  /** Access-log requests per minute; dimensions `Target`, and `Target` + `Upstream` (attempts). */
  requests: 'Requests',
  /** Answers 500–599 per minute (for an upstream: attempts with a 5xx `$upstream_status`). */
  status5xx: 'Status5xx',
  status502: 'Status502',
  status504: 'Status504',
  /**
   * Share of 5xx answers over the error-rate window ending with the minute, percent (`error-rate.ts`);
   * dimension `Target`. Alarmed.
   */
  status5xxShare: 'Status5xxShare' satisfies AlarmMetricName,
  /** Upstream failures nginx wrote to its error log per minute; dimensions `Target` + `Kind`. */
  upstreamErrors: 'UpstreamErrors',
} as const;

/** Dimension names. */
export const DIMENSION_NAMES = {
  target: 'Target',
  upstream: 'Upstream',
  kind: 'Kind',
  prober: 'Prober',
} as const;

export interface MetricValue {
  name: string;
  unit: MetricUnit;
  value: number;
}

/** A JSON value, for the context properties of a record. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One timestamp, one dimension set, its metrics; becomes one EMF document. */
export interface MetricRecord {
  /** Epoch ms the values are for: the run's time for probes, the minute's start for log aggregates. */
  atMs: number;
  dimensions: Record<string, string>;
  metrics: MetricValue[];
  /** Context that is searchable in the log but is not a metric (no metric cost). */
  properties?: Record<string, JsonValue>;
}

const ALARM_METRICS: ReadonlySet<string> = new Set<AlarmMetricName>([
  METRIC_NAMES.probeFailed,
  METRIC_NAMES.heartbeat,
  METRIC_NAMES.status5xxShare,
]);

/** The samples of `records` an alarm can watch, in the local evaluator's shape. */
export function alarmSamples(records: readonly MetricRecord[]): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const record of records) {
    for (const metric of record.metrics) {
      if (!ALARM_METRICS.has(metric.name)) continue;
      samples.push({
        name: metric.name as AlarmMetricName,
        dimensions: { ...record.dimensions },
        value: metric.value,
        atMs: record.atMs,
      });
    }
  }
  return samples;
}
