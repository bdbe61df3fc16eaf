/**
 * `gatewatch demo`: a real nginx and sample upstreams on loopback, watched by the real `watch` pipeline
 * (1 s probes, the deployed alarm rules, the diagnosis workflow), faults injected one after the other.
 * For each fault it shows the detection (the alarm that opened the incident), the verdict and the report,
 * then the recovery once the fault is repaired (the incident resolved, with its duration). Nothing outside
 * a temp folder and the reports folder is touched; the temp folder holds the nginx prefix, the generated
 * gatewatch.yaml and the watch state, so a demo never resumes another demo's incidents.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { formatDuration } from '../core/report/view.ts';
import type { Report } from '../core/types.ts';
import type { Io } from './cli/io.ts';
import { loadConfigFile } from './config-file.ts';
import { freePort } from './lab/free-port.ts';
import { findNginx, NginxLab } from './lab/nginx-lab.ts';
import { UpstreamProcess } from './lab/upstream-process.ts';
import type { WatchEvent } from './watch/status-view.ts';
import { startWatch, type WatchHandle } from './watch/watcher.ts';

/** `gatewatch demo` flags. */
export interface DemoOptions {
  out: string;
  keep: boolean;
  /**
   * Aborted on SIGINT/SIGTERM: the demo stops where it is, stops the watch (letting a diagnosis in flight
   * finish), kills its upstreams, stops nginx (master and workers) and removes its temp folder, then
   * rejects with {@link DemoInterruptedError}.
   */
  signal?: AbortSignal;
  /** Aborted on a second signal: the watch is stopped without waiting; the rest is cleaned up all the same. */
  hurry?: AbortSignal;
  /** Cool-down of the demo's watch; the demo waits it out between faults. @default 2 */
  cooldownSeconds?: number;
}

/** One fault as the demo saw it, for the caller (the CLI ignores it; the demo test checks it). */
export interface DemoOutcome {
  fault: string;
  target: string;
  /** The report as it stands after the incident resolved (with `resolvedAt`, `durationSeconds`). */
  report: Report;
  location: string;
  /** The alarm(s) that opened the incident. */
  alarmIds: string[];
  /** From injecting the fault to the incident opening, and to its report being written. */
  detectedAfterMs: number;
  reportAfterMs: number;
}

/** A step of the demo did not happen in time (nginx, the upstream or the pipeline is stuck). */
export class DemoStepError extends Error {
  override name = 'DemoStepError';
}

/** The demo was stopped by a signal (its `signal` aborted); everything it started has been cleaned up. */
export class DemoInterruptedError extends Error {
  override name = 'DemoInterruptedError';
}

interface Fault {
  name: string;
  target: string;
  repaired: string;
  inject(): Promise<void>;
  repair(): Promise<void>;
}

const DETECT_DEADLINE_MS = 30_000;
const DIAGNOSE_DEADLINE_MS = 90_000;
const RESOLVE_DEADLINE_MS = 30_000;
/** Quiet time between faults, so one fault's error-log lines never fall into the next one's window. */
const SETTLE_MS = 3000;

/** Every event the watch emitted, and a way to wait for the next one that matches. */
class EventLog {
  readonly events: WatchEvent[] = [];
  #waiters: (() => void)[] = [];

