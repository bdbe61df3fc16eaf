/**
 * Alarm rules, defined once. The CDK stack turns each definition into a CloudWatch alarm
 * (`cloudWatchAlarmProps`), the local pipeline feeds the same definitions to `AlarmEvaluator`; neither
 * side writes its own thresholds.
 */

/** Every gatewatch metric lives in this CloudWatch namespace (EMF in AWS, in-process locally). */
export const METRIC_NAMESPACE = 'Gatewatch';

/**
 * The metrics alarms watch:
 * - `ProbeFailed`: 1 for a failed probe run, 0 for a passing one, one sample per run, dimension `Target`.
 * - `Status5xxShare`: share of 5xx answers in the access log over the error-rate window that ends with
 *   the sample's minute, in percent: `100 * SUM(5xx) / SUM(requests)` over `errorRate.minutes`, and no
 *   sample while the window holds fewer than `errorRate.minRequests` requests (see `status5xxShare` in
 *   `core/metrics/error-rate.ts`, the one function both worlds derive it with). Dimension `Target`.
 * - `Heartbeat`: 1 per completed probe run of the whole prober, dimension `Prober`.
 */
export type AlarmMetricName = 'ProbeFailed' | 'Status5xxShare' | 'Heartbeat';
export type AlarmStatistic = 'Sum' | 'Average' | 'Maximum' | 'Minimum' | 'SampleCount';
export type ComparisonOperator =
  | 'GreaterThanOrEqualToThreshold'
  | 'GreaterThanThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';
export type TreatMissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';

export interface AlarmMetric {
  namespace: typeof METRIC_NAMESPACE;
  name: AlarmMetricName;
  dimensions: Record<string, string>;
  statistic: AlarmStatistic;
}

/** A CloudWatch metric alarm, in CloudWatch's own terms. */
export interface AlarmDefinition {
  /** Unique and stable: `<target>-probe-failed`, `<target>-error-rate`, `prober-heartbeat`. */
  id: string;
  /** The target an episode of this alarm opens an incident for; absent for the prober's heartbeat. */
  target?: string;
  /** One sentence for the alarm description and notifications. */
  description: string;
  metric: AlarmMetric;
  periodSeconds: number;
  /** N of "M of N". */
  evaluationPeriods: number;
  /** M of "M of N". */
  datapointsToAlarm: number;
  threshold: number;
  comparison: ComparisonOperator;
  treatMissingData: TreatMissingData;
  /**
   * For `Status5xxShare`: the window the share is computed over and the traffic it needs. Read by the
   * publishers (the log-rate Lambda in AWS, `watch` locally), not by the evaluators.
   */
  window?: ErrorRateWindow;
}

/** How a `Status5xxShare` sample is derived from per-minute counts. */
export interface ErrorRateWindow {
  /** Minutes summed, ending with the sample's minute. */
  minutes: number;
  /** Fewer requests than this in the window: no sample (a quiet window is not an error rate). */
  minRequests: number;
}

/** The minimum-traffic guard when a target sets none: one failed request among 19 is not an outage. */
export const DEFAULT_MIN_REQUESTS = 20;

/** What of a target the alarm rules need (a structural subset of the configuration's target). */
export interface AlarmTargetInput {
  name: string;
  probe?: { intervalSeconds?: number } | undefined;
  alarm?:
    | {
        failedProbes?: { datapoints: number; evaluationPeriods: number } | undefined;
        errorRate?: { percent: number; minutes: number; minRequests?: number | undefined } | undefined;
      }
    | undefined;
}

export interface AlarmDefinitionOptions {
  /**
   * How often the prober runs: 60 in AWS (the EventBridge schedule), the watch loop's tick locally. A
   * probe with a longer `intervalSeconds` gets that as its period instead.
   */
  probeIntervalSeconds: number;
}

/** Thrown for a rule CloudWatch would not accept, naming the field and the fix. */
export class AlarmDefinitionError extends Error {
  override name = 'AlarmDefinitionError';
}

const DEFAULT_FAILED_PROBES = { datapoints: 2, evaluationPeriods: 3 };
/** Identifies the one prober process (local `watch` or the probe Lambda) in the heartbeat metric. */
export const PROBER_DIMENSION_VALUE = 'gatewatch';

/**
 * The alarms of one target:
 * - failed probes, "M of N" probe runs failing (missing runs are the heartbeat's business, so they count
 *   as not breaching here and a dead prober opens one incident, not one per target);
 * - the 5xx share of the access log, when `alarm.errorRate` is set: every minute, `Status5xxShare` is
 *   `100 * SUM(5xx) / SUM(requests)` over the last `errorRate.minutes` (a ratio of sums, never an
 *   average of per-minute percentages: one failed request in a quiet minute cannot fire it), published
 *   only when the window holds `minRequests` requests; the alarm is 1 of 1 on that one-minute value, and
 *   no sample is not breaching.
 */
