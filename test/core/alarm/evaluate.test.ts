import { describe, expect, it } from 'vitest';
import type { AlarmDefinition, TreatMissingData } from '../../../lambdas/core/alarm/definitions.ts';
import {
  type AlarmState,
  type Datapoint,
  evaluateAlarm,
  explainAlarm,
} from '../../../lambdas/core/alarm/evaluate.ts';

const PERIOD_MS = 60_000;
// Evaluation happens 10 s into the period after the newest one in a row.
const NOW = Date.parse('2026-11-24T06:00:10Z');
const NEWEST_START = Date.parse('2026-11-24T05:59:00Z');

function definition(m: number, n: number, treatMissingData: TreatMissingData): AlarmDefinition {
  return {
    id: 'shop-probe-failed',
    target: 'shop',
    description: 'test',
    metric: {
      namespace: 'Gatewatch',
      name: 'ProbeFailed',
      dimensions: { Target: 'shop' },
      statistic: 'Maximum',
    },
    periodSeconds: 60,
    evaluationPeriods: n,
    datapointsToAlarm: m,
    threshold: 1,
    comparison: 'GreaterThanOrEqualToThreshold',
    treatMissingData,
  };
}

/**
 * Datapoints written like AWS's table, oldest first and newest last: `X` breaching (1), `0` not breaching,
 * `-` missing.
 */
function row(pattern: string): Datapoint[] {
  const cells = pattern.split(' ');
  return cells.flatMap((cell, index) => {
    if (cell === '-') return [];
    const start = NEWEST_START - (cells.length - 1 - index) * PERIOD_MS;
    return [{ periodStart: start + 5_000, value: cell === 'X' ? 1 : 0 }];
  });
}

const TREATMENTS: TreatMissingData[] = ['missing', 'ignore', 'breaching', 'notBreaching'];

describe('evaluateAlarm: AWS example table (datapoints to alarm 3, evaluation periods 3, range 5)', () => {
  // Rows and outcomes from "How alarm state is evaluated when data is missing",
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
  // `keep` = the previous state is retained.
  const table: [
    string,
    [AlarmState | 'keep', AlarmState | 'keep', AlarmState | 'keep', AlarmState | 'keep'],
  ][] = [
    ['0 - X - X', ['OK', 'OK', 'OK', 'OK']],
    ['- - - - 0', ['OK', 'OK', 'OK', 'OK']],
    ['- - - - -', ['INSUFFICIENT_DATA', 'keep', 'ALARM', 'OK']],
    ['0 X X - X', ['ALARM', 'ALARM', 'ALARM', 'ALARM']],
    ['- - X - -', ['ALARM', 'keep', 'ALARM', 'OK']],
  ];
  for (const [pattern, outcomes] of table) {
    TREATMENTS.forEach((treat, i) => {
      const expected = outcomes[i]!;
      for (const previous of ['OK', 'ALARM'] as const) {
        it(`${pattern} with treatMissingData ${treat}, previously ${previous} -> ${expected === 'keep' ? previous : expected}`, () => {
          const state = evaluateAlarm(definition(3, 3, treat), row(pattern), NOW, previous, {
            evaluationRangePeriods: 5,
          });
          expect(state).toBe(expected === 'keep' ? previous : expected);
        });
      }
    });
  }
});

