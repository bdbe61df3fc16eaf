/**
 * From a CloudWatch alarm event to the workflow execution it starts. Two kinds of event start one:
 * "Alarm Contributor State Change" of gatewatch's multi-time-series alarms (the contributor's `Target`
 * attribute names the target) and "Alarm State Change" of users' alarms routed by name.
 *
 * One incident per target per episode, whichever of its alarms fired first: the execution name is
 * derived from the target and the episode slot the alarm time falls in (`EPISODE_MINUTES`), never from
 * the alarm, so the probe-failed and the error-rate alarm of one outage, a re-delivered event, and
 * Lambda's retries all yield the same name, and Step Functions starts nothing new (names are unique per
 * state machine for 90 days). Everything is derived from the event alone, never from the clock.
 * Trade-offs: a new episode inside the slot of the previous one is folded into it (its report covers
 * the slot's window), and two alarms of one outage either side of a slot boundary open two incidents.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type AlarmRoutes, targetForAlarm } from '../../lib/workflow/lambda-wiring.ts';
import { CONTRIBUTOR_DIMENSION } from '../core/alarm/contributor-alarms.ts';
import type { GatewatchConfig, TargetConfig } from '../core/config.ts';
import { formatIncidentId, isoSeconds } from '../core/diagnosis/incident-id.ts';
import type { WorkflowInput } from '../steps/contracts.ts';

/** The event is not a CloudWatch alarm state change gatewatch can read. */
export class InvalidAlarmEventError extends Error {
  override name = 'InvalidAlarmEventError';
}

// CloudWatch writes `2019-10-02T17:04:40.989+0000`; ISO-8601 with a colon in the offset is accepted too.
const ALARM_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(Z|[+-]\d{2}:?\d{2})$/;
const ALARM_ARN = /^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$/;

