import { describe, expect, it } from 'vitest';
import {
  alarmDefinitionsFor,
  heartbeatAlarmDefinition,
  PROBER_DIMENSION_VALUE,
} from '../../../lambdas/core/alarm/definitions.ts';
import {
  AlarmEvaluator,
  type AlarmTransition,
  DuplicateAlarmError,
} from '../../../lambdas/core/alarm/evaluator.ts';

const START = Date.parse('2026-11-24T06:00:00Z');
const SECOND = 1000;

/** One probe run per second for `results` (true = failed), evaluating 100 ms into each next second. */
function drive(evaluator: AlarmEvaluator, fromMs: number, results: boolean[]): AlarmTransition[] {
  const transitions: AlarmTransition[] = [];
  results.forEach((failed, i) => {
    const at = fromMs + i * SECOND + 50;
    evaluator.putMetric({
      name: 'ProbeFailed',
      dimensions: { Target: 'shop' },
      value: failed ? 1 : 0,
      atMs: at,
    });
    transitions.push(...evaluator.evaluate(fromMs + (i + 1) * SECOND + 100));
  });
  return transitions;
}

const shopAlarms = () =>
  alarmDefinitionsFor(
    {
      name: 'shop',
      probe: { intervalSeconds: 1 },
      alarm: { failedProbes: { datapoints: 2, evaluationPeriods: 3 } },
    },
    { probeIntervalSeconds: 1 },
  );

describe('AlarmEvaluator', () => {
  it('starts in INSUFFICIENT_DATA and stays there until its own data decides', () => {
    const evaluator = new AlarmEvaluator(shopAlarms(), { startedAtMs: START });
    expect(evaluator.state('shop-probe-failed')).toBe('INSUFFICIENT_DATA');
    expect(evaluator.evaluate(START + 100)).toEqual([]);
    const first = drive(evaluator, START, [false]);
    expect(first).toEqual([]);
    expect(evaluator.state('shop-probe-failed')).toBe('INSUFFICIENT_DATA');
    const second = drive(evaluator, START + SECOND, [false]);
    expect(second.map((t) => [t.from, t.to])).toEqual([['INSUFFICIENT_DATA', 'OK']]);
  });

  it('goes to ALARM on the second of three failed runs and back to OK once failures drop below 2 of 3', () => {
    const evaluator = new AlarmEvaluator(shopAlarms(), { startedAtMs: START });
    const transitions = drive(evaluator, START, [
      false,
      false,
      false,
      true,
      false,
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(transitions.map((t) => `${t.from}->${t.to}@${(Date.parse(t.at) - START) / SECOND}`)).toEqual([
      'INSUFFICIENT_DATA->OK@2.1',
      'OK->ALARM@6.1',
      'ALARM->OK@9.1',
    ]);
    const alarm = transitions[1]!;
    expect(alarm.alarmId).toBe('shop-probe-failed');
    expect(alarm.reason).toContain('2 out of the last 3 datapoints');
  });

  it('emits each transition once: a continuing failure is one episode', () => {
    const evaluator = new AlarmEvaluator(shopAlarms(), { startedAtMs: START });
    const transitions = drive(evaluator, START, [false, false, ...new Array<boolean>(20).fill(true)]);
    expect(transitions.filter((t) => t.to === 'ALARM')).toHaveLength(1);
    expect(evaluator.state('shop-probe-failed')).toBe('ALARM');
  });

  it('keeps a persisted ALARM across a restart instead of resolving on the first datapoint', () => {
    const before = new AlarmEvaluator(shopAlarms(), { startedAtMs: START });
    drive(before, START, [false, false, true, true]);
    expect(before.state('shop-probe-failed')).toBe('ALARM');
    const snapshot = JSON.parse(JSON.stringify(before.snapshot()));

    const restartAt = START + 30 * SECOND;
    const after = new AlarmEvaluator(shopAlarms(), { startedAtMs: restartAt, initialStates: snapshot });
    expect(drive(after, restartAt, [true])).toEqual([]);
    expect(after.state('shop-probe-failed')).toBe('ALARM');
    const recovered = drive(after, restartAt + SECOND, [false, false]);
    expect(recovered.map((t) => [t.from, t.to])).toEqual([['ALARM', 'OK']]);
  });

  it('raises the heartbeat alarm when the prober stops reporting, but not at start-up', () => {
    const heartbeat = heartbeatAlarmDefinition({ probeIntervalSeconds: 1 });
    const evaluator = new AlarmEvaluator([heartbeat], { startedAtMs: START });
    const beat = (atMs: number) =>
      evaluator.putMetric({
        name: 'Heartbeat',
        dimensions: { Prober: PROBER_DIMENSION_VALUE },
        value: 1,
        atMs,
      });
    const transitions: AlarmTransition[] = [];
    for (let i = 0; i < 5; i++) {
      beat(START + i * SECOND + 10);
      transitions.push(...evaluator.evaluate(START + (i + 1) * SECOND + 100));
    }
    expect(transitions.map((t) => t.to)).toEqual(['OK']);
    // Silence: missing is breaching, and the alarm fires once the evaluation range holds no heartbeat.
    const silentFrom = START + 5 * SECOND;
    const firing: AlarmTransition[] = [];
    for (let i = 1; i <= 6; i++) firing.push(...evaluator.evaluate(silentFrom + i * SECOND + 100));
    expect(firing).toHaveLength(1);
    expect(firing[0]).toMatchObject({ alarmId: 'prober-heartbeat', from: 'OK', to: 'ALARM' });
    // 2 of 2 with a range of 4: the alarm fires when the 4th silent period has closed.
    expect((Date.parse(firing[0]!.at) - silentFrom) / SECOND).toBe(4.1);
  });

  it('does not fire a breaching heartbeat alarm for the time before the evaluator started', () => {
    const evaluator = new AlarmEvaluator([heartbeatAlarmDefinition({ probeIntervalSeconds: 1 })], {
      startedAtMs: START,
    });
    expect(evaluator.evaluate(START + 1100)).toEqual([]);
    expect(evaluator.state('prober-heartbeat')).toBe('INSUFFICIENT_DATA');
  });

  it('keeps the samples of different targets apart', () => {
    const evaluator = new AlarmEvaluator(shopAlarms(), { startedAtMs: START });
    for (let i = 0; i < 10; i++) {
      evaluator.putMetric({
        name: 'ProbeFailed',
        dimensions: { Target: 'other' },
        value: 1,
        atMs: START + i * SECOND,
      });
    }
    const transitions = drive(evaluator, START, new Array<boolean>(10).fill(false));
    expect(transitions.map((t) => t.to)).toEqual(['OK']);
  });

  it('refuses two definitions with the same id', () => {
    const [probeFailed] = shopAlarms();
    expect(() => new AlarmEvaluator([probeFailed!, probeFailed!])).toThrow(DuplicateAlarmError);
  });
});
