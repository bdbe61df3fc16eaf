/**
 * Access-log benchmark: gatewatch's TrafficAggregator against GoAccess on the same files.
 *
 *   npx node test/bench/access-log.ts            # 1M and 3M lines, gatewatch and combined formats
 *   npx node test/bench/access-log.ts --quick    # 200k lines only (a smoke run)
 *
 * Generates realistic logs (about 5% 5xx, some retry lists and internal redirects) into a temp dir, then
 * runs each reader in its own child process so that generation does not pollute the memory figures:
 * the aggregator streams the file (fs.createReadStream, 1 MiB reads, never the whole file) and reports
 * lines/s; peak RSS comes from `/usr/bin/time -v` when present, else from the child's resource usage.
 * The child runs as an esbuild bundle, the form gatewatch is deployed in (Lambda); the TypeScript
 * source run by Node's type stripping costs about 33 MiB more RSS (the stripper itself), shown apart.
 * Targets: >= 2,000,000 lines/s per core, >= 20x GoAccess, peak RSS < 100 MB and flat as the file grows.
 * Prints the real figures either way and exits 0.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrafficAggregator } from '../../lambdas/core/nginx/access-log.ts';
import {
  goaccessVersion,
  hasTimeV,
  type LogFormat,
  type Measured,
  measure,
  runGoAccess,
} from './goaccess.ts';

const self = fileURLToPath(import.meta.url);
const READ_CHUNK = 1024 * 1024;

type Format = LogFormat;

interface ChildResult {
  lines: number;
  requests: number;
  status5xx: number;
  malformed: number;
  parseMs: number;
  maxRssKb: number;
  /** V8 heap in use after the summary: what the aggregator holds on to. */
  heapUsedKb: number;
}

// ------------------------------------------------------------------------------------------ child: read one file