export function alarmDefinitionsFor(
  target: AlarmTargetInput,
  options: AlarmDefinitionOptions,
): AlarmDefinition[] {
  const definitions: AlarmDefinition[] = [];
  const dimensions = { Target: target.name };
  if (target.probe !== undefined) {
    const failed = target.alarm?.failedProbes ?? DEFAULT_FAILED_PROBES;
    const periodSeconds = Math.max(options.probeIntervalSeconds, target.probe.intervalSeconds ?? 0);
    definitions.push({
      id: `${target.name}-probe-failed`,
      target: target.name,
      description: `${target.name}: ${failed.datapoints} of the last ${failed.evaluationPeriods} probe runs failed`,
      metric: { namespace: METRIC_NAMESPACE, name: 'ProbeFailed', dimensions, statistic: 'Maximum' },
      periodSeconds,
      evaluationPeriods: failed.evaluationPeriods,
      datapointsToAlarm: failed.datapoints,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'notBreaching',
    });
  }
  const errorRate = target.alarm?.errorRate;
  if (errorRate !== undefined) {
    const minRequests = errorRate.minRequests ?? DEFAULT_MIN_REQUESTS;
    definitions.push({
      id: `${target.name}-error-rate`,
      target: target.name,
      description: `${target.name}: at least ${errorRate.percent}% of requests answered 5xx over ${errorRate.minutes} min (at least ${minRequests} requests)`,
      metric: { namespace: METRIC_NAMESPACE, name: 'Status5xxShare', dimensions, statistic: 'Maximum' },
      periodSeconds: 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      threshold: errorRate.percent,
      comparison: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'notBreaching',
      window: { minutes: errorRate.minutes, minRequests },
    });
  }
  for (const definition of definitions) validateAlarmDefinition(definition);
  return definitions;
}

/**
 * The prober's own heartbeat: every completed run publishes `Heartbeat = 1`; a period without one is
 * missing, and missing is breaching, so a prober that stops (crash, hang, throttled Lambda) is an incident.
 */
export function heartbeatAlarmDefinition(options: AlarmDefinitionOptions): AlarmDefinition {
  const definition: AlarmDefinition = {
    id: 'prober-heartbeat',
    description: 'the gatewatch prober has stopped reporting',
    metric: {
      namespace: METRIC_NAMESPACE,
      name: 'Heartbeat',
      dimensions: { Prober: PROBER_DIMENSION_VALUE },
      statistic: 'SampleCount',
    },
    periodSeconds: options.probeIntervalSeconds,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    threshold: 1,
    comparison: 'LessThanThreshold',
    treatMissingData: 'breaching',
  };
  validateAlarmDefinition(definition);
  return definition;
}

/** Every alarm of a configuration: each target's, plus the heartbeat when anything is probed. */
export function alarmDefinitionsForTargets(
  targets: readonly AlarmTargetInput[],
  options: AlarmDefinitionOptions,
): AlarmDefinition[] {
  const definitions = targets.flatMap((target) => alarmDefinitionsFor(target, options));
  if (targets.some((target) => target.probe !== undefined))
    definitions.push(heartbeatAlarmDefinition(options));
  return definitions;
}

/** Checks the invariants both the local evaluator and CloudWatch rely on. */
export function validateAlarmDefinition(definition: AlarmDefinition): void {
  const where = `alarm ${definition.id}`;
  if (!Number.isInteger(definition.periodSeconds) || definition.periodSeconds < 1) {
    throw new AlarmDefinitionError(`${where}: periodSeconds must be a whole number of seconds >= 1`);
  }
  if (!Number.isInteger(definition.evaluationPeriods) || definition.evaluationPeriods < 1) {
    throw new AlarmDefinitionError(`${where}: evaluationPeriods (N) must be a whole number >= 1`);
  }
  if (
    !Number.isInteger(definition.datapointsToAlarm) ||
    definition.datapointsToAlarm < 1 ||
    definition.datapointsToAlarm > definition.evaluationPeriods
  ) {
    throw new AlarmDefinitionError(
      `${where}: datapointsToAlarm (M) must be between 1 and evaluationPeriods (${definition.evaluationPeriods})`,
    );
  }
}

/** The CloudFormation `AWS::CloudWatch::Alarm` properties of a definition (assignable to `CfnAlarmProps`). */
export interface CloudWatchAlarmProps {
  alarmName: string;
  alarmDescription: string;
  namespace: string;
  metricName: string;
  dimensions: { name: string; value: string }[];
  statistic: AlarmStatistic;
  period: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparisonOperator: ComparisonOperator;
  treatMissingData: TreatMissingData;
}

/**
 * Translates a definition for the CDK stack. CloudWatch accepts periods of 10, 20, 30 s or a multiple of
 * 60 s, and at most one day of evaluation (seven for periods of an hour or more); a local 1 s probe
 * interval is fine for `watch` but must not reach a deployed alarm, so this refuses it.
 */
export function cloudWatchAlarmProps(
  definition: AlarmDefinition,
  alarmNamePrefix = 'gatewatch-',
): CloudWatchAlarmProps {
  validateAlarmDefinition(definition);
  const period = definition.periodSeconds;
  if (![10, 20, 30].includes(period) && period % 60 !== 0) {
    throw new AlarmDefinitionError(
      `alarm ${definition.id}: CloudWatch needs a period of 10, 20, 30 s or a multiple of 60 s, got ${period} s; ` +
        'set probe.intervalSeconds to 60 (or a multiple) for AWS',
    );
  }
  const span = period * definition.evaluationPeriods;
  const maxSpan = period >= 3600 ? 7 * 86_400 : 86_400;
  if (span > maxSpan) {
    throw new AlarmDefinitionError(
      `alarm ${definition.id}: period x evaluationPeriods is ${span} s, CloudWatch allows at most ${maxSpan} s`,
    );
  }
  return {
    alarmName: `${alarmNamePrefix}${definition.id}`,
    alarmDescription: definition.description,
    namespace: definition.metric.namespace,
    metricName: definition.metric.name,
    dimensions: Object.entries(definition.metric.dimensions)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => ({ name, value })),
    statistic: definition.metric.statistic,
    period,
    evaluationPeriods: definition.evaluationPeriods,
    datapointsToAlarm: definition.datapointsToAlarm,
    threshold: definition.threshold,
    comparisonOperator: definition.comparison,
    treatMissingData: definition.treatMissingData,
  };
}
