/**
 * The I/O around the incident lifecycle: an opened target incident runs the diagnosis workflow
 * (`diagnoseOnce`, which writes the report and sends the e-mail through the workflow's Notify step), a
 * heartbeat incident gets its own short report, and a resolved incident gets `resolvedAt` and
 * `durationSeconds` in report.json (report.md and report.html re-rendered by the same renderers) and a
 * resolution notice.
 *
 * Work for one incident runs in order (diagnosis, then resolution), whatever order the alarms change in.
 * Restart semantics: `resume` picks up what the state file says is unfinished. A diagnosis that was in
 * flight when the process died is run again, unless its report.json was already written, in which case
 * that report is adopted (same target and `openedAt`): one episode never gets two reports. A resolution
 * whose notice may not have gone out is redone (the report update is idempotent; the notice is sent at
 * least once).
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { ProbeHistoryFiles } from '../../adapters/local/probe-history-files.ts';
import type { GatewatchConfig } from '../../core/config.ts';
import { formatIncidentId, isoSeconds } from '../../core/diagnosis/incident-id.ts';
import {
  finishIncident,
  type IncidentBook,
  type IncidentRecord,
  type IncidentReportRef,
  updateIncident,
} from '../../core/incident/lifecycle.ts';
import {
  buildProberReport,
  openingNotice,
  resolutionNotice,
  withResolution,
} from '../../core/incident/resolution.ts';
import { retryPolicy } from '../../core/notify-config.ts';
import type { NotificationRecord, Report } from '../../core/types.ts';
import type { Notifier, ReportStore } from '../../ports.ts';
import { storeReportFiles } from '../../steps/classify-and-report.ts';
import { storeKeys } from '../../steps/deps.ts';
import { type IndexContext, recordInIndex, updateReport } from '../../steps/incident-record.ts';
import { channelsOf, deliver, NotifierChannels, notifyReport } from '../../steps/notify.ts';
import type { DiagnoseRequest, DiagnoseResult } from '../diagnose.ts';
import { configuredChannels } from '../local-deps.ts';
import type { WatchEvent } from './status-view.ts';

/** Runs one diagnosis and writes its report (`diagnoseOnce`, or a stand-in in tests). */
export type DiagnoseFunction = (request: DiagnoseRequest) => Promise<DiagnoseResult>;

/** The runner's view of the watcher: the book, the state file, the events, the clock. */
export interface IncidentRunnerDeps {
  config: GatewatchConfig;
  diagnose: DiagnoseFunction;
  /** Remediation records what it would run and runs nothing (`watch --dry-run`). */
  dryRun?: boolean;
  /** Notices the pipeline sends itself (resolution, heartbeat, failed diagnosis). */
  notifier: Notifier;
  /** The reports folder's store (`FolderReportStore`); `reportsDir` is its folder. */
  store: ReportStore;
  reportsDir: string;
  getBook(): IncidentBook;
  setBook(book: IncidentBook): void;
  persist(): Promise<void>;
  emit(event: WatchEvent): void;
  now(): number;
  /** Waits between notification retries. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

/** The configured channels (e-mail, Slack, webhook, PagerDuty); with none, the view is the only channel. */
export function watchNotifier(config: GatewatchConfig): Notifier & { close(): void } {
  const channels = configuredChannels(config);
  const set = new NotifierChannels(channels);
  return Object.assign(set, {
    close: () => {
      for (const channel of channels) (channel as { close?: () => void }).close?.();
    },
  });
}

/** Runs the I/O of each incident in order: diagnosis, then resolution (see the module comment). */
export class IncidentRunner {
  readonly #deps: IncidentRunnerDeps;
  readonly #tasks = new Map<string, Promise<void>>();

  constructor(deps: IncidentRunnerDeps) {
    this.#deps = deps;
  }

  /** Starts the diagnosis (or the heartbeat report) of a newly opened incident. */
  opened(incident: IncidentRecord): void {
    this.#enqueue(incident.key, () => this.#diagnose(incident.key));
  }

  /** Queues the report update and the notice; they run once the diagnosis is done. */
  resolved(incident: IncidentRecord): void {
    this.#enqueue(incident.key, () => this.#finalize(incident.key));
  }

  /** Picks up what a previous run left unfinished (see the module comment). */
  resume(): number {
    const active = this.#deps.getBook().active;
    for (const record of active) {
      if (record.diagnosis === 'pending') this.opened(record);
      if (record.resolvedAt !== undefined) this.resolved(record);
    }
    return active.length;
  }

