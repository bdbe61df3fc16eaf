/**
 * Benchmark: 1,000 HTTP endpoints on loopback, each on its own port (real sockets, one listener per
 * port), probed in one `runProbes` run with the concurrency limit. The endpoints live in a child process
 * so the peak RSS printed is the prober's own.
 *
 *   npx node test/bench/probes.ts [--endpoints 1000] [--concurrency 64]
 *
 * `benchProbes()` is exported for `npm run bench` (test/bench/run.ts) to call.
 */
import { fork } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { runProbes } from '../../lambdas/adapters/local/http-prober.ts';
import { ProbeConfigSchema } from '../../lambdas/core/probe/schema.ts';

export interface ProbeBenchResult {
  endpoints: number;
  concurrency: number;
  ok: number;
  wallMs: number;
  probesPerSecond: number;
  /** Peak resident set size of the probing process, MiB. */
  peakRssMiB: number;
  /** RSS growth during the run, MiB. */
  rssGrowthMiB: number;
}

/** Child mode: listen on `count` ephemeral ports and report them. */
async function serve(count: number): Promise<void> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 511, resolve));
    ports.push((server.address() as AddressInfo).port);
  }
  process.send?.({ ports });
}

async function startEndpoints(count: number): Promise<{ ports: number[]; stop: () => void }> {
  const child = fork(new URL(import.meta.url).pathname, ['--serve', String(count)], { stdio: 'inherit' });
  const ports = await new Promise<number[]>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { ports: number[] }).ports));
    child.once('exit', (code) => reject(new Error(`endpoint process exited with ${code}`)));
  });
  return { ports, stop: () => child.kill() };
}

/** Probes `endpoints` loopback ports once with `concurrency` in flight; measures time and memory. */
export async function benchProbes(endpoints = 1000, concurrency = 64): Promise<ProbeBenchResult> {
  const { ports, stop } = await startEndpoints(endpoints);
  try {
    const targets = ports.map((port, i) => ({
      name: `endpoint-${i}`,
      probe: ProbeConfigSchema.parse({
        url: `http://127.0.0.1:${port}/health`,
        expect: { bodyContains: 'ok' },
      }),
    }));
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const results = await runProbes(targets, { concurrency });
    const wallMs = performance.now() - started;
    const rssAfter = process.memoryUsage().rss;
    const mib = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;
    return {
      endpoints,
      concurrency,
      ok: results.filter((r) => r.ok).length,
      wallMs: Math.round(wallMs),
      probesPerSecond: Math.round((endpoints / wallMs) * 1000),
      peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
      rssGrowthMiB: mib(rssAfter - rssBefore),
    };
  } finally {
    stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      endpoints: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '64' },
    },
  });
  if (values.serve !== undefined) {
    await serve(Number(values.serve));
  } else {
    const result = await benchProbes(Number(values.endpoints), Number(values.concurrency));
    console.log(
      `probes: ${result.ok}/${result.endpoints} ok, concurrency ${result.concurrency}, ` +
        `wall ${result.wallMs} ms (${result.probesPerSecond}/s), peak RSS ${result.peakRssMiB} MiB ` +
        `(+${result.rssGrowthMiB} MiB during the run)`,
    );
    console.log(JSON.stringify({ bench: 'probes', ...result }));
    if (result.ok !== result.endpoints) process.exitCode = 1;
  }
}
