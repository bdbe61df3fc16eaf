import { describe, expect, it } from 'vitest';
import { synthesizeStack } from '../infra/synth.ts';
import { scaledConfig } from './configs.ts';
import {
  invocationsPerMonth,
  PRICES,
  syntheticsCanaryMonth,
  type TemplateJson,
  templateCost,
} from './template-cost.ts';

/** A hand-written template with one of everything the cost function counts. */
const KNOWN = {
  Resources: {
    Probe: {
      Type: 'AWS::Lambda::Function',
      Properties: { Description: 'gatewatch: synthetic probes of every target', MemorySize: 1024 },
    },
    ProbeSchedule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        ScheduleExpression: 'rate(1 minute)',
        Targets: [{ Arn: { 'Fn::GetAtt': ['Probe', 'Arn'] } }],
      },
    },
    ProbeAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription: 'probe',
        Metrics: [{ Id: 'q', Expression: 'SELECT MAX(ProbeFailed) …' }],
      },
      Metadata: { 'gatewatch:contributors': { metric: 'ProbeFailed', timeSeries: 10, publication: 'dense' } },
    },
    Heartbeat: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: { Namespace: 'Gatewatch', MetricName: 'Heartbeat' },
    },
    Math: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        Metrics: [
          { Id: 'a', MetricStat: {} },
          { Id: 'b', MetricStat: {} },
          { Id: 'e', Expression: 'a/b' },
        ],
      },
    },
    Filter: { Type: 'AWS::Logs::MetricFilter', Properties: {} },
  },
};

describe('templateCost', () => {
  it('counts a known template: metrics, alarms, series, invocations and GB-seconds', () => {
    const cost = templateCost(KNOWN, {
      ...({
        probeRunBaseSeconds: 1,
        probeWaveSeconds: 1,
        logRateRunBaseSeconds: 0,
        logRateQuerySeconds: 0,
        lambdaLogBytesPerInvocation: 0,
        emfBytesPerRecord: 0,
        accessLogGbPerTargetMonth: 0,
        sparseShare: 0,
        incidentsPerTargetMonth: 0,
        transitionsPerIncident: 0,
        s3PutsPerIncident: 0,
        emailsPerIncident: 0,
      } as const),
    });
    expect(cost.counts).toMatchObject({
      resources: 6,
      standardAlarms: 2,
      standardAlarmMetrics: 3, // the heartbeat's metric and the math alarm's two
      metricsInsightsAlarms: 1,
      analyzedSeries: 10,
      customMetricsDense: 10 + 1 + 1, // ten targets, the heartbeat, the metric filter
      metricFilters: 1,
      scheduleRules: 1,
      probedTargets: 10,
    });
    const line = (prefix: string) => cost.lines.find((l) => l.item.startsWith(prefix))!;
    expect(line('Custom metrics published every minute').monthly).toBeCloseTo(12 * 0.3, 6);
    expect(line('Standard alarms').monthly).toBeCloseTo(3 * 0.1, 6);
    expect(line('Metrics Insights alarms').monthly).toBeCloseTo(10 * 0.1, 6);
    expect(line('Lambda probe: requests').quantity).toBe(43_200);
    // One wave of ≤ 32 probes: 1 s + 1 s at 1 GB, 43,200 times.
    expect(line('Lambda probe: duration').quantity).toBe(86_400);
    expect(cost.total).toBeCloseTo(
      12 * 0.3 + 0.3 + 1 + (43_200 / 1e6) * 0.2 + 86_400 * PRICES.lambdaArmGbSecond,
      6,
    );
  });

  it('prices schedules and a one-minute Synthetics canary as AWS does', () => {
    expect(invocationsPerMonth('rate(1 minute)')).toBe(43_200);
    expect(invocationsPerMonth('rate(5 minutes)')).toBe(8_640);
    expect(() => invocationsPerMonth('cron(0 * * * ? *)')).toThrow(/cannot price/);
    expect(syntheticsCanaryMonth()).toBeCloseTo(51.84, 6);
  });
});

describe('the synthesized stack (issue 9: under $0.50 per target-month at one-minute probes)', () => {
  const templates = new Map<number, TemplateJson>();
  const template = (targets: number): TemplateJson => {
    if (!templates.has(targets)) {
      const { app, stack } = synthesizeStack({ config: scaledConfig(targets) });
      templates.set(targets, app.synth().getStackArtifact(stack.artifactId).template as TemplateJson);
    }
    return templates.get(targets)!;
  };

  it.each([1, 50, 500])(
    'costs under $0.50 per target-month at %i target(s), with no custom metric published every minute',
    (targets) => {
      const cost = templateCost(template(targets));
      expect(cost.counts.customMetricsDense).toBe(0);
      expect(cost.counts.customMetricsSparse).toBe(2 * targets);
      expect(cost.total / targets).toBeLessThan(0.5);
      // The stretch goal, once the fixed alarms are shared by enough targets.
      if (targets >= 50) expect(cost.total / targets).toBeLessThan(0.25);
    },
    300_000,
  );

  it('would not be under $0.50 with ProbeFailed published every minute (the counter sees the difference)', () => {
    const dense = structuredClone(template(1));
    for (const resource of Object.values(dense.Resources)) {
      const meta = resource.Metadata?.['gatewatch:contributors'] as
        | { metric: string; publication: string }
        | undefined;
      if (meta?.metric === 'ProbeFailed') meta.publication = 'dense';
    }
    expect(templateCost(dense).total).toBeGreaterThan(0.5);
  }, 300_000);
});
