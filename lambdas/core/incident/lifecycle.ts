/**
 * The incident lifecycle of the local pipeline, as a pure reducer over alarm states.
 *
 * - One subject (a target, or the prober itself for the heartbeat alarm) has at most one unresolved
 *   incident. It opens when any of the subject's alarms is in ALARM and none is open: the same failure
 *   continuing, or a second alarm of the same target joining in, never opens a second one.
 * - It resolves when none of the subject's alarms is in ALARM any more (OK, or INSUFFICIENT_DATA for an
 *   alarm that was removed from the configuration).
 * - Flapping: after a resolution, no new incident of the same subject opens for `cooldownSeconds`. An
 *   alarm that is (still or again) in ALARM when the cool-down ends opens one then, so a real failure is
 *   delayed by at most the cool-down and never dropped; a target flapping every few seconds produces at
 *   most one incident per cool-down.
 *
 * The reducer is level-based (it compares alarm states with open incidents, not transitions), so running
 * it twice, after a restart, or with a re-delivered state change gives the same book and no duplicate.
 */
import type { AlarmDefinition, AlarmMetricName } from '../alarm/definitions.ts';
import type { AlarmStatus } from '../alarm/evaluator.ts';
import { isoSeconds } from '../diagnosis/incident-id.ts';
import type { NotificationRecord, TriggerKind } from '../types.ts';

/** Who an incident is about: a configured target, or the prober that stopped reporting. */
export interface IncidentSubject {
  kind: 'target' | 'prober';
  /** The target name, or `prober`. */
  name: string;
}

/** What the report of a diagnosed incident said, for the status view and the notices. */
export interface IncidentReportRef {
  incidentId: string;
  /** report.json, where a person can open it. */
  location: string;
  rootCause: string;
  upstream?: string;
  confidence: number;
  summary: string;
  /** The opening notification's outcomes, per channel. */
  notifications?: NotificationRecord[];
}

/** One incident, JSON-safe: it is persisted across restarts as it is. */
export interface IncidentRecord {
  /** Stable before the incident id exists: `<subject key>@<openedAt>`. */
  key: string;
  subject: IncidentSubject;
  openedAt: string;
  /** The subject's alarms seen in ALARM during the incident, first the one that opened it. */
  alarmIds: string[];
  trigger: { kind: TriggerKind; detail: string };
  /** The evidence window handed to the diagnosis. */
  window: { from: string; to: string };
  /** `pending` until the report is written; `failed` when not even a degraded report could be. */
  diagnosis: 'pending' | 'done' | 'failed';
  report?: IncidentReportRef;
  diagnosisError?: string;
  resolvedAt?: string;
  durationSeconds?: number;
  /** Every notification's outcome per channel (open and resolve): a failed send is visible in the state. */
  notifications?: NotificationRecord[];
}

/** Every incident the pipeline still has work for, plus what the cool-down and the status view need. */
export interface IncidentBook {
  /** Open incidents, and resolved ones whose report and notice are not yet done. */
  active: IncidentRecord[];
  /** Finished incidents, newest last (at most {@link RECENT_LIMIT}). */
  recent: IncidentRecord[];
  /** Per subject key: when its last incident resolved (ISO-8601), for the cool-down. */
  lastResolvedAt: Record<string, string>;
  /** Per subject key: the end of the cool-down already announced, so a hold is announced once. */
  heldUntil: Record<string, string>;
}

/** How many finished incidents the book keeps for the status view. */
export const RECENT_LIMIT = 20;

/** The subject name of heartbeat incidents. */
export const PROBER_SUBJECT_NAME = 'prober';

/** A book with no incident: a first start. */
export function emptyBook(): IncidentBook {
  return { active: [], recent: [], lastResolvedAt: {}, heldUntil: {} };
}

/** One alarm as the reducer sees it: its definition and current state. */
export interface AlarmView {
  definition: AlarmDefinition;
  status: AlarmStatus;
}

/** What {@link reconcileIncidents} decides from. */
export interface ReconcileInput {
  nowMs: number;
  alarms: readonly AlarmView[];
  /** No new incident of a subject within this many seconds after its last one resolved. */
  cooldownSeconds: number;
  /** Per target: when its current run of failing probes began (epoch ms), to start the evidence window there. */
  failingSinceMs?: Readonly<Record<string, number>>;
}

/** What the caller must do after a reconcile: diagnose, finish, or announce a hold. */
export type LifecycleAction =
  | { kind: 'open'; incident: IncidentRecord }
  | { kind: 'resolve'; incident: IncidentRecord }
  /** A subject alarms inside its cool-down: the incident waits until `until`. */
  | { kind: 'hold'; subject: IncidentSubject; alarmId: string; until: string };

/** The subject an alarm opens incidents for. */
export function subjectOf(definition: AlarmDefinition): IncidentSubject {
  return definition.target === undefined
    ? { kind: 'prober', name: PROBER_SUBJECT_NAME }
    : { kind: 'target', name: definition.target };
}

/** `shop`, or `prober:gatewatch`: target names cannot contain a colon, so the two never collide. */
export function subjectKey(subject: IncidentSubject): string {
  return subject.kind === 'target' ? subject.name : `prober:${subject.name}`;
}

/** The trigger kind the report records: `probe` when synthetic checks caught it, `alarm` otherwise. */
export function triggerKindFor(metric: AlarmMetricName): TriggerKind {
  return metric === 'ProbeFailed' ? 'probe' : 'alarm';
}

/**
 * Where the evidence window starts: one period before the first failing probe of the current run (when
 * known), and never later than the span the opening alarms evaluate over plus one period of lead-up.
 * Whole seconds, as nginx's error log has no finer resolution.
 */
