/**
 * `gatewatch watch`: the local pipeline. Every tick (the shortest probe interval, down to 1 s) it probes
 * the targets that are due, publishes `ProbeFailed` per target and one `Heartbeat` per run, reads what is
 * new in each access log into each target's `Status5xxShare` over the error-rate window (a log several
 * targets name is split among them line by line: `shared-access-log.ts`), evaluates the same alarm definitions the
 * CDK stack deploys, and lets the incident lifecycle open, diagnose and resolve incidents. It also tails
 * each error log and counts both logs per minute and upstream (answers per peer, failures per kind) for
 * the status view; those counts feed no alarm.
 *
 * Time. A run at tick `k` reports on the period that just ended (`k-1`): its samples carry that period's
 * start. A period is evaluated once it is final, i.e. once the run reporting on it has completed, or has
 * been stuck for longer than any probe may take (`lagMs`; then it counts as missing, and missing
 * heartbeats are breaching: a prober that stops reporting becomes an incident). So an alarm never sees a
 * period as missing only because its run is still in flight, and a failure is evaluated as soon as the
 * run that saw it returns: with "2 of 3", a fault is detected within two probe intervals plus one run.
 *
 * Shutdown: `stop()` ends the ticks, lets runs and in-flight diagnoses complete, closes the tail files and
 * flushes the state file; `stop({ force: true })` flushes without waiting, and the next start resumes
 * whatever was unfinished (see `incidents.ts`).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FileTailer } from '../../adapters/local/file-tailer.ts';
import { FolderReportStore } from '../../adapters/local/folder-report-store.ts';
import { type ProbeTarget, runProbes } from '../../adapters/local/http-prober.ts';
import { ProbeHistoryFiles } from '../../adapters/local/probe-history-files.ts';
import {
  type AlarmDefinition,
  alarmDefinitionsForTargets,
  PROBER_DIMENSION_VALUE,
} from '../../core/alarm/definitions.ts';
import { AlarmEvaluator } from '../../core/alarm/evaluator.ts';
import type { GatewatchConfig, TargetConfig } from '../../core/config.ts';
import { isoSeconds } from '../../core/diagnosis/incident-id.ts';
import {
  emptyBook,
  type IncidentBook,
  reconcileIncidents,
  subjectOf,
} from '../../core/incident/lifecycle.ts';
import { status5xxShare } from '../../core/metrics/error-rate.ts';
import { TargetAttribution, targetIdentity } from '../../core/nginx/target-attribution.ts';
import type { ProbeResult } from '../../core/probe/types.ts';
import { redactText } from '../../core/redact.ts';
import type { Notifier } from '../../ports.ts';
import { parseUtcOffset } from '../../steps/deps.ts';
import { diagnoseOnce } from '../diagnose.ts';
import { type DiagnoseFunction, IncidentRunner, watchNotifier } from './incidents.ts';
import { type MinuteCounts, MinuteTraffic } from './minute-traffic.ts';
import { ProbeHistoryRecorder } from './probe-history.ts';
import { SharedAccessLog } from './shared-access-log.ts';
import {
  defaultStatePath,
  loadWatchState,
  saveWatchState,
  type WatchState,
  WatchStateError,
} from './state-file.ts';
import {
  LiveView,
  type LiveViewOptions,
  type TargetStatus,
  type WatchEvent,
  type WatchStatus,
} from './status-view.ts';
import { summarizeMinute, type UpstreamMinuteSummary, UpstreamMinutes } from './upstream-minutes.ts';

/** Thrown for options `watch` cannot run with; the message says what to change. */
export class WatchConfigError extends Error {
  override name = 'WatchConfigError';
}

/** What the watcher needs from outside; tests replace the prober and the diagnosis. */
export interface WatchDeps {
  /** One probe run over the due targets. @default runProbes in local mode */
  probe?: (targets: readonly ProbeTarget[]) => Promise<ProbeResult[]>;
  /** @default diagnoseOnce */
  diagnose?: DiagnoseFunction;
  /** Resolution and heartbeat notices. @default SMTP when `notify.smtp` and `notify.email` are set, else none */
  notifier?: Notifier;
  /** Wall clock, epoch ms. @default Date.now */
  now?: () => number;
}

