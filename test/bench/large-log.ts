// Peak memory and wall time of `gatewatch diagnose --logs-only` on a 2 GB access log and an error log
// holding a 100 MB single line, process start to exit (the process must end once the report is written).
// Run alone with `node test/bench/large-log.ts`; `measureLargeLog` is what `npm run bench` calls.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/gatewatch.mjs', import.meta.url));

export interface LargeLogOptions {
  /** Size of the access log. @default 2 GiB */
  accessBytes?: number;
  /** Length of the one huge error-log line. @default 100 MiB */
  longLineBytes?: number;
}

export interface LargeLogResult {
  accessBytes: number;
  errorBytes: number;
  /** Peak resident set size of the diagnose process, MB (from /usr/bin/time). */
  peakRssMb: number;
  /** Process start to exit, seconds. */
  wallSeconds: number;
  exitCode: number | null;
  verdict: string;
  requestsInWindow: number;
}

const pad = (n: number) => String(n).padStart(2, '0');
const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
const errorTime = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
};
const accessLine = (ms: number, status: number, n: number) =>
  `gw1\t${iso(ms)}\t${status}\t0.002\t127.0.0.1:3000\t${status === 502 ? '-' : '200'}\t${status === 502 ? '-' : '0.001'}\t${status === 502 ? '-' : '0.002'}\t${status === 502 ? '-' : '0.002'}\tr${n}\t10.1.2.3\t"GET /items/${n} HTTP/1.1"\t0\t"-"\t"bench"\tshop\n`;

/** Writes the logs, runs the shipped CLI under /usr/bin/time, removes the logs, returns the figures. */
export function measureLargeLog(options: LargeLogOptions = {}): LargeLogResult {
  const accessTarget = options.accessBytes ?? 2 * 1024 ** 3;
  const longLine = options.longLineBytes ?? 100 * 1024 ** 2;
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-large-'));
  try {
    const now = Date.now();
    const old = now - 3 * 86_400_000;
    // the access log: 2 GB of lines from three days ago, then the last ten minutes with 502s
    const access = join(dir, 'access.log');
    let block = '';
    for (let i = 0; block.length < 1 << 20; i++) block += accessLine(old + i * 10, 200, i);
    const blockBytes = Buffer.from(block);
    const fd = openSync(access, 'w');
    for (let written = 0; written < accessTarget; written += blockBytes.length) writeSync(fd, blockBytes);
    let tail = '';
    for (let i = 0; i < 6000; i++) tail += accessLine(now - 600_000 + i * 100, i % 3 === 0 ? 502 : 200, i);
    writeSync(fd, tail);
    closeSync(fd);
    // the error log: one 100 MB line, then refusals in the window
    const error = join(dir, 'error.log');
    const efd = openSync(error, 'w');
    const piece = Buffer.alloc(1 << 20, 'A');
    for (let written = 0; written < longLine; written += piece.length) writeSync(efd, piece);
    let errors = '\n';
    for (let i = 0; i < 2000; i++) {
      errors += `${errorTime(now - 600_000 + i * 300)} [error] 9#9: *${i} connect() failed (111: Connection refused) while connecting to upstream, client: 10.1.2.3, server: shop, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:3000/", host: "shop"\n`;
    }
    writeSync(efd, errors);
    closeSync(efd);
    const config = join(dir, 'gatewatch.yaml');
    writeFileSync(
      config,
      `targets:\n  - name: shop\n    probe: { url: "http://127.0.0.1:1/" }\n    nginx:\n      errorLog: ${error}\n      accessLog: ${access}\n      utcOffset: "+00:00"\nreports: { dir: ${join(dir, 'reports')} }\n`,
    );
    const run = spawnSync(
      '/usr/bin/time',
      [
        '-f',
        'GW_TIME %M %e',
        process.execPath,
        BIN,
        'diagnose',
        '--config',
        config,
        '--logs-only',
        '--since',
        '15m',
        '--json',
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 ** 2, timeout: 600_000 },
    );
    const figures = /GW_TIME (\d+) ([\d.]+)/.exec(run.stderr ?? '');
    let verdict = '?';
    let requests = 0;
    try {
      const report = JSON.parse(run.stdout) as {
        verdict: { rootCause: string };
        traffic: { requests: number };
      };
      verdict = report.verdict.rootCause;
      requests = report.traffic.requests;
    } catch {
      verdict = `no report: ${(run.stderr ?? '').slice(-300)}`;
    }
    return {
      accessBytes: statSync(access).size,
      errorBytes: statSync(error).size,
      peakRssMb: figures ? Number(figures[1]) / 1024 : Number.NaN,
      wallSeconds: figures ? Number(figures[2]) : Number.NaN,
      exitCode: run.status,
      verdict,
      requestsInWindow: requests,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const r = measureLargeLog();
  console.log(
    `  access log ${(r.accessBytes / 1024 ** 3).toFixed(2)} GB + error log ${(r.errorBytes / 1024 ** 2).toFixed(0)} MB (one 100 MB line)`,
  );
  console.log(
    `  diagnose --logs-only --since 15m: peak RSS ${r.peakRssMb.toFixed(0)} MB, ${r.wallSeconds.toFixed(2)} s start to exit, exit ${r.exitCode}, verdict ${r.verdict}, ${r.requestsInWindow} requests in the window`,
  );
  if (!(r.peakRssMb < 200)) process.exitCode = 1;
}
