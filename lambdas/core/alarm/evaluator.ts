/**
 * The local stand-in for CloudWatch alarms: keeps the samples each alarm needs and the state of every
 * alarm, evaluates them all on demand with `explainAlarm`, and reports state changes. Pure and
 * synchronous: the caller owns the clock and the loop.
 */
import type { AlarmDefinition, AlarmMetricName } from './definitions.ts';
import { type AlarmState, type Datapoint, explainAlarm } from './evaluate.ts';

/** One sample of a metric, as the prober or the log watcher publishes it. */
export interface MetricSample {
  name: AlarmMetricName;
  dimensions: Record<string, string>;
  value: number;
  atMs: number;
}

/** A state change, in the spirit of CloudWatch's "Alarm State Change" event. */
export interface AlarmTransition {
  alarmId: string;
  from: AlarmState;
  to: AlarmState;
  /** ISO-8601 time of the evaluation that changed the state. */
  at: string;
  reason: string;
}

/** An alarm's current state, JSON-safe for persistence across restarts. */
export interface AlarmStatus {
  state: AlarmState;
  /** ISO-8601 time the alarm entered this state. */
  since: string;
  reason: string;
}

export interface AlarmEvaluatorOptions {
  /**
   * When evaluation started (epoch ms): earlier periods are unknown rather than missing, so a fresh start
   * or a restart decides only what its own data supports.
   */
  startedAtMs?: number;
  /** Passed to `explainAlarm`. @default evaluationPeriods + 2 */
  evaluationRangePeriods?: number;
  /** States from a previous run (`snapshot()`), keyed by alarm id; others start in INSUFFICIENT_DATA. */
  initialStates?: Record<string, AlarmStatus>;
}

/** Thrown when two definitions share an id: transitions could not say which alarm changed. */
export class DuplicateAlarmError extends Error {
  override name = 'DuplicateAlarmError';
}

function metricKey(name: string, dimensions: Record<string, string>): string {
  const sorted = Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([name, sorted]);
}

export class AlarmEvaluator {
  readonly #definitions: readonly AlarmDefinition[];
  readonly #options: AlarmEvaluatorOptions;
  readonly #samples = new Map<string, Datapoint[]>();
  readonly #states = new Map<string, AlarmStatus>();
  /** How far back each metric's samples are still needed, in ms. */
  readonly #retentionMs = new Map<string, number>();

  constructor(definitions: readonly AlarmDefinition[], options: AlarmEvaluatorOptions = {}) {
    const ids = new Set<string>();
    for (const definition of definitions) {
      if (ids.has(definition.id))
        throw new DuplicateAlarmError(`two alarm definitions have the id ${definition.id}`);
      ids.add(definition.id);
      const key = metricKey(definition.metric.name, definition.metric.dimensions);
      const range = Math.max(
        definition.evaluationPeriods,
        options.evaluationRangePeriods ?? definition.evaluationPeriods + 2,
      );
      // One period more than the range: the newest period evaluated ends one period before now.
      const needed = (range + 1) * definition.periodSeconds * 1000;
      this.#retentionMs.set(key, Math.max(this.#retentionMs.get(key) ?? 0, needed));
      const initial = options.initialStates?.[definition.id];
      this.#states.set(
        definition.id,
        initial ?? {
          state: 'INSUFFICIENT_DATA',
          since: new Date(options.startedAtMs ?? 0).toISOString(),
          reason: 'not evaluated yet',
        },
      );
    }
    this.#definitions = definitions;
    this.#options = options;
  }

  /** Records a sample; samples of metrics no alarm watches are dropped. */
  putMetric(sample: MetricSample): void {
    const key = metricKey(sample.name, sample.dimensions);
    if (!this.#retentionMs.has(key)) return;
    const list = this.#samples.get(key);
    const point = { periodStart: sample.atMs, value: sample.value };
    if (list) list.push(point);
    else this.#samples.set(key, [point]);
  }

  /** Evaluates every alarm at `nowMs` and returns the transitions, in definition order. */
  evaluate(nowMs: number): AlarmTransition[] {
    this.#prune(nowMs);
    const transitions: AlarmTransition[] = [];
    const at = new Date(nowMs).toISOString();
    for (const definition of this.#definitions) {
      const current = this.#states.get(definition.id)!;
      const samples =
        this.#samples.get(metricKey(definition.metric.name, definition.metric.dimensions)) ?? [];
      const result = explainAlarm(definition, samples, nowMs, current.state, {
        ...(this.#options.evaluationRangePeriods === undefined
          ? {}
          : { evaluationRangePeriods: this.#options.evaluationRangePeriods }),
        ...(this.#options.startedAtMs === undefined ? {} : { notBeforeMs: this.#options.startedAtMs }),
      });
      if (result.state !== current.state) {
        transitions.push({
          alarmId: definition.id,
          from: current.state,
          to: result.state,
          at,
          reason: result.reason,
        });
        this.#states.set(definition.id, { state: result.state, since: at, reason: result.reason });
      }
    }
    return transitions;
  }

  /** The current state of one alarm; throws for an unknown id. */
  state(alarmId: string): AlarmState {
    const status = this.#states.get(alarmId);
    if (!status) throw new RangeError(`no alarm with id ${alarmId}`);
    return status.state;
  }

  /** Every alarm's status, to persist and pass back as `initialStates` after a restart. */
  snapshot(): Record<string, AlarmStatus> {
    return Object.fromEntries([...this.#states].map(([id, status]) => [id, { ...status }]));
  }

  #prune(nowMs: number): void {
    for (const [key, list] of this.#samples) {
      const cutoff = nowMs - (this.#retentionMs.get(key) ?? 0);
      let drop = 0;
      while (drop < list.length && list[drop]!.periodStart < cutoff) drop++;
      // Samples arrive roughly in time order; an out-of-order old one only survives until the next prune.
      if (drop > 0) list.splice(0, drop);
    }
  }
}
