/**
 * Plain-JSON domain types shared by the core, the workflow steps and the adapters.
 * Times are ISO-8601 strings (UTC, `Z`) unless a field name ends in `Ms` (epoch milliseconds).
 */
import type { RemediationSection } from './remediation/audit.ts';
import type { RootCause } from './root-causes.ts';

// ---------------------------------------------------------------- nginx error log

/** nginx `error_log` severities, lowest first. */
export const ERROR_LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'] as const;
export type ErrorLevel = (typeof ERROR_LEVELS)[number];

/** The `, key: value` context nginx appends to a request-bound error line. */
export interface ErrorLogContext {
  client?: string;
  server?: string;
  request?: string;
  subrequest?: string;
  upstream?: string;
  host?: string;
  referrer?: string;
}

/** One error-log line, split into its parts. `raw` is the line as written (not redacted). */
export interface ErrorLogEntry {
  at: string;
  epochMs: number;
  level: ErrorLevel;
  pid: number;
  tid: number;
  /** The `*N` connection number; retries and `no live upstreams` of one request share it. */
  connection?: number;
  /** The text between the connection number and the context fields. */
  message: string;
  context: ErrorLogContext;
  raw: string;
}

/** What went wrong with an upstream, as nginx reported it. */
export type UpstreamFailureKind =
  | 'refused'
  | 'connect-timeout'
  | 'read-timeout'
  | 'send-timeout'
  | 'closed-early'
  | 'invalid-response'
  | 'header-too-big'
  | 'tls'
  | 'dns'
  | 'socket-missing'
  | 'socket-permission'
  | 'tcp-permission'
  | 'overloaded'
  | 'unreachable'
  | 'fd-exhausted'
  | 'port-exhaustion'
  | 'no-live-upstreams'
  | 'server-disabled'
  /** `worker_connections are not enough`: nginx itself ran out of connections. */
  | 'worker-connections'
  /** ENOSPC writing nginx's own temp, cache or client-body file. */
  | 'disk-full'
  /** EACCES on nginx's own temp, cache or client-body file (not a connect to an upstream). */
  | 'file-permission'
  /** gRPC/HTTP/2: the upstream rejected the request with an HTTP/2 error code. */
  | 'rejected';

/** An error-log entry recognised as an upstream failure. */
export interface UpstreamFailure {
  kind: UpstreamFailureKind;
  /** The root cause this message points at on its own, before host evidence refines it. */
  rootCause: RootCause;
  /** Symptoms (`no live upstreams`, `upstream server temporarily disabled`) have their cause elsewhere. */
  symptom: boolean;
  errno?: number;
  /** Portable errno name (`ECONNREFUSED`), whatever the platform's number and wording. */
  errnoName?: string;
  /** The `while <action>` phrase: `connecting to upstream`, `reading response header from upstream`, … */
  action?: string;
  /** Normalised peer: `127.0.0.1:3000`, `[::1]:3000`, `unix:/run/app.sock`, or a host name for DNS. */
  peer?: string;
  scheme?: string;
  entry: ErrorLogEntry;
}

// ---------------------------------------------------------------- nginx access log

export type AccessLogFormat = 'gatewatch' | 'combined' | 'unknown';

/** Per-minute traffic, for the report's chart. `minute` is ISO-8601 at :00. */
/** Like {@link TrafficMinute}, for one second (`second` is its ISO-8601 start). */
export interface TrafficSecond {
  second: string;
  requests: number;
  status5xx: number;
  status502: number;
  status504: number;
}

export interface TrafficMinute {
  minute: string;
  requests: number;
  status5xx: number;
  status502: number;
  status504: number;
}

export interface UpstreamTraffic {
  requests: number;
  failures: number;
  byStatus: Record<string, number>;
  /** Highest `$upstream_response_time` seen, in seconds. */
  maxResponseTime?: number;
  /** When the upstream first and last sent a response of its own in the window (it was alive then). */
  firstAnsweredAt?: string;
  lastAnsweredAt?: string;
  /**
   * When it last failed (5xx) in the window, and how many of its requests succeeded (status below 500)
   * after that failure and between its first and last failure: a contiguous outage that ended shows
   * `okBetweenFailures: 0` and successes after; an intermittent fault shows successes between.
   */
  lastFailedAt?: string;
  okAfterLastFailure?: number;
  okBetweenFailures?: number;
}