/** What `watch` runs on; only `config` is required. */
export interface WatchOptions {
  config: GatewatchConfig;
  /** Probe every target every this many seconds instead of its `probe.intervalSeconds`. */
  intervalOverrideSeconds?: number;
  /**
   * No new incident of a target within this many seconds after its previous one resolved (an alarm still
   * in ALARM then opens one when the cool-down ends). @default 5 probe intervals (5 min at 60 s)
   */
  cooldownSeconds?: number;
  /** @default `<reports.dir>/.gatewatch-state.json` */
  statePath?: string;
  /** The live view or log lines. @default nothing is written */
  view?: LiveViewOptions;
  /** Every event, as it happens (the demo and tests follow the pipeline with it). */
  onEvent?: (event: WatchEvent) => void;
  deps?: WatchDeps;
  /** Probe runs in flight at once before a tick is skipped (a skipped tick is a missing heartbeat). @default 3 */
  maxRunsInFlight?: number;
  /** Remediation records what it would run for each incident and runs nothing. */
  dryRun?: boolean;
}

interface RunInFlight {
  startedWallMs: number;
}

/** What one target counts of one log: its `Status5xxShare` minutes (access logs) and its upstream minutes. */
interface LogCounters {
  traffic?: MinuteTraffic;
  minutes: UpstreamMinutes;
}

/**
 * One tailed log. An access log keeps counters per target that names it; when several do, `shared` gives
 * each line to its target(s). An error log keeps one set of counters (key `''`) shown for all its targets.
 */
interface TailedLog {
  tailer: FileTailer;
  kind: 'access' | 'error';
  counters: Map<string, LogCounters>;
  targets: string[];
  shared?: SharedAccessLog;
  /** Unattributed lines of a shared log were warned about (once per log). */
  unattributedWarned?: boolean;
  /** The last read failure warned about, until a read succeeds. */
  readError?: string | undefined;
}

/**
 * Where a target's counters of a log are kept in the state file: the path alone for a log only it names
 * (as before logs could be shared), `path#target` for a shared one.
 */
function stateKey(path: string, target: string, shared: boolean): string {
  return shared ? `${path}#${target}` : path;
}

/** The pipeline's state and one tick of work; {@link startWatch} drives it from a timer. */
export class Watcher {
  readonly config: GatewatchConfig;
  readonly intervalMs: number;
  readonly cooldownSeconds: number;
  readonly statePath: string;
  readonly definitions: readonly AlarmDefinition[];
  readonly startedAtMs: number;
  readonly #options: WatchOptions;
  readonly #now: () => number;
  readonly #probe: (targets: readonly ProbeTarget[]) => Promise<ProbeResult[]>;
  readonly #evaluator: AlarmEvaluator;
  readonly #runner: IncidentRunner;
  readonly #notifier: Notifier & { close?(): void };
  readonly #view: LiveView;
  readonly #probed: { name: string; probe: NonNullable<TargetConfig['probe']> }[];
  readonly #lagMs: number;
  readonly #tailers = new Map<string, TailedLog>();
  readonly #inFlight = new Map<number, RunInFlight>();
  readonly #runs = new Set<Promise<void>>();
  readonly #lastSampledPeriod = new Map<string, number>();
  readonly #lastResults = new Map<string, ProbeResult>();
  /** Probe minutes for the incident index's availability (reports.dir/history). */
  readonly #history: ProbeHistoryRecorder;
  readonly #lastMinutes = new Map<string, MinuteCounts>();
  /** Each target's minutes inside its error-rate window (`Status5xxShare` sums over them). */
  readonly #recentMinutes = new Map<string, MinuteCounts[]>();
  readonly #lastUpstreamMinutes = new Map<string, UpstreamMinuteSummary>();
  #failingSince: Record<string, number>;
  #book: IncidentBook;
  #lastTickMs: number;
  #evalNowMs: number;
  #stopped = false;
  #closed = false;
  #lastSaved = '';
  #stopping: Promise<void> | undefined;
  #saving: Promise<void> | undefined;
  #dirty = false;
  #skippedWarned = false;

