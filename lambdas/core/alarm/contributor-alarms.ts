/**
 * The deployed form of the per-target alarm definitions: CloudWatch Metrics Insights multi-time-series
 * alarms. One alarm evaluates every target whose definitions have the same shape (metric, statistic,
 * period, M of N, threshold, missing data) as a *contributor* — one time series per `Target` — and
 * EventBridge delivers a "CloudWatch Alarm Contributor State Change" event per target. The local
 * evaluator runs the same definitions one by one, which is what a contributor is: evaluated on its own
 * time series with the alarm's rule.
 *
 * Why (numbers in README "Detection"): two alarms per target are 1,000 alarms and resources at 500
 * targets (CloudFormation allows 500 resources per stack) and an EventBridge pattern that grows with
 * every name; grouped, a configuration with one shape per alarm kind has two alarms at any size.
 *
 * Limits, from "Limits that apply to alarms based on Metrics Insights queries"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html) and "Metrics
 * Insights quotas" (…/cloudwatch-metrics-insights-limits.html):
 * - a query returns at most 500 time series (more: the alarm evaluates PARTIAL_DATA) → at most
 *   {@link MAX_CONTRIBUTORS_PER_ALARM} targets per alarm, more are split over several alarms;
 * - a query processes at most 10,000 metrics (one metric per target here);
 * - 200 Metrics Insights alarms per account and Region by default → {@link MAX_METRICS_INSIGHTS_ALARMS};
 * - at most 100 contributors are reported in ALARM at once (a wider outage still has 100 incidents);
 * - only the latest 3 hours of data are evaluated (periods × N ≤ 3 h).
 */
import {
  type AlarmDefinition,
  type ComparisonOperator,
  METRIC_NAMESPACE,
  type TreatMissingData,
  validateAlarmDefinition,
} from './definitions.ts';

/** A Metrics Insights query returns at most 500 time series (alarm-limits.html). */
export const MAX_CONTRIBUTORS_PER_ALARM = 500;
/** Default quota: 200 Metrics Insights alarms per account and Region (alarm-limits.html). */
export const MAX_METRICS_INSIGHTS_ALARMS = 200;
/** Metrics Insights alarms evaluate the latest 3 hours of data only (alarm-limits.html). */
export const MAX_METRICS_INSIGHTS_SPAN_SECONDS = 3 * 3600;
/** `MetricDataQuery.Expression` is at most 2,048 characters (CloudWatch API Reference, MetricDataQuery). */
export const MAX_EXPRESSION_LENGTH = 2048;
/** The dimension whose value names the contributor's target. */
export const CONTRIBUTOR_DIMENSION = 'Target';

/** The definitions did not fit the limits above: the message names the limit and the fix. */
export class ContributorAlarmError extends Error {
  override name = 'ContributorAlarmError';
}

/** One multi-time-series alarm and the targets it evaluates. */
export interface ContributorAlarm {
  /** `probe-failed-1`, `error-rate-1`, …: stable for a given configuration. */
  id: string;
  /** The alarm kind: the per-target definition id without the target (`probe-failed`). */
  kind: string;
  description: string;
  /** The Metrics Insights query: one time series per target. */
  query: string;
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparison: ComparisonOperator;
  treatMissingData: TreatMissingData;
  /** The targets whose time series the query returns, in configuration order. */
  targets: string[];
}

function kindOf(definition: AlarmDefinition): string {
  const target = definition.target!;
  return definition.id.startsWith(`${target}-`) ? definition.id.slice(target.length + 1) : definition.id;
}

function shapeKey(d: AlarmDefinition): string {
  return JSON.stringify([
    kindOf(d),
    d.metric.name,
    d.metric.statistic,
    d.periodSeconds,
    d.evaluationPeriods,
    d.datapointsToAlarm,
    d.threshold,
    d.comparison,
    d.treatMissingData,
  ]);
}

const FUNCTION: Record<AlarmDefinition['metric']['statistic'], string> = {
  Maximum: 'MAX',
  Minimum: 'MIN',
  Average: 'AVG',
  Sum: 'SUM',
  SampleCount: 'COUNT',
};

/** A Metrics Insights string literal (single quotes; target names are `[a-z0-9-]`, checked anyway). */
function literal(value: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(value)) {
    throw new ContributorAlarmError(`target name ${JSON.stringify(value)} cannot be quoted in a query`);
  }
  return `'${value}'`;
}