/** The moment an alarm timestamp names, or `undefined` when it is not one. */
export function parseAlarmTime(value: string): Date | undefined {
  const match = ALARM_TIME.exec(value);
  if (!match) return undefined;
  const offset = match[2] === 'Z' ? 'Z' : `${match[2]!.slice(0, 3)}:${match[2]!.slice(-2)}`;
  const at = new Date(`${match[1]}${offset}`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

const alarmTime = z.string().refine((v) => parseAlarmTime(v) !== undefined, 'must be an ISO-8601 time');

/** The fields of the EventBridge event gatewatch relies on (others pass through unread). */
export const AlarmStateChangeEventSchema = z.object({
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.enum(['CloudWatch Alarm State Change', 'CloudWatch Alarm Contributor State Change']),
  account: z.string().regex(/^\d{12}$/),
  region: z.string().min(1),
  resources: z.array(z.string()).min(1),
  detail: z.object({
    alarmName: z.string().min(1).max(255),
    state: z.object({
      value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
      reason: z.string().default(''),
      timestamp: alarmTime,
    }),
    previousState: z.object({ value: z.string() }).partial().optional(),
    /**
     * The contributor of a multi-time-series alarm (contributor events only): its id and its attributes,
     * the dimensions of its time series (gatewatch's: `Target`). Shape after the AlarmContributor API type
     * (ContributorId, ContributorAttributes); the key spelling is accepted in both cases.
     */
    alarmContributor: z
      .object({
        id: z.string().min(1).max(1024).optional(),
        attributes: z.record(z.string(), z.string()).optional(),
        contributorId: z.string().optional(),
        contributorAttributes: z.record(z.string(), z.string()).optional(),
      })
      .optional(),
  }),
});
export type AlarmStateChangeEvent = z.infer<typeof AlarmStateChangeEventSchema>;

export function parseAlarmEvent(event: unknown): AlarmStateChangeEvent {
  const result = AlarmStateChangeEventSchema.safeParse(event);
  if (!result.success) {
    const problems = result.error.issues
      .map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`)
      .join('; ');
    throw new InvalidAlarmEventError(`not a CloudWatch alarm state change event: ${problems}`);
  }
  return result.data;
}

/** One alarm state change: the alarm, the contributor's attributes, and when it entered ALARM. */
export interface AlarmEpisode {
  alarmArn: string;
  alarmName: string;
  enteredAt: Date;
  reason: string;
  /** The contributor's attributes (contributor events only). */
  contributor?: Record<string, string>;
}

export function alarmEpisode(event: AlarmStateChangeEvent): AlarmEpisode {
  const alarmArn = event.resources.find((r) => ALARM_ARN.test(r));
  if (!alarmArn) throw new InvalidAlarmEventError('the event names no CloudWatch alarm ARN in resources');
  const contributor = event.detail.alarmContributor;
  const attributes = contributor?.attributes ?? contributor?.contributorAttributes;
  return {
    alarmArn,
    alarmName: event.detail.alarmName,
    enteredAt: parseAlarmTime(event.detail.state.timestamp)!,
    reason: event.detail.state.reason,
    ...(attributes === undefined ? {} : { contributor: attributes }),
  };
}

/**
 * Length of an episode slot: alarms of one target within one slot are one incident. 15 minutes is the
 * shortest evidence window (`MIN_LOOKBACK_MINUTES`), so the first incident's report covers the slot.
 */
export const EPISODE_MINUTES = 15;

/** Start of the episode slot `at` falls in. */
export function episodeSlot(at: Date): Date {
  const slotMs = EPISODE_MINUTES * 60_000;
  return new Date(Math.floor(at.getTime() / slotMs) * slotMs);
}

/** Hex digest of a target's episode: the same for every alarm of the target in one slot. */
export function episodeDigest(target: string, episode: AlarmEpisode): string {
  return createHash('sha256')
    .update(`${target}\n${episodeSlot(episode.enteredAt).toISOString()}`)
    .digest('hex');
}

/** Step Functions execution names: 1–80 characters of letters, digits, `-` and `_`. */
export const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** `shop-20261124T051500Z-<16 hex>`: readable in the console, unique per target episode, at most 74 characters. */
export function executionNameFor(target: string, episode: AlarmEpisode): string {
  const stamp = compactTime(episodeSlot(episode.enteredAt));
  return `${target.slice(0, 40).replace(/-+$/, '')}-${stamp}-${episodeDigest(target, episode).slice(0, 16)}`;
}

/** The incident id of the episode: the execution name's target, slot and the first 8 digest digits. */
export function incidentIdFor(target: string, episode: AlarmEpisode): string {
  return formatIncidentId(target, episodeSlot(episode.enteredAt), episodeDigest(target, episode).slice(0, 8));
}

/**
 * The target an alarm event is about: for a contributor event of a gatewatch alarm, the contributor's
 * `Target` attribute; otherwise the alarm's route by name.
 */
export function targetOfEpisode(episode: AlarmEpisode, routes: AlarmRoutes): string | undefined {
  if (
    routes.contributorPrefix !== undefined &&
    episode.alarmName.startsWith(routes.contributorPrefix) &&
    episode.contributor !== undefined
  ) {
    return episode.contributor[CONTRIBUTOR_DIMENSION];
  }
  return targetForAlarm(routes, episode.alarmName);
}

/** Minutes of log read back from the moment of the alarm. */
export const MIN_LOOKBACK_MINUTES = 15;
const MAX_LOOKBACK_MINUTES = 24 * 60;

/**
 * How far back the evidence window reaches: the span the target's alarms evaluate over (M of N probe
 * periods, the error-rate minutes) plus five minutes of lead-up, never less than 15 minutes.
 */
export function lookbackMinutes(target: TargetConfig): number {
  const probeSpan =
    (target.alarm.failedProbes.evaluationPeriods * (target.probe?.intervalSeconds ?? 60)) / 60;
  const span = Math.max(probeSpan, target.alarm.errorRate.minutes) + 5;
  return Math.min(MAX_LOOKBACK_MINUTES, Math.max(MIN_LOOKBACK_MINUTES, Math.ceil(span)));
}

export type EpisodeStart =
  | { kind: 'start'; target: string; executionName: string; input: WorkflowInput }
  | { kind: 'ignore'; reason: string };

/** What to start for an event: one execution per episode of a routed alarm, nothing for anything else. */
export function planEpisodeStart(
  event: AlarmStateChangeEvent,
  config: GatewatchConfig,
  routes: AlarmRoutes,
): EpisodeStart {
  if (event.detail.state.value !== 'ALARM') {
    return {
      kind: 'ignore',
      reason: `alarm ${event.detail.alarmName} went to ${event.detail.state.value}, not ALARM`,
    };
  }
  const episode = alarmEpisode(event);
  const targetName = targetOfEpisode(episode, routes);
  const target = config.targets.find((t) => t.name === targetName);
  if (!target) {
    return {
      kind: 'ignore',
      reason:
        targetName === undefined
          ? `alarm ${episode.alarmName} is not routed to any configured target`
          : `alarm ${episode.alarmName} names target ${JSON.stringify(targetName).slice(0, 80)}, which is not configured`,
    };
  }
  // The window reaches back from the episode's slot start too, so it covers every alarm folded into it.
  const slot = episodeSlot(episode.enteredAt);
  const from = new Date(slot.getTime() - lookbackMinutes(target) * 60_000);
  const reason = episode.reason === '' ? '' : `: ${episode.reason}`;
  const who = episode.contributor === undefined ? '' : ` for ${target.name}`;
  const input: WorkflowInput = {
    incidentId: incidentIdFor(target.name, episode),
    target: target.name,
    openedAt: isoSeconds(episode.enteredAt),
    window: { from: isoSeconds(from), to: isoSeconds(episode.enteredAt) },
    trigger: {
      kind: 'alarm',
      detail:
        `CloudWatch alarm ${episode.alarmName} entered ALARM${who} at ${episode.enteredAt.toISOString()}${reason}`.slice(
          0,
          2000,
        ),
    },
    logsOnly: false,
  };
  return { kind: 'start', target: target.name, executionName: executionNameFor(target.name, episode), input };
}

function compactTime(at: Date): string {
  return isoSeconds(at).replace(/[-:]/g, '');
}
