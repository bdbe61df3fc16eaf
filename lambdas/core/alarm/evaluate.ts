/**
 * CloudWatch metric-alarm evaluation, so that `watch` changes state exactly when the deployed alarm would.
 *
 * The rule implemented, from "Configuring how CloudWatch alarms treat missing data",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
 * (sections "How alarm state is evaluated when data is missing" and "Avoiding premature transitions to
 * alarm state"):
 *
 * 1. CloudWatch reads more periods than N, the *evaluation range*. AWS does not publish its size; its own
 *    example uses a range of 5 for N = 3, so the default here is N + 2 (`evaluationRangePeriods`). With
 *    `evaluationRangePeriods: N` the alarm looks only at the N most recent periods and evaluates the
 *    datapoints it has there, the simpler reading of the same page.
 * 2. No datapoint missing in the range, or at least N real datapoints in it: the N most recent *real*
 *    datapoints are evaluated (reaching further back over gaps); ALARM when M of them breach, else OK.
 *    `treatMissingData` plays no part.
 * 3. Fewer than N real datapoints: the gaps are filled according to `treatMissingData`, as few as
 *    possible (N minus the real ones), and every real datapoint in the range is counted:
 *    - `breaching`: ALARM when real breaches + fills >= M.
 *    - `notBreaching`: ALARM when real breaches >= M.
 *    - `missing`: no datapoint at all gives INSUFFICIENT_DATA; otherwise ALARM when real breaches >= M,
 *      or by the premature-transition rule: the oldest breaching datapoint among the N most recent periods
 *      is at least M periods old and every newer datapoint breaches or is missing; otherwise OK.
 *    - `ignore`: no datapoint keeps the current state; ALARM when real breaches >= M, OK when M can no
 *      longer be reached even if every gap breached, and otherwise the current state is kept (AWS's
 *      example table: one breaching point and two gaps with M = N = 3 "retains current state").
 *
 * Periods are aligned to the epoch (`floor(t / period)`) and only complete periods are evaluated: the
 * newest one ends at or before `nowMs`. So the most recent datapoint counts once its period has closed,
 * as in CloudWatch, where the current period is still filling.
 *
 * Local addition, off unless asked (`notBeforeMs`): periods that started before the evaluator did are
 * *unknown*, neither data nor missing. The state changes only when the rule gives the same answer whether
 * those periods breached or not; otherwise the previous state stands. So a freshly started `watch` with a
 * `breaching` heartbeat does not alarm for the minutes before it existed, and a restart with a persisted
 * ALARM does not flip to OK on its first, single datapoint.
 */
import type { AlarmDefinition, AlarmStatistic, ComparisonOperator } from './definitions.ts';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** A sample or an aggregated datapoint; samples within one period are combined with the statistic. */
export interface Datapoint {
  /** Epoch ms of the sample or of the start of its period; it is floored to the period grid. */
  periodStart: number;
  value: number;
}

export interface EvaluateOptions {
  /** Periods read back from now (>= N). @default evaluationPeriods + 2 */
  evaluationRangePeriods?: number;
  /** Periods starting before this epoch ms are unknown, neither data nor missing (see the module comment). */
  notBeforeMs?: number;
}

export interface AlarmEvaluation {
  state: AlarmState;
  /** CloudWatch-style: how many datapoints breached, which ones, how missing data was treated. */
  reason: string;
  /** Start of the newest evaluated period (epoch ms). */
  newestPeriodStart?: number;
}

/** Combines the samples of one period the way CloudWatch's statistic does. */
export function aggregate(values: readonly number[], statistic: AlarmStatistic): number {
  switch (statistic) {
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Maximum':
      return values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
    case 'Minimum':
      return values.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
    case 'SampleCount':
      return values.length;
  }
}

