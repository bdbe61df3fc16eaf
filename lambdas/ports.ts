/**
 * The narrow interfaces the diagnosis needs from the outside world. `adapters/local` and `adapters/aws`
 * implement each one; the core never sees which.
 */

import type { TargetConfig } from './core/config.ts';
import type { IncidentMessage } from './core/notification.ts';
import type { SecretRef } from './core/notify-config.ts';
import type { LedgerEntry } from './core/remediation/guardrails.ts';

/** Reads nginx log lines in a time window. Lines arrive in the order nginx wrote them. */
export interface LogSource {
  /**
   * Streams raw chunks of the log (any split, UTF-8/latin1 bytes); the caller splits lines.
   * A log that does not exist or may not be read throws `LogUnavailableError` (core/nginx/coverage.ts).
   * A chunk is valid until the next one is asked for: copy what you keep.
   */
  chunks(request: LogReadRequest): AsyncIterable<Uint8Array>;
  /** Size, modification time and last lines of a log, where the source can tell (files). */
  describe?(log: string): Promise<LogDescription | undefined>;
}

export interface LogReadRequest {
  /** A file path locally, a log group name in AWS. */
  log: string;
  fromMs: number;
  toMs: number;
  /**
   * The time of a line, epoch ms, or `undefined` when it has none: lets a source seek to the window in a
   * large file instead of reading it from the start. Lines before `fromMs` may still be returned.
   */
  lineTimeMs?: (line: string) => number | undefined;
  /**
   * Put the time the source recorded for each line (CloudWatch's event timestamp, in ISO-8601 UTC and a
   * space) before it, where the source records one: it tells the error log's UTC offset.
   */
  stampLines?: boolean;
}

/** What {@link LogSource.describe} tells about a log. */
export interface LogDescription {
  sizeBytes: number;
  modifiedMs: number;
  /** The last few complete lines, oldest first. */
  lastLines: string[];
}

/** The result of running the diagnostics script on one host. */
export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** Runs gatewatch's diagnostics script (never an arbitrary command) on a host. */
export interface CommandRunner {
  runDiagnostics(request: DiagnosticsRequest): Promise<CommandResult>;
}

/** Validated parameters of the diagnostics script; each becomes one `GW_*` environment variable. */
export interface DiagnosticsRequest {
  /** `local` or an EC2 instance id. */
  host: string;
  checks: string[];
  params: Record<string, string>;
  timeoutSeconds: number;
}

/** Stores reports and evidence under an incident's folder or key prefix. */
export interface ReportStore {
  /** Text is stored as UTF-8; bytes (a gzipped evidence bundle) as they are. */
  put(key: string, body: string | Uint8Array, contentType: string): Promise<string>;
  get(key: string): Promise<string | undefined>;
  /** Where a key can be read by a person: a path or an `s3://` URI. */
  locate(key: string): string;
}

/**
 * A report store that can write a key only when it still holds what the writer read (compare-and-swap):
 * S3 conditional writes (`If-Match` / `If-None-Match`), a lock and an atomic rename in a folder. The
 * incident index is updated through it, so concurrent writers never lose an entry.
 */
export interface ConditionalReportStore extends ReportStore {
  /** The text at `key` and an opaque version of it (an ETag, a content hash); undefined when absent. */
  read(key: string): Promise<{ body: string; version: string } | undefined>;
  /**
   * Writes `body` only if `key` is still at `expected` (`null`: only if it does not exist yet). Returns
   * false, writing nothing, when another writer got there first.
   */
  putIf(key: string, body: string, contentType: string, expected: string | null): Promise<boolean>;
}

export function isConditionalStore(store: ReportStore): store is ConditionalReportStore {
  const candidate = store as Partial<ConditionalReportStore>;
  return typeof candidate.read === 'function' && typeof candidate.putIf === 'function';
}

export interface Notification {
  subject: string;
  text: string;
  /** The HTML alternative (mail). */
  html?: string;
  /** The incident the notification is about: channels with their own format (Slack, PagerDuty, the
   * webhook) and mail threading are built from it. */
  incident?: IncidentMessage;
}