  private constructor(options: WatchOptions, state: WatchState | undefined, restoreWarning?: string) {
    this.#options = options;
    this.#now = options.deps?.now ?? Date.now;
    this.config = effectiveConfig(options.config, options.intervalOverrideSeconds);
    this.#probed = this.config.targets.flatMap((t) =>
      t.probe === undefined ? [] : [{ name: t.name, probe: t.probe }],
    );
    const hasLogs = this.config.targets.some((t) => t.nginx.accessLog !== undefined);
    if (this.#probed.length === 0 && !hasLogs) {
      throw new WatchConfigError('nothing to watch: no target has a probe or an nginx.accessLog');
    }
    const intervalSeconds =
      this.#probed.length === 0 ? 60 : Math.min(...this.#probed.map((t) => t.probe.intervalSeconds));
    this.intervalMs = intervalSeconds * 1000;
    this.cooldownSeconds = options.cooldownSeconds ?? 5 * intervalSeconds;
    if (!Number.isFinite(this.cooldownSeconds) || this.cooldownSeconds < 0) {
      throw new WatchConfigError(`the cool-down must be 0 or more seconds, got ${this.cooldownSeconds}`);
    }
    this.statePath = resolve(options.statePath ?? defaultStatePath(this.config.reports.dir));
    this.definitions = alarmDefinitionsForTargets(this.config.targets, {
      probeIntervalSeconds: intervalSeconds,
    });
    this.#lagMs =
      Math.max(
        0,
        ...this.#probed.map((t) => t.probe.timeoutMs * (1 + t.probe.retries) + 200 * t.probe.retries),
      ) +
      2 * this.intervalMs +
      1000;

