// The watcher driven tick by tick on a fake clock: the prober and the diagnosis are replaced (the
// diagnosis writes a real-shaped report, test/fixtures/reports/upstream-down.json, where diagnoseOnce
// would), everything else is real: alarm evaluation, the lifecycle, the state file, the report folder and
// the renderers. The end-to-end path with a real nginx is test/integration/watch.test.ts.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProbeTarget } from '../../../lambdas/adapters/local/http-prober.ts';
import { validateConfig } from '../../../lambdas/core/config.ts';
import { formatIncidentId, isoSeconds } from '../../../lambdas/core/diagnosis/incident-id.ts';
import type { ProbeResult } from '../../../lambdas/core/probe/types.ts';
import { renderHtml, renderMarkdown } from '../../../lambdas/core/report/index.ts';
import type { Report } from '../../../lambdas/core/types.ts';
import type { DiagnoseRequest, DiagnoseResult } from '../../../lambdas/local/diagnose.ts';
import type { WatchEvent } from '../../../lambdas/local/watch/status-view.ts';
import { Watcher } from '../../../lambdas/local/watch/watcher.ts';
import type { Notification } from '../../../lambdas/ports.ts';
import { loadReport } from '../../core/report/fixtures.ts';

const T0 = Date.parse('2026-11-24T06:00:00Z');

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

class Harness {
  readonly dir: string;
  readonly reportsDir: string;
  readonly statePath: string;
  nowMs = T0 + 100;
  healthy = true;
  hang = false;
  readonly hung: Deferred<ProbeResult[]>[] = [];
  readonly diagnoses: DiagnoseRequest[] = [];
  /** When set, diagnoses wait for it. */
  diagnosisGate: Promise<void> | undefined;
  readonly notices: Notification[] = [];
  readonly events: WatchEvent[] = [];

  constructor(dir: string) {
    this.dir = dir;
    this.reportsDir = join(dir, 'incidents');
    this.statePath = join(this.reportsDir, '.gatewatch-state.json');
  }

  config() {
    return validateConfig({
      targets: [
        {
          name: 'shop',
          probe: { url: 'http://127.0.0.1:8080/health', intervalSeconds: 1 },
          nginx: { errorLog: '/var/log/nginx/error.log' },
        },
      ],
      reports: { dir: this.reportsDir },
    });
  }

  probe = async (targets: readonly ProbeTarget[]): Promise<ProbeResult[]> => {
    if (this.hang) {
      const pending = deferred<ProbeResult[]>();
      this.hung.push(pending);
      return pending.promise;
    }
    return targets.map((target) => this.result(target.name));
  };

  result(target: string): ProbeResult {
    const at = new Date(this.nowMs).toISOString();
    return this.healthy
      ? {
          target,
          url: 'http://127.0.0.1:8080/health',
          ok: true,
          status: 200,
          phases: { total: 2 },
          attempts: 1,
          assertions: [],
          at,
        }
      : {
          target,
          url: 'http://127.0.0.1:8080/health',
          ok: false,
          status: 502,
          failure: { kind: 'assertion', message: 'status 502, expected 200' },
          phases: { total: 2 },
          attempts: 1,
          assertions: [],
          at,
        };
  }

  diagnose = async (request: DiagnoseRequest): Promise<DiagnoseResult> => {
    this.diagnoses.push(request);
    await this.diagnosisGate;
    const now = request.now!;
    const incidentId = formatIncidentId(request.target.name, now, 'beef');
    const report: Report = {
      ...loadReport('upstream-down'),
      incidentId,
      target: request.target.name,
      openedAt: isoSeconds(now),
      window: { from: isoSeconds(request.from), to: isoSeconds(now) },
      trigger: request.trigger!,
    };
    const dir = join(this.reportsDir, incidentId);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'report.html'), renderHtml(report));
    await writeFile(join(dir, 'report.md'), renderMarkdown(report));
    await writeFile(join(dir, 'report.json'), JSON.stringify(report));
    return { report, location: join(dir, 'report.json'), dir };
  };

  async watcher(cooldownSeconds = 10): Promise<Watcher> {
    return Watcher.create({
      config: this.config(),
      cooldownSeconds,
      statePath: this.statePath,
      onEvent: (event) => this.events.push(event),
      deps: {
        probe: this.probe,
        diagnose: this.diagnose,
        notifier: { notify: async (n) => void this.notices.push(n) },
        now: () => this.nowMs,
      },
    });
  }

  /** `count` ticks, one second apart, each awaited (the run included). */
  async run(watcher: Watcher, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const tick = (Math.floor(this.nowMs / 1000) + 1) * 1000;
      this.nowMs = tick + 20;
      await watcher.tick(tick);
    }
    await watcher.idle();
  }

  /** `count` ticks whose runs may hang: not awaited. */
  async runUnawaited(watcher: Watcher, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const tick = (Math.floor(this.nowMs / 1000) + 1) * 1000;
      this.nowMs = tick + 20;
      void watcher.tick(tick);
      await new Promise((r) => setImmediate(r));
    }
  }

  count(type: WatchEvent['type']): number {
    return this.events.filter((e) => e.type === type).length;
  }

  async incidentFolders(): Promise<string[]> {
    // Incident folders only: index.json, its pages and the probe history live next to them.
    return (await readdir(this.reportsDir, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'history')
      .map((e) => e.name);
  }
}