async function child(file: string): Promise<void> {
  const aggregator = new TrafficAggregator({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER });
  const started = process.hrtime.bigint();
  for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK })) {
    aggregator.push(chunk as Buffer);
  }
  const summary = aggregator.end();
  const parseMs = Number(process.hrtime.bigint() - started) / 1e6;
  const stats = aggregator.stats();
  const result: ChildResult = {
    lines: stats.lines,
    requests: summary.requests,
    status5xx: summary.status5xx,
    malformed: summary.malformed,
    parseMs,
    maxRssKb: process.resourceUsage().maxRSS,
    heapUsedKb: Math.round(process.memoryUsage().heapUsed / 1024),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ------------------------------------------------------------------------------------------ generator

/** A small deterministic PRNG (mulberry32): the same file every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PEERS = ['10.0.1.11:8080', '10.0.1.12:8080', '10.0.1.13:8080', 'unix:/run/app/api.sock'];
const PATHS = [
  '/',
  '/api/v1/orders',
  '/api/v1/orders/8812734',
  '/api/v1/cart?session=3f9a1c2b',
  '/static/app.7f3a9c.js',
  '/static/styles.css',
  '/images/products/5521/large.webp',
  '/search?q=running+shoes&page=2',
  '/healthz',
  '/login',
];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'curl/8.5.0',
  'Go-http-client/1.1',
  'kube-probe/1.29',
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)]!;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

async function generate(file: string, format: Format, lines: number): Promise<void> {
  const rnd = random(42);
  const out = createWriteStream(file, { highWaterMark: 4 * 1024 * 1024 });
  let t = Date.UTC(2026, 10, 24, 3, 0, 0);
  let batch: string[] = [];
  for (let i = 0; i < lines; i++) {
    t += Math.floor(rnd() * 20); // ~100 requests per second
    const d = new Date(t);
    const roll = rnd();
    let status = 200;
    let upstreamStatus = '200';
    let peers = pick(rnd, PEERS);
    const connect = Math.floor(rnd() * 3);
    const header = connect + Math.floor(rnd() * 80);
    let connectTime = seconds(connect);
    let headerTime = seconds(header);
    let responseTime = seconds(header + Math.floor(rnd() * 5));
    if (roll < 0.02) {
      // upstream down: nginx's own 502 after connect() failed
      status = 502;
      upstreamStatus = '502';
      connectTime = '-';
      headerTime = '-';
      responseTime = '0.000';
    } else if (roll < 0.03) {
      // the upstream itself answered 502
      status = 502;
      upstreamStatus = '502';
    } else if (roll < 0.04) {
      status = 504;
      upstreamStatus = '504';
      headerTime = '-';
      responseTime = '60.001';
    } else if (roll < 0.05) {
      status = pick(rnd, [500, 503]);
      upstreamStatus = String(status);
    } else if (roll < 0.07) {
      // a retry: the first server refused, the second answered
      peers = `${PEERS[0]}, ${PEERS[1]}`;
      upstreamStatus = '502, 200';
      connectTime = `-, ${connectTime}`;
      headerTime = `-, ${headerTime}`;
      responseTime = `0.000, ${responseTime}`;
    } else if (roll < 0.075) {
      // an internal redirect to a fallback location
      peers = `${PEERS[2]} : ${PEERS[3]}`;
      upstreamStatus = '502 : 200';
      connectTime = `- : ${connectTime}`;
      headerTime = `- : ${headerTime}`;
      responseTime = `0.001 : ${responseTime}`;
    } else if (roll < 0.15) {
      status = pick(rnd, [301, 304, 404]);
      upstreamStatus = String(status);
    }
    const method = rnd() < 0.85 ? 'GET' : 'POST';
    const request = `${method} ${pick(rnd, PATHS)} HTTP/1.1`;
    const agent = pick(rnd, AGENTS);
    const remote = `203.0.113.${Math.floor(rnd() * 254) + 1}`;
    const bytes = Math.floor(rnd() * 40_000);
    const referer = rnd() < 0.3 ? 'https://shop.example.com/' : '-';
    const requestTime = seconds(Math.floor(rnd() * 90));
    if (format === 'gatewatch') {
      const iso = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}+00:00`;
      const id = Math.floor(rnd() * 2 ** 52)
        .toString(16)
        .padStart(16, '0')
        .repeat(2);
      batch.push(
        `gw1\t${iso}\t${status}\t${requestTime}\t${peers}\t${upstreamStatus}\t${connectTime}\t${headerTime}\t${responseTime}\t${id}\t${remote}\t"${request}"\t${bytes}\t"${referer}"\t"${agent}"\tshop.example.com\n`,
      );
    } else {
      const local = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
      batch.push(`${remote} - - [${local}] "${request}" ${status} ${bytes} "${referer}" "${agent}"\n`);
    }
    if (batch.length === 10_000) {
      if (!out.write(batch.join(''))) await new Promise<void>((r) => out.once('drain', () => r()));
      batch = [];
    }
  }
  out.end(batch.join(''));
  await new Promise<void>((r) => out.once('finish', () => r()));
}

// ------------------------------------------------------------------------------------------ measuring

function runAggregator(script: string, file: string, useTime: boolean): ChildResult & Measured {
  const m = measure(process.execPath, [script, '--child', file], useTime);
  const result = JSON.parse(m.stdout.trim().split('\n').pop()!) as ChildResult;
  return { ...result, wallMs: m.wallMs, maxRssKb: Number.isNaN(m.maxRssKb) ? result.maxRssKb : m.maxRssKb };
}

/** Bundles this script with esbuild (the deployed form); falls back to the TypeScript source. */
function bundle(dir: string): { script: string; note: string } {
  const out = join(dir, 'bench-child.mjs');
  const esbuild = join(dirname(self), '../../node_modules/.bin/esbuild');
  const result = spawnSync(
    esbuild,
    [
      self,
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node24',
      `--outfile=${out}`,
      '--log-level=error',
    ],
    { encoding: 'utf8' },
  );
  if (result.status === 0) return { script: out, note: 'child: esbuild bundle' };
  return {
    script: self,
    note: `child: TypeScript source (esbuild failed: ${(result.stderr ?? '').trim().slice(0, 80)})`,
  };
}

// ------------------------------------------------------------------------------------------ main

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const sizes = quick ? [200_000] : [1_000_000, 3_000_000];
  const repeats = quick ? 1 : 3;
  const useTime = hasTimeV();
  const goaccess = goaccessVersion();
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  const child = bundle(dir);
  console.log(
    `node ${process.version}, ${child.note}, ${useTime ? 'peak RSS from /usr/bin/time -v' : 'peak RSS from process.resourceUsage() (no /usr/bin/time)'}`,
  );
  console.log(goaccess ? `GoAccess: ${goaccess}` : 'GoAccess: skipped (the goaccess binary is not on PATH)');
  const rows: string[][] = [];
  try {
    for (const format of ['gatewatch', 'combined'] as const) {
      for (const lines of sizes) {
        const file = join(dir, `${format}-${lines}.log`);
        process.stdout.write(`generating ${fmt(lines)} ${format} lines… `);
        await generate(file, format, lines);
        const size = statSync(file).size;
        console.log(`${fmt(size / 1024 / 1024, 1)} MiB`);
        let best: (ChildResult & Measured) | undefined;
        for (let i = 0; i < repeats; i++) {
          const run = runAggregator(child.script, file, useTime);
          if (run.lines !== lines || run.malformed !== 0) {
            throw new Error(
              `aggregator read ${run.lines} lines (${run.malformed} malformed), expected ${lines}`,
            );
          }
          if (!best || run.parseMs < best.parseMs) best = run;
        }
        const ours = best!;
        const linesPerSecond = lines / (ours.parseMs / 1000);
        const fromSource = child.script === self ? ours : runAggregator(self, file, useTime);
        let goCells = ['skipped', '-', '-', '-', '-'];
        if (goaccess) {
          try {
            const go = runGoAccess(file, format, join(dir, `${format}-${lines}.json`), useTime);
            if (go.valid !== lines)
              throw new Error(`GoAccess counted ${go.valid} valid requests of ${lines}`);
            goCells = [
              fmt(go.wallMs / 1000, 2),
              fmt(lines / (go.wallMs / 1000)),
              fmt(go.maxRssKb / 1024, 1),
              `${fmt(go.wallMs / ours.wallMs, 1)}x`,
              `${fmt(linesPerSecond / (lines / (go.wallMs / 1000)), 1)}x`,
            ];
          } catch (error) {
            goCells = [`failed: ${(error as Error).message.slice(0, 60)}`, '-', '-', '-', '-'];
          }
        }
        rows.push([
          format,
          fmt(lines),
          fmt(size / 1024 / 1024, 0),
          fmt(ours.parseMs / 1000, 2),
          fmt(ours.wallMs / 1000, 2),
          fmt(linesPerSecond),
          fmt(ours.maxRssKb / 1024, 1),
          fmt(ours.heapUsedKb / 1024, 1),
          fmt(fromSource.maxRssKb / 1024, 1),
          ...goCells,
        ]);
        rmSync(file, { force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const header = [
    'format',
    'lines',
    'MiB',
    'gatewatch parse s',
    'gatewatch wall s',
    'gatewatch lines/s',
    'gatewatch peak RSS MiB',
    'heap after MiB',
    'peak RSS, TS source MiB',
    'GoAccess wall s',
    'GoAccess lines/s',
    'GoAccess peak RSS MiB',
    'speed-up wall',
    'speed-up lines/s',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join(' | ');
  console.log();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of rows) console.log(line(row));
  console.log();
  console.log('parse s: from opening the stream to the summary, one core (the parser is single-threaded);');
  console.log(
    'wall s: the whole child process, Node start-up included. speed-up wall: GoAccess wall / gatewatch wall;',
  );
  console.log(
    'speed-up lines/s: gatewatch parse lines/s / GoAccess lines/s (its wall time: it starts in ~1 ms).',
  );
  console.log(
    'targets: >= 2,000,000 lines/s, >= 20x GoAccess, peak RSS < 100 MiB and flat from 1M to 3M lines.',
  );
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!);
} else if (process.argv[2] === '--generate') {
  // npx node test/bench/access-log.ts --generate FILE gatewatch|combined LINES (for profiling by hand)
  await generate(process.argv[3]!, process.argv[4] as Format, Number(process.argv[5]));
} else {
  await main();
}
