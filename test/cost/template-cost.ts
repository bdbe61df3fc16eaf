/**
 * What a synthesized gatewatch template costs a month, counted from the template itself: the custom
 * metrics its alarms analyze (from the multi-time-series alarms' metadata, which the alarms construct
 * derives from the EMF publishers) and its metric filters, its alarms (standard and Metrics Insights),
 * the Lambdas its schedules invoke (memory from the template, invocations from the schedule), the logs
 * those write and the Logs Insights bytes the log-rate queries scan. Prices are public list prices
 * (us-east-1, December 2026), each with its source page; usage the template cannot know (how long a run
 * takes, how much access log a target writes) is an explicit, printed assumption.
 */

/** Public prices, USD, with the page each is from. */
export const PRICES = {
  /** Custom metric, per metric-month (first 10,000). https://aws.amazon.com/cloudwatch/pricing/ */
  customMetricMonth: 0.3,
  /** Standard-resolution alarm, per alarm metric-month. https://aws.amazon.com/cloudwatch/pricing/ */
  alarmMetricMonth: 0.1,
  /**
   * Metrics Insights query alarm, per metric (time series) the query analyzes, per month.
   * https://aws.amazon.com/cloudwatch/pricing/ (Alarms tab). Read as the standard alarm price per
   * analyzed series; the page's free tier excludes these alarms.
   */
  metricsInsightsAlarmSeriesMonth: 0.1,
  /** Logs ingestion (Standard class), per GB. https://aws.amazon.com/cloudwatch/pricing/ */
  logsIngestionGb: 0.5,
  /** Logs Insights, per GB scanned. https://aws.amazon.com/cloudwatch/pricing/ */
  logsInsightsScannedGb: 0.005,
  /** Lambda requests, per million. https://aws.amazon.com/lambda/pricing/ */
  lambdaRequestMillion: 0.2,
  /** Lambda duration on arm64, per GB-second. https://aws.amazon.com/lambda/pricing/ */
  lambdaArmGbSecond: 0.0000133334,
  /** EventBridge scheduled rules and AWS service events: free. https://aws.amazon.com/eventbridge/pricing/ */
  eventBridgeEvent: 0,
  /** Step Functions Standard, per state transition. https://aws.amazon.com/step-functions/pricing/ */
  sfnTransition: 0.000025,
  /** S3 Standard PUT/COPY/POST/LIST, per request. https://aws.amazon.com/s3/pricing/ */
  s3Put: 0.000005,
  /** SNS e-mail delivery, per notification. https://aws.amazon.com/sns/pricing/ */
  snsEmail: 0.00002,
  /** CloudWatch Synthetics, per canary run. https://aws.amazon.com/cloudwatch/pricing/ (Canaries tab) */
  syntheticsCanaryRun: 0.0012,
} as const;

/** Minutes in the 30-day month the prices assume. */
export const MINUTES_PER_MONTH = 30 * 24 * 60;

/** Usage the template cannot know. Printed with the table. */
export interface CostAssumptions {
  /** A probe run: base seconds, plus seconds per wave of 32 concurrent probes. */
  probeRunBaseSeconds: number;
  probeWaveSeconds: number;
  /**
   * A log-rate run: base seconds, plus seconds per batch of 50 log groups — start this minute's Logs
   * Insights query and collect the one the previous run started (complete by then: no waiting).
   */
  logRateRunBaseSeconds: number;
  logRateQuerySeconds: number;
  /** Bytes each Lambda invocation logs besides EMF (START/END/REPORT and one summary line). */
  lambdaLogBytesPerInvocation: number;
  /** Bytes of one EMF document (one target's probe result). */
  emfBytesPerRecord: number;
  /** GB of access log each target writes a month (the scan cost of the error-rate queries). */
  accessLogGbPerTargetMonth: number;
  /** Share of hours a sparse (errors-only) metric has data. */
  sparseShare: number;
  /** Incidents per target and month, and what one costs (transitions, S3 writes, e-mails). */
  incidentsPerTargetMonth: number;
  transitionsPerIncident: number;
  s3PutsPerIncident: number;
  emailsPerIncident: number;
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  probeRunBaseSeconds: 0.3,
  probeWaveSeconds: 0.5,
  logRateRunBaseSeconds: 0.3,
  logRateQuerySeconds: 0.2,
  lambdaLogBytesPerInvocation: 1500,
  emfBytesPerRecord: 450,
  accessLogGbPerTargetMonth: 1,
  sparseShare: 0.01,
  incidentsPerTargetMonth: 1,
  transitionsPerIncident: 40,
  s3PutsPerIncident: 12,
  emailsPerIncident: 1,
};

