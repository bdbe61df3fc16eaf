/**
 * Assembles the incident report (the contract in DESIGN.md) from the workflow input and the
 * classification. Rendering to Markdown/HTML is `core/report`'s job; this only builds the JSON.
 */
import { redactText } from '../redact.ts';
import type { Report, TrafficSummary, TriggerKind } from '../types.ts';
import type { Classification } from './classify.ts';
import type { DiagnosisEvidence } from './evidence.ts';

export interface ReportFrame {
  incidentId: string;
  target: string;
  openedAt: string;
  window: { from: string; to: string };
  trigger: { kind: TriggerKind; detail: string };
}

export function emptyTraffic(): TrafficSummary {
  return {
    requests: 0,
    status5xx: 0,
    byStatus: {},
    byUpstream: {},
    format: 'unknown',
    malformed: 0,
    perMinute: [],
    samples: [],
  };
}

/** The fields every report starts with, from the workflow's input; the trigger text is redacted. */
function reportHeader(
  frame: ReportFrame,
): Pick<Report, 'schemaVersion' | 'incidentId' | 'target' | 'openedAt' | 'window' | 'trigger'> {
  return {
    schemaVersion: 1,
    incidentId: frame.incidentId,
    target: frame.target,
    openedAt: frame.openedAt,
    window: frame.window,
    trigger: { kind: frame.trigger.kind, detail: redactText(frame.trigger.detail) },
  };
}

/** The report of a completed diagnosis. */
export function buildReport(
  frame: ReportFrame,
  classification: Classification,
  evidence: DiagnosisEvidence,
  writtenAt: string,
): Report {
  return {
    ...reportHeader(frame),
    verdict: classification.verdict,
    findings: classification.findings,
    checks: classification.checks,
    traffic: evidence.traffic ?? emptyTraffic(),
    timeline: timeline(frame, evidence, writtenAt),
    nextSteps: classification.nextSteps,
    ruledOut: classification.ruledOut,
  };
}

/** The report written when the diagnosis itself failed: what is known, and what failed. */
export function buildDegradedReport(
  frame: ReportFrame,
  failures: { step: string; error: string; cause?: string }[],
  writtenAt: string,
): Report {
  return {
    ...reportHeader(frame),
    verdict: {
      rootCause: 'unknown',
      confidence: 0,
      summary: `The diagnosis could not complete (${failures.map((f) => `${f.step}: ${f.error}`).join('; ')}). This report holds what is known; check the target by hand.`,
    },
    findings: failures.map((failure) => ({
      category: 'unknown' as const,
      severity: 'warning' as const,
      title: `Step ${failure.step} failed: ${failure.error}`,
      evidence: failure.cause
        ? [{ source: failure.step, excerpt: redactText(failure.cause.slice(0, 4000)) }]
        : [],
    })),
    checks: [],
    traffic: emptyTraffic(),
    timeline: [
      { at: frame.openedAt, event: `incident opened (${frame.trigger.kind})` },
      { at: writtenAt, event: 'degraded report written' },
    ],
    nextSteps: [
      'Run `gatewatch diagnose --target ' +
        frame.target +
        '` on the nginx host, or follow the checklist by hand.',
    ],
    ruledOut: [],
  };
}

function timeline(frame: ReportFrame, evidence: DiagnosisEvidence, writtenAt: string): Report['timeline'] {
  const events: Report['timeline'] = [{ at: frame.window.from, event: 'diagnosis window starts' }];
  const groups = evidence.errorLog?.groups ?? [];
  const first = groups.reduce<string | undefined>(
    (min, g) => (min === undefined || g.firstAt < min ? g.firstAt : min),
    undefined,
  );
  const last = groups.reduce<string | undefined>(
    (max, g) => (max === undefined || g.lastAt > max ? g.lastAt : max),
    undefined,
  );
  if (first) events.push({ at: first, event: 'first upstream failure in the nginx error log' });
  for (const group of groups.slice(0, 5)) {
    events.push({
      at: group.lastAt,
      event: `last "${group.kind}" for ${group.peer ?? 'an upstream'} (${group.count}× in total)`,
    });
  }
  if (last && last !== first)
    events.push({ at: last, event: 'last upstream failure in the nginx error log' });
  events.push({
    at: frame.openedAt,
    event: `incident opened (${frame.trigger.kind}: ${redactText(frame.trigger.detail).slice(0, 200)})`,
  });
  for (const host of evidence.hosts) {
    events.push({ at: writtenAt, event: `diagnostics on ${host.host}: ${host.status}` });
  }
  events.push({ at: writtenAt, event: 'report written' });
  return events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}
