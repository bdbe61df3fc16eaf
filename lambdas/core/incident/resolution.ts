/**
 * What an incident's report and notices say as it opens and resolves, outside the diagnosis itself: the
 * resolution fields added to a written report, the report of a prober that stopped reporting (nothing on
 * nginx to diagnose there), and the text of the notices the pipeline sends itself.
 */
import { emptyTraffic } from '../diagnosis/report.ts';
import { formatDuration } from '../report/view.ts';
import type { Report } from '../types.ts';
import type { IncidentRecord } from './lifecycle.ts';

/**
 * The report with `resolvedAt` and `durationSeconds` (whole seconds from `openedAt`) and a timeline entry.
 * Applying it twice with the same time gives the same report.
 */
export function withResolution(report: Report, resolvedAt: string, why: string): Report {
  const durationSeconds = Math.max(
    0,
    Math.round((Date.parse(resolvedAt) - Date.parse(report.openedAt)) / 1000),
  );
  const event = `incident resolved after ${formatDuration(durationSeconds)} (${why})`;
  const timeline = report.timeline.filter((entry) => !entry.event.startsWith('incident resolved'));
  timeline.push({ at: resolvedAt, event });
  timeline.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return { ...report, timeline, resolvedAt, durationSeconds };
}

/** The report of a heartbeat incident: which runs went missing, and what to check on the gatewatch host. */
export function buildProberReport(incident: IncidentRecord, incidentId: string, writtenAt: string): Report {
  return {
    schemaVersion: 1,
    incidentId,
    target: incident.subject.name,
    openedAt: incident.openedAt,
    window: incident.window,
    trigger: incident.trigger,
    verdict: {
      rootCause: 'unknown',
      confidence: 0.5,
      summary:
        'The gatewatch prober stopped reporting: no probe run completed in the periods the heartbeat alarm ' +
        'watches, so failures of the targets would go unnoticed. Nothing is known about nginx from this alarm.',
    },
    findings: [
      {
        category: 'unknown',
        severity: 'critical',
        title: 'No heartbeat from the prober',
        evidence: [
          {
            source: `alarm ${incident.alarmIds.join(', ')}`,
            excerpt: incident.trigger.detail,
            at: incident.openedAt,
          },
        ],
      },
    ],
    checks: [],
    traffic: emptyTraffic(),
    timeline: [
      { at: incident.window.from, event: 'window starts' },
      {
        at: incident.openedAt,
        event: `incident opened (${incident.trigger.kind}: ${incident.trigger.detail.slice(0, 200)})`,
      },
      { at: writtenAt, event: 'report written' },
    ],
    nextSteps: [
      'Check that `gatewatch watch` is running and not stuck: probes hanging past their timeout, a stalled name resolver, a host out of memory or CPU.',
      'Run `gatewatch probe` by hand to see whether the checks themselves complete.',
    ],
    ruledOut: [],
  };
}

const MAX_SUBJECT = 99;

function subjectLine(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  return clean.length > MAX_SUBJECT ? `${clean.slice(0, MAX_SUBJECT - 1)}…` : clean;
}

/** The resolution notice: how long it lasted, what it was, where the report is. */
export function resolutionNotice(incident: IncidentRecord): { subject: string; text: string } {
  const duration = formatDuration(incident.durationSeconds ?? 0);
  const cause = incident.report?.rootCause;
  const id = incident.report?.incidentId ?? incident.key;
  return {
    subject: subjectLine(
      `[gatewatch] ${incident.subject.name}: resolved after ${duration}${cause ? ` (${cause})` : ''}`,
    ),
    text: [
      `${incident.subject.name}: the incident is resolved; its alarms (${incident.alarmIds.join(', ')}) are no longer in ALARM.`,
      '',
      `Opened:   ${incident.openedAt}`,
      `Resolved: ${incident.resolvedAt ?? '?'} (after ${duration})`,
      cause
        ? `Verdict:  ${cause}${incident.report?.upstream ? ` (${incident.report.upstream})` : ''}`
        : 'Verdict:  none (the diagnosis did not complete)',
      incident.report ? `Report:   ${incident.report.location}` : '',
      `Incident ${id}.`,
    ]
      .filter((line) => line !== '')
      .join('\n'),
  };
}

/**
 * The opening notice the pipeline sends itself: for a prober incident, and for a target whose diagnosis
 * failed outright (the workflow's own Notify step did not run).
 */
export function openingNotice(incident: IncidentRecord): { subject: string; text: string } {
  const what =
    incident.subject.kind === 'prober'
      ? 'the gatewatch prober stopped reporting'
      : `diagnosis failed${incident.diagnosisError ? `: ${incident.diagnosisError}` : ''}`;
  return {
    subject: subjectLine(
      `[gatewatch] ${incident.subject.name}: ${incident.subject.kind === 'prober' ? 'heartbeat missing' : 'incident opened, diagnosis failed'}`,
    ),
    text: [
      `${incident.subject.name}: incident opened at ${incident.openedAt}; ${what}.`,
      '',
      `Trigger: ${incident.trigger.kind}: ${incident.trigger.detail}`,
      incident.report ? `Report:  ${incident.report.location}` : '',
      `Incident ${incident.report?.incidentId ?? incident.key}.`,
    ]
      .filter((line) => line !== '')
      .join('\n'),
  };
}
