import { describe, expect, it } from 'vitest';
import {
  type AlarmDefinition,
  alarmDefinitionsFor,
  heartbeatAlarmDefinition,
} from '../../../lambdas/core/alarm/definitions.ts';
import type { AlarmState } from '../../../lambdas/core/alarm/evaluate.ts';
import {
  type AlarmView,
  emptyBook,
  finishIncident,
  type IncidentBook,
  incidentWindowFrom,
  type LifecycleAction,
  openIncidentOf,
  reconcileIncidents,
  subjectKey,
  updateIncident,
} from '../../../lambdas/core/incident/lifecycle.ts';

const T0 = Date.parse('2026-11-24T06:00:00Z');
const s = (seconds: number) => T0 + seconds * 1000;

const [shopProbe, shopErrorRate] = alarmDefinitionsFor(
  {
    name: 'shop',
    probe: { intervalSeconds: 1 },
    alarm: { failedProbes: { datapoints: 2, evaluationPeriods: 3 }, errorRate: { percent: 5, minutes: 5 } },
  },
  { probeIntervalSeconds: 1 },
) as [AlarmDefinition, AlarmDefinition];
const heartbeat = heartbeatAlarmDefinition({ probeIntervalSeconds: 1 });

function view(definition: AlarmDefinition, state: AlarmState, sinceSeconds = 0): AlarmView {
  return {
    definition,
    status: { state, since: new Date(s(sinceSeconds)).toISOString(), reason: `${definition.id} is ${state}` },
  };
}

/** Runs the reducer over a timeline of `[second, states]` and collects every action. */
function play(
  steps: [number, AlarmView[]][],
  cooldownSeconds = 10,
  book: IncidentBook = emptyBook(),
): { book: IncidentBook; actions: (LifecycleAction & { second: number })[] } {
  const actions: (LifecycleAction & { second: number })[] = [];
  for (const [second, alarms] of steps) {
    const result = reconcileIncidents(book, { nowMs: s(second), alarms, cooldownSeconds });
    book = result.book;
    actions.push(...result.actions.map((action) => ({ ...action, second })));
  }
  return { book, actions };
}

const kinds = (actions: { kind: string; second: number }[]) => actions.map((a) => `${a.second}:${a.kind}`);

