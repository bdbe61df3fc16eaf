import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { alarmDefinitionsForTargets } from '../../lambdas/core/alarm/definitions.ts';
import { type GatewatchConfig, validateConfig } from '../../lambdas/core/config.ts';
import type { EmfDocument } from '../../lambdas/core/metrics/emf.ts';
import type { ProbeRunSummary } from '../../lambdas/handlers/probe.ts';
import { AWS_SCHEDULE_SECONDS, LAMBDA_ENV } from '../../lib/workflow/lambda-wiring.ts';
import { lambdaContext, setStackEnvironment } from './support.ts';

/** A real HTTP server on loopback: /health answers 200 "ok", /broken 503; every request path is recorded. */
async function startServer(): Promise<{ port: number; paths: string[]; close: () => Promise<void> }> {
  const paths: string[] = [];
  const server = http.createServer((request, response) => {
    paths.push(request.url ?? '');
    const healthy = request.url?.startsWith('/health') ?? false;
    response.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' });
    response.end(healthy ? 'ok' : 'upstream unavailable');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    paths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function target(name: string, probe: Record<string, unknown>) {
  return {
    name,
    probe: { retries: 0, timeoutMs: 2000, ...probe },
    nginx: { errorLog: '/var/log/nginx/error.log' },
    aws: { instanceId: 'i-0123456789abcdef0', logGroups: { error: `/gatewatch/${name}/nginx-error` } },
  };
}

/** Runs one invocation and returns its result and the EMF documents it wrote to stdout. */
async function invoke(
  handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<ProbeRunSummary>,
): Promise<{ summary: ProbeRunSummary; documents: EmfDocument[]; stdout: string }> {
  let stdout = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    const summary = await handler(
      { 'detail-type': 'Scheduled Event', source: 'aws.events' },
      lambdaContext(),
    );
    const documents = stdout
      .split('\n')
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line) as EmfDocument);
    return { summary, documents, stdout };
  } finally {
    write.mockRestore();
  }
}

function documentFor(documents: EmfDocument[], dimension: string, value: string): EmfDocument {
  const found = documents.filter((d) => d[dimension] === value);
  expect(found, `${dimension}=${value}`).toHaveLength(1);
  return found[0]!;
}

describe('probe Lambda', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let config: GatewatchConfig;
  let run: Awaited<ReturnType<typeof invoke>>;

  beforeAll(async () => {
    server = await startServer();
    const base = `http://127.0.0.1:${server.port}`;
    config = validateConfig({
      targets: [
        // Loopback is private: allowed for this probe only, as a deployment would allow an internal endpoint.
        target('shop', {
          url: `${base}/health?token=s3cr3t-probe-token`,
          allowPrivate: true,
          expect: { bodyContains: 'ok' },
        }),
        target('api', { url: `${base}/broken`, allowPrivate: true }),
        target('internal', { url: `${base}/private` }),
        target('metadata', { url: 'http://169.254.169.254/latest/meta-data/iam/', allowPrivate: true }),
      ],
    });
    setStackEnvironment();
    process.env[LAMBDA_ENV.config] = JSON.stringify(config);
    const { handler } = (await import('../../lambdas/handlers/probe.ts')) as unknown as {
      handler: Parameters<typeof invoke>[0];
    };
    run = await invoke(handler);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('probes every target in one invocation and says which failed', () => {
    expect(run.summary.probed).toBe(4);
    expect(run.summary.failed.sort()).toEqual([
      'api: assertion',
      'internal: forbidden-address',
      'metadata: forbidden-address',
    ]);
  });

  it('publishes a passing probe as ProbeFailed 0 on the Target dimension only, its latency as a property', () => {
    const shop = documentFor(run.documents, 'Target', 'shop');

    // One custom metric per target ($0.30 a month): the latency is searchable, not a metric.
    expect(shop._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'Gatewatch', Dimensions: [['Target']], Metrics: [{ Name: 'ProbeFailed', Unit: 'Count' }] },
    ]);
    expect(shop).toMatchObject({
      ProbeFailed: 0,
      ok: true,
      status: 200,
      address: `127.0.0.1:${server.port}`,
    });
    expect(shop).not.toHaveProperty('ProbeLatency');
    expect(shop.latencyMs as number).toBeGreaterThan(0);
  });

  it('publishes a 503 from a real server as a failed probe with the failed assertion', () => {
    const api = documentFor(run.documents, 'Target', 'api');
    expect(api).toMatchObject({ ProbeFailed: 1, status: 503, failureKind: 'assertion' });
    expect(api.failedAssertions).toEqual([expect.stringContaining('503')]);
  });

  it('refuses loopback without allowPrivate and the metadata address even with it, without sending a packet', () => {
    expect(documentFor(run.documents, 'Target', 'internal')).toMatchObject({
      ProbeFailed: 1,
      failureKind: 'forbidden-address',
      failureMessage: expect.stringContaining('allowPrivate'),
    });
    expect(documentFor(run.documents, 'Target', 'metadata')).toMatchObject({
      ProbeFailed: 1,
      failureKind: 'forbidden-address',
      failureMessage: expect.stringContaining('allowLinkLocal'),
    });
    expect(documentFor(run.documents, 'Target', 'internal')).not.toHaveProperty('ProbeLatency');
    expect(server.paths.map((p) => p.split('?')[0]).sort()).toEqual(['/broken', '/health']);
  });

  it('beats the heartbeat once for the run', () => {
    const beat = documentFor(run.documents, 'Prober', 'gatewatch');
    expect(beat).toMatchObject({ Heartbeat: 1, probed: 4, failed: 3 });
    expect(beat._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['Prober']]);
  });

  it('publishes exactly the metric and dimensions each probe alarm of the configuration watches', () => {
    const definitions = alarmDefinitionsForTargets(config.targets, {
      probeIntervalSeconds: AWS_SCHEDULE_SECONDS,
    }).filter((d) => d.metric.name !== 'Status5xxShare');
    expect(definitions).toHaveLength(5);
    for (const definition of definitions) {
      const matching = run.documents.filter(
        (d) =>
          d._aws.CloudWatchMetrics.some(
            (m) =>
              m.Namespace === definition.metric.namespace &&
              m.Metrics.some((x) => x.Name === definition.metric.name) &&
              JSON.stringify(m.Dimensions) ===
                JSON.stringify([Object.keys(definition.metric.dimensions).sort()]),
          ) && Object.entries(definition.metric.dimensions).every(([k, v]) => d[k] === v),
      );
      expect(matching, definition.id).toHaveLength(1);
    }
  });

  it('keeps the secret in the probe URL out of everything it writes', () => {
    expect(run.stdout).not.toContain('s3cr3t-probe-token');
    expect(documentFor(run.documents, 'Target', 'shop').url).toContain('[REDACTED]');
  });

  it('stamps the heartbeat with the start of the run and each probe with its own start, not before', () => {
    const started = Date.parse(run.summary.at);
    expect(documentFor(run.documents, 'Prober', 'gatewatch')._aws.Timestamp).toBe(started);
    for (const document of run.documents) expect(document._aws.Timestamp).toBeGreaterThanOrEqual(started);
  });
});
