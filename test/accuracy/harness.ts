/**
 * The accuracy suite's machinery: a scenario stages a real fault (a real nginx started with
 * `nginx -p DIR -c FILE` on 127.0.0.1 or in a network namespace, real upstream processes, real requests),
 * says by construction what the verdict must be, and the harness runs the real diagnosis — the shipped CLI
 * as a process, or the workflow entry the CLI calls — and compares `verdict.rootCause` and
 * `verdict.upstream` with that label. Nothing here reads the output to decide the label.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { LocalDiagnosticsDispatcher } from '../../lambdas/adapters/local/local-diagnostics-dispatcher.ts';
import { ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import type { TargetConfig } from '../../lambdas/core/config.ts';
import type { RootCause } from '../../lambdas/core/root-causes.ts';
import type { Report } from '../../lambdas/core/types.ts';
import { diagnoseOnce } from '../../lambdas/local/diagnose.ts';
import { type LabOptions, NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { type UpstreamOptions, UpstreamProcess } from '../../lambdas/local/lab/upstream-process.ts';
import type { DiagnosticsDispatcher } from '../../lambdas/ports.ts';
import { createNamespacePair, type NamespacePair } from '../support/netns.ts';
import { replayMatchesLive } from '../support/replay.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../bin/gatewatch.mjs', import.meta.url));
const MODES = fileURLToPath(new URL('./upstream-modes.ts', import.meta.url));
const NODE24 = fileURLToPath(new URL('../../node_modules/node/bin/node', import.meta.url));

/** What the verdict must say, known from how the fault was made. `upstream` absent: not scored. */
export interface Label {
  rootCause: RootCause;
  upstream?: string;
}

/** A staged fault, ready to be diagnosed. */
export interface Staged {
  nginx: NginxLab;
  label: Label;
  /** Extra target settings (upstream hints, other log paths). */
  target?: Partial<TargetConfig>;
  /** Window start; five minutes ago by default. */
  from?: Date;
  /** Where the diagnostics script runs (a network namespace); this machine's shell by default. */
  dispatcher?: DiagnosticsDispatcher;
  /**
   * A line nginx must have written (error log, rotated file included) for the fault to count as made:
   * when staging did not produce the fault, the scenario is an error, not a verdict to score.
   */
  proof?: RegExp;
}

export interface Scenario {
  /** Unique, kebab-case: `<fault>[+<noise>]`. */
  name: string;
  /** The noise added on purpose, if any. */
  noise?: string;
  /**
   * True when today's gatewatch gets this scenario right: the vitest suite asserts the label for these
   * only, `npm run accuracy` scores every scenario. `why` says what goes wrong when false.
   */
  expected: boolean;
  why?: string;
  /** What this machine must allow (network namespaces, cgroups); the scenario is reported as not run otherwise. */
  needs?: ('netns' | 'memory-cgroup' | 'root')[];
  stage(ctx: ScenarioContext): Promise<Staged>;
}

export interface Outcome {
  scenario: string;
  noise?: string;
  label: Label;
  rootCause?: string;
  upstream?: string;
  confidence?: number;
  summary?: string;
  rootCauseRight: boolean;
  /** undefined when the label does not score the upstream. */
  upstreamRight?: boolean;
  /** Set when the scenario could not be staged or diagnosed. */
  error?: string;
  durationMs: number;
  /** The incident's evidence bundle replayed offline (`gatewatch replay`) against the live report. */
  replay?: { matches: boolean; verdictMatches: boolean; difference?: string; error?: string };
}

/** Resources a scenario starts; all ended in reverse order when it is done. */
export class ScenarioContext {
  readonly #cleanups: (() => Promise<unknown>)[] = [];
  readonly id: string;

  constructor(id: string) {
    this.id = id;
  }

  defer(cleanup: () => Promise<unknown>): void {
    this.#cleanups.push(cleanup);
  }

