/**
 * What a notification says, whichever channel carries it. The message of an incident (host, verdict,
 * decisive line, next steps, link to the report) is built once from the report, then rendered for each
 * channel here — mail text and HTML, Slack, a generic webhook, PagerDuty Events v2 — so the channels never
 * disagree. The adapters only deliver (and sign) what these functions return.
 *
 * Subjects: SNS rejects a subject with a line break or a control character, or of 100 characters or more;
 * mail headers must not carry raw line breaks either. One rule for both, so the same text fits everywhere.
 */
import { html, type SafeHtml } from './report/escape.ts';
import { proseHtml } from './report/render-html.ts';
import { decisiveEvidence, evidenceText, formatConfidence, formatDuration } from './report/view.ts';
import type { NotificationRecord, Report } from './types.ts';

/** Subjects stay shorter than 100 characters (SNS's limit). */
export const MAX_SUBJECT_CHARACTERS = 99;
const FALLBACK_SUBJECT = 'gatewatch notification';

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Control characters become spaces, runs of spaces collapse, and the text is cut (at a code point, never
 * inside a surrogate pair; ASCII `...` as the marker) to fewer than 100 characters.
 */
export function sanitizeSubject(subject: string): string {
  const clean = subject.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  const codePoints = Array.from(clean);
  if (codePoints.length === 0) return FALLBACK_SUBJECT;
  if (codePoints.length <= MAX_SUBJECT_CHARACTERS && clean.length <= MAX_SUBJECT_CHARACTERS) return clean;
  // `length` counts UTF-16 units; keep both counts under the limit whatever the channel counts.
  let cut = '';
  for (const point of codePoints) {
    if (cut.length + point.length > MAX_SUBJECT_CHARACTERS - 3) break;
    cut += point;
  }
  return `${cut.trimEnd()}...`;
}

/** `[gatewatch] shop: upstream-down 127.0.0.1:3000`, made safe for any channel. */
export function incidentSubject(target: string, rootCause: string, upstream: string | undefined): string {
  return sanitizeSubject(`[gatewatch] ${target}: ${rootCause}${upstream ? ` ${upstream}` : ''}`);
}

/** The moment of an incident a notification is about. */
export type NotificationEvent = 'open' | 'resolve';

/** Everything a channel may show about an incident: plain JSON, built by {@link incidentMessage}. */
export interface IncidentMessage {
  event: NotificationEvent;
  incidentId: string;
  target: string;
  /** Where nginx runs: the gatewatch host's name locally, the EC2 instance id in AWS. */
  host: string;
  rootCause: string;
  upstream?: string;
  confidence: number;
  summary: string;
  /** The decisive evidence line (redacted), when there is one. */
  decisive?: string;
  decisiveSource?: string;
  nextSteps: string[];
  /** Where a person opens the HTML report: a file:// URL locally, a console or presigned link in AWS. */
  link?: string;
  openedAt: string;
  resolvedAt?: string;
  durationSeconds?: number;
  trigger: { kind: string; detail: string };
  /** The diagnosis did not complete; the report says what failed. */
  degraded?: boolean;
  /** What the incident is, when the verdict does not say it (`heartbeat missing` for the prober). */
  label?: string;
  /** The remediation stage's outcome: the exact action and the command that approves it, or the escalation. */
  remediation?: {
    status: string;
    reason: string;
    escalated: boolean;
    command?: string | undefined;
    approveCommand?: string | undefined;
  };
}

/** The most next steps a notification lists; the report has all of them. */
export const NOTIFICATION_STEPS = 5;
const DECISIVE_CHARACTERS = 1000;

/** The message of a report at `event`; `host` and `link` come from the runtime (core knows neither). */
export function incidentMessage(
  report: Report,
  event: NotificationEvent,
  where: {
    host: string;
    link?: string;
    degraded?: boolean;
    label?: string;
    remediation?: IncidentMessage['remediation'];
  },
): IncidentMessage {
  const decisive = decisiveEvidence(report).shown[0];
  const message: IncidentMessage = {
    event,
    incidentId: report.incidentId,
    target: report.target,
    host: where.host,
    rootCause: report.verdict.rootCause,
    confidence: report.verdict.confidence,
    summary: report.verdict.summary,
    nextSteps: report.nextSteps.slice(0, NOTIFICATION_STEPS),
    openedAt: report.openedAt,
    trigger: { kind: report.trigger.kind, detail: report.trigger.detail.slice(0, 500) },
  };
  if (report.verdict.upstream !== undefined) message.upstream = report.verdict.upstream;
  if (decisive !== undefined) {
    message.decisive = evidenceText(decisive.excerpt.split('\n')[0] ?? '').slice(0, DECISIVE_CHARACTERS);
    message.decisiveSource = decisive.source;
  }
  if (where.link !== undefined) message.link = where.link;
  if (where.degraded) message.degraded = true;
  if (where.label !== undefined) message.label = where.label;
  if (where.remediation !== undefined && event === 'open') message.remediation = where.remediation;
  if (event === 'resolve' && report.resolvedAt !== undefined) {
    message.resolvedAt = report.resolvedAt;
    if (report.durationSeconds !== undefined) message.durationSeconds = report.durationSeconds;
  }
  return message;
}