describe('incident lifecycle', () => {
  it('opens exactly one incident when a target alarm enters ALARM, naming the alarm in the trigger', () => {
    const { book, actions } = play([
      [1, [view(shopProbe, 'OK')]],
      [5, [view(shopProbe, 'ALARM', 5)]],
    ]);
    expect(kinds(actions)).toEqual(['5:open']);
    const incident = book.active[0]!;
    expect(incident.subject).toEqual({ kind: 'target', name: 'shop' });
    expect(incident.openedAt).toBe('2026-11-24T06:00:05Z');
    expect(incident.trigger.kind).toBe('probe');
    expect(incident.trigger.detail).toContain(
      'alarm shop-probe-failed entered ALARM at 2026-11-24T06:00:05.000Z',
    );
    expect(incident.trigger.detail).toContain('shop-probe-failed is ALARM');
    expect(incident.diagnosis).toBe('pending');
    expect(incident.key).toBe('shop@2026-11-24T06:00:05Z');
  });

  it('does not open a second incident while the same failure continues', () => {
    const failing = [view(shopProbe, 'ALARM', 5)];
    const { book, actions } = play([
      [5, failing],
      [6, failing],
      [30, failing],
      [600, failing],
    ]);
    expect(kinds(actions)).toEqual(['5:open']);
    expect(book.active).toHaveLength(1);
  });

  it('folds a second alarm of the same target into the open incident', () => {
    const { book, actions } = play([
      [5, [view(shopProbe, 'ALARM', 5), view(shopErrorRate, 'OK')]],
      [60, [view(shopProbe, 'ALARM', 5), view(shopErrorRate, 'ALARM', 60)]],
    ]);
    expect(kinds(actions)).toEqual(['5:open']);
    expect(book.active[0]!.alarmIds).toEqual(['shop-probe-failed', 'shop-error-rate']);
  });

  it('records an error-rate alarm as an alarm trigger and a probe alarm as a probe trigger', () => {
    const { book } = play([[5, [view(shopErrorRate, 'ALARM', 5), view(shopProbe, 'OK')]]]);
    expect(book.active[0]!.trigger.kind).toBe('alarm');
  });

  it('resolves when none of the target alarms is in ALARM, with the duration since it opened', () => {
    const { book, actions } = play([
      [5, [view(shopProbe, 'ALARM', 5), view(shopErrorRate, 'OK')]],
      [60, [view(shopProbe, 'OK', 60), view(shopErrorRate, 'ALARM', 60)]],
      [65, [view(shopProbe, 'OK', 60), view(shopErrorRate, 'OK', 65)]],
    ]);
    expect(kinds(actions)).toEqual(['5:open', '65:resolve']);
    const resolved = book.active[0]!;
    expect(resolved.resolvedAt).toBe('2026-11-24T06:01:05Z');
    expect(resolved.durationSeconds).toBe(60);
    expect(book.lastResolvedAt.shop).toBe('2026-11-24T06:01:05Z');
    expect(openIncidentOf(book, resolved.subject)).toBeUndefined();
  });

  it('holds a re-alarm inside the cool-down, announces the hold once, and opens when the cool-down ends', () => {
    const { book, actions } = play(
      [
        [5, [view(shopProbe, 'ALARM', 5)]],
        [10, [view(shopProbe, 'OK', 10)]],
        [12, [view(shopProbe, 'ALARM', 12)]],
        [13, [view(shopProbe, 'ALARM', 12)]],
        [19, [view(shopProbe, 'ALARM', 12)]],
        [20, [view(shopProbe, 'ALARM', 12)]],
        [21, [view(shopProbe, 'ALARM', 12)]],
      ],
      10,
    );
    expect(kinds(actions)).toEqual(['5:open', '10:resolve', '12:hold', '20:open']);
    const hold = actions[2]!;
    expect(hold.kind === 'hold' && hold.until).toBe('2026-11-24T06:00:20Z');
    const second = book.active.at(-1)!;
    expect(second.openedAt).toBe('2026-11-24T06:00:20Z');
    expect(second.trigger.detail).toContain(
      'opened when the 10 s cool-down after the previous incident ended',
    );
  });

  it('opens at most one incident per cool-down for a target that flaps every few seconds', () => {
    const steps: [number, AlarmView[]][] = [];
    for (let second = 0; second < 60; second++) {
      const alarming = Math.floor(second / 3) % 2 === 1; // 3 s ALARM, 3 s OK, …
      steps.push([second, [view(shopProbe, alarming ? 'ALARM' : 'OK', second)]]);
    }
    const { actions } = play(steps, 20);
    const opens = actions.filter((a) => a.kind === 'open').map((a) => a.second);
    expect(opens.length).toBeGreaterThan(1);
    for (let i = 1; i < opens.length; i++) expect(opens[i]! - opens[i - 1]!).toBeGreaterThanOrEqual(20);
    // every open has exactly one resolve after it, except possibly the last
    expect(actions.filter((a) => a.kind === 'resolve').length).toBeGreaterThanOrEqual(opens.length - 1);
  });

  it('does not mark an incident as held when the earlier hold ended without an alarm', () => {
    const { book, actions } = play(
      [
        [5, [view(shopProbe, 'ALARM', 5)]],
        [10, [view(shopProbe, 'OK', 10)]],
        [12, [view(shopProbe, 'ALARM', 12)]],
        [14, [view(shopProbe, 'OK', 14)]],
        [100, [view(shopProbe, 'ALARM', 100)]],
      ],
      10,
    );
    expect(kinds(actions)).toEqual(['5:open', '10:resolve', '12:hold', '100:open']);
    expect(book.active.at(-1)!.trigger.detail).not.toContain('cool-down');
  });

  it('opens a prober incident for the heartbeat alarm, separate from any target named prober', () => {
    const [proberTarget] = alarmDefinitionsFor(
      { name: 'prober', probe: { intervalSeconds: 1 } },
      { probeIntervalSeconds: 1 },
    ) as [AlarmDefinition];
    const { book, actions } = play([[5, [view(heartbeat, 'ALARM', 5), view(proberTarget, 'ALARM', 5)]]]);
    expect(kinds(actions)).toEqual(['5:open', '5:open']);
    const subjects = book.active.map((r) => subjectKey(r.subject)).sort();
    expect(subjects).toEqual(['prober', 'prober:prober']);
    const heartbeatIncident = book.active.find((r) => r.subject.kind === 'prober')!;
    expect(heartbeatIncident.trigger.kind).toBe('alarm');
    expect(heartbeatIncident.alarmIds).toEqual(['prober-heartbeat']);
  });

  it('gives the same book and no action when run again with the same states (a re-delivered change)', () => {
    const alarms = [view(shopProbe, 'ALARM', 5)];
    const first = reconcileIncidents(emptyBook(), { nowMs: s(5), alarms, cooldownSeconds: 10 });
    const again = reconcileIncidents(first.book, { nowMs: s(5), alarms, cooldownSeconds: 10 });
    expect(again.actions).toEqual([]);
    expect(again.book).toEqual(first.book);
  });

  it('starts the evidence window one period before the first failing probe', () => {
    const { book } = reconcileIncidents(emptyBook(), {
      nowMs: s(5) + 300,
      alarms: [view(shopProbe, 'ALARM', 5)],
      cooldownSeconds: 10,
      failingSinceMs: { shop: s(-20) + 400 },
    });
    expect(book.active[0]!.window).toEqual({ from: '2026-11-24T05:59:39Z', to: '2026-11-24T06:00:05Z' });
  });

  it('reaches back over the span the alarm evaluates when the first failure is not known', () => {
    // The error rate is one 60 s period of a share computed over the last 5 minutes: its evidence is those
    // 5 minutes and one period more.
    expect(new Date(incidentWindowFrom(s(300), [shopErrorRate], undefined)).toISOString()).toBe(
      '2026-11-24T05:59:00.000Z',
    );
    expect(new Date(incidentWindowFrom(s(5), [shopProbe], undefined)).toISOString()).toBe(
      '2026-11-24T06:00:01.000Z',
    );
  });

  it('moves a finished incident to the recent list and keeps it out of the active one', () => {
    const { book } = play([
      [5, [view(shopProbe, 'ALARM', 5)]],
      [9, [view(shopProbe, 'OK', 9)]],
    ]);
    const key = book.active[0]!.key;
    const diagnosed = updateIncident(book, key, (r) => ({ ...r, diagnosis: 'done' }));
    expect(diagnosed.active[0]!.diagnosis).toBe('done');
    const finished = finishIncident(diagnosed, key);
    expect(finished.active).toEqual([]);
    expect(finished.recent.map((r) => r.key)).toEqual([key]);
    expect(finishIncident(finished, key)).toBe(finished);
  });
});