  async cleanup(): Promise<void> {
    for (const cleanup of this.#cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // best effort: the next cleanup still runs
      }
    }
  }

  async lab(options: LabOptions): Promise<NginxLab> {
    const lab = await NginxLab.start(options);
    this.defer(() => lab.stop());
    return lab;
  }

  async upstream(options: UpstreamOptions): Promise<UpstreamProcess> {
    const upstream = await UpstreamProcess.start(options);
    this.defer(() => upstream.kill());
    return upstream;
  }

  /** An upstream from upstream-modes.ts (the app's own status, a big body, a memory hog). */
  async modeUpstream(
    mode: 'status' | 'big-body' | 'hog',
    where: { port?: number; socket?: string; status?: number; wrap?: string[] },
  ): Promise<ReadyProcess> {
    const args = [MODES, '--mode', mode];
    if (where.port !== undefined) args.push('--port', String(where.port));
    if (where.socket !== undefined) args.push('--socket', where.socket);
    if (where.status !== undefined) args.push('--status', String(where.status));
    return this.spawnReady([...(where.wrap ?? []), process.execPath, ...args]);
  }

  /** Any real process that prints "ready" once it serves. */
  async spawnReady(command: string[]): Promise<ReadyProcess> {
    const started = await ReadyProcess.start(command);
    this.defer(() => started.kill());
    return started;
  }

  async tempDir(name: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), `gw-accuracy-${name}-`));
    this.defer(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  socketPath(name: string): string {
    const path = join(tmpdir(), `gw-acc-${process.pid}-${this.id}-${name}.sock`);
    this.defer(() => rm(path, { force: true }));
    return path;
  }

  /** Two network namespaces (`accuracy-…-nginx`, `accuracy-…-up`) joined by a veth pair. */
  async namespaces(subnet: number): Promise<NamespacePair> {
    const pair = await createNamespacePair(`accuracy-${process.pid % 10000}-${subnet}`, subnet);
    this.defer(() => pair.destroy());
    return pair;
  }

  /** A dispatcher that runs the diagnostics script inside a namespace (nginx's "host"). */
  async dispatcherIn(ns: string): Promise<DiagnosticsDispatcher> {
    const dir = await this.tempDir('bash');
    const wrapper = join(dir, 'bash');
    await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} bash "$@"\n`);
    await chmod(wrapper, 0o755);
    return new LocalDiagnosticsDispatcher(new ShellCommandRunner({ bash: wrapper }));
  }

  /** A tmpfs of 256 KiB mounted under /tmp and filled to 100%; unmounted afterwards. */
  async fullFilesystem(name: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), `gw-accuracy-full-${name}-`));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]);
    this.defer(async () => {
      await run('umount', ['-l', dir]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    });
    await run('dd', ['if=/dev/zero', `of=${join(dir, 'fill')}`, 'bs=4k', 'count=1024']).catch(
      () => undefined,
    );
    return dir;
  }

  /**
   * A fresh OOM kill of an unrelated process: a throwaway `node` in a memory cgroup (v1 or v2) with a
   * 32 MiB limit allocates until the kernel kills it. Resolves when it is gone.
   */
  async unrelatedOomKill(): Promise<void> {
    const cgroup = await memoryCgroup(`accuracy-noise-${process.pid}-${this.id}`, 48 * 1024 * 1024);
    try {
      await run('bash', [
        '-c',
        `echo $$ > '${cgroup.procs}' && exec ${NODE24} -e 'const a=[];for(;;)a.push(Buffer.alloc(1<<20,1))'`,
      ]).catch(() => undefined);
    } finally {
      await cgroup.remove();
    }
  }

  /** Runs a command prefix inside a fresh memory cgroup (for an upstream the OOM killer must end). */
  async memoryCgroup(limitBytes: number): Promise<{ procs: string }> {
    const cgroup = await memoryCgroup(`accuracy-up-${process.pid}-${this.id}`, limitBytes);
    this.defer(() => cgroup.remove());
    return cgroup;
  }
}

/** A memory cgroup (v1 or v2) with a limit. */
async function memoryCgroup(
  name: string,
  limitBytes: number,
): Promise<{ procs: string; remove: () => Promise<void> }> {
  const v1 = '/sys/fs/cgroup/memory';
  let dir: string;
  try {
    await readFile(join(v1, 'cgroup.procs'), 'utf8');
    dir = join(v1, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
    await writeFile(join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes)).catch(() => undefined);
  } catch {
    dir = join('/sys/fs/cgroup', name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'memory.max'), String(limitBytes));
    await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => undefined);
  }
  return {
    procs: join(dir, 'cgroup.procs'),
    remove: async () => {
      for (let i = 0; i < 50; i++) {
        try {
          await run('rmdir', [dir]);
          return;
        } catch {
          await sleep(100);
        }
      }
    },
  };
}

/** A child process that printed "ready". */
export class ReadyProcess {
  readonly child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.child = child;
  }

  static async start(command: string[]): Promise<ReadyProcess> {
    const [file, ...args] = command;
    const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(() => reject(new Error(`${command.join(' ')} did not get ready`)), 20_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${command.join(' ')} exited with ${code}: ${stderr.slice(0, 400)}`));
      });
    });
    child.removeAllListeners('exit');
    return new ReadyProcess(child);
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `count` requests one after the other; statuses (0 when the request itself failed). */
export async function sequential(nginx: NginxLab, path: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push(await nginx.get(path).catch(() => 0));
  return statuses;
}