describe('evaluateAlarm: M of N', () => {
  it.each([
    ['0 0 0', 'OK'],
    ['X 0 0', 'OK'],
    ['X 0 X', 'ALARM'],
    ['0 X X', 'ALARM'],
    ['X X X', 'ALARM'],
    ['X X 0 0 0', 'OK'],
  ] as const)('2 of 3 with %s is %s', (pattern, expected) => {
    expect(evaluateAlarm(definition(2, 3, 'notBreaching'), row(pattern), NOW, 'OK')).toBe(expected);
  });

  it('reaches back over gaps in the evaluation range when it has N real datapoints', () => {
    // The three most recent real datapoints are X X 0: ALARM, although only one sits in the last 3 periods.
    const points = row('X X - 0 -');
    expect(
      evaluateAlarm(definition(2, 3, 'notBreaching'), points, NOW, 'OK', { evaluationRangePeriods: 5 }),
    ).toBe('ALARM');
    // With the range cut to N, only the last 3 periods count: one real, not breaching, gaps not breaching.
    expect(
      evaluateAlarm(definition(2, 3, 'notBreaching'), points, NOW, 'OK', { evaluationRangePeriods: 3 }),
    ).toBe('OK');
  });

  it('fills only as many gaps as needed to make N', () => {
    // 2 real non-breaching + 1 gap treated as breaching = 1 breach of 3: OK for 2 of 3.
    expect(evaluateAlarm(definition(2, 3, 'breaching'), row('- - 0 - 0'), NOW, 'OK')).toBe('OK');
    // 1 real breaching + 2 gaps treated as breaching = 3: ALARM.
    expect(evaluateAlarm(definition(2, 3, 'breaching'), row('- - - - X'), NOW, 'OK')).toBe('ALARM');
  });

  it('applies the premature-transition rule only when the oldest breach is at least M periods old', () => {
    const twoOfThree = definition(2, 3, 'missing');
    expect(evaluateAlarm(twoOfThree, row('- - - X -'), NOW, 'OK')).toBe('ALARM');
    expect(evaluateAlarm(twoOfThree, row('- - - - X'), NOW, 'OK')).toBe('OK');
    expect(evaluateAlarm(twoOfThree, row('- - X 0 -'), NOW, 'OK')).toBe('OK');
  });

  it('does not count the period still in progress', () => {
    const points = [
      ...row('0 0 0'),
      { periodStart: NOW - 1_000, value: 1 },
      { periodStart: NOW - 2_000, value: 1 },
    ];
    expect(evaluateAlarm(definition(1, 1, 'notBreaching'), points, NOW, 'OK')).toBe('OK');
    expect(evaluateAlarm(definition(1, 1, 'notBreaching'), points, NOW + PERIOD_MS, 'OK')).toBe('ALARM');
  });

  it('combines the samples of one period with the statistic', () => {
    const samples = [0, 0, 1, 0].map((value, i) => ({ periodStart: NEWEST_START + i * 1000, value }));
    const base = definition(1, 1, 'notBreaching');
    expect(evaluateAlarm(base, samples, NOW, 'OK')).toBe('ALARM'); // Maximum = 1
    const average = { ...base, metric: { ...base.metric, statistic: 'Average' as const } };
    expect(evaluateAlarm(average, samples, NOW, 'OK')).toBe('OK'); // Average = 0.25
    const count = { ...base, metric: { ...base.metric, statistic: 'SampleCount' as const }, threshold: 4 };
    expect(evaluateAlarm(count, samples, NOW, 'OK')).toBe('ALARM'); // SampleCount = 4
  });

  it.each([
    ['GreaterThanThreshold', 1, 'OK'],
    ['GreaterThanOrEqualToThreshold', 1, 'ALARM'],
    ['LessThanThreshold', 2, 'ALARM'],
    ['LessThanOrEqualToThreshold', 0, 'OK'],
  ] as const)('compares with %s against %d', (comparison, threshold, expected) => {
    const def = { ...definition(1, 1, 'notBreaching'), comparison, threshold };
    expect(evaluateAlarm(def, row('X'), NOW, 'OK')).toBe(expected);
  });
});

describe('explainAlarm', () => {
  it('says how many datapoints breached and which ones', () => {
    const result = explainAlarm(definition(2, 3, 'notBreaching'), row('X 0 X'), NOW, 'OK');
    expect(result.state).toBe('ALARM');
    expect(result.reason).toContain('2 out of the last 3 datapoints');
    expect(result.reason).toContain('1.0 (2026-11-24T05:59:00.000Z)');
    expect(result.reason).toContain('greater than or equal to the threshold (1)');
  });

  it('keeps the previous state while periods before the start could change the answer', () => {
    const notBeforeMs = NEWEST_START; // only the newest period exists
    const def = definition(2, 3, 'notBreaching');
    // One failing run since a restart does not prove the alarm is over, nor that it started.
    expect(evaluateAlarm(def, row('X'), NOW, 'ALARM', { notBeforeMs })).toBe('ALARM');
    expect(evaluateAlarm(def, row('X'), NOW, 'INSUFFICIENT_DATA', { notBeforeMs })).toBe('INSUFFICIENT_DATA');
    // Two failures since the start decide ALARM whatever happened before.
    expect(evaluateAlarm(def, row('X X'), NOW, 'OK', { notBeforeMs: NEWEST_START - PERIOD_MS })).toBe(
      'ALARM',
    );
  });
});