/** The subject line of a message; a resolution replies to the opening one (`Re:`), so clients thread it. */
function what(message: IncidentMessage): string {
  return message.label ?? `${message.rootCause}${message.upstream ? ` ${message.upstream}` : ''}`;
}

export function messageSubject(message: IncidentMessage): string {
  const base = `[gatewatch] ${message.target}: ${what(message)}`;
  if (message.event === 'open')
    return sanitizeSubject(message.remediation?.escalated ? `[remediation failed] ${base}` : base);
  const after =
    message.durationSeconds === undefined ? '' : ` after ${formatDuration(message.durationSeconds)}`;
  return sanitizeSubject(`Re: ${base} — resolved${after}`);
}

function headline(message: IncidentMessage): string {
  return message.event === 'open'
    ? `${message.target} on ${message.host}: ${what(message)}${message.label === undefined ? `, confidence ${formatConfidence(message.confidence)}` : ''}`
    : `${message.target} on ${message.host}: resolved${message.durationSeconds === undefined ? '' : ` after ${formatDuration(message.durationSeconds)}`} (was ${what(message)})`;
}

/** The plain-text body (the mail's text part, SNS, the console). */
export function messageText(message: IncidentMessage): string {
  const lines = [headline(message), '', message.summary, ''];
  if (message.decisive !== undefined)
    lines.push(`Decisive line (${message.decisiveSource ?? 'evidence'}):`, `  ${message.decisive}`, '');
  if (message.event === 'open' && message.nextSteps.length > 0) {
    lines.push('Next steps:', ...message.nextSteps.map((step, i) => `  ${i + 1}. ${step}`), '');
  }
  if (message.degraded) lines.push('The diagnosis did not complete; the report says what failed.', '');
  lines.push(...remediationTextLines(message.remediation));
  lines.push(`Report: ${message.link ?? 'not available'}`);
  lines.push(
    message.event === 'open'
      ? `Incident ${message.incidentId}, opened ${message.openedAt}, trigger ${message.trigger.kind}: ${message.trigger.detail}`
      : `Incident ${message.incidentId}, opened ${message.openedAt}, resolved ${message.resolvedAt ?? '?'}.`,
  );
  return lines.join('\n');
}

/** The remediation part of the text body: the action, the approve command, or the escalation. */
function remediationTextLines(remediation: IncidentMessage['remediation']): string[] {
  if (remediation === undefined) return [];
  const lines = [`Remediation: ${remediation.status} — ${remediation.reason}`];
  if (remediation.command) lines.push(`Action: ${remediation.command}`);
  if (remediation.status === 'suggested' && remediation.approveCommand)
    lines.push(`Approve it: ${remediation.approveCommand}`);
  if (remediation.escalated) lines.push('ESCALATION: the incident is not repaired; a person must take over.');
  lines.push('');
  return lines;
}

const MAIL_STYLE = {
  body: 'font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2328;margin:0;padding:12px',
  bannerOpen: 'border-left:8px solid #b42318;background:#fdecea;padding:10px 14px;border-radius:6px',
  bannerResolved: 'border-left:8px solid #1a7f37;background:#e7f6ea;padding:10px 14px;border-radius:6px',
  pre: 'white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;border:1px solid #d1d9e0;border-radius:6px;padding:8px 10px;font:13px/1.45 ui-monospace,Menlo,Consolas,monospace',
  muted: 'color:#59636e;font-size:13px',
} as const;

/**
 * The HTML part of the mail: inline styles only (mail clients drop `<style>` and never run script), every
 * value escaped by the `html` template. The link is the one attribute built from data: it is only ever a
 * `file:` or `https:` URL gatewatch made itself, checked here again.
 */