/** A POST with a body of `bytes` bytes (nginx buffers a large body to client_body_temp_path). */
export function post(nginx: NginxLab, path: string, bytes: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: nginx.port, path, method: 'POST', agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.setTimeout(20_000, () => req.destroy());
    req.on('error', () => resolve(0));
    req.end(Buffer.alloc(bytes, 'b'));
  });
}

/** `count` requests at once. */
export function concurrent(nginx: NginxLab, path: string, count: number): Promise<number[]> {
  return Promise.all(Array.from({ length: count }, () => nginx.get(path).catch(() => 0)));
}

/** The next whole second: the error log has one-second resolution, a window starts on a boundary. */
export async function windowStartsNow(): Promise<Date> {
  await sleep(1100);
  const from = new Date(Math.ceil(Date.now() / 1000) * 1000);
  await sleep(from.getTime() - Date.now() + 50);
  return from;
}

/** Changes the running nginx's configuration on disk and reloads it (`nginx -s reload`). */
export async function reconfigure(nginx: NginxLab, edit: (config: string) => string): Promise<void> {
  const before = await nginx.readConfigOnDisk();
  const after = edit(before);
  if (after === before) throw new Error('reconfigure: the edit changed nothing');
  await nginx.writeConfigOnDisk(after);
  await run(...nginxCommand(nginx, ['-s', 'reload']));
  // The old worker finishes, a new one starts; give it time on a loaded machine.
  await sleep(1500);
}

/** Rotates both logs the way logrotate does: rename, then `nginx -s reopen`. */
export async function rotateLogs(nginx: NginxLab): Promise<void> {
  await run('mv', [nginx.errorLog, `${nginx.errorLog}.1`]);
  await run('mv', [nginx.accessLog, `${nginx.accessLog}.1`]);
  await run(...nginxCommand(nginx, ['-s', 'reopen']));
  await sleep(500);
}

function nginxCommand(nginx: NginxLab, extra: string[]): [string, string[]] {
  const [command, ...args] = [
    ...(nginx.options.wrap ?? []),
    nginx.binary,
    '-p',
    nginx.prefix,
    '-c',
    nginx.confPath,
    ...extra,
  ];
  return [command!, args];
}

/** How the diagnosis is run: the shipped CLI as a process, or the workflow entry the CLI calls. */
export type Via = 'cli' | 'workflow';