/** The report's `traffic` section (the contract's four fields plus what the renderers use). */
export interface TrafficSummary {
  requests: number;
  status5xx: number;
  byStatus: Record<string, number>;
  byUpstream: Record<string, UpstreamTraffic>;
  format: AccessLogFormat;
  /** Lines that could not be read as any known format: counted, skipped. */
  malformed: number;
  perMinute: TrafficMinute[];
  /** Per-second counts when the traffic spans a few minutes at most (a chart for short windows). */
  perSecond?: TrafficSecond[];
  firstAt?: string;
  lastAt?: string;
  /** A few failing requests (already redacted), newest last, for the evidence. */
  samples: string[];
}

// ---------------------------------------------------------------- report

export type Severity = 'critical' | 'warning' | 'info';
export type CheckStatus = 'ok' | 'failed' | 'skipped' | 'error';
export type TriggerKind = 'manual' | 'alarm' | 'probe';

export interface Evidence {
  source: string;
  excerpt: string;
  at?: string;
}

export interface Finding {
  category: RootCause;
  severity: Severity;
  title: string;
  evidence: Evidence[];
}

export interface CheckSummary {
  name: string;
  status: CheckStatus;
  durationMs: number;
  /** Why a check was skipped or errored. */
  detail?: string;
}

export interface Verdict {
  rootCause: RootCause;
  upstream?: string;
  confidence: number;
  summary: string;
}

export interface Report {
  schemaVersion: 1;
  incidentId: string;
  target: string;
  openedAt: string;
  window: { from: string; to: string };
  trigger: { kind: TriggerKind; detail: string };
  verdict: Verdict;
  findings: Finding[];
  checks: CheckSummary[];
  traffic: TrafficSummary;
  timeline: { at: string; event: string }[];
  nextSteps: string[];
  /** What the evidence excludes, in words (`nginx -t passes`, `disk usage below 90%`). */
  ruledOut: string[];
  resolvedAt?: string;
  durationSeconds?: number;
  /** What gatewatch proposed, ran and verified to repair it (absent when the target has no remediation step). */
  remediation?: RemediationSection;
  /** Every channel's outcome for every notification of this incident (open, resolve), oldest first. */
  notifications?: NotificationRecord[];
  /** Earlier incidents with the same fingerprint (see `core/incident/recurrence.ts`); set when the report is written. */
  recurrence?: Recurrence;
  /** Acknowledgements, notes and manual resolutions by people, oldest first. */
  activity?: IncidentActivity[];
  /** Who resolved the incident by hand (`gatewatch resolve`); absent when it recovered on its own. */
  resolvedBy?: string;
}

/** One channel's outcome for one notification (`lambdas/core/notification.ts` builds them). */
export interface NotificationRecord {
  event: 'open' | 'resolve';
  /** `email`, `slack`, `webhook`, `pagerduty`, `sns`, `console`, or `all` for a decision about every channel. */
  channel: string;
  status: 'sent' | 'failed' | 'silenced' | 'skipped';
  attempts: number;
  at: string;
  /** The last attempt's error, redacted. */
  error?: string;
  /** Why it was silenced or skipped. */
  detail?: string;
}

/** "This happened before": the incident's fingerprint and the earlier incidents that share it. */
export interface Recurrence {
  fingerprint: string;
  /** 1 for the first time; 3 means "3rd time in `windowDays` days". */
  occurrence: number;
  windowDays: number;
  /** Earlier incidents with this fingerprint in the window, newest first (at most 10). */
  earlier: { incidentId: string; openedAt: string; report: string }[];
}

/** Something a person did to an incident: `gatewatch ack`, `note`, `resolve`. */
export interface IncidentActivity {
  at: string;
  by: string;
  action: 'ack' | 'note' | 'resolve';
  text?: string;
}
