// `gatewatch demo --keep` through the shipped CLI: the lab's temp folder (nginx prefix with its
// configuration and logs, the demo's gatewatch.yaml) survives the demo; without --keep it is removed. To
// stay cheap, each run is stopped with SIGINT once nginx answers, which takes the same cleanup path as
// the end of the demo. nginx itself is stopped either way.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningGatewatch, startGatewatch } from '../support/cli.ts';
import { isRunning } from '../support/proc.ts';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 60_000 });

let out: string;
let running: RunningGatewatch | undefined;
const kept: string[] = [];

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'gatewatch-demo-keep-'));
});
afterEach(async () => {
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
});
afterAll(async () => {
  for (const path of kept) await rm(path, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
});

/** Runs the demo until nginx answers and the watch starts, then Ctrl-C; returns the prefix, nginx's master pid and the exit. */
async function demoUntilHealthy(flags: string[]) {
  running = startGatewatch(['demo', '--out', out, ...flags]);
  const match = await running.waitFor(/\(prefix (\/\S+)\)\n/, 120_000);
  const prefix = match[1]!;
  kept.push(prefix);
  // Printed once the demo's gatewatch.yaml is written and the watch started.
  await running.waitFor(/^watching .* \(config \S+\)$/m, 120_000);
  const master = Number((await readFile(join(prefix, 'nginx.pid'), 'utf8')).trim());
  running.child.kill('SIGINT');
  const exit = await running.exited;
  return { prefix, master, exit, stderr: running.stderr };
}

describe('gatewatch demo --keep', () => {
  it("keeps the lab's temp folder with nginx's configuration and logs and the demo's gatewatch.yaml", async () => {
    const demo = await demoUntilHealthy(['--keep']);
    expect(demo.exit.code, demo.stderr).toBe(130);
    expect(isRunning(demo.master)).toBe(false);
    expect(existsSync(demo.prefix)).toBe(true);
    expect(existsSync(join(demo.prefix, 'gatewatch.yaml'))).toBe(true);
    expect(await readFile(join(demo.prefix, 'conf', 'nginx.conf'), 'utf8')).toContain('gatewatch lab nginx');
    expect(existsSync(join(demo.prefix, 'logs'))).toBe(true);
    expect(demo.stderr).toContain(`keeping the temp folder ${demo.prefix}`);
    expect(demo.stderr).not.toContain('removing the temp folder');
    expect(demo.stderr).toContain('the temp folder is kept (--keep)');
  });

  it('removes the temp folder without --keep', async () => {
    const demo = await demoUntilHealthy([]);
    expect(demo.exit.code, demo.stderr).toBe(130);
    expect(isRunning(demo.master)).toBe(false);
    expect(existsSync(demo.prefix)).toBe(false);
    expect(demo.stderr).toContain('removing the temp folder');
  });
});
