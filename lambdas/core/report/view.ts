/**
 * What both renderers show and in which words: the choices (which evidence is decisive, how severe the
 * verdict looks, how numbers and durations read) live here once, so the Markdown and the HTML page of an
 * incident never disagree.
 */
import { redactText } from '../redact.ts';
import { isRootCause, ROOT_CAUSES } from '../root-causes.ts';
import type { Evidence, Finding, Report, Severity, TrafficMinute, UpstreamTraffic } from '../types.ts';
import { cleanText } from './escape.ts';

/** The banner tone: a finding severity, or `ok` for a healthy verdict. */
export type Tone = Severity | 'ok';

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** How many evidence items the "decisive evidence" section quotes before pointing at the findings. */
export const DECISIVE_EVIDENCE_LIMIT = 3;

/**
 * Evidence excerpts and request samples are quoted from logs and command output, where secrets live; they
 * are redacted when the report is built, and redacted again here (idempotent) so a hand-made or older
 * report cannot put a credential into a page that gets e-mailed. Prose gatewatch wrote itself is not:
 * `redactText` errs towards redacting and would blank words like `passes: …`.
 */
export function evidenceText(value: string): string {
  return redactText(cleanText(value));
}

/** The severity, or `undefined` for a value outside the vocabulary (a report read from disk is untrusted). */
export function severityOf(value: string): Severity | undefined {
  return Object.hasOwn(SEVERITY_RANK, value) ? (value as Severity) : undefined;
}

/** The meaning of a root cause from the shared vocabulary; a value outside it says so. */
export function rootCauseMeaning(rootCause: string): string {
  return isRootCause(rootCause) ? ROOT_CAUSES[rootCause] : 'not a known root cause';
}

function mostSevere(findings: readonly Finding[]): Finding | undefined {
  let best: Finding | undefined;
  for (const finding of findings) {
    const rank = SEVERITY_RANK[severityOf(finding.severity) ?? 'info'];
    if (best === undefined || rank < SEVERITY_RANK[severityOf(best.severity) ?? 'info']) best = finding;
  }
  return best;
}

/**
 * The finding whose evidence carries the verdict: the most severe finding of the verdict's own category
 * that has evidence, else the most severe finding with evidence.
 */
export function decisiveFinding(report: Report): Finding | undefined {
  const withEvidence = report.findings.filter((finding) => finding.evidence.length > 0);
  const ofVerdict = withEvidence.filter((finding) => finding.category === report.verdict.rootCause);
  return mostSevere(ofVerdict.length > 0 ? ofVerdict : withEvidence);
}

/** The first {@link DECISIVE_EVIDENCE_LIMIT} evidence items of the decisive finding, and how many were left. */
export function decisiveEvidence(report: Report): { finding?: Finding; shown: Evidence[]; more: number } {
  const finding = decisiveFinding(report);
  if (finding === undefined) return { shown: [], more: 0 };
  const shown = finding.evidence.slice(0, DECISIVE_EVIDENCE_LIMIT);
  return { finding, shown, more: finding.evidence.length - shown.length };
}

/**
 * How alarming the verdict looks: `ok` when healthy; otherwise the severity of the decisive finding
 * (of the verdict's category first); with no findings, `warning` for `unknown` and `critical` for a named
 * failure.
 */
export function verdictTone(report: Report): Tone {
  if (report.verdict.rootCause === 'healthy') return 'ok';
  const ofVerdict = report.findings.filter((finding) => finding.category === report.verdict.rootCause);
  const finding = mostSevere(ofVerdict.length > 0 ? ofVerdict : report.findings);
  if (finding !== undefined) return severityOf(finding.severity) ?? 'warning';
  return report.verdict.rootCause === 'unknown' ? 'warning' : 'critical';
}

/** `open`, or `resolved` once the incident has `resolvedAt`. */
export function incidentState(report: Report): 'open' | 'resolved' {
  return report.resolvedAt === undefined ? 'open' : 'resolved';
}

let count: Intl.NumberFormat | undefined;

/** `12,345`; a value that is not a finite number (an untrusted report) shows as `?`. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return '?';
  // A whole count (nearly every one) is grouped here: building the Intl formatter takes ~30 ms of a
  // diagnosis's start-up (issue 8, point 9). The output is Intl's, digit for digit (a test compares).
  if (Number.isSafeInteger(value) && value >= 0 && !Object.is(value, -0)) {
    return String(value).replace(/\B(?=(\d{3})+$)/g, ',');
  }
  count ??= new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  return count.format(value);
}

/** `90%`, from a 0..1 confidence. */
export function formatConfidence(confidence: number): string {
  if (!Number.isFinite(confidence)) return '?';
  return `${Math.round(Math.min(1, Math.max(0, confidence)) * 100)}%`;
}

