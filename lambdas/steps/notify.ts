/**
 * Step 5: tell people. The message (host, verdict, decisive line, next steps, link to the HTML report) is
 * built from the written report, sent on every configured channel with bounded retries and exponential
 * backoff, and every channel's outcome is recorded in the report's `notifications` section — a failed send
 * leaves a trace. A healthy verdict notifies nobody; an active silence window records that it silenced.
 */

import type { GatewatchConfig } from '../core/config.ts';
import {
  type IncidentMessage,
  incidentMessage,
  messageHtml,
  messageSubject,
  messageText,
  type NotificationEvent,
} from '../core/notification.ts';
import { DEFAULT_NOTIFY_TIMEOUT_MS, type RetryPolicy, retryPolicy } from '../core/notify-config.ts';
import { redactText } from '../core/redact.ts';
import { activeSilence, describeSilence } from '../core/silence.ts';
import type { NotificationRecord, Report } from '../core/types.ts';
import type { Notification, Notifier } from '../ports.ts';
import { NotifyInputSchema, type NotifyOutput } from './contracts.ts';
import { type StepDeps, storeKeys } from './deps.ts';
import { updateReport } from './incident-record.ts';
import { type RemediationNotice, remediationOutcomeOf } from './remediation-notice.ts';

/**
 * The set of channels a run notifies on; each one's outcome is recorded separately. With a `skipReason`
 * the run sends no incident notice (a manual `diagnose` without `--notify`); a request for action (an
 * approval in approve mode) still goes to the channels.
 */
export class NotifierChannels implements Notifier {
  readonly channel = 'all';
  readonly channels: readonly Notifier[];
  readonly skipReason: string | undefined;

  constructor(channels: readonly Notifier[], skipReason?: string) {
    this.channels = channels;
    this.skipReason = skipReason;
  }

  async notify(notification: Notification): Promise<void> {
    for (const channel of this.channels) await channel.notify(notification);
  }
}

/** The channels behind a notifier: a {@link NotifierChannels}' members, or the notifier itself. */
export function channelsOf(notifier: Notifier): { channels: readonly Notifier[]; skipReason?: string } {
  if (notifier instanceof NotifierChannels)
    return notifier.skipReason === undefined
      ? { channels: notifier.channels }
      : { channels: notifier.channels, skipReason: notifier.skipReason };
  return { channels: [notifier] };
}

/** Time kept after sending to write the report with the outcomes. */
const WRITE_RESERVE_MS = 3000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * When sending must be over (epoch ms) and how long one attempt may take: a retry that could not finish
 * before the deadline is not started (the Notify Lambda must record its outcomes before it times out).
 */
export interface DeliveryDeadline {
  at: number;
  attemptMs: number;
}

/** Sends on one channel, retrying with doubling waits; never throws: the outcome says what happened. */
async function deliverOne(
  channel: Notifier,
  notification: Notification,
  event: NotificationEvent,
  policy: RetryPolicy,
  now: () => Date,
  sleep: (ms: number) => Promise<void>,
  deadline: DeliveryDeadline | undefined,
): Promise<NotificationRecord> {
  const name = channel.channel ?? 'notifier';
  let lastError = '';
  let attempts = 0;
  let outOfTime = false;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    attempts = attempt;
    try {
      await channel.notify(notification);
      return { event, channel: name, status: 'sent', attempts: attempt, at: now().toISOString() };
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      if (attempt < policy.attempts) {
        const wait = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
        if (deadline !== undefined && now().getTime() + wait + deadline.attemptMs > deadline.at) {
          outOfTime = true;
          break;
        }
        await sleep(wait);
      }
    }
  }
  return {
    event,
    channel: name,
    status: 'failed',
    attempts,
    ...(outOfTime ? { detail: 'no time left for another attempt before the step’s timeout' } : {}),
    at: now().toISOString(),
    error: redactText(lastError).slice(0, 500),
  };
}

/** Every channel at once (a slow mail server does not delay the page), each with its own retries. */
export function deliver(
  notification: Notification,
  event: NotificationEvent,
  channels: readonly Notifier[],
  policy: RetryPolicy,
  now: () => Date,
  sleep: (ms: number) => Promise<void> = defaultSleep,
  deadline?: DeliveryDeadline,
): Promise<NotificationRecord[]> {
  return Promise.all(
    channels.map((channel) => deliverOne(channel, notification, event, policy, now, sleep, deadline)),
  );
}

/** The mail/console/Slack/… forms of one incident message. */
export function notificationOf(message: IncidentMessage): Notification {
  return {
    subject: messageSubject(message),
    text: messageText(message),
    html: messageHtml(message),
    incident: message,
  };
}

export interface NotifyContext {
  config: GatewatchConfig;
  notifier: Notifier;
  now: () => Date;
  sleep?: (ms: number) => Promise<void>;
  host: string;
  link?: string;
  degraded?: boolean;
  label?: string;
  /** What the remediation stage proposed, ran or escalated (the state it left), for the message. */
  remediation?: RemediationNotice;
  /** Epoch ms by which every channel's outcome must be known (the Notify Lambda's timeout, less a reserve). */
  deadline?: number;
}

/**
 * Notifies about `report` at `event` and returns the report with the outcomes appended to its
 * `notifications` (not yet stored) — or `undefined` when there is nothing to record (a healthy verdict).
 */