  push = (event: WatchEvent): void => {
    this.events.push(event);
    for (const wake of this.#waiters.splice(0)) wake();
  };

  async waitFor<E extends WatchEvent>(
    from: number,
    match: (event: WatchEvent) => event is E,
    timeoutMs: number,
    what: string,
    signal?: AbortSignal,
  ): Promise<E> {
    const deadline = Date.now() + timeoutMs;
    for (let index = from; ; ) {
      for (; index < this.events.length; index++) {
        const event = this.events[index]!;
        if (match(event)) return event;
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new DemoStepError(`${what} did not happen within ${Math.round(timeoutMs / 1000)} s`);
      await sleep(left, signal, (wake) => this.#waiters.push(wake));
    }
  }
}

/** Runs the whole demo: lab up, watch, four faults detected, diagnosed and resolved, everything cleaned up. */
export async function runDemo(io: Io, options: DemoOptions): Promise<DemoOutcome[]> {
  findNginx(); // before anything starts: without nginx the demo says how to get it, and nothing else
  const signal = options.signal;
  /** Between steps: a stopped demo goes no further (and its finally block cleans up). */
  const check = () => {
    if (signal?.aborted) throw new DemoInterruptedError('the demo was stopped');
  };
  const started = Date.now();
  const cooldownSeconds = options.cooldownSeconds ?? 2;
  const port = await freePort();
  const otherPort = await freePort();
  const socketPath = join('/tmp', `gatewatch-demo-${process.pid}.sock`);
  const label = `gatewatch-demo-app-${process.pid}`;
  const upstreams: UpstreamProcess[] = [];
  const startApp = async (extra: Partial<Parameters<typeof UpstreamProcess.start>[0]> = {}) => {
    check();
    const app = await UpstreamProcess.start({ mode: 'ok', port, label, ...extra });
    upstreams.push(app);
    check();
    return app;
  };
  const startSocketApp = async () => {
    check();
    const app = await UpstreamProcess.start({ mode: 'ok', socket: socketPath, socketMode: '666' });
    upstreams.push(app);
    check();
    return app;
  };
  let lab: NginxLab | undefined;
  let watch: WatchHandle | undefined;
  const outcomes: DemoOutcome[] = [];
  const faultIncidents = new Set<string>();
  try {
    lab = await NginxLab.start({
      server: `location / {
    proxy_pass http://127.0.0.1:${port};
    proxy_read_timeout 1s;
}
location /socket/ {
    access_log logs/socket-access.log gatewatch;
    proxy_pass http://unix:${socketPath}:/;
}`,
    });
    check();
    io.err(`nginx ${lab.binary} on http://127.0.0.1:${lab.port} (prefix ${lab.prefix})\n`);
    let app = await startApp();
    let socketApp = await startSocketApp();
    io.err(`healthy: GET / → ${await lab.get('/')}, GET /socket/ → ${await lab.get('/socket/')}\n`);

    const configPath = join(lab.prefix, 'gatewatch.yaml');
    await writeFile(configPath, demoConfigYaml(lab, port, label, resolve(options.out)));
    const config = await loadConfigFile(configPath);
    const log = new EventLog();
    watch = await startWatch({
      config,
      cooldownSeconds,
      statePath: join(lab.prefix, 'gatewatch-state.json'),
      onEvent: log.push,
    });
    check();
    io.err(
      `watching ${config.targets.map((t) => t.name).join(' and ')} every second (config ${configPath})\n`,
    );
    await waitUntilHealthy(watch, config.targets.length, signal);
    io.err('alarms OK; injecting faults\n\n');

    const faults: Fault[] = [
      {
        name: 'the upstream is killed',
        target: 'lab',
        repaired: 'the upstream is started again',
        inject: () => app.kill(),
        repair: async () => {
          app = await startApp();
        },
      },
      {
        name: 'the upstream restarts on the wrong port',
        target: 'lab',
        repaired: 'the upstream is back on its port',
        inject: async () => {
          await app.kill();
          app = await startApp({ port: otherPort });
        },
        repair: async () => {
          await app.kill();
          app = await startApp();
        },
      },
      {
        name: 'the upstream becomes slower than proxy_read_timeout',
        target: 'lab',
        repaired: 'the upstream answers in time again',
        inject: async () => {
          await app.kill();
          app = await startApp({ mode: 'slow', delayMs: 2500 });
        },
        repair: async () => {
          await app.kill();
          app = await startApp();
        },
      },
      {
        name: "the upstream's unix socket is removed",
        target: 'lab-socket',
        repaired: 'the socket is back',
        inject: async () => {
          await socketApp.kill();
          await rm(socketPath, { force: true });
        },
        repair: async () => {
          socketApp = await startSocketApp();
        },
      },
    ];

    for (const [index, fault] of faults.entries()) {
      const n = `[${index + 1}/${faults.length}]`;
      const pad = ' '.repeat(n.length + 1);
      await sleep(SETTLE_MS, signal);
      io.out(`${n} ${fault.name}\n`);
      const mark = log.events.length;
      const injectedAt = Date.now();
      await fault.inject();
      const opened = await log.waitFor(
        mark,
        (e): e is Extract<WatchEvent, { type: 'incident-opened' }> =>
          e.type === 'incident-opened' && e.incident.subject.name === fault.target,
        DETECT_DEADLINE_MS,
        `an incident for ${fault.target}`,
        signal,
      );
      const detectedAfterMs = Date.now() - injectedAt;
      const key = opened.incident.key;
      faultIncidents.add(key);
      io.out(
        `${pad}detected: alarm ${opened.incident.alarmIds.join(', ')} after ${(detectedAfterMs / 1000).toFixed(1)} s\n`,
      );
      const diagnosed = await log.waitFor(
        mark,
        (e): e is Extract<WatchEvent, { type: 'incident-diagnosed' }> =>
          e.type === 'incident-diagnosed' && e.incident.key === key,
        DIAGNOSE_DEADLINE_MS,
        `the diagnosis of ${key}`,
        signal,
      );
      const reportAfterMs = Date.now() - injectedAt;
      const ref = diagnosed.incident.report;
      if (!ref)
        throw new DemoStepError(`the diagnosis of ${key} failed: ${diagnosed.incident.diagnosisError}`);
      io.out(
        `${pad}verdict: ${ref.rootCause}${ref.upstream ? ` (${ref.upstream})` : ''}, confidence ${ref.confidence}\n` +
          `${pad}${ref.summary}\n` +
          `${pad}report:  ${ref.location}\n`,
      );
      io.err(`${pad}repair: ${fault.repaired}\n`);
      await fault.repair();
      const resolved = await log.waitFor(
        mark,
        (e): e is Extract<WatchEvent, { type: 'incident-resolved' }> =>
          e.type === 'incident-resolved' && e.incident.key === key,
        RESOLVE_DEADLINE_MS,
        `the resolution of ${key}`,
        signal,
      );
      io.out(
        `${pad}resolved: after ${formatDuration(resolved.incident.durationSeconds ?? 0)} (${fault.repaired}); report updated\n\n`,
      );
      const report = JSON.parse(await readFile(ref.location, 'utf8')) as Report;
      outcomes.push({
        fault: fault.name,
        target: fault.target,
        report,
        location: ref.location,
        alarmIds: opened.incident.alarmIds,
        detectedAfterMs,
        reportAfterMs,
      });
    }
    const others = log.events.filter(
      (e) => e.type === 'incident-opened' && !faultIncidents.has(e.incident.key),
    );
    if (others.length > 0) io.err(`note: ${others.length} other incident(s) opened during the demo\n`);
    io.out(
      `${outcomes.length} faults detected, diagnosed and resolved in ${formatDuration((Date.now() - started) / 1000)}; open the report.html files in a browser.\n`,
    );
    return outcomes;
  } finally {
    if (signal?.aborted)
      io.err(
        `stopping: the watch, the upstreams, nginx; ${options.keep && lab ? `keeping the temp folder ${lab.prefix}` : 'removing the temp folder'}\n`,
      );
    if (watch !== undefined) {
      const handle = watch;
      // A second signal stops the watch without waiting for a diagnosis in flight.
      const hurried = new Promise<void>((resolve) => {
        if (options.hurry?.aborted) resolve();
        options.hurry?.addEventListener('abort', () => resolve(), { once: true });
      }).then(() => handle.stop({ force: true }));
      await Promise.race([handle.stop(), hurried]);
    }
    for (const upstream of upstreams) await upstream.kill();
    await rm(socketPath, { force: true });
    await lab?.stop({ keepFiles: options.keep });
  }
}

/** The demo's gatewatch.yaml: one target per nginx location, probed every second. */
function demoConfigYaml(lab: NginxLab, port: number, label: string, reportsDir: string): string {
  const nginx = {
    errorLog: lab.errorLog,
    conf: lab.confPath,
    prefix: lab.prefix,
    binary: lab.binary,
  };
  return stringify({
    targets: [
      {
        name: 'lab',
        probe: { url: `http://127.0.0.1:${lab.port}/`, intervalSeconds: 1 },
        nginx: { ...nginx, accessLog: lab.accessLog },
        upstreams: [{ address: `127.0.0.1:${port}`, service: { process: label } }],
      },
      {
        name: 'lab-socket',
        probe: { url: `http://127.0.0.1:${lab.port}/socket/`, intervalSeconds: 1 },
        nginx: { ...nginx, accessLog: join(lab.prefix, 'logs', 'socket-access.log') },
      },
    ],
    reports: { dir: reportsDir },
  });
}

/** Until every probe alarm is OK: a clean baseline, so each incident belongs to its fault. */
async function waitUntilHealthy(watch: WatchHandle, targets: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + DETECT_DEADLINE_MS;
  for (;;) {
    const status = watch.watcher.status();
    const ok = status.targets.filter((t) =>
      t.alarms.some((a) => a.id.endsWith('-probe-failed') && a.state === 'OK'),
    );
    if (ok.length === targets && status.active.length === 0) return;
    if (Date.now() > deadline) throw new DemoStepError('the lab did not become healthy within 30 s');
    await sleep(200, signal);
  }
}

/**
 * Waits `ms`; rejects with {@link DemoInterruptedError} as soon as `signal` aborts. `onWake` receives a
 * function that ends the wait early (resolving).
 */
function sleep(ms: number, signal?: AbortSignal, onWake?: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DemoInterruptedError('the demo was stopped'));
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
    };
    const aborted = () => {
      done();
      reject(new DemoInterruptedError('the demo was stopped'));
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal?.addEventListener('abort', aborted, { once: true });
    onWake?.(() => {
      done();
      resolve();
    });
  });
}