    const now = this.#now();
    // The first run reports on the period before its tick: that period is the first one with data.
    const firstTick = (Math.floor(now / this.intervalMs) + 1) * this.intervalMs;
    this.startedAtMs = firstTick - this.intervalMs;
    this.#lastTickMs = this.startedAtMs;
    this.#evalNowMs = this.startedAtMs;
    const known = new Set(this.definitions.map((d) => d.id));
    this.#evaluator = new AlarmEvaluator(this.definitions, {
      startedAtMs: this.startedAtMs,
      initialStates: Object.fromEntries(Object.entries(state?.alarms ?? {}).filter(([id]) => known.has(id))),
    });
    this.#book = state?.incidents ?? emptyBook();
    this.#failingSince = { ...(state?.failingSince ?? {}) };
    this.#probe =
      options.deps?.probe ??
      ((targets) =>
        runProbes(targets, { mode: 'local', concurrency: Math.min(32, Math.max(1, targets.length)) }));
    this.#notifier = options.deps?.notifier ?? watchNotifier(this.config);
    this.#view = new LiveView(options.view ?? { mode: 'none', write: () => {} });

    const tailer = (path: string) =>
      new FileTailer({
        path,
        start: state?.tailers[path] ?? 'end',
        encoding: 'latin1',
        onWarning: (message) => this.#emit({ type: 'warning', at: this.#iso(), message }),
      });
    const accessTargets = new Map<string, TargetConfig[]>();
    for (const target of this.config.targets) {
      const path = target.nginx.accessLog;
      if (path === undefined) continue;
      accessTargets.set(path, [...(accessTargets.get(path) ?? []), target]);
    }
    for (const [path, targets] of accessTargets) {
      const shared = targets.length > 1;
      const counters = new Map<string, LogCounters>();
      for (const target of targets) {
        const key = stateKey(path, target.name, shared);
        counters.set(target.name, {
          traffic: new MinuteTraffic({ pending: state?.traffic[key] ?? [] }),
          minutes: new UpstreamMinutes('access', { pending: state?.upstreamMinutes?.[key] ?? [] }),
        });
      }
      this.#tailers.set(path, {
        tailer: tailer(path),
        kind: 'access',
        counters,
        targets: targets.map((t) => t.name),
        ...(shared
          ? { shared: new SharedAccessLog(new TargetAttribution(targets.map((t) => targetIdentity(t)))) }
          : {}),
      });
    }
    for (const target of this.config.targets) {
      const path = target.nginx.errorLog;
      const existing = this.#tailers.get(path);
      if (existing) {
        // A path named as both an access and an error log is read as the access log it was named first.
        if (existing.kind === 'error') existing.targets.push(target.name);
        continue;
      }
      this.#tailers.set(path, {
        tailer: tailer(path),
        kind: 'error',
        counters: new Map([
          [
            '',
            {
              minutes: new UpstreamMinutes('error', {
                pending: state?.upstreamMinutes?.[path] ?? [],
                utcOffsetMinutes: parseUtcOffset(target.nginx.utcOffset, -new Date(now).getTimezoneOffset()),
              }),
            },
          ],
        ]),
        targets: [target.name],
      });
    }

    this.#history = new ProbeHistoryRecorder(new ProbeHistoryFiles(this.config.reports.dir), (message) =>
      this.warn(message),
    );
    this.#runner = new IncidentRunner({
      config: this.config,
      diagnose: options.deps?.diagnose ?? diagnoseOnce,
      ...(options.dryRun ? { dryRun: true } : {}),
      notifier: this.#notifier,
      store: new FolderReportStore(this.config.reports.dir),
      reportsDir: this.config.reports.dir,
      getBook: () => this.#book,
      setBook: (book) => {
        this.#book = book;
      },
      persist: () => this.persist(),
      emit: (event) => this.#emit(event),
      now: this.#now,
    });
    if (restoreWarning) this.#emit({ type: 'warning', at: this.#iso(), message: restoreWarning });
  }

  /** Loads the state file (a corrupt one is set aside with a warning) and resumes unfinished incidents. */
  static async create(options: WatchOptions): Promise<Watcher> {
    const statePath = resolve(
      options.statePath ??
        defaultStatePath(effectiveConfig(options.config, options.intervalOverrideSeconds).reports.dir),
    );
    await mkdir(dirname(statePath), { recursive: true });
    let state: WatchState | undefined;
    let warning: string | undefined;
    try {
      state = await loadWatchState(statePath);
    } catch (error) {
      if (!(error instanceof WatchStateError)) throw error;
      warning = `${error.message}; starting with no open incident`;
    }
    const watcher = new Watcher({ ...options, statePath }, state, warning);
    const resumed = watcher.#runner.resume();
    watcher.#emit({
      type: 'started',
      at: watcher.#iso(),
      targets: watcher.config.targets.length,
      intervalSeconds: watcher.intervalMs / 1000,
      resumed,
    });
    await watcher.persist();
    return watcher;
  }

  /**
   * One tick at `tickMs` (a multiple of the interval): starts a probe run over the due targets, reads the
   * access logs, evaluates. Resolves when the run is done (the timer does not wait for it).
   */
  async tick(tickMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#lastTickMs = Math.max(this.#lastTickMs, tickMs);
    let run: Promise<void> | undefined;
    if (this.#probed.length > 0) {
      if (this.#inFlight.size >= (this.#options.maxRunsInFlight ?? 3)) {
        if (!this.#skippedWarned) {
          this.#skippedWarned = true;
          this.#emit({
            type: 'warning',
            at: this.#iso(),
            message: `${this.#inFlight.size} probe runs still in flight; skipping ticks until one returns`,
          });
        }
      } else {
        run = this.#startRun(tickMs);
      }
    }
    await this.#readLogs();
    this.evaluate();
    this.#render();
    await run;
  }

  #startRun(tickMs: number): Promise<void> {
    const sampleMs = tickMs - this.intervalMs;
    const due = this.#probed.filter((target) => {
      const period = Math.floor(sampleMs / (target.probe.intervalSeconds * 1000));
      if (this.#lastSampledPeriod.get(target.name) === period) return false;
      this.#lastSampledPeriod.set(target.name, period);
      return true;
    });
    this.#inFlight.set(tickMs, { startedWallMs: this.#now() });
    const run = (async () => {
      let results: ProbeResult[] | undefined;
      try {
        results = due.length === 0 ? [] : await this.#probe(due);
      } catch (error) {
        // A run that throws reports nothing, not even its heartbeat: the heartbeat alarm will say so.
        this.#emit({
          type: 'warning',
          at: this.#iso(),
          message: `probe run failed: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
      this.#inFlight.delete(tickMs);
      if (this.#stopped) return;
      if (results !== undefined) this.#record(results, sampleMs);
      this.#skippedWarned = false;
      this.evaluate();
      this.#render();
    })();
    this.#runs.add(run);
    const forget = () => {
      this.#runs.delete(run);
    };
    run.then(forget, forget);
    return run;
  }

  #record(results: readonly ProbeResult[], sampleMs: number): void {
    this.#history.record(results, sampleMs);
    for (const result of results) {
      this.#evaluator.putMetric({
        name: 'ProbeFailed',
        dimensions: { Target: result.target },
        value: result.ok ? 0 : 1,
        atMs: sampleMs,
      });
      const previous = this.#lastResults.get(result.target);
      this.#lastResults.set(result.target, result);
      this.#emit({ type: 'probe', at: this.#iso(), result });
      if (result.ok) delete this.#failingSince[result.target];
      else this.#failingSince[result.target] ??= Date.parse(result.at);
      if (previous === undefined || previous.ok !== result.ok) {
        this.#emit({ type: 'probe-changed', at: this.#iso(), result });
      }
    }
    this.#evaluator.putMetric({
      name: 'Heartbeat',
      dimensions: { Prober: PROBER_DIMENSION_VALUE },
      value: 1,
      atMs: sampleMs,
    });
  }

  async #readLogs(): Promise<void> {
    const now = this.#now();
    for (const [path, entry] of this.#tailers) {
      try {
        for (const line of await entry.tailer.poll()) {
          if (entry.shared === undefined) {
            for (const counters of entry.counters.values()) {
              counters.traffic?.addLine(line.text);
              counters.minutes.addLine(line.text);
            }
            continue;
          }
          for (const target of entry.shared.targetsOf(line.text)) {
            const counters = entry.counters.get(target)!;
            counters.traffic?.addLine(line.text);
            counters.minutes.addLine(line.text);
          }
        }
        entry.readError = undefined;
      } catch (error) {
        const message = `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`;
        // Said once, not every tick: an unreadable log (e.g. the default error log of another user) stays so.
        if (entry.readError !== message) {
          entry.readError = message;
          this.#emit({ type: 'warning', at: this.#iso(), message });
        }
      }
      const unattributed = entry.shared?.takeUnattributed() ?? 0;
      if (unattributed > 0 && !entry.unattributedWarned) {
        entry.unattributedWarned = true;
        this.#emit({
          type: 'warning',
          at: this.#iso(),
          message: `${path} is shared by ${entry.targets.join(', ')}: ${unattributed} line(s) match no target's nginx.serverNames/probe host or upstreams and count for none (said once; see "Targets that share one access log" in the README)`,
        });
      }
      for (const [key, counters] of entry.counters) {
        const targets = entry.kind === 'error' ? entry.targets : [key];
        this.#countMinutes(path, targets, counters, now, entry.shared !== undefined);
      }
    }
  }

  /** Hands one target's (or an error log's) finished minutes to the status view and the alarms. */
  #countMinutes(
    path: string,
    targets: readonly string[],
    counters: LogCounters,
    now: number,
    shared: boolean,
  ): void {
    for (const minute of counters.minutes.takeComplete(now)) {
      for (const target of targets) {
        this.#lastUpstreamMinutes.set(target, summarizeMinute(this.#lastUpstreamMinutes.get(target), minute));
      }
    }
    const droppedMinutes = counters.minutes.takeDropped();
    const where = shared ? `${path} (${targets.join(', ')})` : path;
    // The access log's late lines are reported once, below, by its Status5xxShare counter.
    if (counters.traffic === undefined && droppedMinutes.late > 0) {
      this.#emit({
        type: 'warning',
        at: this.#iso(),
        message: `${where}: ${droppedMinutes.late} line(s) arrived after their minute was counted; not counted`,
      });
    }
    if (counters.traffic === undefined) return;
    for (const minute of counters.traffic.takeComplete(now)) {
      for (const target of targets) {
        this.#lastMinutes.set(target, minute);
        // The same derivation as the AWS log-rate Lambda: a ratio of sums over the window, guarded.
        const window = this.definitions.find((d) => d.id === `${target}-error-rate`)?.window;
        if (window === undefined) continue;
        const recent = [...(this.#recentMinutes.get(target) ?? []), minute].filter(
          (m) => m.minuteMs > minute.minuteMs - window.minutes * 60_000,
        );
        this.#recentMinutes.set(target, recent);
        const value = status5xxShare(recent, minute.minuteMs, window);
        if (value === undefined) continue;
        this.#evaluator.putMetric({
          name: 'Status5xxShare',
          dimensions: { Target: target },
          value,
          atMs: minute.minuteMs,
        });
      }
    }
    const dropped = counters.traffic.takeDropped();
    if (dropped.late > 0) {
      this.#emit({
        type: 'warning',
        at: this.#iso(),
        message: `${where}: ${dropped.late} line(s) arrived after their minute was counted; not counted`,
      });
    }
  }

  /** The latest moment up to which every period is final (see the module comment). */
  #evaluationTime(): number {
    const wall = this.#now();
    let oldestLive: number | undefined;
    for (const [tickMs, run] of this.#inFlight) {
      if (wall - run.startedWallMs >= this.#lagMs) continue;
      if (oldestLive === undefined || tickMs < oldestLive) oldestLive = tickMs;
    }
    const final = oldestLive === undefined ? this.#lastTickMs : oldestLive - this.intervalMs;
    this.#evalNowMs = Math.max(this.#evalNowMs, final);
    return this.#evalNowMs;
  }

  /** Evaluates every alarm and applies the states to the incidents. */
  evaluate(): void {
    if (this.#stopped) return;
    const transitions = this.#evaluator.evaluate(this.#evaluationTime());
    for (const transition of transitions) {
      const definition = this.definitions.find((d) => d.id === transition.alarmId)!;
      this.#emit({ type: 'alarm', at: this.#iso(), transition, subject: subjectOf(definition) });
    }
    const snapshot = this.#evaluator.snapshot();
    const { book, actions } = reconcileIncidents(this.#book, {
      nowMs: this.#now(),
      alarms: this.definitions.map((definition) => ({ definition, status: snapshot[definition.id]! })),
      cooldownSeconds: this.cooldownSeconds,
      failingSinceMs: this.#failingSince,
    });
    this.#book = book;
    for (const action of actions) {
      if (action.kind === 'open') {
        this.#emit({ type: 'incident-opened', at: this.#iso(), incident: action.incident });
        this.#runner.opened(action.incident);
      } else if (action.kind === 'resolve') {
        this.#runner.resolved(action.incident);
      } else {
        this.#emit({
          type: 'incident-held',
          at: this.#iso(),
          subject: action.subject,
          alarmId: action.alarmId,
          until: action.until,
        });
      }
    }
    void this.persist();
  }

  /** Writes the state file; writes requested while one is in progress are folded into one more. */
  persist(): Promise<void> {
    // After stop, the next process owns the state file: late work of this one must not overwrite it.
    if (this.#closed) return Promise.resolve();
    this.#dirty = true;
    if (this.#saving === undefined) {
      const saving = this.#saveLoop();
      this.#saving = saving;
      // Cleared only after the assignment above: the loop may finish without ever awaiting.
      void saving.then(() => {
        if (this.#saving === saving) this.#saving = undefined;
      });
    }
    return this.#saving;
  }

  async #saveLoop(): Promise<void> {
    try {
      while (this.#dirty) {
        this.#dirty = false;
        const state = this.#state();
        // Unchanged but for the time of saving: no need to write (and fsync) it again.
        const content = JSON.stringify({ ...state, savedAt: '' });
        if (content === this.#lastSaved) continue;
        await saveWatchState(this.statePath, state);
        this.#lastSaved = content;
      }
    } catch (error) {
      this.#emit({
        type: 'warning',
        at: this.#iso(),
        message: `cannot write the state file ${this.statePath}: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  }

  #state(): WatchState {
    const tailers: WatchState['tailers'] = {};
    const traffic: WatchState['traffic'] = {};
    const upstreamMinutes: NonNullable<WatchState['upstreamMinutes']> = {};
    for (const [path, entry] of this.#tailers) {
      const position = entry.tailer.position();
      if (position) tailers[path] = position;
      for (const [target, counters] of entry.counters) {
        const key = entry.kind === 'error' ? path : stateKey(path, target, entry.shared !== undefined);
        const pending = counters.traffic?.pending() ?? [];
        if (pending.length > 0) traffic[key] = pending;
        const minutes = counters.minutes.pending();
        if (minutes.length > 0) upstreamMinutes[key] = minutes;
      }
    }
    return {
      version: 1,
      savedAt: new Date(this.#now()).toISOString(),
      alarms: this.#evaluator.snapshot(),
      incidents: this.#book,
      tailers,
      traffic,
      upstreamMinutes,
      failingSince: { ...this.#failingSince },
    };
  }

  /** Resolves once no probe run, diagnosis, resolution or state write is in flight. */
  async idle(): Promise<void> {
    for (;;) {
      await Promise.allSettled([...this.#runs]);
      await this.#runner.drain();
      await this.#saving;
      if (this.#runs.size === 0 && this.#runner.busy === 0 && this.#saving === undefined) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** The incident book as it stands (open, resolving and recently finished incidents). */
  get incidents(): IncidentBook {
    return this.#book;
  }

  /** What the live view shows. */
  status(): WatchStatus {
    const alarms = this.#evaluator.snapshot();
    return {
      startedAt: new Date(this.startedAtMs).toISOString(),
      intervalSeconds: this.intervalMs / 1000,
      cooldownSeconds: this.cooldownSeconds,
      statePath: this.statePath,
      targets: this.config.targets.map((target): TargetStatus => {
        const last = this.#lastResults.get(target.name);
        const minute = this.#lastMinutes.get(target.name);
        const upstreamMinute = this.#lastUpstreamMinutes.get(target.name);
        return {
          name: target.name,
          ...(target.probe === undefined
            ? {}
            : {
                url: redactText(
                  target.probe.tcp !== undefined ? `tcp://${target.probe.tcp}` : (target.probe.url ?? ''),
                ),
              }),
          ...(last === undefined
            ? {}
            : {
                last: {
                  ok: last.ok,
                  ...(last.status === undefined ? {} : { status: last.status }),
                  ...(last.failure === undefined ? {} : { failure: last.failure.kind }),
                  latencyMs: last.phases.total,
                  at: last.at,
                },
              }),
          alarms: this.definitions
            .filter((d) => d.target === target.name)
            .map((d) => ({ id: d.id, state: alarms[d.id]!.state, since: alarms[d.id]!.since })),
          ...(minute === undefined ? {} : { lastMinute: minute }),
          ...(upstreamMinute === undefined ? {} : { lastUpstreamMinute: upstreamMinute }),
        };
      }),
      active: this.#book.active,
      recent: this.#book.recent,
    };
  }

  /**
   * Stops ticking. By default waits for probe runs and in-flight diagnoses and resolutions, then flushes
   * the state; with `force`, flushes at once (unfinished work resumes on the next start).
   */
  stop(options: { force?: boolean } = {}): Promise<void> {
    if (options.force && this.#stopping) {
      return this.persist();
    }
    this.#stopping ??= (async () => {
      if (!options.force) {
        // Runs end within their probe timeouts; one stuck beyond that is not worth waiting for.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...this.#runs]),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, this.#lagMs);
          }),
        ]);
        clearTimeout(timer);
        await this.#runner.drain();
      }
      this.#stopped = true;
      await Promise.all([...this.#tailers.values()].map((entry) => entry.tailer.close()));
      await this.#history.flush();
      await this.persist();
      this.#closed = true;
      const open = this.#book.active.filter((r) => r.resolvedAt === undefined).length;
      this.#emit({ type: 'stopped', at: this.#iso(), open });
      this.#view.close();
      this.#notifier.close?.();
    })();
    return this.#stopping;
  }

  /** Reports a problem of the pipeline itself as a `warning` event. */
  warn(message: string): void {
    this.#emit({ type: 'warning', at: this.#iso(), message });
  }

  /**
   * Gives the terminal back at once (normal screen, cursor shown): for a process that exits before
   * {@link stop} has finished. Idempotent; `stop` does it too.
   */
  closeView(): void {
    this.#view.close();
  }

  /** Shows a notice of the program on the terminal screen; false when there is no screen (print it instead). */
  note(message: string): boolean {
    return this.#view.note(`${this.#iso()} ${message}`);
  }

  #render(): void {
    this.#view.render(this.status(), this.#now());
  }

  #iso(): string {
    return isoSeconds(new Date(this.#now()));
  }

  #emit(event: WatchEvent): void {
    this.#view.event(event);
    try {
      this.#options.onEvent?.(event);
    } catch {
      // A listener's failure is the listener's business, not the pipeline's.
    }
  }
}

