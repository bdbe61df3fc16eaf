/**
 * `gatewatch diagnose --logs-only` end to end — the shipped CLI as a process, Node start-up, module
 * loading, the workflow and the report included — over a 1,000,000-line access log (gatewatch format, as
 * access-log.ts generates it) and its error log, against GoAccess on the same access log in the same run.
 *
 *   node test/bench/diagnose-logs-only.ts [--lines 1000000] [--runs 5]
 *
 * The first gatewatch run fills Node's compile cache (bin/gatewatch.mjs enables it); it is shown apart,
 * the medians are over the runs after it. Target (issue 9): gatewatch >= 10x faster than GoAccess.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { goaccessVersion, hasTimeV, type Measured, measure, runGoAccess } from './goaccess.ts';

const { values } = parseArgs({
  options: { lines: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' } },
});
const LINES = Number(values.lines);
const RUNS = Math.max(2, Number(values.runs));
const CLI = fileURLToPath(new URL('../../bin/gatewatch.mjs', import.meta.url));
const GENERATOR = fileURLToPath(new URL('./access-log.ts', import.meta.url));
/** access-log.ts writes from this instant on, ~100 requests a second. */
const LOG_START = Date.UTC(2026, 10, 24, 3, 0, 0);

/** An error log over the same hours: refusals, timeouts and resets of the same peers, one every ~2 s. */
async function generateErrorLog(file: string, lines: number): Promise<void> {
  const out = createWriteStream(file);
  const kinds = [
    'connect() failed (111: Connection refused) while connecting to upstream',
    'upstream timed out (110: Connection timed out) while reading response header from upstream',
    'recv() failed (104: Connection reset by peer) while reading response header from upstream',
  ];
  const pad = (n: number) => String(n).padStart(2, '0');
  for (let i = 0; i < lines; i++) {
    const d = new Date(LOG_START + i * 2000);
    const stamp = `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    const kind = kinds[i % 7 === 0 ? 1 : i % 11 === 0 ? 2 : 0]!;
    const line = `${stamp} [error] 4211#4211: *${1000 + i} ${kind}, client: 203.0.113.${(i % 250) + 1}, server: shop.example.com, request: "GET /api/v1/orders HTTP/1.1", upstream: "http://10.0.1.11:8080/api/v1/orders", host: "shop.example.com"\n`;
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await new Promise<void>((r) => out.once('finish', () => r()));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const dir = mkdtempSync(join(tmpdir(), 'gw-bench-logs-only-'));
try {
  const access = join(dir, 'access.log');
  const error = join(dir, 'error.log');
  process.stdout.write(`generating ${LINES.toLocaleString('en-US')} access-log lines… `);
  const generated = spawnSync(
    process.execPath,
    [GENERATOR, '--generate', access, 'gatewatch', String(LINES)],
    {
      stdio: 'inherit',
    },
  );
  if (generated.status !== 0) throw new Error('access-log generation failed');
  await generateErrorLog(error, Math.ceil(LINES / 200));
  console.log(
    `${(statSync(access).size / 1024 / 1024).toFixed(1)} MiB, error log ${(statSync(error).size / 1024 / 1024).toFixed(1)} MiB`,
  );
  const config = join(dir, 'gatewatch.yaml');
  writeFileSync(
    config,
    `targets:\n  - name: bench\n    nginx:\n      errorLog: ${error}\n      accessLog: ${access}\nreports:\n  dir: ${join(dir, 'incidents')}\n`,
  );
  const useTime = hasTimeV();
  const args = [
    CLI,
    'diagnose',
    '--config',
    config,
    '--logs-only',
    '--since',
    new Date(LOG_START - 60_000).toISOString(),
    '--json',
  ];

  const ours: (Measured & { requests: number; rootCause: string })[] = [];
  for (let i = 0; i < RUNS; i++) {
    const m = measure(process.execPath, args, useTime);
    const report = JSON.parse(m.stdout) as {
      verdict: { rootCause: string };
      traffic: { requests: number };
    };
    if (report.traffic.requests !== LINES)
      throw new Error(`gatewatch counted ${report.traffic.requests} requests of ${LINES}`);
    ours.push({ ...m, requests: report.traffic.requests, rootCause: report.verdict.rootCause });
  }
  const version = goaccessVersion();
  const theirs: Measured[] = [];
  if (version) {
    for (let i = 0; i < RUNS - 1; i++) {
      const go = runGoAccess(access, 'gatewatch', join(dir, `goaccess-${i}.json`), useTime);
      if (go.valid !== LINES) throw new Error(`GoAccess counted ${go.valid} valid requests of ${LINES}`);
      theirs.push(go);
    }
  }

  const warm = ours.slice(1);
  const gwMs = median(warm.map((r) => r.wallMs));
  console.log(`node ${process.version}; ${version ?? 'GoAccess: not installed (skipped)'}`);
  console.log(`gatewatch diagnose --logs-only (process start included), verdict ${ours[0]!.rootCause}`);
  console.log(
    `  first run (compile cache cold) ${(ours[0]!.wallMs / 1000).toFixed(2)} s; median of ${warm.length} after it ${(gwMs / 1000).toFixed(2)} s; peak RSS ${(median(warm.map((r) => r.maxRssKb)) / 1024).toFixed(0)} MiB`,
  );
  if (theirs.length > 0) {
    const goMs = median(theirs.map((r) => r.wallMs));
    console.log(
      `GoAccess on the same access log: median of ${theirs.length} ${(goMs / 1000).toFixed(2)} s; peak RSS ${(median(theirs.map((r) => r.maxRssKb)) / 1024).toFixed(0)} MiB`,
    );
    console.log(`  ratio (GoAccess / gatewatch, medians): ${(goMs / gwMs).toFixed(1)}x   (target: >= 10x)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