export interface CostLine {
  item: string;
  quantity: number;
  unit: string;
  monthly: number;
}

export interface TemplateCost {
  lines: CostLine[];
  total: number;
  /** Counts read from the template, for tests and the table. */
  counts: {
    resources: number;
    standardAlarms: number;
    standardAlarmMetrics: number;
    metricsInsightsAlarms: number;
    analyzedSeries: number;
    customMetricsDense: number;
    customMetricsSparse: number;
    metricFilters: number;
    scheduleRules: number;
    probedTargets: number;
    errorRateTargets: number;
    logRateQueriesPerRun: number;
  };
}

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };
export interface TemplateJson {
  Resources: Record<string, Resource>;
}

/** Invocations a month of an EventBridge schedule expression (`rate(…)` only). */
export function invocationsPerMonth(expression: string): number {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!match) throw new Error(`cannot price the schedule ${expression}`);
  const n = Number(match[1]);
  const minutes = match[2]!.startsWith('minute') ? n : match[2]!.startsWith('hour') ? n * 60 : n * 1440;
  return MINUTES_PER_MONTH / minutes;
}

const CONTRIBUTORS = 'gatewatch:contributors';

/** The monthly cost of a template; `assumptions` for what the template cannot know. */
export function templateCost(
  template: TemplateJson,
  assumptions: CostAssumptions = DEFAULT_ASSUMPTIONS,
): TemplateCost {
  const resources = Object.entries(template.Resources);
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const lines: CostLine[] = [];
  const add = (item: string, quantity: number, unit: string, monthly: number) =>
    lines.push({ item, quantity, unit, monthly });

  // Alarms.
  let standardAlarms = 0;
  let standardAlarmMetrics = 0;
  let metricsInsightsAlarms = 0;
  let analyzedSeries = 0;
  let dense = 0;
  let sparse = 0;
  const seriesByMetric = new Map<string, number>();
  for (const [, alarm] of ofType('AWS::CloudWatch::Alarm')) {
    const meta = alarm.Metadata?.[CONTRIBUTORS] as
      | { metric: string; timeSeries: number; publication: 'dense' | 'sparse' }
      | undefined;
    if (meta !== undefined) {
      metricsInsightsAlarms++;
      const share = meta.publication === 'sparse' ? assumptions.sparseShare : 1;
      analyzedSeries += meta.timeSeries * share;
      if (meta.publication === 'sparse') sparse += meta.timeSeries;
      else dense += meta.timeSeries;
      seriesByMetric.set(meta.metric, (seriesByMetric.get(meta.metric) ?? 0) + meta.timeSeries);
      continue;
    }
    standardAlarms++;
    const metrics = alarm.Properties?.Metrics as { MetricStat?: unknown }[] | undefined;
    standardAlarmMetrics +=
      metrics === undefined ? 1 : metrics.filter((m) => m.MetricStat !== undefined).length;
    const namespace = alarm.Properties?.Namespace;
    // A standard alarm on gatewatch's own namespace watches a custom metric (the heartbeat).
    if (namespace === 'Gatewatch') dense++;
  }
  const metricFilters = ofType('AWS::Logs::MetricFilter').length;
  const customDense = dense + metricFilters;
  add(
    'Custom metrics published every minute (EMF; metric filters)',
    customDense,
    'metric-month',
    customDense * PRICES.customMetricMonth,
  );
  add(
    `Custom metrics published only around failures (${(assumptions.sparseShare * 100).toFixed(0)} % of hours)`,
    sparse,
    'metric',
    sparse * assumptions.sparseShare * PRICES.customMetricMonth,
  );
  add(
    'Standard alarms',
    standardAlarmMetrics,
    'alarm metric-month',
    standardAlarmMetrics * PRICES.alarmMetricMonth,
  );
  add(
    `Metrics Insights alarms (${metricsInsightsAlarms}), time series analyzed`,
    Math.round(analyzedSeries * 100) / 100,
    'series-month',
    analyzedSeries * PRICES.metricsInsightsAlarmSeriesMonth,
  );

  // Scheduled Lambdas.
  const functions = new Map(ofType('AWS::Lambda::Function'));
  const probedTargets = seriesByMetric.get('ProbeFailed') ?? 0;
  const errorRateTargets = seriesByMetric.get('Status5xxShare') ?? 0;
  const logRateQueriesPerRun = Math.ceil(errorRateTargets / 50);
  let scheduleRules = 0;
  let logBytes = 0;
  for (const [, rule] of ofType('AWS::Events::Rule')) {
    const schedule = rule.Properties?.ScheduleExpression as string | undefined;
    if (schedule === undefined) continue;
    scheduleRules++;
    const runs = invocationsPerMonth(schedule);
    for (const target of (rule.Properties?.Targets as { Arn?: { 'Fn::GetAtt'?: [string, string] } }[]) ??
      []) {
      const fn = functions.get(target.Arn?.['Fn::GetAtt']?.[0] ?? '');
      if (fn === undefined) continue;
      const description = String(fn.Properties?.Description ?? '');
      const memoryGb = Number(fn.Properties?.MemorySize ?? 128) / 1024;
      let seconds: number;
      let records = 0;
      let name: string;
      if (description.includes('synthetic probes')) {
        name = 'probe';
        seconds =
          assumptions.probeRunBaseSeconds + Math.ceil(probedTargets / 32) * assumptions.probeWaveSeconds;
        records = probedTargets; // one line per probe: EMF when published, plain JSON otherwise
      } else if (description.includes('5xx share')) {
        name = 'log-rate';
        seconds = assumptions.logRateRunBaseSeconds + logRateQueriesPerRun * assumptions.logRateQuerySeconds;
        records = errorRateTargets * assumptions.sparseShare;
      } else {
        name = description;
        seconds = 1;
      }
      add(`Lambda ${name}: requests`, runs, 'invocations', (runs / 1e6) * PRICES.lambdaRequestMillion);
      add(
        `Lambda ${name}: duration (${fn.Properties?.MemorySize} MB x ${seconds.toFixed(1)} s)`,
        Math.round(runs * seconds * memoryGb),
        'GB-s',
        runs * seconds * memoryGb * PRICES.lambdaArmGbSecond,
      );
      logBytes += runs * (assumptions.lambdaLogBytesPerInvocation + records * assumptions.emfBytesPerRecord);
    }
  }
  const logGb = logBytes / 1024 ** 3;
  add(
    'Logs ingestion of the scheduled Lambdas (incl. EMF)',
    Math.round(logGb * 100) / 100,
    'GB',
    logGb * PRICES.logsIngestionGb,
  );
  // Each minute's query reads the longest window plus two minutes: every access-log byte is scanned that
  // many times. The window is in the error-rate alarms' descriptions ("… over 5 min …").
  const windows = ofType('AWS::CloudWatch::Alarm').flatMap(([, a]) => {
    const match = /over (\d+) min/.exec(String(a.Properties?.AlarmDescription ?? ''));
    return a.Metadata?.[CONTRIBUTORS] !== undefined && match ? [Number(match[1])] : [];
  });
  const reads = Math.max(0, ...windows) + 2;
  const scannedGb = errorRateTargets * assumptions.accessLogGbPerTargetMonth * reads;
  add(
    `Logs Insights scanned (${assumptions.accessLogGbPerTargetMonth} GB access log per target, read ${reads} times)`,
    scannedGb,
    'GB',
    scannedGb * PRICES.logsInsightsScannedGb,
  );
  add('EventBridge schedules and alarm events', scheduleRules, 'rules', 0);

  const incidents = Math.max(probedTargets, errorRateTargets) * assumptions.incidentsPerTargetMonth;
  add(
    `Incidents (${assumptions.incidentsPerTargetMonth} per target): Step Functions, S3, e-mail`,
    incidents,
    'incidents',
    incidents *
      (assumptions.transitionsPerIncident * PRICES.sfnTransition +
        assumptions.s3PutsPerIncident * PRICES.s3Put +
        assumptions.emailsPerIncident * PRICES.snsEmail),
  );

  const total = lines.reduce((sum, line) => sum + line.monthly, 0);
  return {
    lines,
    total,
    counts: {
      resources: resources.length,
      standardAlarms,
      standardAlarmMetrics,
      metricsInsightsAlarms,
      analyzedSeries,
      customMetricsDense: customDense,
      customMetricsSparse: sparse,
      metricFilters,
      scheduleRules,
      probedTargets,
      errorRateTargets,
      logRateQueriesPerRun,
    },
  };
}

/** CloudWatch Synthetics: one canary every minute for a month. */
export function syntheticsCanaryMonth(): number {
  return MINUTES_PER_MONTH * PRICES.syntheticsCanaryRun;
}