export interface Notifier {
  /** The channel's name in the report's `notifications` section: `email`, `slack`, `webhook`, … */
  readonly channel?: string;
  notify(notification: Notification): Promise<void>;
}

/** Reads a secret named in the configuration (`{ env }`, `{ ssmParameter }`, `{ secretsManager }`). */
export interface SecretResolver {
  resolve(ref: SecretRef): Promise<string>;
}

export interface Clock {
  now(): Date;
}

/**
 * Starts the diagnostics script on a host and later fetches its output. In AWS this is SSM Run Command
 * (send, then poll); locally the script runs at `send` and `collect` answers at once.
 */
export interface DiagnosticsDispatcher {
  send(request: DiagnosticsRequest): Promise<{ commandId: string }>;
  collect(request: { host: string; commandId: string }): Promise<DiagnosticsPoll>;
}

export type DiagnosticsPoll =
  | { status: 'pending' }
  | { status: 'done'; result: CommandResult }
  | { status: 'failed'; reason: string; result?: CommandResult };

/** The EC2 network (instances, interfaces, groups, ACLs, routes) as gatewatch's own model. */
export type { NetworkInventory } from './core/network/types.ts';

/** One execution of the diagnosis workflow to start; the name is the idempotency key. */
export interface WorkflowStart {
  /** Unique per alarm episode; at most 80 characters of `[A-Za-z0-9_-]`. */
  name: string;
  input: unknown;
}

export type WorkflowStartOutcome =
  | { status: 'started'; executionArn: string }
  | { status: 'already-started'; executionArn: string };

/** Starts a workflow execution by name (Step Functions in AWS, the local runner here); a name already used is not an error. */
export interface WorkflowStarter {
  start(start: WorkflowStart): Promise<WorkflowStartOutcome>;
}

// ---------------------------------------------------------------- remediation

/** Runs gatewatch's actions script (never an arbitrary command) on a host: the shell here, SSM in AWS. */
export interface RemediationRunner {
  /** `env` holds only the `GW_*` variables `buildRemediationEnvironment` validated. */
  run(request: { host: string; env: Record<string, string>; timeoutSeconds: number }): Promise<CommandResult>;
}

/** Raises an Auto Scaling group's desired capacity by `step`, never above `maxCapacity` (AWS only). */
export interface CapacityScaler {
  raise(request: { group: string; step: number; maxCapacity: number; dryRun: boolean }): Promise<{
    before: number;
    after: number;
    changed: boolean;
  }>;
}

/** The persistent record of every action, shared by concurrent incidents, and its locks. */
export interface RemediationLedger {
  entries(): Promise<LedgerEntry[]>;
  /** Reads, changes and writes the entries atomically (across processes); returns `result`. */
  update<T>(change: (entries: LedgerEntry[]) => { entries: LedgerEntry[]; result: T }): Promise<T>;
  /**
   * Runs `work` holding the lock `name` (one holder at a time, across processes). A lock older than
   * `ttlMs` is taken over (its holder died). Waits at most `waitMs` for it; `acquired: false` when it
   * stayed busy.
   */
  withLock<T>(
    name: string,
    options: { ttlMs: number; waitMs: number },
    work: () => Promise<T>,
  ): Promise<{ acquired: true; value: T } | { acquired: false; holder?: string }>;
}

/** A person's answer to an approval request. */
export type ApprovalAnswer =
  | { status: 'approved'; by: string; at: string; action?: string }
  | { status: 'rejected'; by: string; at: string; reason?: string }
  | { status: 'expired'; at: string };

export interface ApprovalRequest {
  incidentId: string;
  target: string;
  action: string;
  command: string;
  expiresAt: string;
  /** AWS: the Step Functions task token to answer with. */
  taskToken?: string;
}

/**
 * Asks a person to approve an action. Locally it waits (polling the approvals folder) and returns the
 * answer; in AWS it stores the task token and returns `pending`: the state machine itself waits.
 */
export interface ApprovalGate {
  request(request: ApprovalRequest): Promise<ApprovalAnswer | { status: 'pending' }>;
}

/** One probe of a target now, in one line: used to verify a repair. `undefined` when it has no probe. */
export interface TargetProber {
  probe(target: TargetConfig): Promise<{ ok: boolean; line: string } | undefined>;
}
