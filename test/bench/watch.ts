// Time from a fault to its report in `gatewatch watch`: a real nginx and upstream on loopback, the watch
// pipeline in-process with 1 s probes and the default "2 of 3" rule. Each round kills the upstream at a
// random moment within the probe second, and measures fault → incident opened (detection) and
// opened → report written (the diagnosis workflow). Target: fault → report at most two probe intervals
// plus the diagnosis. Prints figures, asserts nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../lambdas/core/config.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { UpstreamProcess } from '../../lambdas/local/lab/upstream-process.ts';
import type { WatchEvent } from '../../lambdas/local/watch/status-view.ts';
import { startWatch } from '../../lambdas/local/watch/watcher.ts';

const ROUNDS = Number(process.env.BENCH_WATCH_ROUNDS ?? 7);
const INTERVAL_S = 1;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const port = await freePort();
const lab = await NginxLab.start({ server: `location / { proxy_pass http://127.0.0.1:${port}; }` });
const label = `gatewatch-bench-watch-${process.pid}`;
let app = await UpstreamProcess.start({ mode: 'ok', port, label });
const work = await mkdtemp(join(tmpdir(), 'gatewatch-bench-watch-'));
const events: { at: number; event: WatchEvent }[] = [];
const waitFor = async (match: (e: WatchEvent) => boolean, from: number): Promise<number> => {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const hit = events.slice(from).find((e) => match(e.event));
    if (hit) return hit.at;
    if (performance.now() > deadline) {
      const last = events
        .slice(Math.max(from, events.length - 12))
        .map((e) => JSON.stringify(e.event).slice(0, 300));
      throw new Error(`timed out waiting for the watch; its last events:\n${last.join('\n')}`);
    }
    await sleep(5);
  }
};

const config = validateConfig({
  targets: [
    {
      name: 'lab',
      probe: { url: `http://127.0.0.1:${lab.port}/`, intervalSeconds: INTERVAL_S },
      nginx: { errorLog: lab.errorLog, accessLog: lab.accessLog, conf: lab.confPath, prefix: lab.prefix },
      upstreams: [{ address: `127.0.0.1:${port}`, service: { process: label } }],
      // The probe alarm is what this measures. With the default 5% over 5 minutes, the 502s of earlier
      // rounds keep the error-rate alarm in ALARM and the incident open, and a later round never starts.
      alarm: { errorRate: { percent: 50, minutes: 1 } },
    },
  ],
  reports: { dir: join(work, 'incidents') },
});
const watch = await startWatch({
  config,
  cooldownSeconds: 0,
  onEvent: (event) => events.push({ at: performance.now(), event }),
});
const rows: { detect: number; diagnose: number; total: number; verdict: string }[] = [];
try {
  await sleep(3500); // alarms settle to OK
  for (let round = 0; round < ROUNDS; round++) {
    await sleep(2000 + Math.random() * 1000); // a random phase against the probe ticks
    const mark = events.length;
    const faultAt = performance.now();
    await app.kill();
    const openedAt = await waitFor((e) => e.type === 'incident-opened', mark);
    const reportAt = await waitFor((e) => e.type === 'incident-diagnosed', mark);
    const diagnosed = events.slice(mark).find((e) => e.event.type === 'incident-diagnosed')!.event;
    rows.push({
      detect: openedAt - faultAt,
      diagnose: reportAt - openedAt,
      total: reportAt - faultAt,
      verdict:
        diagnosed.type === 'incident-diagnosed' ? (diagnosed.incident.report?.rootCause ?? 'failed') : '?',
    });
    app = await UpstreamProcess.start({ mode: 'ok', port, label });
    await waitFor((e) => e.type === 'incident-resolved', mark);
  }
} finally {
  await watch.stop();
  await app.kill();
  await lab.stop();
  await rm(work, { recursive: true, force: true });
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return `min ${fmt(sorted[0]!)}   median ${fmt(sorted[Math.floor(sorted.length / 2)]!)}   max ${fmt(sorted.at(-1)!)}`;
};
const withinTarget = rows.filter((r) => r.total <= 2 * INTERVAL_S * 1000 + r.diagnose).length;
console.log(
  `gatewatch watch, fault (upstream killed) to report, ${INTERVAL_S} s probes, "2 of 3" rule, ${rows.length} rounds`,
);
console.log(`  verdicts: ${[...new Set(rows.map((r) => r.verdict))].join(', ')}`);
console.log(`  fault -> incident opened (detection)   ${stats(rows.map((r) => r.detect))}`);
console.log(`  opened -> report written (diagnosis)   ${stats(rows.map((r) => r.diagnose))}`);
console.log(`  fault -> report                        ${stats(rows.map((r) => r.total))}`);
console.log(`  within two probe intervals plus the diagnosis: ${withinTarget} of ${rows.length} rounds`);
