/**
 * "This happened before": an incident's fingerprint is its target, upstream, root cause and decisive
 * message with everything that changes from one occurrence to the next taken out (times, numbers, ids,
 * the request that happened to fail). Two incidents with the same fingerprint are the same problem coming
 * back; the report says which occurrence this is and links the earlier ones.
 */
import type { Recurrence, Report } from '../types.ts';

/** How far back a report looks for earlier occurrences. */
export const RECURRENCE_WINDOW_DAYS = 7;
/** Earlier occurrences a report links, newest first. */
export const RECURRENCE_LINKS = 10;

/**
 * The decisive message of a report without what varies between occurrences: nginx's time/pid/connection
 * prefix and its `, client: …, request: …` context, ISO and nginx timestamps, UUIDs and long hex ids, and
 * every run of digits (errno numbers, ports inside the message, sizes).
 */
export function normalizeDecisiveMessage(line: string): string {
  return line
    .replace(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} \[[a-z]+\] \d+#\d+: (\*\d+ )?/, '')
    .replace(/, (client|server|request|subrequest|upstream|host|referrer): .*$/s, '')
    .replace(/\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?/g, '<time>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
    .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b/gi, '<id>')
    .replace(/\d+/g, '#')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

/** The first line of the decisive evidence, or the verdict's summary when there is no evidence. */
export function decisiveMessage(report: Report): string {
  const excerpt = report.findings[0]?.evidence[0]?.excerpt;
  return (excerpt ?? report.verdict.summary).split('\n')[0] ?? '';
}

/** A stable, short fingerprint: 16 hex digits of two FNV-1a hashes over the identifying fields. */
export function fingerprintOf(report: Report): string {
  const parts = [
    report.target,
    report.verdict.upstream ?? '',
    report.verdict.rootCause,
    normalizeDecisiveMessage(decisiveMessage(report)),
  ].join('\u0000');
  return fnv1a(parts, 0x811c9dc5) + fnv1a(parts, 0x01000193 ^ 0x9e3779b9);
}

function fnv1a(text: string, seed: number): string {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** What recurrence needs to know about an earlier incident. */
export interface PastIncident {
  id: string;
  openedAt: string;
  fingerprint: string;
  /** Its report.html, relative to the reports folder or bucket prefix. */
  report: string;
}

/**
 * This incident's place in its series: earlier incidents with the same fingerprint opened in the
 * `windowDays` before it (not after: a report never changes its occurrence because of later ones).
 */
export function recurrenceOf(
  incident: { id: string; openedAt: string; fingerprint: string },
  past: readonly PastIncident[],
  windowDays = RECURRENCE_WINDOW_DAYS,
): Recurrence {
  const opened = Date.parse(incident.openedAt);
  const from = opened - windowDays * 86_400_000;
  const earlier = past
    .filter((p) => p.id !== incident.id && p.fingerprint === incident.fingerprint)
    .filter((p) => {
      const at = Date.parse(p.openedAt);
      return at >= from && (at < opened || (at === opened && p.id < incident.id));
    })
    .sort((a, b) => (a.openedAt === b.openedAt ? (a.id < b.id ? 1 : -1) : a.openedAt < b.openedAt ? 1 : -1));
  return {
    fingerprint: incident.fingerprint,
    occurrence: earlier.length + 1,
    windowDays,
    earlier: earlier
      .slice(0, RECURRENCE_LINKS)
      .map((p) => ({ incidentId: p.id, openedAt: p.openedAt, report: p.report })),
  };
}

/** `1st`, `2nd`, `3rd`, `11th`, `23rd`. */
export function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

/** "3rd time in 7 days", or undefined for a first occurrence. */
export function recurrenceLine(recurrence: Recurrence | undefined): string | undefined {
  if (recurrence === undefined || recurrence.occurrence < 2) return undefined;
  return `${ordinal(recurrence.occurrence)} time in ${recurrence.windowDays} days`;
}
