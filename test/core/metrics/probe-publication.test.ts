import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AlarmDefinition, alarmDefinitionsFor } from '../../../lambdas/core/alarm/definitions.ts';
import { type AlarmState, type Datapoint, evaluateAlarm } from '../../../lambdas/core/alarm/evaluate.ts';
import {
  owedZerosFromHistory,
  publicationTail,
  sparseProbePublication,
} from '../../../lambdas/core/metrics/probe-publication.ts';
import type { ProbeResult } from '../../../lambdas/core/probe/types.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-12-07T04:00:00Z');

/** One minute of a target's prober: a passing run, a failing run, or no run at all (a missed invocation). */
type Minute = 'pass' | 'fail' | 'skip';

function probe(ok: boolean, at: number): ProbeResult {
  return {
    target: 'shop',
    url: 'https://shop.example.com/healthz',
    ok,
    phases: { total: 12 },
    attempts: 1,
    assertions: [],
    at: new Date(at).toISOString(),
  } as ProbeResult;
}

function definitionFor(m: number, n: number): AlarmDefinition {
  return alarmDefinitionsFor(
    {
      name: 'shop',
      probe: { intervalSeconds: 60 },
      alarm: { failedProbes: { datapoints: m, evaluationPeriods: n } },
    },
    { probeIntervalSeconds: 60 },
  )[0]!;
}

/** The alarm's state after each minute when every run is published, and when only the sparse ones are. */
function statesOf(
  minutes: readonly Minute[],
  definition: AlarmDefinition,
  tail: number,
  range: number,
): { dense: AlarmState[]; sparse: AlarmState[] } {
  const dense: Datapoint[] = [];
  const sparse: Datapoint[] = [];
  let owed = new Map<string, number>();
  const states = { dense: [] as AlarmState[], sparse: [] as AlarmState[] };
  let denseState: AlarmState = 'OK';
  let sparseState: AlarmState = 'OK';
  minutes.forEach((minute, i) => {
    const at = T0 + i * MINUTE;
    if (minute !== 'skip') {
      const value = minute === 'fail' ? 1 : 0;
      dense.push({ periodStart: at, value });
      const run = sparseProbePublication([probe(minute === 'pass', at)], owed, () => tail);
      owed = run.owed;
      for (const published of run.published)
        sparse.push({ periodStart: Date.parse(published.at), value: published.ok ? 0 : 1 });
    }
    const now = at + MINUTE;
    denseState = evaluateAlarm(definition, dense, now, denseState, { evaluationRangePeriods: range });
    sparseState = evaluateAlarm(definition, sparse, now, sparseState, { evaluationRangePeriods: range });
    states.dense.push(denseState);
    states.sparse.push(sparseState);
  });
  return states;
}

const scenario = fc.integer({ min: 1, max: 5 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    m: fc.integer({ min: 1, max: n }),
    extraRange: fc.integer({ min: 0, max: 4 }),
    minutes: fc.array(fc.constantFrom<Minute>('pass', 'pass', 'pass', 'fail', 'skip'), {
      minLength: 1,
      maxLength: 60,
    }),
  }),
);

describe('sparse ProbeFailed publication', () => {
  it('gives the alarm the same state, minute by minute, as publishing every run (random runs, M of N, range)', () => {
    fc.assert(
      fc.property(scenario, ({ n, m, extraRange, minutes }) => {
        const definition = definitionFor(m, n);
        const { dense, sparse } = statesOf(minutes, definition, publicationTail(n), n + extraRange);
        expect(sparse).toEqual(dense);
      }),
      { numRuns: 2000 },
    );
  });

  it('holds with the shortest tail the argument needs (N)', () => {
    fc.assert(
      fc.property(scenario, ({ n, m, extraRange, minutes }) => {
        const { dense, sparse } = statesOf(minutes, definitionFor(m, n), n, n + extraRange);
        expect(sparse).toEqual(dense);
      }),
      { numRuns: 1000 },
    );
  });

  it('breaks with a tail of N − 1: a recovered target stays in ALARM', () => {
    // N = 3, M = 1: fail, then three passes. Dense, the last 3 datapoints are 0 0 0 (OK); with two zeros
    // after the failure, the 3 newest real datapoints still include the failure.
    const { dense, sparse } = statesOf(['fail', 'pass', 'pass', 'pass'], definitionFor(1, 3), 2, 5);
    expect(dense.at(-1)).toBe('OK');
    expect(sparse.at(-1)).toBe('ALARM');
    // And the property finds such a case on its own.
    expect(() =>
      fc.assert(
        fc.property(scenario, ({ n, m, extraRange, minutes }) => {
          if (n < 2) return;
          const { dense: d, sparse: s } = statesOf(minutes, definitionFor(m, n), n - 1, n + extraRange);
          expect(s).toEqual(d);
        }),
        { numRuns: 2000, seed: 7 },
      ),
    ).toThrow();
  });

  it('publishes nothing for a target that has not failed, and stops after the tail', () => {
    let owed = new Map<string, number>();
    const published: boolean[] = [];
    for (const ok of [true, true, false, true, true, true, true, true, true, true]) {
      const run = sparseProbePublication([probe(ok, T0)], owed, () => 5);
      owed = run.owed;
      published.push(run.published.length === 1);
    }
    expect(published).toEqual([false, false, true, true, true, true, true, true, false, false]);
    expect(owed.size).toBe(0);
  });

  it('recovers what is owed from the datapoints already published', () => {
    const tail = () => 5;
    expect(
      owedZerosFromHistory(
        [
          { target: 'shop', values: [0, 0, 1, 0, 0] }, // 2 published since the failure: 3 owed
          { target: 'blog', values: [1, 0, 0, 0, 0, 0] }, // tail done
          { target: 'api', values: [0, 1] }, // just failed: the whole tail owed
          { target: 'cdn', values: [] },
        ],
        tail,
      ),
    ).toEqual(
      new Map([
        ['shop', 3],
        ['api', 5],
      ]),
    );
  });
});
