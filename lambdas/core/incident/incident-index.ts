/**
 * The incident record: `index.json` next to the report folders, one entry per incident, kept current on
 * every open, update and resolve. This module is the pure part: an entry from a report, inserting or
 * replacing an entry, the person-made activity on a report, and the figures the index page shows (MTTR,
 * counts by cause, recurring groups). Reading and writing it (with conditional writes) is
 * `steps/incident-record.ts`.
 */
import type { IncidentActivity, Report } from '../types.ts';
import { fingerprintOf, type PastIncident } from './recurrence.ts';
import { withResolution } from './resolution.ts';

/** Keys of an incident's files, relative to the index (the reports folder or the bucket prefix). */
export interface IndexReportPaths {
  json: string;
  md: string;
  html: string;
  /** The evidence bundle (`gatewatch replay`), when the diagnosis wrote one. */
  bundle?: string;
}

/** One incident in `index.json` (the contract in README "Incident history"). */
export interface IncidentIndexEntry {
  id: string;
  target: string;
  upstream: string | null;
  rootCause: string;
  confidence: number;
  openedAt: string;
  resolvedAt: string | null;
  durationSeconds: number | null;
  summary: string;
  trigger: string;
  reports: IndexReportPaths;
  recurrence: { fingerprint: string; occurrence: number; earlier: string[] };
  ack: { by: string; at: string } | null;
  notes: { at: string; by: string; text: string }[];
  resolvedBy: string | null;
}

export interface IncidentIndex {
  schemaVersion: 1;
  updatedAt: string;
  /** Newest first (by `openedAt`, then id). */
  incidents: IncidentIndexEntry[];
}

/** `index.json` could not be read as an index. */
export class IncidentIndexFormatError extends Error {
  override name = 'IncidentIndexFormatError';
}

export function emptyIndex(at: string): IncidentIndex {
  return { schemaVersion: 1, updatedAt: at, incidents: [] };
}

