/**
 * Peak RSS and wall time of `gatewatch diagnose --logs-only` (the shipped CLI, process start included) on
 * a large access log — 2 GiB by default — and its error log. Peak RSS from `/usr/bin/time -v`, else by
 * polling /proc/<pid>/status VmHWM. Also says whether the process exited once the report was written.
 *
 *   node test/bench/diagnose-large-log.ts [--gib 2]
 *
 * Target (issue 8, item 7): memory under 200 MB on a 2 GB log.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hasTimeV, measure } from './goaccess.ts';

const { values } = parseArgs({ options: { gib: { type: 'string', default: '2' } } });
const TARGET_BYTES = Number(values.gib) * 1024 ** 3;
const CLI = fileURLToPath(new URL('../../bin/gatewatch.mjs', import.meta.url));
const GENERATOR = fileURLToPath(new URL('./access-log.ts', import.meta.url));
/** access-log.ts writes ~243 bytes a line in the gatewatch format. */
const BYTES_PER_LINE = 243;

/** Peak RSS by polling VmHWM while the process runs (when /usr/bin/time is missing). */
async function pollPeak(args: string[]): Promise<{ wallMs: number; maxRssKb: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (hwm) peak = Math.max(peak, Number(hwm[1]));
    } catch {}
  }, 50);
  await new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`diagnose exited ${code}`)))),
  );
  clearInterval(timer);
  return { wallMs: performance.now() - started, maxRssKb: peak };
}

const dir = mkdtempSync(join(tmpdir(), 'gw-bench-large-'));
try {
  const access = join(dir, 'access.log');
  const error = join(dir, 'error.log');
  const lines = Math.ceil(TARGET_BYTES / BYTES_PER_LINE);
  process.stdout.write(`generating ${lines.toLocaleString('en-US')} access-log lines… `);
  const generated = spawnSync(
    process.execPath,
    [GENERATOR, '--generate', access, 'gatewatch', String(lines)],
    {
      stdio: 'inherit',
    },
  );
  if (generated.status !== 0) throw new Error('generation failed');
  writeFileSync(
    error,
    '2026/11/24 03:00:05 [error] 4211#4211: *17 connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.7, server: shop.example.com, request: "GET / HTTP/1.1", upstream: "http://10.0.1.11:8080/", host: "shop.example.com"\n',
  );
  console.log(`${(statSync(access).size / 1024 ** 3).toFixed(2)} GiB`);
  const config = join(dir, 'gatewatch.yaml');
  writeFileSync(
    config,
    `targets:\n  - name: bench\n    nginx:\n      errorLog: ${error}\n      accessLog: ${access}\nreports:\n  dir: ${join(dir, 'incidents')}\n`,
  );
  const args = [CLI, 'diagnose', '--config', config, '--logs-only', '--since', '2026-11-24T02:59:00Z'];
  const m = hasTimeV() ? measure(process.execPath, args, true) : await pollPeak(args);
  console.log(`gatewatch diagnose --logs-only over ${(statSync(access).size / 1024 ** 3).toFixed(2)} GiB`);
  console.log(
    `  wall ${(m.wallMs / 1000).toFixed(1)} s (the process exited by itself); peak RSS ${(m.maxRssKb / 1024).toFixed(0)} MiB   (target: < 200 MB)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
