import { describe, expect, it } from 'vitest';
import {
  AlarmDefinitionError,
  alarmDefinitionsFor,
  alarmDefinitionsForTargets,
  cloudWatchAlarmProps,
  heartbeatAlarmDefinition,
} from '../../../lambdas/core/alarm/definitions.ts';

describe('alarmDefinitionsFor', () => {
  it('defines the failed-probe alarm as M of N probe runs with missing runs not breaching', () => {
    const [probeFailed] = alarmDefinitionsFor(
      {
        name: 'shop',
        probe: { intervalSeconds: 60 },
        alarm: { failedProbes: { datapoints: 2, evaluationPeriods: 3 } },
      },
      { probeIntervalSeconds: 60 },
    );
    expect(probeFailed).toEqual({
      id: 'shop-probe-failed',
      target: 'shop',
      description: 'shop: 2 of the last 3 probe runs failed',
      metric: {
        namespace: 'Gatewatch',
        name: 'ProbeFailed',
        dimensions: { Target: 'shop' },
        statistic: 'Maximum',
      },
      periodSeconds: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'notBreaching',
    });
  });

  it('uses 2 of 3 when the target sets no failedProbes', () => {
    const [probeFailed] = alarmDefinitionsFor({ name: 'shop', probe: {} }, { probeIntervalSeconds: 60 });
    expect(probeFailed).toMatchObject({ datapointsToAlarm: 2, evaluationPeriods: 3 });
  });

  it('takes the longer of the run cadence and the probe interval as the period', () => {
    const [slow] = alarmDefinitionsFor(
      { name: 'a', probe: { intervalSeconds: 300 } },
      { probeIntervalSeconds: 60 },
    );
    const [fast] = alarmDefinitionsFor(
      { name: 'a', probe: { intervalSeconds: 1 } },
      { probeIntervalSeconds: 60 },
    );
    expect(slow?.periodSeconds).toBe(300);
    expect(fast?.periodSeconds).toBe(60);
  });

  it('defines the 5xx-share alarm over errorRate.minutes', () => {
    const definitions = alarmDefinitionsFor(
      { name: 'shop', alarm: { errorRate: { percent: 5, minutes: 5 } } },
      { probeIntervalSeconds: 60 },
    );
    expect(definitions).toEqual([
      expect.objectContaining({
        id: 'shop-error-rate',
        metric: expect.objectContaining({ name: 'Status5xxShare', statistic: 'Maximum' }),
        periodSeconds: 60,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        threshold: 5,
        treatMissingData: 'notBreaching',
        window: { minutes: 5, minRequests: 20 },
      }),
    ]);
  });

  it('refuses M greater than N', () => {
    expect(() =>
      alarmDefinitionsFor(
        { name: 'shop', probe: {}, alarm: { failedProbes: { datapoints: 4, evaluationPeriods: 3 } } },
        { probeIntervalSeconds: 60 },
      ),
    ).toThrow(AlarmDefinitionError);
  });
});

describe('alarmDefinitionsForTargets', () => {
  it('adds one heartbeat for the prober, whose missing data is breaching', () => {
    const definitions = alarmDefinitionsForTargets(
      [
        { name: 'shop', probe: {} },
        { name: 'blog', probe: {} },
      ],
      { probeIntervalSeconds: 60 },
    );
    expect(definitions.map((d) => d.id)).toEqual([
      'shop-probe-failed',
      'blog-probe-failed',
      'prober-heartbeat',
    ]);
    expect(definitions.at(-1)).toMatchObject({
      metric: { name: 'Heartbeat', statistic: 'SampleCount' },
      comparison: 'LessThanThreshold',
      threshold: 1,
      treatMissingData: 'breaching',
    });
  });

  it('has no heartbeat when nothing is probed', () => {
    expect(alarmDefinitionsForTargets([{ name: 'logs-only' }], { probeIntervalSeconds: 60 })).toEqual([]);
  });
});

describe('cloudWatchAlarmProps', () => {
  it('carries every field of the definition into the CloudFormation alarm', () => {
    const [definition] = alarmDefinitionsFor(
      { name: 'shop', probe: {}, alarm: { failedProbes: { datapoints: 2, evaluationPeriods: 3 } } },
      { probeIntervalSeconds: 60 },
    );
    expect(cloudWatchAlarmProps(definition!)).toEqual({
      alarmName: 'gatewatch-shop-probe-failed',
      alarmDescription: 'shop: 2 of the last 3 probe runs failed',
      namespace: 'Gatewatch',
      metricName: 'ProbeFailed',
      dimensions: [{ name: 'Target', value: 'shop' }],
      statistic: 'Maximum',
      period: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      threshold: 1,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'notBreaching',
    });
  });

  it('refuses a 1 s local probe period that CloudWatch would not accept, saying what to set', () => {
    const heartbeat = heartbeatAlarmDefinition({ probeIntervalSeconds: 1 });
    expect(() => cloudWatchAlarmProps(heartbeat)).toThrow(/set probe.intervalSeconds to 60/);
  });

  it('refuses an evaluation span longer than CloudWatch allows', () => {
    const [errorRate] = alarmDefinitionsFor(
      { name: 'shop', alarm: { errorRate: { percent: 5, minutes: 5 } } },
      { probeIntervalSeconds: 60 },
    );
    expect(() => cloudWatchAlarmProps({ ...errorRate!, periodSeconds: 300, evaluationPeriods: 300 })).toThrow(
      AlarmDefinitionError,
    );
  });
});
