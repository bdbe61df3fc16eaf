/**
 * Lambda bundle benchmark: each gatewatch Lambda as `cdk synth` bundles it (the real esbuild assets of
 * the stack synthesized from gatewatch.example.yaml), its size on disk and gzipped (≈ the deployment
 * zip), and its cold module-load time: a fresh Node.js process per run importing the bundle, timed
 * around the `import()` alone, as Lambda's init phase does before the first invocation. Median and
 * minimum of the runs; nothing is asserted, the figures are printed.
 *
 *   npx node test/bench/lambda-bundles.ts            # 9 cold loads per bundle
 *   npx node test/bench/lambda-bundles.ts --runs 3
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { App } from 'aws-cdk-lib';
import { GatewatchStack } from '../../lib/gatewatch-stack.ts';
import { cdkJsonContext, exampleConfig } from '../infra/synth.ts';

export interface BundleFigures {
  lambda: string;
  bytes: number;
  gzipBytes: number;
  coldLoadMedianMs: number;
  coldLoadMinMs: number;
  /** Resident set size of the process after the import (Node.js itself included), MiB: what the memory setting must hold before the first invocation. */
  rssAfterLoadMiB: number;
}

const LOADER = `
const started = performance.now();
const module = await import(process.argv[1]);
const elapsed = performance.now() - started;
if (typeof module.handler !== 'function') throw new Error('no handler export');
process.stdout.write(JSON.stringify({ elapsed, rss: process.memoryUsage().rss }));
`;

function coldLoad(bundle: string, env: Record<string, string>): { elapsed: number; rss: number } {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', LOADER, bundle], {
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`${bundle} did not load: ${run.stderr}`);
  return JSON.parse(run.stdout) as { elapsed: number; rss: number };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function benchLambdaBundles(runs = 9): BundleFigures[] {
  const outdir = mkdtempSync(join(tmpdir(), 'gw-bundles-'));
  try {
    // As the CLI sets them: the template names each function's asset folder.
    const app = new App({
      outdir,
      context: {
        ...cdkJsonContext(),
        'aws:cdk:enable-asset-metadata': true,
        'aws:cdk:enable-path-metadata': true,
      },
    });
    const stack = new GatewatchStack(app, 'Gatewatch', { config: exampleConfig() });
    const assembly = app.synth();
    const template = assembly.getStackByName(stack.stackName).template as {
      Resources: Record<
        string,
        { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }
      >;
    };
    const figures: BundleFigures[] = [];
    for (const [, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const bundle = join(outdir, resource.Metadata!['aws:asset:path']!, 'index.mjs');
      // The configuration is a file in the package (read at the first invocation, not at import).
      const env = {};
      const loads = Array.from({ length: runs }, () => coldLoad(bundle, env));
      const times = loads.map((l) => l.elapsed);
      const path = resource.Metadata!['aws:cdk:path']!.split('/');
      // `<Stack>/<Construct>/<Function>/Function/Resource`: the function's own id, or its construct's for
      // the scheduled Lambdas (Probes/Prober, LogWatch/Watcher).
      const [construct, fn] = [path.at(-4)!, path.at(-3)!];
      figures.push({
        lambda: construct === 'Probes' || construct === 'LogWatch' ? construct : fn,
        bytes: statSync(bundle).size,
        gzipBytes: gzipSync(readFileSync(bundle), { level: 9 }).length,
        coldLoadMedianMs: Math.round(median(times) * 10) / 10,
        coldLoadMinMs: Math.round(Math.min(...times) * 10) / 10,
        rssAfterLoadMiB: Math.round(median(loads.map((l) => l.rss)) / 1024 / 102.4) / 10,
      });
    }
    return figures;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' } } });
  const figures = benchLambdaBundles(Number(values.runs));
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  console.log(
    `Lambda bundles (esbuild, minified ESM, node24/arm64 target), cold import on ${process.version} ${process.arch}:`,
  );
  for (const f of figures) {
    console.log(
      `  ${f.lambda.padEnd(20)} ${kib(f.bytes).padStart(9)}  gzip ${kib(f.gzipBytes).padStart(8)}  ` +
        `cold load median ${String(f.coldLoadMedianMs).padStart(6)} ms  min ${String(f.coldLoadMinMs).padStart(6)} ms  ` +
        `RSS after load ${String(f.rssAfterLoadMiB).padStart(5)} MiB`,
    );
  }
  console.log(JSON.stringify({ bench: 'lambda-bundles', runs: Number(values.runs), figures }));
}