export function messageHtml(message: IncidentMessage): string {
  const open = message.event === 'open';
  const link = message.link !== undefined && /^(https:|file:)/i.test(message.link) ? message.link : undefined;
  const body: SafeHtml = html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${messageSubject(message)}</title></head><body style="${MAIL_STYLE.body}">
<div style="${open ? MAIL_STYLE.bannerOpen : MAIL_STYLE.bannerResolved}">
<p style="margin:0;${MAIL_STYLE.muted}">gatewatch · ${open ? 'incident opened' : 'incident resolved'} · host <strong>${message.host}</strong></p>
<h1 style="font-size:20px;margin:4px 0">${headline(message)}</h1>
<p style="margin:0">${proseHtml(message.summary)}</p>
</div>
${message.decisive !== undefined && html`<h2 style="font-size:16px;margin:16px 0 4px">Decisive line <span style="${MAIL_STYLE.muted}">${message.decisiveSource ?? ''}</span></h2><pre style="${MAIL_STYLE.pre}">${message.decisive}</pre>`}
${open && message.nextSteps.length > 0 && html`<h2 style="font-size:16px;margin:16px 0 4px">Next steps</h2><ol>${message.nextSteps.map((step) => html`<li>${proseHtml(step)}</li>`)}</ol>`}
${message.degraded && html`<p><strong>The diagnosis did not complete; the report says what failed.</strong></p>`}
${message.remediation !== undefined && html`<h2 style="font-size:16px;margin:16px 0 4px">Remediation: ${message.remediation.status}</h2><p style="margin:0">${message.remediation.reason}</p>${message.remediation.command !== undefined && html`<pre style="${MAIL_STYLE.pre}">${message.remediation.command}</pre>`}${message.remediation.status === 'suggested' && message.remediation.approveCommand !== undefined && html`<p style="margin:4px 0">Approve it:</p><pre style="${MAIL_STYLE.pre}">${message.remediation.approveCommand}</pre>`}${message.remediation.escalated && html`<p><strong>Escalation: the incident is not repaired; a person must take over.</strong></p>`}`}
<p>${link === undefined ? html`Report: not available` : html`<a href="${link}">Open the full report</a><br><span style="${MAIL_STYLE.muted}">${link}</span>`}</p>
<p style="${MAIL_STYLE.muted}">Incident ${message.incidentId} · opened ${message.openedAt}${message.resolvedAt !== undefined && html` · resolved ${message.resolvedAt}`} · trigger ${message.trigger.kind}</p>
</body></html>`;
  return body.html;
}

/**
 * Mail threading headers derived from the incident id alone, so the opening mail (sent by the workflow)
 * and the resolution (sent by another process, maybe days later) agree without shared state.
 */
export function mailThread(
  message: Pick<IncidentMessage, 'event' | 'incidentId'>,
  fromAddress: string,
): { messageId: string; inReplyTo?: string; references?: string } {
  const domain = /@([A-Za-z0-9.-]+)$/.exec(fromAddress)?.[1] ?? 'gatewatch.invalid';
  const id = message.incidentId.replace(/[^A-Za-z0-9._-]/g, '-');
  const opening = `<${id}.open@${domain}>`;
  if (message.event === 'open') return { messageId: opening };
  return { messageId: `<${id}.resolve@${domain}>`, inReplyTo: opening, references: opening };
}

/** Slack incoming-webhook payload: a fallback `text` and Block Kit sections (mrkdwn escaped). */
export function slackPayload(message: IncidentMessage): Record<string, unknown> {
  const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const icon = message.event === 'open' ? ':red_circle:' : ':large_green_circle:';
  const blocks: Record<string, unknown>[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `${icon} *${esc(headline(message))}*\n${esc(message.summary)}` },
    },
  ];
  if (message.decisive !== undefined)
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `\`\`\`${esc(message.decisive.replace(/`/g, "'"))}\`\`\`` },
    });
  if (message.event === 'open' && message.nextSteps.length > 0)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Next steps*\n${message.nextSteps.map((s, i) => `${i + 1}. ${esc(s)}`).join('\n')}`,
      },
    });
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `Incident ${esc(message.incidentId)}${message.link !== undefined && /^https:/i.test(message.link) ? ` · <${message.link}|report>` : message.link !== undefined ? ` · report: ${esc(message.link)}` : ''}`,
      },
    ],
  });
  return { text: messageSubject(message), blocks };
}

/** The generic webhook's JSON body: versioned, the whole message. */
export function webhookPayload(message: IncidentMessage, sentAt: string): Record<string, unknown> {
  return {
    type: `incident.${message.event === 'open' ? 'opened' : 'resolved'}`,
    version: 1,
    sentAt,
    incident: message,
  };
}

/** The string the webhook signature covers: `<unix seconds>.<body>` (a replayed body with a new time fails). */
export function webhookSignedContent(timestampSeconds: number, body: string): string {
  return `${timestampSeconds}.${body}`;
}

/** A PagerDuty Events API v2 event: trigger on open, resolve on resolve, the incident id as dedup_key. */
export function pagerDutyEvent(message: IncidentMessage, routingKey: string): Record<string, unknown> {
  if (message.event === 'resolve')
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: message.incidentId };
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: message.incidentId,
    payload: {
      summary: sanitizeSubject(headline(message)).slice(0, 1024),
      source: message.host,
      severity: message.rootCause === 'unknown' ? 'warning' : 'critical',
      timestamp: message.openedAt,
      component: message.target,
      group: message.upstream ?? message.target,
      class: message.rootCause,
      custom_details: {
        summary: message.summary,
        decisive: message.decisive,
        nextSteps: message.nextSteps,
        incidentId: message.incidentId,
        // Also when it is not https (a file URL locally): the responder still sees where the report is.
        ...(message.link === undefined ? {} : { report: message.link }),
      },
    },
    ...(message.link !== undefined && /^https:/i.test(message.link)
      ? { links: [{ href: message.link, text: 'gatewatch report' }] }
      : {}),
    client: 'gatewatch',
  };
}

/** One channel's fate for one notification, as the report's `notifications` section records it. */
export type NotificationOutcome = NotificationRecord;