export async function diagnose(
  staged: Staged,
  via: Via,
  work: string,
): Promise<{ report: Report; dir: string }> {
  const config = staged.nginx.gatewatchConfig(staged.target ?? {}, join(work, 'incidents'));
  const from = staged.from ?? new Date(Date.now() - 5 * 60_000);
  if (via === 'cli' && staged.dispatcher === undefined) {
    const configPath = join(work, 'gatewatch.yaml');
    await writeFile(configPath, stringify(config));
    const { stdout } = await run(
      process.execPath,
      [CLI, 'diagnose', '--config', configPath, '--since', from.toISOString(), '--json'],
      { maxBuffer: 64 * 1024 * 1024, timeout: 180_000 },
    );
    const report = JSON.parse(stdout) as Report;
    return { report, dir: join(work, 'incidents', report.incidentId) };
  }
  const result = await diagnoseOnce({
    config,
    target: config.targets[0]!,
    from,
    deps: { notify: 'silent', ...(staged.dispatcher ? { dispatcher: staged.dispatcher } : {}) },
  });
  return { report: result.report, dir: result.dir };
}

/** Replays the incident's bundle offline and compares it with the live report.json (Must show 4 of issue 11). */
async function replayOutcome(dir: string): Promise<NonNullable<Outcome['replay']>> {
  try {
    const compared = await replayMatchesLive(dir);
    const out: NonNullable<Outcome['replay']> = {
      matches: compared.matches,
      verdictMatches: compared.verdictMatches,
    };
    const diff = compared.firstDifference;
    if (diff)
      out.difference = `line ${diff.line}: live ${diff.live.slice(0, 200)} | replayed ${diff.replayed.slice(0, 200)}`;
    return out;
  } catch (error) {
    return {
      matches: false,
      verdictMatches: false,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** Stages one scenario, diagnoses it, compares, cleans up. Never throws: a failure is an outcome. */
export async function runScenario(scenario: Scenario, via: Via, index = 0): Promise<Outcome> {
  const started = performance.now();
  const ctx = new ScenarioContext(`${index}`);
  let label: Label = { rootCause: 'unknown' };
  try {
    const work = await ctx.tempDir('work');
    const staged = await scenario.stage(ctx);
    label = staged.label;
    if (staged.proof) await assertFaultMade(staged.nginx, staged.proof);
    const { report, dir } = await diagnose(staged, via, work);
    const outcome = score(scenario, label, report, performance.now() - started);
    outcome.replay = await replayOutcome(dir);
    return outcome;
  } catch (error) {
    return {
      scenario: scenario.name,
      ...(scenario.noise ? { noise: scenario.noise } : {}),
      label,
      rootCauseRight: false,
      error: error instanceof Error ? error.message : String(error),
      durationMs: performance.now() - started,
    };
  } finally {
    await ctx.cleanup();
  }
}

/** The staging check: nginx wrote the line that makes the fault what the label says. */
export async function assertFaultMade(nginx: NginxLab, proof: RegExp): Promise<void> {
  let text = '';
  for (const path of [`${nginx.errorLog}.1`, nginx.errorLog])
    text += await readFile(path, 'utf8').catch(() => '');
  if (!proof.test(text))
    throw new Error(`staging did not produce the fault: no line matching ${proof} in ${nginx.errorLog}`);
}

export function score(scenario: Scenario, label: Label, report: Report, durationMs: number): Outcome {
  const verdict = report.verdict;
  const outcome: Outcome = {
    scenario: scenario.name,
    label,
    rootCause: verdict.rootCause,
    confidence: verdict.confidence,
    summary: verdict.summary,
    rootCauseRight: verdict.rootCause === label.rootCause,
    durationMs,
  };
  if (scenario.noise) outcome.noise = scenario.noise;
  if (verdict.upstream !== undefined) outcome.upstream = verdict.upstream;
  if (label.upstream !== undefined) outcome.upstreamRight = verdict.upstream === label.upstream;
  return outcome;
}
