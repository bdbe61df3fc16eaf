// Wall time of `gatewatch diagnose` on a local fault, process start and host checks included: a real nginx
// whose upstream is down, the shipped CLI (bin/gatewatch.mjs, the launcher users run) spawned N times.
// Target (issue 9): median under 1.5 s. Where the time goes is read from when each run's files were
// written (their modification times): the nginx evidence (start-up, configuration, logs read), the host
// evidence (the diagnostics script ran), report.json; the rest is the index and the process's exit.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
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
  const phases = {
    startUp: [] as number[],
    hostChecks: [] as number[],
    report: [] as number[],
    exit: [] as number[],
  };
  let verdict = '';
  for (let i = 0; i < RUNS; i++) {
    const wallStart = Date.now();
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, [cli, 'diagnose', '--config', configPath, '--json'], {
      encoding: 'utf8',
    });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    const wallEnd = Date.now();
    if (result.status !== 0) throw new Error(`diagnose exited ${result.status}: ${result.stderr}`);
    const report = JSON.parse(result.stdout) as {
      incidentId: string;
      verdict: { rootCause: string };
      checks: { durationMs?: number }[];
    };
    verdict = report.verdict.rootCause;
    checkTimes.push(report.checks.reduce((sum, c) => sum + (c.durationMs ?? 0), 0));
    const dir = join(work, 'incidents', report.incidentId);
    const written = (file: string) => statSync(join(dir, file)).mtimeMs;
    const nginx = written('evidence/nginx.json');
    const host = written('evidence/host-local.json');
    const json = written('report.json');
    phases.startUp.push(nginx - wallStart);
    phases.hostChecks.push(host - nginx);
    phases.report.push(json - host);
    phases.exit.push(wallEnd - json);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  times.sort((a, b) => a - b);
  console.log('gatewatch diagnose, local fault (upstream down), process start included');
  console.log(`  runs ${RUNS}, verdict ${verdict}`);
  console.log(
    `  min ${times[0]!.toFixed(0)} ms   median ${median(times).toFixed(0)} ms   max ${times.at(-1)!.toFixed(0)} ms   (target: median < 1500 ms)`,
  );
  console.log(
    `  where it goes (medians, from when each run's files were written): start-up, configuration and logs read ${median(phases.startUp).toFixed(0)} ms · host checks (the diagnostics script) ${median(phases.hostChecks).toFixed(0)} ms · classification and report ${median(phases.report).toFixed(0)} ms · index and exit ${median(phases.exit).toFixed(0)} ms`,
  );
  console.log(
    `  the host checks' own durations add up to ${median(checkTimes).toFixed(0)} ms (median); they run side by side`,
  );
} finally {
  await lab.stop();
  await rm(work, { recursive: true, force: true });
}