/** Parses `index.json`; anything that is not an index (wrong version, no list) is an error, not an empty index. */
export function parseIndex(text: string): IncidentIndex {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new IncidentIndexFormatError(`index.json is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const index = value as Partial<IncidentIndex> | null;
  if (
    index === null ||
    typeof index !== 'object' ||
    index.schemaVersion !== 1 ||
    !Array.isArray(index.incidents)
  )
    throw new IncidentIndexFormatError('index.json is not a gatewatch incident index (schemaVersion 1)');
  return index as IncidentIndex;
}

export function serializeIndex(index: IncidentIndex): string {
  return `${JSON.stringify(index, null, 2)}\n`;
}

export function reportPaths(incidentId: string, bundle: boolean): IndexReportPaths {
  return {
    json: `${incidentId}/report.json`,
    md: `${incidentId}/report.md`,
    html: `${incidentId}/report.html`,
    ...(bundle ? { bundle: `${incidentId}/bundle.json.gz` } : {}),
  };
}

/** The index entry of a report as it stands now. */
export function entryOf(report: Report, options: { bundle?: boolean } = {}): IncidentIndexEntry {
  const activity = report.activity ?? [];
  const ack = activity.find((a) => a.action === 'ack');
  return {
    id: report.incidentId,
    target: report.target,
    upstream: report.verdict.upstream ?? null,
    rootCause: report.verdict.rootCause,
    confidence: report.verdict.confidence,
    openedAt: report.openedAt,
    resolvedAt: report.resolvedAt ?? null,
    durationSeconds: report.durationSeconds ?? null,
    summary: report.verdict.summary,
    trigger: report.trigger.kind,
    reports: reportPaths(report.incidentId, options.bundle ?? false),
    recurrence: {
      fingerprint: report.recurrence?.fingerprint ?? fingerprintOf(report),
      occurrence: report.recurrence?.occurrence ?? 1,
      earlier: (report.recurrence?.earlier ?? []).map((e) => e.incidentId),
    },
    ack: ack ? { by: ack.by, at: ack.at } : null,
    notes: activity
      .filter((a) => a.action === 'note')
      .map((a) => ({ at: a.at, by: a.by, text: a.text ?? '' })),
    resolvedBy: report.resolvedBy ?? null,
  };
}

function newestFirst(a: IncidentIndexEntry, b: IncidentIndexEntry): number {
  if (a.openedAt !== b.openedAt) return a.openedAt < b.openedAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * The index with `entry` in it: an entry with the same id is replaced (its bundle path is kept when the
 * new entry does not know it), otherwise added. Idempotent; the order is always newest first.
 */
export function upsertEntry(index: IncidentIndex, entry: IncidentIndexEntry, at: string): IncidentIndex {
  const previous = index.incidents.find((e) => e.id === entry.id);
  const merged: IncidentIndexEntry =
    previous?.reports.bundle !== undefined && entry.reports.bundle === undefined
      ? { ...entry, reports: { ...entry.reports, bundle: previous.reports.bundle } }
      : entry;
  const incidents = [...index.incidents.filter((e) => e.id !== entry.id), merged].sort(newestFirst);
  return { schemaVersion: 1, updatedAt: at, incidents };
}

/** The index as earlier incidents, for recurrence. */
export function pastIncidents(index: IncidentIndex): PastIncident[] {
  return index.incidents.map((e) => ({
    id: e.id,
    openedAt: e.openedAt,
    fingerprint: e.recurrence.fingerprint,
    report: e.reports.html,
  }));
}

// ---------------------------------------------------------------- what people do

/** An incident id as gatewatch forms them; anything else is refused before it becomes a path. */
export const INCIDENT_ID = /^[a-z0-9][a-z0-9-]{0,62}-\d{8}T\d{6}Z-[0-9a-f]{4,16}$/;

/** `ack`, `note` or `resolve` applied to a report. Resolving a resolved incident keeps its first resolution. */
export function withActivity(report: Report, activity: IncidentActivity): Report {
  const next: Report = { ...report, activity: [...(report.activity ?? []), activity] };
  if (activity.action !== 'resolve' || report.resolvedAt !== undefined) return next;
  return { ...withResolution(next, activity.at, `resolved by ${activity.by}`), resolvedBy: activity.by };
}

// ---------------------------------------------------------------- figures

export interface CauseCount {
  rootCause: string;
  count: number;
}

/** Incidents per root cause, most frequent first. */
export function countsByCause(entries: readonly IncidentIndexEntry[]): CauseCount[] {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.rootCause, (counts.get(e.rootCause) ?? 0) + 1);
  return [...counts]
    .map(([rootCause, count]) => ({ rootCause, count }))
    .sort((a, b) => b.count - a.count || (a.rootCause < b.rootCause ? -1 : 1));
}

/** Mean time to resolve, in whole seconds, over the resolved entries; undefined when none is resolved. */
export function meanTimeToResolve(entries: readonly IncidentIndexEntry[]): number | undefined {
  const durations = entries.flatMap((e) => (e.durationSeconds === null ? [] : [e.durationSeconds]));
  if (durations.length === 0) return undefined;
  return Math.round(durations.reduce((a, b) => a + b, 0) / durations.length);
}

export interface RecurringGroup {
  fingerprint: string;
  target: string;
  rootCause: string;
  upstream: string | null;
  /** Newest first. */
  incidents: IncidentIndexEntry[];
}

/** Fingerprints seen more than once, the most recent group first. */
export function recurringGroups(entries: readonly IncidentIndexEntry[]): RecurringGroup[] {
  const groups = new Map<string, IncidentIndexEntry[]>();
  for (const e of entries) {
    const list = groups.get(e.recurrence.fingerprint) ?? [];
    list.push(e);
    groups.set(e.recurrence.fingerprint, list);
  }
  return [...groups]
    .filter(([, list]) => list.length > 1)
    .map(([fingerprint, list]) => {
      const sorted = [...list].sort(newestFirst);
      const head = sorted[0]!;
      return {
        fingerprint,
        target: head.target,
        rootCause: head.rootCause,
        upstream: head.upstream,
        incidents: sorted,
      };
    })
    .sort((a, b) => newestFirst(a.incidents[0]!, b.incidents[0]!));
}
