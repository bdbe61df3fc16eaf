// Ctrl-C (SIGINT) and SIGTERM on `gatewatch demo`, run as a user runs it (bin/gatewatch.mjs in its own
// process): whatever phase the demo is in, it stops its watch, its upstream processes and its nginx
// (master and workers, a daemon that is not its child) and removes its temp folder before it exits 130.
// An unrelated process started next to it (noise) must survive: the demo ends only what it started.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GATEWATCH_BIN, type RunningGatewatch, startGatewatch } from '../support/cli.ts';
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

/** A system Node older than 24: `bin/gatewatch.mjs` then re-runs itself with the checkout's Node 24. */
const OLD_NODE = ['/usr/bin/node', '/usr/local/bin/node'].find((node) => {
  try {
    return Number(execFileSync(node, ['-p', 'process.versions.node.split(".")[0]']).toString()) < 24;
  } catch {
    return false;
  }
});

/** Starts the demo and waits until `ready` appears; returns what it started by then. */
async function startDemo(ready: RegExp, launcher?: string) {
  running = startGatewatch(
    ['demo', '--out', out],
    launcher === undefined ? {} : { command: [launcher, GATEWATCH_BIN, 'demo', '--out', out] },
  );
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

  it.skipIf(OLD_NODE === undefined)(
    'through the launcher under an older system Node: Ctrl-C to the launcher reaches gatewatch once, and everything is cleaned up',
    async () => {
      const demo = await startDemo(/alarms OK; injecting faults/, OLD_NODE);
      // the launcher, then the real gatewatch (Node 24) below it
      expect(demo.started.length, JSON.stringify(demo.started)).toBeGreaterThanOrEqual(3);
      running!.child.kill('SIGINT');
      await expectAllGone(demo, running!.exited);
      // one signal, passed on once: a clean stop, not the "again: at once" path
      expect(running!.stderr.match(/SIGINT: stopping the demo/g)).toHaveLength(1);
    },
    300_000,
  );

  it('on SIGTERM right after nginx is up stops everything it started as well', async () => {
    const demo = await startDemo(/healthy: GET \//);
    running!.child.kill('SIGTERM');
    await expectAllGone(demo, running!.exited);
  }, 300_000);
});