/**
 * The query of a group: `SELECT MAX(ProbeFailed) FROM SCHEMA("Gatewatch", Target) GROUP BY Target …`,
 * with a `WHERE` naming the targets only when the group is not every target publishing the metric.
 */
export function contributorQuery(
  metricName: string,
  statistic: AlarmDefinition['metric']['statistic'],
  targets: readonly string[] | undefined,
): string {
  const fn = FUNCTION[statistic];
  const where =
    targets === undefined
      ? ''
      : ` WHERE ${targets.map((t) => `${CONTRIBUTOR_DIMENSION} = ${literal(t)}`).join(' OR ')}`;
  return (
    `SELECT ${fn}(${metricName}) FROM SCHEMA("${METRIC_NAMESPACE}", ${CONTRIBUTOR_DIMENSION})${where} ` +
    `GROUP BY ${CONTRIBUTOR_DIMENSION} ORDER BY ${fn}() DESC LIMIT ${MAX_CONTRIBUTORS_PER_ALARM}`
  );
}

/**
 * Groups the per-target definitions into multi-time-series alarms. Definitions without a target (the
 * heartbeat) stay ordinary alarms and are not accepted here.
 */
export function contributorAlarms(definitions: readonly AlarmDefinition[]): ContributorAlarm[] {
  const groups = new Map<string, AlarmDefinition[]>();
  const perMetric = new Map<string, number>();
  for (const definition of definitions) {
    if (definition.target === undefined) {
      throw new ContributorAlarmError(`alarm ${definition.id} has no target: it cannot be a contributor`);
    }
    validateAlarmDefinition(definition);
    const span = definition.periodSeconds * definition.evaluationPeriods;
    if (span > MAX_METRICS_INSIGHTS_SPAN_SECONDS) {
      throw new ContributorAlarmError(
        `alarm ${definition.id}: period x N is ${span} s; a Metrics Insights alarm evaluates at most the latest 3 hours (${MAX_METRICS_INSIGHTS_SPAN_SECONDS} s)`,
      );
    }
    const key = shapeKey(definition);
    groups.set(key, [...(groups.get(key) ?? []), definition]);
    perMetric.set(definition.metric.name, (perMetric.get(definition.metric.name) ?? 0) + 1);
  }
  const alarms: ContributorAlarm[] = [];
  const counters = new Map<string, number>();
  for (const group of groups.values()) {
    const first = group[0]!;
    const kind = kindOf(first);
    for (let i = 0; i < group.length; i += MAX_CONTRIBUTORS_PER_ALARM) {
      const chunk = group.slice(i, i + MAX_CONTRIBUTORS_PER_ALARM);
      const everyPublisher = chunk.length === perMetric.get(first.metric.name);
      const n = (counters.get(kind) ?? 0) + 1;
      counters.set(kind, n);
      alarms.push({
        id: `${kind}-${n}`,
        kind,
        description: `gatewatch ${kind}, one contributor per target: ${first.description.replace(/^[^:]*: /, '')}`,
        query: contributorQuery(
          first.metric.name,
          first.metric.statistic,
          everyPublisher ? undefined : chunk.map((d) => d.target!),
        ),
        periodSeconds: first.periodSeconds,
        evaluationPeriods: first.evaluationPeriods,
        datapointsToAlarm: first.datapointsToAlarm,
        threshold: first.threshold,
        comparison: first.comparison,
        treatMissingData: first.treatMissingData,
        targets: chunk.map((d) => d.target!),
      });
    }
  }
  for (const alarm of alarms) {
    if (alarm.query.length > MAX_EXPRESSION_LENGTH) {
      throw new ContributorAlarmError(
        `the query of alarm ${alarm.id} is ${alarm.query.length} characters (limit ${MAX_EXPRESSION_LENGTH}): ` +
          `${alarm.targets.length} targets have alarm settings that differ from the others; give them the same settings, or deploy them as a second stack`,
      );
    }
  }
  if (alarms.length > MAX_METRICS_INSIGHTS_ALARMS) {
    throw new ContributorAlarmError(
      `${alarms.length} Metrics Insights alarms; the default quota is ${MAX_METRICS_INSIGHTS_ALARMS} per account and Region: give more targets the same alarm settings`,
    );
  }
  return alarms;
}