/** `value <op> threshold`. */
export function breaches(comparison: ComparisonOperator, value: number, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

const OPERATOR_TEXT: Record<ComparisonOperator, string> = {
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  GreaterThanThreshold: 'greater than',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/** The state an alarm is in after evaluating `datapoints` at `nowMs`. */
export function evaluateAlarm(
  definition: AlarmDefinition,
  datapoints: readonly Datapoint[],
  nowMs: number,
  previousState: AlarmState,
  options: EvaluateOptions = {},
): AlarmState {
  return explainAlarm(definition, datapoints, nowMs, previousState, options).state;
}

/** `evaluateAlarm` with the reason for the state, for transitions and the incident timeline. */
export function explainAlarm(
  definition: AlarmDefinition,
  datapoints: readonly Datapoint[],
  nowMs: number,
  previousState: AlarmState,
  options: EvaluateOptions = {},
): AlarmEvaluation {
  const periodMs = definition.periodSeconds * 1000;
  const n = definition.evaluationPeriods;
  const range = Math.max(n, options.evaluationRangePeriods ?? n + 2);
  const newestStart = Math.floor(nowMs / periodMs) * periodMs - periodMs;
  const oldestStart = newestStart - (range - 1) * periodMs;

  const samples = new Map<number, number[]>();
  for (const point of datapoints) {
    const start = Math.floor(point.periodStart / periodMs) * periodMs;
    if (start < oldestStart || start > newestStart || !Number.isFinite(point.value)) continue;
    const list = samples.get(start);
    if (list) list.push(point.value);
    else samples.set(start, [point.value]);
  }
  const isBreach = (value: number) => breaches(definition.comparison, value, definition.threshold);
  // Newest first.
  const cells: Cell[] = [];
  for (let age = 0; age < range; age++) {
    const start = newestStart - age * periodMs;
    if (options.notBeforeMs !== undefined && start < options.notBeforeMs) {
      cells.push({ kind: 'unknown', start });
      continue;
    }
    const list = samples.get(start);
    if (list === undefined) cells.push({ kind: 'missing', start });
    else {
      const value = aggregate(list, definition.metric.statistic);
      cells.push({ kind: 'data', start, value, breach: isBreach(value) });
    }
  }
  const base = { newestPeriodStart: newestStart };
  if (!cells.some((cell) => cell.kind === 'unknown')) {
    return { ...base, ...evaluateCells(definition, cells, previousState) };
  }
  if (cells.every((cell) => cell.kind === 'unknown')) {
    return { ...base, state: previousState, reason: 'no complete period since evaluation started' };
  }
  // Periods before the evaluator started could have held anything: decide only what holds either way.
  const substitute = (breach: boolean): Cell[] =>
    cells.map((cell) => (cell.kind === 'unknown' ? { kind: 'data', start: cell.start, breach } : cell));
  const ifBreaching = evaluateCells(definition, substitute(true), previousState);
  const ifNot = evaluateCells(definition, substitute(false), previousState);
  if (ifBreaching.state === ifNot.state) return { ...base, ...ifNot };
  return {
    ...base,
    state: previousState,
    reason: `undecided until more periods have passed since evaluation started (${ifNot.reason})`,
  };
}

type Cell =
  | { kind: 'data'; start: number; value?: number; breach: boolean }
  | { kind: 'missing'; start: number }
  | { kind: 'unknown'; start: number };
type DataCell = Extract<Cell, { kind: 'data' }>;

/** CloudWatch's rule over the evaluation range (cells newest first, no `unknown` left). */
function evaluateCells(
  definition: AlarmDefinition,
  cells: readonly Cell[],
  previousState: AlarmState,
): { state: AlarmState; reason: string } {
  const n = definition.evaluationPeriods;
  const m = definition.datapointsToAlarm;
  const treat = definition.treatMissingData;
  const real = cells.filter((cell): cell is DataCell => cell.kind === 'data');
  const threshold = `${OPERATOR_TEXT[definition.comparison]} the threshold (${definition.threshold})`;
  const describe = (points: readonly DataCell[]) =>
    points
      .map(
        (p) =>
          `${p.value === undefined ? 'unknown' : formatValue(p.value)} (${new Date(p.start).toISOString()})`,
      )
      .join(', ');

  if (real.length >= n) {
    const evaluated = real.slice(0, n);
    const breaching = evaluated.filter((p) => p.breach).length;
    return {
      state: breaching >= m ? 'ALARM' : 'OK',
      reason: `${breaching} out of the last ${n} datapoints [${describe(evaluated)}] were ${threshold} (minimum ${m} for ALARM)`,
    };
  }

  const fills = n - real.length;
  const realBreaching = real.filter((p) => p.breach).length;
  const gaps = `${fills} missing datapoint${fills === 1 ? '' : 's'} treated as ${treat}`;
  const seen = real.length === 0 ? 'no datapoints' : `datapoints [${describe(real)}]`;

  switch (treat) {
    case 'breaching':
    case 'notBreaching': {
      const breaching = realBreaching + (treat === 'breaching' ? fills : 0);
      return {
        state: breaching >= m ? 'ALARM' : 'OK',
        reason: `${breaching} out of ${n} were ${threshold}: ${seen}, ${gaps} (minimum ${m} for ALARM)`,
      };
    }
    case 'missing': {
      if (real.length === 0) {
        return { state: 'INSUFFICIENT_DATA', reason: `no datapoints in the last ${cells.length} periods` };
      }
      if (realBreaching >= m)
        return { state: 'ALARM', reason: `${realBreaching} of ${seen} were ${threshold}` };
      if (isPremature(cells.slice(0, n), m)) {
        return {
          state: 'ALARM',
          reason: `the oldest breaching datapoint is at least ${m} periods old and every newer one breaches or is missing: ${seen}`,
        };
      }
      return {
        state: 'OK',
        reason: `${realBreaching} of ${seen} were ${threshold} (minimum ${m} for ALARM)`,
      };
    }
    case 'ignore': {
      if (real.length === 0) {
        return { state: previousState, reason: 'no datapoints; missing data is ignored, state kept' };
      }
      if (realBreaching >= m)
        return { state: 'ALARM', reason: `${realBreaching} of ${seen} were ${threshold}` };
      if (realBreaching + fills < m) {
        return {
          state: 'OK',
          reason: `${realBreaching} of ${seen} were ${threshold}; ${m} cannot be reached with ${fills} missing`,
        };
      }
      return { state: previousState, reason: `undecided with ${seen}, ${gaps}: state kept` };
    }
  }
}

/** AWS's "avoiding premature transitions" rule over the N most recent periods (newest first). */
function isPremature(window: readonly Cell[], m: number): boolean {
  let oldestBreachingAge = -1;
  for (let age = window.length - 1; age >= 0; age--) {
    const cell = window[age]!;
    if (cell.kind === 'data' && cell.breach) {
      oldestBreachingAge = age;
      break;
    }
  }
  if (oldestBreachingAge + 1 < m) return false;
  return window.slice(0, oldestBreachingAge).every((cell) => cell.kind !== 'data' || cell.breach);
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : String(Math.round(value * 1000) / 1000);
}