  /** Waits for every queued diagnosis and resolution. */
  async drain(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks.values()]);
  }

  /** Incidents with work in flight. */
  get busy(): number {
    return this.#tasks.size;
  }

  #enqueue(key: string, work: () => Promise<void>): void {
    const previous = this.#tasks.get(key) ?? Promise.resolve();
    const next = previous.then(work).catch((error: unknown) => {
      this.#warn(`incident ${key}: ${error instanceof Error ? error.message : String(error)}`);
    });
    this.#tasks.set(key, next);
    void next.then(() => {
      if (this.#tasks.get(key) === next) this.#tasks.delete(key);
    });
  }

  #record(key: string): IncidentRecord | undefined {
    return this.#deps.getBook().active.find((record) => record.key === key);
  }

  #update(key: string, change: (record: IncidentRecord) => IncidentRecord): IncidentRecord | undefined {
    this.#deps.setBook(updateIncident(this.#deps.getBook(), key, change));
    return this.#record(key);
  }

  #at(): string {
    return isoSeconds(new Date(this.#deps.now()));
  }

  #warn(message: string): void {
    this.#deps.emit({ type: 'warning', at: this.#at(), message });
  }

  async #diagnose(key: string): Promise<void> {
    const record = this.#record(key);
    if (record === undefined || record.diagnosis !== 'pending') return;
    let ref: IncidentReportRef;
    try {
      ref =
        record.subject.kind === 'prober'
          ? await this.#proberReport(record)
          : await this.#targetReport(record);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const failed = this.#update(key, (r) => ({
        ...r,
        diagnosis: 'failed',
        diagnosisError: message.slice(0, 500),
      }));
      await this.#deps.persist();
      if (failed) {
        this.#deps.emit({ type: 'incident-diagnosed', at: this.#at(), incident: failed });
        // The workflow's Notify step did not run: nobody would hear of this incident otherwise.
        await this.#notifyPlain(key, 'open', openingNotice(failed));
      }
      return;
    }
    const done = this.#update(key, (r) => ({
      ...r,
      diagnosis: 'done',
      report: ref,
      ...(ref.notifications === undefined ? {} : { notifications: ref.notifications }),
    }));
    await this.#deps.persist();
    if (done) this.#deps.emit({ type: 'incident-diagnosed', at: this.#at(), incident: done });
  }

  async #targetReport(record: IncidentRecord): Promise<IncidentReportRef> {
    const adopted = await this.#adopt(record);
    if (adopted) return adopted;
    const target = this.#deps.config.targets.find((t) => t.name === record.subject.name);
    if (target === undefined)
      throw new Error(`target ${record.subject.name} is no longer in the configuration`);
    const result = await this.#deps.diagnose({
      config: this.#deps.config,
      target,
      from: new Date(record.window.from),
      now: new Date(record.openedAt),
      trigger: record.trigger,
      deps: { notify: 'silent', out: this.#deps.reportsDir },
      ...(this.#deps.dryRun ? { dryRun: true } : {}),
    });
    return refOf(result.report, result.location);
  }

  async #proberReport(record: IncidentRecord): Promise<IncidentReportRef> {
    const adopted = await this.#adopt(record);
    if (adopted) return adopted;
    const incidentId = formatIncidentId(
      record.subject.name,
      new Date(record.openedAt),
      randomBytes(2).toString('hex'),
    );
    const report = buildProberReport(record, incidentId, this.#at());
    const notified = await this.#notifyReport(report, 'open', 'heartbeat missing');
    const location = await this.#writeReport(notified);
    return refOf(notified, location);
  }

  /** A report already written for this episode (same subject and opening second) before a restart. */
  async #adopt(record: IncidentRecord): Promise<IncidentReportRef | undefined> {
    const prefix = formatIncidentId(record.subject.name, new Date(record.openedAt), '');
    let names: string[];
    try {
      names = await readdir(this.#deps.reportsDir);
    } catch {
      return undefined;
    }
    for (const name of names.filter((n) => n.startsWith(prefix)).sort()) {
      const text = await this.#deps.store.get(storeKeys.report(name, 'json')).catch(() => undefined);
      if (text === undefined) continue;
      try {
        const report = JSON.parse(text) as Report;
        if (report.target === record.subject.name && report.openedAt === record.openedAt) {
          return refOf(report, this.#deps.store.locate(storeKeys.report(name, 'json')));
        }
      } catch {
        // A half-written file cannot be report.json: it is written by rename. Anything else is not ours.
      }
    }
    return undefined;
  }

  async #finalize(key: string): Promise<void> {
    const record = this.#record(key);
    if (record === undefined || record.resolvedAt === undefined || record.diagnosis === 'pending') return;
    let notified = false;
    if (record.report) {
      const jsonKey = storeKeys.report(record.report.incidentId, 'json');
      const text = await this.#deps.store.get(jsonKey);
      if (text !== undefined) {
        const report = JSON.parse(text) as Report;
        const alreadyNotified = (report.notifications ?? []).some((n) => n.event === 'resolve');
        if (report.resolvedAt === undefined || !alreadyNotified) {
          const why = `alarm${record.alarmIds.length === 1 ? '' : 's'} ${record.alarmIds.join(', ')} no longer in ALARM`;
          const resolvedAt = record.resolvedAt;
          const label = record.subject.kind === 'prober' ? 'heartbeat missing' : undefined;
          // Resolved by hand first: that resolution stands.
          const resolve = (current: Report) =>
            current.resolvedAt === undefined ? withResolution(current, resolvedAt, why) : current;
          // The notice goes out first, then the report records it: a crash in between re-sends (at least once).
          const before = resolve(report);
          const sent = alreadyNotified ? before : await this.#notifyReport(before, 'resolve', label);
          const outcomes = (sent.notifications ?? []).slice((before.notifications ?? []).length);
          // A compare-and-swap on report.json (an `ack` or `note` at the same moment is kept), then the index.
          await updateReport(
            this.#deps.store,
            record.report.incidentId,
            (current) => {
              const resolved = resolve(current);
              return outcomes.length === 0
                ? resolved
                : { ...resolved, notifications: [...(resolved.notifications ?? []), ...outcomes] };
            },
            this.#indexContext(),
          );
        }
        notified = true;
      } else {
        this.#warn(`${this.#deps.store.locate(jsonKey)} is gone; the resolution is not recorded in it`);
      }
    }
    if (!notified) await this.#notifyPlain(key, 'resolve', resolutionNotice(record));
    this.#deps.setBook(finishIncident(this.#deps.getBook(), key));
    await this.#deps.persist();
    this.#deps.emit({ type: 'incident-resolved', at: this.#at(), incident: record });
  }

  /** Writes report.{html,md,json} as the workflow does (JSON last: its presence means the report is complete). */
  async #writeReport(report: Report): Promise<string> {
    const location = this.#deps.store.locate(await storeReportFiles(report, this.#deps.store));
    await recordInIndex(this.#deps.store, report, this.#indexContext()).catch((error: unknown) =>
      this.#warn(`incident index not updated: ${error instanceof Error ? error.message : String(error)}`),
    );
    return location;
  }

  #indexContext(): IndexContext {
    return {
      now: () => new Date(this.#deps.now()),
      config: this.#deps.config,
      history: new ProbeHistoryFiles(this.#deps.reportsDir),
    };
  }

  /** Notifies about a report (open or resolve) on every channel; outcomes go into the report and the state. */
  async #notifyReport(report: Report, event: 'open' | 'resolve', label?: string): Promise<Report> {
    const result = await notifyReport(report, event, {
      config: this.#deps.config,
      notifier: this.#deps.notifier,
      now: () => new Date(this.#deps.now()),
      ...(this.#deps.sleep === undefined ? {} : { sleep: this.#deps.sleep }),
      host: hostname(),
      link: pathToFileURL(this.#deps.store.locate(storeKeys.report(report.incidentId, 'html'))).href,
      ...(label === undefined ? {} : { label }),
    });
    if (result === undefined) return report;
    this.#recordOutcomes(report.incidentId, result.outcomes);
    return result.report;
  }

  /** A notice with no report behind it (the diagnosis failed): sent and recorded in the state only. */
  async #notifyPlain(
    key: string,
    event: 'open' | 'resolve',
    notification: { subject: string; text: string },
  ): Promise<void> {
    const { channels } = channelsOf(this.#deps.notifier);
    const outcomes = await deliver(
      notification,
      event,
      channels,
      retryPolicy(this.#deps.config.notify),
      () => new Date(this.#deps.now()),
      this.#deps.sleep,
    );
    this.#update(key, (r) => ({ ...r, notifications: [...(r.notifications ?? []), ...outcomes] }));
    this.#warnFailures(notification.subject, outcomes);
  }

  #recordOutcomes(incidentId: string, outcomes: NotificationRecord[]): void {
    const record = this.#deps.getBook().active.find((r) => r.report?.incidentId === incidentId);
    if (record !== undefined)
      this.#update(record.key, (r) => ({ ...r, notifications: [...(r.notifications ?? []), ...outcomes] }));
    this.#warnFailures(incidentId, outcomes);
  }

  #warnFailures(what: string, outcomes: readonly NotificationRecord[]): void {
    for (const outcome of outcomes) {
      if (outcome.status === 'failed')
        this.#warn(
          `${outcome.event} notice for ${what} not sent on ${outcome.channel} after ${outcome.attempts} attempts: ${outcome.error ?? ''}`,
        );
    }
  }
}

function refOf(report: Report, location: string): IncidentReportRef {
  const notifications = report.notifications;
  return {
    ...(notifications === undefined || notifications.length === 0 ? {} : { notifications }),
    incidentId: report.incidentId,
    location,
    rootCause: report.verdict.rootCause,
    ...(report.verdict.upstream === undefined ? {} : { upstream: report.verdict.upstream }),
    confidence: report.verdict.confidence,
    summary: report.verdict.summary,
  };
}