/** Polls `check` until it holds (work queued on real I/O: folders, files). */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let dir: string;
let h: Harness;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatewatch-watcher-'));
  h = new Harness(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the watch pipeline', () => {
  it('opens one incident for a failing target, diagnoses it once, and opens no second one while it keeps failing', async () => {
    const watcher = await h.watcher();
    await h.run(watcher, 3);
    h.healthy = false;
    const failedFrom = h.nowMs;
    await h.run(watcher, 12);

    expect(h.diagnoses).toHaveLength(1);
    const request = h.diagnoses[0]!;
    expect(request.trigger?.kind).toBe('probe');
    expect(request.trigger?.detail).toMatch(
      /^alarm shop-probe-failed entered ALARM at .*: 2 out of the last 3/,
    );
    expect(request.from.getTime()).toBeLessThanOrEqual(failedFrom);
    expect(request.deps?.notify).toBe('silent'); // the workflow's Notify step sends the e-mail, not the console
    expect(watcher.incidents.active).toHaveLength(1);
    expect(watcher.incidents.active[0]!.report?.rootCause).toBe('upstream-down');
    expect(await h.incidentFolders()).toHaveLength(1);
    expect(h.count('incident-opened')).toBe(1);
    await watcher.stop();
  });

  it('resolves on recovery: report.json gets resolvedAt and durationSeconds, the Markdown and HTML say so, one notice', async () => {
    const watcher = await h.watcher();
    await h.run(watcher, 3);
    h.healthy = false;
    await h.run(watcher, 5);
    h.healthy = true;
    await h.run(watcher, 5);

    expect(watcher.incidents.active).toEqual([]);
    const [finished] = watcher.incidents.recent;
    const report = JSON.parse(await readFile(finished!.report!.location, 'utf8')) as Report;
    expect(report.resolvedAt).toBe(finished!.resolvedAt);
    expect(report.durationSeconds).toBe(
      (Date.parse(report.resolvedAt!) - Date.parse(report.openedAt)) / 1000,
    );
    expect(report.durationSeconds).toBeGreaterThan(0);
    const folder = finished!.report!.location.replace(/report\.json$/, '');
    expect(await readFile(`${folder}report.md`, 'utf8')).toBe(renderMarkdown(report));
    expect(await readFile(`${folder}report.html`, 'utf8')).toBe(renderHtml(report));
    // The resolution replies to the opening mail (same incident, threaded) and says how long it lasted.
    expect(h.notices.map((n) => n.subject)).toEqual([
      `Re: [gatewatch] shop: upstream-down${report.verdict.upstream ? ` ${report.verdict.upstream}` : ''} — resolved after ${report.durationSeconds} s`,
    ]);
    expect(h.notices[0]!.incident).toMatchObject({ event: 'resolve', incidentId: report.incidentId });
    expect(report.notifications?.map((n) => [n.event, n.status])).toEqual([['resolve', 'sent']]);
    await watcher.stop();
  });

  it('holds a target that fails again inside the cool-down, and opens a new incident only once it is over', async () => {
    const watcher = await h.watcher(10);
    await h.run(watcher, 3);
    h.healthy = false;
    await h.run(watcher, 4);
    h.healthy = true;
    await h.run(watcher, 3);
    expect(watcher.incidents.recent).toHaveLength(1);
    const resolvedAt = Date.parse(watcher.incidents.recent[0]!.resolvedAt!);

    h.healthy = false;
    await h.run(watcher, 5);
    expect(h.diagnoses).toHaveLength(1);
    expect(h.count('incident-held')).toBe(1);

    await h.run(watcher, 8);
    expect(h.diagnoses).toHaveLength(2);
    const second = watcher.incidents.active[0]!;
    expect(Date.parse(second.openedAt)).toBeGreaterThanOrEqual(resolvedAt + 10_000);
    expect(second.trigger.detail).toContain('cool-down');
    await watcher.stop();
  });

  it('opens a prober incident when probe runs stop returning, and resolves it when they come back', async () => {
    const watcher = await h.watcher();
    await h.run(watcher, 3);
    h.hang = true;
    await h.runUnawaited(watcher, 25);
    expect(h.count('warning')).toBeGreaterThan(0); // ticks skipped while runs are stuck
    await until(
      () => watcher.incidents.active.some((r) => r.subject.kind === 'prober' && r.diagnosis === 'done'),
      'the heartbeat incident',
    );

    const prober = watcher.incidents.active.find((r) => r.subject.kind === 'prober');
    expect(prober?.alarmIds).toEqual(['prober-heartbeat']);
    expect(h.diagnoses).toHaveLength(0); // nothing on nginx to diagnose
    expect(prober?.report?.incidentId).toMatch(/^prober-\d{8}T\d{6}Z-[0-9a-f]{4}$/);
    const report = JSON.parse(await readFile(prober!.report!.location, 'utf8')) as Report;
    expect(report.verdict.summary).toContain('prober stopped reporting');
    expect(h.notices.map((n) => n.subject)).toEqual(['[gatewatch] prober: heartbeat missing']);

    h.hang = false;
    for (const stuck of h.hung.splice(0)) stuck.resolve([h.result('shop')]);
    await h.run(watcher, 4);
    expect(watcher.incidents.active).toEqual([]);
    expect(watcher.incidents.recent.map((r) => r.subject.kind)).toEqual(['prober']);
    expect(h.notices.at(-1)?.subject).toMatch(
      /^Re: \[gatewatch\] prober: heartbeat missing — resolved after \d+ s$/,
    );
    await watcher.stop();
  });

  it('keeps an open incident across a restart and resolves it exactly once', async () => {
    const first = await h.watcher();
    await h.run(first, 3);
    h.healthy = false;
    await h.run(first, 5);
    const open = first.incidents.active[0]!;
    await first.stop();

    h.nowMs += 30_000; // down for half a minute, still failing
    const second = await h.watcher();
    expect(second.incidents.active.map((r) => r.key)).toEqual([open.key]);
    await h.run(second, 6);
    expect(h.diagnoses).toHaveLength(1);
    expect(h.count('incident-opened')).toBe(1);

    h.healthy = true;
    await h.run(second, 6);
    expect(second.incidents.active).toEqual([]);
    expect(second.incidents.recent.map((r) => r.key)).toEqual([open.key]);
    expect(h.count('incident-resolved')).toBe(1);
    expect(h.notices).toHaveLength(1);
    const report = JSON.parse(await readFile(open.report!.location, 'utf8')) as Report;
    expect(report.durationSeconds).toBeGreaterThan(30);
    expect(await h.incidentFolders()).toHaveLength(1);
    await second.stop();
  });

  it('runs a diagnosis again after a stop at once interrupted it, for the same episode', async () => {
    const gate = deferred<void>();
    h.diagnosisGate = gate.promise;
    const first = await h.watcher();
    await h.run(first, 3);
    h.healthy = false;
    for (let i = 0; i < 4; i++) {
      const tick = (Math.floor(h.nowMs / 1000) + 1) * 1000;
      h.nowMs = tick + 20;
      await first.tick(tick);
    }
    await until(() => h.diagnoses.length === 1, 'the first diagnosis');
    await first.stop({ force: true });
    const saved = JSON.parse(await readFile(h.statePath, 'utf8'));
    expect(saved.incidents.active[0].diagnosis).toBe('pending');

    h.diagnosisGate = undefined;
    const second = await h.watcher();
    await second.idle();
    expect(h.diagnoses).toHaveLength(2);
    expect(h.diagnoses[1]!.now).toEqual(h.diagnoses[0]!.now);
    expect(h.diagnoses[1]!.from).toEqual(h.diagnoses[0]!.from);
    expect(second.incidents.active[0]!.diagnosis).toBe('done');
    expect(await h.incidentFolders()).toHaveLength(1);
    await second.stop();
  });

  it('adopts the report written just before the process stopped instead of diagnosing the episode twice', async () => {
    const first = await h.watcher();
    await h.run(first, 3);
    h.healthy = false;
    await h.run(first, 5);
    await first.stop();
    // The state as a crash between the report being written and the state flush leaves it.
    const saved = JSON.parse(await readFile(h.statePath, 'utf8'));
    saved.incidents.active[0].diagnosis = 'pending';
    delete saved.incidents.active[0].report;
    await writeFile(h.statePath, JSON.stringify(saved));

    const second = await h.watcher();
    await second.idle();
    expect(h.diagnoses).toHaveLength(1);
    expect(second.incidents.active[0]!.report?.rootCause).toBe('upstream-down');
    expect(await h.incidentFolders()).toHaveLength(1);
    await second.stop();
  });

  it('keeps the state file current after a quiet stretch in which nothing changed', async () => {
    const watcher = await h.watcher();
    await h.run(watcher, 10); // healthy: the same state over and over, nothing new to write
    h.healthy = false;
    await h.run(watcher, 5);
    const saved = JSON.parse(await readFile(h.statePath, 'utf8'));
    expect(saved.alarms['shop-probe-failed'].state).toBe('ALARM');
    expect(saved.incidents.active.map((r: { diagnosis: string }) => r.diagnosis)).toEqual(['done']);
    await watcher.stop();
  });

  it('starts with no open incident, and says so, when the state file is not usable', async () => {
    await mkdir(h.reportsDir, { recursive: true });
    await writeFile(h.statePath, 'not json');
    const watcher = await h.watcher();
    const warning = h.events.find((e) => e.type === 'warning');
    expect(warning?.type === 'warning' && warning.message).toMatch(
      /not usable.*starting with no open incident/,
    );
    expect(watcher.incidents.active).toEqual([]);
    await watcher.stop();
  });
});
