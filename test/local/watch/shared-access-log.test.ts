// Two targets naming one access log: the watcher splits its lines per target (host and upstream), keeps
// each target's unpublished minute under its own key in the state file, and after a restart publishes
// each target's own counts. Clock and log are fake-free: a real file, a fake clock.
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../lambdas/core/config.ts';
import type { WatchEvent } from '../../../lambdas/local/watch/status-view.ts';
import { Watcher } from '../../../lambdas/local/watch/watcher.ts';

const T0 = Date.parse('2026-11-24T06:00:00Z');
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatewatch-shared-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function line(second: number, status: number, upstream: string, host: string): string {
  const time = `2026-11-24T06:00:${String(second).padStart(2, '0')}+00:00`;
  return `gw1\t${time}\t${status}\t0.002\t${upstream}\t${status}\t0.000\t0.001\t0.002\tid\t10.0.0.1\t"GET / HTTP/1.1"\t5\t"-"\t"curl"\t${host}\n`;
}

describe('a watched access log shared by two targets', () => {
  it("counts each target's own lines, also across a restart, and warns once about lines nobody claims", async () => {
    const accessLog = join(dir, 'access.log');
    const errorLog = join(dir, 'error.log');
    await writeFile(accessLog, '');
    await writeFile(errorLog, '');
    const config = validateConfig({
      targets: [
        {
          name: 'alpha',
          nginx: { errorLog, accessLog, serverNames: ['a.test'] },
          upstreams: [{ address: '127.0.0.1:3000' }],
        },
        {
          name: 'beta',
          nginx: { errorLog, accessLog, serverNames: ['b.test'] },
          upstreams: [{ address: '127.0.0.1:4000' }],
        },
      ],
      reports: { dir: join(dir, 'incidents') },
    });
    const statePath = join(dir, 'state.json');
    let now = T0 + 1000;
    const events: WatchEvent[] = [];
    const create = () =>
      Watcher.create({ config, statePath, onEvent: (e) => events.push(e), deps: { now: () => now } });

    const first = await create();
    await first.tick(T0); // the tailer opens the log at its end
    let text = '';
    for (let i = 0; i < 10; i++) {
      text += line(10 + i, 200, '127.0.0.1:3000', 'a.test');
      text += line(10 + i, 502, '127.0.0.1:4000', 'b.test');
    }
    text += line(30, 502, '10.9.9.9:80', 'nobody.test');
    text += line(31, 502, '10.9.9.9:80', 'nobody.test');
    await appendFile(accessLog, text);
    now = T0 + 40_000;
    await first.tick(T0 + 1000);
    await first.stop();

    const state = JSON.parse(await readFile(statePath, 'utf8')) as {
      traffic: Record<string, { requests: number; status5xx: number }[]>;
    };
    expect(Object.keys(state.traffic).sort()).toEqual([`${accessLog}#alpha`, `${accessLog}#beta`]);
    expect(state.traffic[`${accessLog}#alpha`]).toMatchObject([{ requests: 10, status5xx: 0 }]);
    expect(state.traffic[`${accessLog}#beta`]).toMatchObject([{ requests: 10, status5xx: 10 }]);

    const second = await create();
    now = T0 + 70_000;
    await second.tick(T0 + 60_000);
    const minutes = Object.fromEntries(second.status().targets.map((t) => [t.name, t.lastMinute]));
    expect(minutes.alpha).toMatchObject({ minuteMs: T0, requests: 10, status5xx: 0, status502: 0 });
    expect(minutes.beta).toMatchObject({ minuteMs: T0, requests: 10, status5xx: 10, status502: 10 });
    await second.stop();

    const warnings = events.filter(
      (e): e is Extract<WatchEvent, { type: 'warning' }> =>
        e.type === 'warning' && e.message.includes('count for none'),
    );
    expect(warnings.map((w) => w.message)).toEqual([
      `${accessLog} is shared by alpha, beta: 2 line(s) match no target's nginx.serverNames/probe host or upstreams and count for none (said once; see "Targets that share one access log" in the README)`,
    ]);
  });
});