export async function notifyReport(
  report: Report,
  event: NotificationEvent,
  context: NotifyContext,
): Promise<{ report: Report; outcomes: NotificationRecord[] } | undefined> {
  if (report.verdict.rootCause === 'healthy') return undefined;
  const at = context.now();
  const target = context.config.targets.find((t) => t.name === report.target);
  const silence = activeSilence(target?.silence ?? [], at.getTime());
  const { channels, skipReason } = channelsOf(context.notifier);
  let outcomes: NotificationRecord[];
  if (silence !== undefined) {
    outcomes = [
      {
        event,
        channel: 'all',
        status: 'silenced',
        attempts: 0,
        at: at.toISOString(),
        detail: describeSilence(silence),
      },
    ];
  } else if (skipReason !== undefined || channels.length === 0) {
    outcomes = [
      {
        event,
        channel: 'all',
        status: 'skipped',
        attempts: 0,
        at: at.toISOString(),
        detail: skipReason ?? 'no notification channel is configured',
      },
    ];
  } else {
    const message = incidentMessage(report, event, {
      host: context.host,
      ...(context.link === undefined ? {} : { link: context.link }),
      ...(context.degraded ? { degraded: true } : {}),
      ...(context.label === undefined ? {} : { label: context.label }),
      ...(context.remediation === undefined ? {} : { remediation: context.remediation }),
    });
    outcomes = await deliver(
      notificationOf(message),
      event,
      channels,
      retryPolicy(context.config.notify),
      context.now,
      context.sleep,
      context.deadline === undefined
        ? undefined
        : { at: context.deadline, attemptMs: context.config.notify.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS },
    );
  }
  return { report: { ...report, notifications: [...(report.notifications ?? []), ...outcomes] }, outcomes };
}

/** `3 of 4 channels sent; failed: email (…)`. */
export function outcomeSummary(outcomes: readonly NotificationRecord[]): string {
  const sent = outcomes.filter((o) => o.status === 'sent').length;
  const failed = outcomes.filter((o) => o.status === 'failed');
  const other = outcomes.filter((o) => o.status === 'silenced' || o.status === 'skipped');
  if (other.length > 0 && sent === 0 && failed.length === 0)
    return `${other[0]!.status}: ${other[0]!.detail ?? ''}`;
  return `${sent} of ${outcomes.length} channels sent${failed.length > 0 ? `; failed: ${failed.map((f) => `${f.channel} (${f.error ?? '?'})`).join('; ')}` : ''}`;
}

/**
 * The S3 console page of an `s3://bucket/key` object (a person with console access opens the HTML report
 * there; it does not expire like a presigned URL); any other location as it is.
 */
export function consoleLink(location: string): string {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  if (!match) return location;
  // Slashes stay as they are (legal in a query, and how the console itself writes the prefix).
  return `https://console.aws.amazon.com/s3/object/${match[1]}?prefix=${encodeURIComponent(match[2]!).replace(/%2F/g, '/')}`;
}

export async function notify(raw: unknown, deps: StepDeps): Promise<NotifyOutput> {
  const input = NotifyInputSchema.parse(raw);
  if (input.report.rootCause === 'healthy') return { sent: false, detail: 'healthy: nobody is notified' };
  const key = storeKeys.report(input.incidentId, 'json');
  const text = await deps.store.get(key);
  if (text === undefined)
    return { sent: false, detail: `${deps.store.locate(key)} is missing; nothing to notify about` };
  const report = JSON.parse(text) as Report;
  const target = deps.config.targets.find((t) => t.name === input.target);
  const nginxHost = target === undefined ? 'local' : deps.nginxHost(target);
  const result = await notifyReport(report, 'open', {
    config: deps.config,
    notifier: deps.notifier,
    now: () => deps.clock.now(),
    ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
    host: nginxHost === 'local' ? (deps.hostName ?? 'localhost') : nginxHost,
    link: (deps.reportLink ?? ((key: string) => consoleLink(deps.store.locate(key))))(
      storeKeys.report(input.incidentId, 'html'),
    ),
    degraded: input.report.degraded,
    ...remediationOf(raw),
    // Outcomes are written to the store after sending: keep a reserve for that before the Lambda stops.
    ...(deps.timeLeftMs === undefined
      ? {}
      : { deadline: deps.clock.now().getTime() + deps.timeLeftMs() - WRITE_RESERVE_MS }),
  });
  if (result === undefined) return { sent: false, detail: 'healthy: nobody is notified' };
  // A compare-and-swap on report.json: an `ack` or `note` written meanwhile is kept next to the outcomes.
  const outcomes = result.outcomes;
  let unrecorded = '';
  await updateReport(
    deps.store,
    input.incidentId,
    (current) => ({ ...current, notifications: [...(current.notifications ?? []), ...outcomes] }),
    {
      now: () => deps.clock.now(),
      config: deps.config,
      ...(deps.probeHistory === undefined ? {} : { history: deps.probeHistory }),
    },
  ).catch((error: unknown) => {
    // The messages went out; only their record is missing. Say so rather than fail the Task.
    unrecorded = `; outcomes not recorded in the report: ${error instanceof Error ? error.message : String(error)}`;
    console.error(`gatewatch: notification outcomes not recorded for ${input.incidentId}:`, error);
  });
  return {
    sent: outcomes.some((o) => o.status === 'sent'),
    detail: `${outcomeSummary(outcomes)}${unrecorded}`.slice(0, 1000),
  };
}

function remediationOf(raw: unknown): { remediation?: RemediationNotice } {
  const notice = remediationOutcomeOf(raw);
  return notice === undefined ? {} : { remediation: notice };
}
