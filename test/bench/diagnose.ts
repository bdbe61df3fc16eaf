// Wall time of `gatewatch diagnose` on a local fault, process start and host checks included: a real nginx
// whose upstream is down, the shipped CLI (bin/gatewatch.mjs, the launcher users run) spawned N times.
// Target (issue 9): median under 1.5 s. The host-check share is printed from the report's own timings.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';

const RUNS = Number(process.env.BENCH_DIAGNOSE_RUNS ?? 9);
const cli = fileURLToPath(new URL('../../bin/gatewatch.mjs', import.meta.url));

const port = await freePort();
const lab = await NginxLab.start({ server: `location / { proxy_pass http://127.0.0.1:${port}; }` });
const work = await mkdtemp(join(tmpdir(), 'gatewatch-bench-'));
try {
  for (let i = 0; i < 20; i++) await lab.get('/');
  const configPath = join(work, 'gatewatch.yaml');
  await writeFile(configPath, stringify(lab.gatewatchConfig({}, join(work, 'incidents'))));
  const times: number[] = [];
  const checkTimes: number[] = [];
  let verdict = '';
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, [cli, 'diagnose', '--config', configPath, '--json'], {
      encoding: 'utf8',
    });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (result.status !== 0) throw new Error(`diagnose exited ${result.status}: ${result.stderr}`);
    const report = JSON.parse(result.stdout) as {
      verdict: { rootCause: string };
      checks: { durationMs?: number }[];
    };
    verdict = report.verdict.rootCause;
    checkTimes.push(report.checks.reduce((sum, c) => sum + (c.durationMs ?? 0), 0));
  }
  checkTimes.sort((a, b) => a - b);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log('gatewatch diagnose, local fault (upstream down), process start included');
  console.log(`  runs ${RUNS}, verdict ${verdict}`);
  console.log(
    `  min ${times[0]!.toFixed(0)} ms   median ${median.toFixed(0)} ms   max ${times.at(-1)!.toFixed(0)} ms   (target: median < 1500 ms)`,
  );
  console.log(
    `  of which host checks (the diagnostics script, sum of its checks' durations): median ${checkTimes[Math.floor(checkTimes.length / 2)]!.toFixed(0)} ms`,
  );
} finally {
  await lab.stop();
  await rm(work, { recursive: true, force: true });
}