/** `5xx share`: `12.5%` of the requests, `0%` with no requests. */
export function formatShare(part: number, whole: number): string {
  if (!Number.isFinite(part) || !Number.isFinite(whole)) return '?';
  if (whole <= 0) return '0%';
  const percent = (part / whole) * 100;
  return `${percent >= 10 || Number.isInteger(percent) ? Math.round(percent) : percent.toFixed(1)}%`;
}

/** `850 ms`, `1.2 s`, `2 min 5 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatDuration(ms / 1000);
}

/** `45 s`, `21 min`, `1 h 5 min`, `2 d 3 h`: the two largest units, for durations a person reads. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const total = Math.round(seconds);
  const units: [string, number][] = [
    ['d', Math.floor(total / 86_400)],
    ['h', Math.floor((total % 86_400) / 3600)],
    ['min', Math.floor((total % 3600) / 60)],
    ['s', total % 60],
  ];
  const first = units.findIndex(([, amount]) => amount > 0);
  if (first === -1) return '0 s';
  return units
    .slice(first, first + 2)
    .filter(([, amount]) => amount > 0)
    .map(([unit, amount]) => `${amount} ${unit}`)
    .join(' ');
}

/** Status counts in reading order: numeric statuses ascending, anything else after, by name. */
export function statusRows(byStatus: Record<string, number>): [string, number][] {
  return Object.entries(byStatus).sort(([a], [b]) => {
    const na = Number(a);
    const nb = Number(b);
    if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
    if (Number.isFinite(na) !== Number.isFinite(nb)) return Number.isFinite(na) ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/** Upstreams, the most failing first. */
export function upstreamRows(byUpstream: Record<string, UpstreamTraffic>): [string, UpstreamTraffic][] {
  return Object.entries(byUpstream).sort(
    ([a, x], [b, y]) => y.failures - x.failures || y.requests - x.requests || (a < b ? -1 : a > b ? 1 : 0),
  );
}

/** `502: 4, 504: 1` for an upstream's statuses. */
export function statusList(byStatus: Record<string, number>): string {
  return statusRows(byStatus)
    .map(([status, count]) => `${status}: ${formatCount(count)}`)
    .join(', ');
}

/** The minute with the most 5xx answers (the earliest on a tie), when any minute had one. */
export function peak5xxMinute(perMinute: readonly TrafficMinute[]): TrafficMinute | undefined {
  let peak: TrafficMinute | undefined;
  for (const minute of perMinute) {
    if (minute.status5xx > 0 && (peak === undefined || minute.status5xx > peak.status5xx)) peak = minute;
  }
  return peak;
}

/** The incident's state in one line: `open since …`, `resolved at … after …`, or a healthy diagnosis. */
export function stateLine(report: Report): string {
  if (report.resolvedAt === undefined) {
    return report.verdict.rootCause === 'healthy'
      ? `no failure found, diagnosed ${report.openedAt}`
      : `open since ${report.openedAt}`;
  }
  const after =
    report.durationSeconds === undefined ? '' : ` after ${formatDuration(report.durationSeconds)}`;
  return `resolved at ${report.resolvedAt}${after}`;
}

/** A piece of prose gatewatch wrote: plain text, or an inline code span (between backticks). */
export interface ProseSegment {
  code: boolean;
  text: string;
}

/**
 * Prose split at backtick pairs (`run \`nginx -t\``), so both renderers show code spans as code rather than
 * literal backticks. An unpaired backtick stays text.
 */
export function proseSegments(text: string): ProseSegment[] {
  const segments: ProseSegment[] = [];
  const pattern = /`([^`\n]+)`/g;
  let last = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    if (match.index > last) segments.push({ code: false, text: text.slice(last, match.index) });
    segments.push({ code: true, text: match[1]! });
    last = match.index + match[0].length;
  }
  if (last < text.length) segments.push({ code: false, text: text.slice(last) });
  return segments;
}

/**
 * `text` cut to at most `max` characters at a word boundary, with `…` when cut (never mid-word unless one
 * word alone is longer than `max`). `cut` says whether anything was dropped, so the full text can be offered.
 */
export function clipWords(text: string, max: number): { text: string; cut: boolean } {
  const points = Array.from(text);
  if (points.length <= max) return { text, cut: false };
  const head = points.slice(0, max - 1).join('');
  const boundary = head.search(/\s\S*$/);
  const clipped = boundary > max / 2 ? head.slice(0, boundary) : head;
  return { text: `${clipped.replace(/[\s,;:.–—-]+$/, '')}…`, cut: true };
}

/** How long the banner's trigger text is before it is clipped (the full text stays one click away). */
export const TRIGGER_PREVIEW_CHARACTERS = 160;
