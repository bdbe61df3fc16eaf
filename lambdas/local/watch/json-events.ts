/**
 * `gatewatch watch --json`: one JSON object per line on stdout, for machines (a log shipper, a chat bot, a
 * test). The shape is a contract, documented in the README ("watch --json events"): every object has
 * `v` (this shape's version, 1), `type` and `at` (ISO-8601, seconds); fields are added, never renamed.
 * Internal records are not dumped as they are: each event is mapped to its documented fields here.
 */
import type { IncidentRecord } from '../../core/incident/lifecycle.ts';
import type { ProbeResult } from '../../core/probe/types.ts';
import type { WatchEvent } from './status-view.ts';

/** The version of the event shape; bumped only when a field changes meaning. */
export const WATCH_JSON_VERSION = 1;

/** The JSON object written for an event. */
export type WatchJsonEvent = { v: typeof WATCH_JSON_VERSION; type: string; at: string } & Record<
  string,
  unknown
>;

function probe(result: ProbeResult) {
  return {
    target: result.target,
    ok: result.ok,
    status: result.status ?? null,
    latencyMs: Math.round(result.phases.total * 10) / 10,
    failure:
      result.failure === undefined ? null : { kind: result.failure.kind, message: result.failure.message },
  };
}

/** `report.json`, `report.md` and `report.html` of an incident folder, from the location of its JSON. */
export function reportPaths(location: string): { json: string; md: string; html: string } {
  const base = location.endsWith('report.json') ? location.slice(0, -'report.json'.length) : undefined;
  return base === undefined
    ? { json: location, md: location, html: location }
    : { json: location, md: `${base}report.md`, html: `${base}report.html` };
}

function incident(record: IncidentRecord) {
  const report = record.report;
  return {
    target: record.subject.name,
    subject: record.subject.kind,
    key: record.key,
    incidentId: report?.incidentId ?? null,
    openedAt: record.openedAt,
    trigger: { kind: record.trigger.kind, detail: record.trigger.detail },
    alarmIds: [...record.alarmIds],
    window: { from: record.window.from, to: record.window.to },
    verdict:
      report === undefined
        ? null
        : {
            rootCause: report.rootCause,
            upstream: report.upstream ?? null,
            confidence: report.confidence,
            summary: report.summary,
          },
    diagnosisError: record.diagnosisError ?? null,
    report: report === undefined ? null : reportPaths(report.location),
    resolvedAt: record.resolvedAt ?? null,
    durationSeconds: record.durationSeconds ?? null,
  };
}

/** The documented JSON object for one event (every event type has one). */
export function toJsonEvent(event: WatchEvent): WatchJsonEvent {
  const head = { v: WATCH_JSON_VERSION, type: event.type, at: event.at } as const;
  switch (event.type) {
    case 'started':
      return {
        ...head,
        targets: event.targets,
        intervalSeconds: event.intervalSeconds,
        resumed: event.resumed,
      };
    case 'probe':
    case 'probe-changed':
      return { ...head, ...probe(event.result) };
    case 'alarm':
      return {
        ...head,
        target: event.subject.name,
        subject: event.subject.kind,
        alarmId: event.transition.alarmId,
        from: event.transition.from,
        to: event.transition.to,
        reason: event.transition.reason,
      };
    case 'incident-opened':
    case 'incident-diagnosed':
    case 'incident-resolved':
      return { ...head, incident: incident(event.incident) };
    case 'incident-held':
      return {
        ...head,
        target: event.subject.name,
        subject: event.subject.kind,
        alarmId: event.alarmId,
        until: event.until,
      };
    case 'warning':
      return { ...head, message: event.message };
    case 'stopped':
      return { ...head, open: event.open };
    default:
      // An event type added later still gets its type and time (and nothing unreviewed).
      return head;
  }
}
