// Ctrl-C (SIGINT) and SIGTERM on `gatewatch demo`, run as a user runs it (bin/gatewatch.mjs in its own
// process): whatever phase the demo is in, it stops its watch, its upstream processes and its nginx
// (master and workers, a daemon that is not its child) and removes its temp folder before it exits 130.
// An unrelated process started next to it (noise) must survive: the demo ends only what it started.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGatewatch, startGatewatch } from '../support/cli.ts';
import { descendants, isRunning } from '../support/proc.ts';

let out: string;
let bystander: ChildProcess;
let running: RunningGatewatch | undefined;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'gatewatch-demo-signals-'));
  bystander = spawn('sleep', ['600'], { stdio: 'ignore' });
});

afterEach(async () => {
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
});

afterAll(async () => {
  bystander.kill('SIGKILL');
  await rm(out, { recursive: true, force: true });
});

/** Starts the demo and waits until `ready` appears; returns what it started by then. */
async function startDemo(ready: RegExp) {
  running = startGatewatch(['demo', '--out', out]);
  const [, prefix] = (await running.waitFor(/\(prefix (\/\S+)\)\n/, 120_000)) as unknown as [string, string];
  await running.waitFor(ready, 180_000);
  const master = Number((await readFile(join(prefix, 'nginx.pid'), 'utf8')).trim());
  const started = descendants(running.child.pid!);
  const workers = descendants(master);
  return { prefix, master, workers, started, socket: `/tmp/gatewatch-demo-${running.child.pid}.sock` };
}

async function expectAllGone(
  demo: Awaited<ReturnType<typeof startDemo>>,
  exited: Promise<{ code: number | null }>,
): Promise<void> {
  const { code } = await exited;
  expect(code, running!.stderr).toBe(130);
  expect(running!.stderr).toContain('nginx, the upstreams and the temp folder are cleaned up');
  expect(isRunning(demo.master), `nginx master ${demo.master}`).toBe(false);
  for (const worker of demo.workers)
    expect(isRunning(worker.pid), `nginx ${worker.comm} ${worker.pid}`).toBe(false);
  for (const child of demo.started) expect(isRunning(child.pid), `${child.comm} ${child.pid}`).toBe(false);
  expect(existsSync(demo.prefix), demo.prefix).toBe(false);
  expect(existsSync(demo.socket), demo.socket).toBe(false);
  expect(isRunning(bystander.pid!), 'an unrelated process').toBe(true);
}

describe('gatewatch demo stopped by a signal', () => {
  it('on Ctrl-C (SIGINT) during a diagnosis stops nginx, its workers and the upstreams, and removes its temp folder', async () => {
    const demo = await startDemo(/detected: alarm/);
    expect(isRunning(demo.master)).toBe(true);
    expect(demo.workers.length).toBeGreaterThan(0);
    // the unix-socket sample upstream at least (fault 1 has just killed the TCP one)
    expect(demo.started.length, JSON.stringify(demo.started)).toBeGreaterThanOrEqual(1);
    running!.child.kill('SIGINT');
    await expectAllGone(demo, running!.exited);
  }, 300_000);

  it('on SIGTERM right after nginx is up stops everything it started as well', async () => {
    const demo = await startDemo(/healthy: GET \//);
    running!.child.kill('SIGTERM');
    await expectAllGone(demo, running!.exited);
  }, 300_000);
});