/** The configuration with the interval override applied to every probe. */
export function effectiveConfig(
  config: GatewatchConfig,
  intervalOverrideSeconds: number | undefined,
): GatewatchConfig {
  if (intervalOverrideSeconds === undefined) return config;
  if (
    !Number.isInteger(intervalOverrideSeconds) ||
    intervalOverrideSeconds < 1 ||
    intervalOverrideSeconds > 86_400
  ) {
    throw new WatchConfigError(
      `the interval override must be whole seconds from 1 to 86400, got ${intervalOverrideSeconds}`,
    );
  }
  return {
    ...config,
    targets: config.targets.map((target) =>
      target.probe === undefined
        ? target
        : { ...target, probe: { ...target.probe, intervalSeconds: intervalOverrideSeconds } },
    ),
  };
}

/** A running watch: the watcher and a timer that ticks it on the interval grid. */
export interface WatchHandle {
  readonly watcher: Watcher;
  /** Settles once the watch has stopped and its state is flushed. */
  readonly done: Promise<void>;
  /** See {@link Watcher.stop}. */
  stop(options?: { force?: boolean }): Promise<void>;
}

/** Starts the watch: ticks on the interval grid until `stop()`. */
export async function startWatch(options: WatchOptions): Promise<WatchHandle> {
  const watcher = await Watcher.create(options);
  const now = options.deps?.now ?? Date.now;
  const interval = watcher.intervalMs;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      const wallNow = now();
      const next = (Math.floor(wallNow / interval) + 1) * interval;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, next - wallNow);
      });
      if (stopped) break;
      // Late (a stalled event loop): the boundaries slept through are periods without a run.
      const tickMs = Math.max(next, Math.floor(now() / interval) * interval);
      void watcher.tick(tickMs).catch((error: unknown) => {
        watcher.warn(`tick failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
  })();
  let stopping: Promise<void> | undefined;
  const stop = (stopOptions: { force?: boolean } = {}) => {
    stopped = true;
    clearTimeout(timer);
    wake?.();
    if (stopOptions.force) return watcher.stop({ force: true }).then(() => loop);
    stopping ??= watcher.stop().then(() => loop);
    return stopping;
  };
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  return {
    watcher,
    done,
    stop: (stopOptions) => stop(stopOptions).finally(resolveDone),
  };
}