export function incidentWindowFrom(
  openedAtMs: number,
  alarms: readonly AlarmDefinition[],
  failingSinceMs: number | undefined,
): number {
  let from = openedAtMs;
  for (const definition of alarms) {
    const period = definition.periodSeconds * 1000;
    from = Math.min(from, openedAtMs - (definition.evaluationPeriods + 1) * period);
    // A share computed over a window (the error rate) rests on every request of that window.
    if (definition.window !== undefined) {
      from = Math.min(from, openedAtMs - definition.window.minutes * 60_000 - period);
    }
    if (failingSinceMs !== undefined && definition.metric.name === 'ProbeFailed') {
      from = Math.min(from, failingSinceMs - period);
    }
  }
  return Math.floor(from / 1000) * 1000;
}

/** Applies the alarm states to the book: opens, resolves and holds incidents (see the module comment). */
export function reconcileIncidents(
  book: IncidentBook,
  input: ReconcileInput,
): { book: IncidentBook; actions: LifecycleAction[] } {
  const now = isoSeconds(new Date(input.nowMs));
  const actions: LifecycleAction[] = [];
  const alarming = new Map<string, AlarmView[]>();
  for (const alarm of input.alarms) {
    if (alarm.status.state !== 'ALARM') continue;
    const key = subjectKey(subjectOf(alarm.definition));
    const list = alarming.get(key);
    if (list) list.push(alarm);
    else alarming.set(key, [alarm]);
  }
  const lastResolvedAt = { ...book.lastResolvedAt };
  const heldUntil = { ...book.heldUntil };

  const active = book.active.map((record) => {
    if (record.resolvedAt !== undefined) return record;
    const views = alarming.get(subjectKey(record.subject));
    if (views === undefined) {
      const resolved: IncidentRecord = {
        ...record,
        resolvedAt: now,
        durationSeconds: Math.max(0, Math.round((Date.parse(now) - Date.parse(record.openedAt)) / 1000)),
      };
      lastResolvedAt[subjectKey(record.subject)] = now;
      actions.push({ kind: 'resolve', incident: resolved });
      return resolved;
    }
    const joined = views.map((view) => view.definition.id).filter((id) => !record.alarmIds.includes(id));
    return joined.length === 0 ? record : { ...record, alarmIds: [...record.alarmIds, ...joined] };
  });

  // A hold ends with the alarm: a later alarm is a new story, announced (and explained) afresh.
  for (const key of Object.keys(heldUntil)) if (!alarming.has(key)) delete heldUntil[key];

  for (const [key, views] of alarming) {
    if (active.some((record) => record.resolvedAt === undefined && subjectKey(record.subject) === key)) {
      continue;
    }
    // The alarm that has been in ALARM longest opened the episode.
    const ordered = [...views].sort((a, b) => a.status.since.localeCompare(b.status.since));
    const first = ordered[0]!;
    const subject = subjectOf(first.definition);
    const resolvedAt = lastResolvedAt[key];
    if (resolvedAt !== undefined) {
      const cooldownEndMs = Date.parse(resolvedAt) + input.cooldownSeconds * 1000;
      if (input.nowMs < cooldownEndMs) {
        const until = isoSeconds(new Date(cooldownEndMs));
        if (heldUntil[key] !== until) {
          heldUntil[key] = until;
          actions.push({ kind: 'hold', subject, alarmId: first.definition.id, until });
        }
        continue;
      }
    }
    const failingSince = subject.kind === 'target' ? input.failingSinceMs?.[subject.name] : undefined;
    const from = incidentWindowFrom(
      input.nowMs,
      ordered.map((view) => view.definition),
      failingSince,
    );
    // Held by the cool-down of the latest resolution (an older hold's entry does not count).
    const held =
      resolvedAt !== undefined &&
      heldUntil[key] === isoSeconds(new Date(Date.parse(resolvedAt) + input.cooldownSeconds * 1000));
    const detail =
      `alarm ${first.definition.id} entered ALARM at ${first.status.since}: ${first.status.reason}` +
      (held
        ? ` (opened when the ${input.cooldownSeconds} s cool-down after the previous incident ended)`
        : '');
    const incident: IncidentRecord = {
      key: `${key}@${now}`,
      subject,
      openedAt: now,
      alarmIds: ordered.map((view) => view.definition.id),
      trigger: { kind: triggerKindFor(first.definition.metric.name), detail: detail.slice(0, 2000) },
      window: { from: isoSeconds(new Date(from)), to: now },
      diagnosis: 'pending',
    };
    delete heldUntil[key];
    active.push(incident);
    actions.push({ kind: 'open', incident });
  }
  return { book: { ...book, active, lastResolvedAt, heldUntil }, actions };
}

/** Replaces the active incident with `key` (no-op when it is no longer active). */
export function updateIncident(
  book: IncidentBook,
  key: string,
  change: (record: IncidentRecord) => IncidentRecord,
): IncidentBook {
  return {
    ...book,
    active: book.active.map((record) => (record.key === key ? change(record) : record)),
  };
}

/** Moves a resolved incident whose report and notice are done to `recent`. */
export function finishIncident(book: IncidentBook, key: string): IncidentBook {
  const record = book.active.find((r) => r.key === key);
  if (record === undefined) return book;
  return {
    ...book,
    active: book.active.filter((r) => r.key !== key),
    recent: [...book.recent, record].slice(-RECENT_LIMIT),
  };
}

/** The active incident of a subject that is not resolved yet, if any. */
export function openIncidentOf(book: IncidentBook, subject: IncidentSubject): IncidentRecord | undefined {
  const key = subjectKey(subject);
  return book.active.find((r) => r.resolvedAt === undefined && subjectKey(r.subject) === key);
}
