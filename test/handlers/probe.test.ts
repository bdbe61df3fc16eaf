import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
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
): Promise<{
  summary: ProbeRunSummary;
  documents: EmfDocument[];
  logLines: Record<string, unknown>[];
  stdout: string;
}> {
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
    const logLines = stdout
      .split('\n')
      .filter((line) => line.startsWith('{"timestamp"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { summary, documents, logLines, stdout };
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
  let handler: Parameters<typeof invoke>[0];
  const cloudwatch = mockClient(CloudWatchClient);

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
        // Healthy and without a recent failure: nothing to publish.
        target('quiet', { url: `${base}/health`, allowPrivate: true }),
      ],
    });
    setStackEnvironment();
    process.env[LAMBDA_ENV.config] = JSON.stringify(config);
    // A new execution environment reads back what is owed: shop failed two minutes ago (one datapoint
    // published since), so its passing probe is still published, as the 0 that lets its alarm recover.
    const now = Date.now();
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        {
          Id: 'probeFailed',
          Label: 'shop',
          Timestamps: [new Date(now - 120_000), new Date(now - 60_000)],
          Values: [1, 0],
          StatusCode: 'Complete',
        },
      ],
    });
    ({ handler } = (await import('../../lambdas/handlers/probe.ts')) as unknown as {
      handler: Parameters<typeof invoke>[0];
    });
    run = await invoke(handler);
  });

  afterAll(async () => {
    cloudwatch.restore();
    await server?.close();
  });

  it('probes every target in one invocation and says which failed', () => {
    expect(run.summary.probed).toBe(5);
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
    expect(server.paths.map((p) => p.split('?')[0]).sort()).toEqual(['/broken', '/health', '/health']);
  });

  it('publishes failures and the tail after one, and a healthy target only as a log line (no metric)', () => {
    expect(run.summary).toMatchObject({ published: 4, owedFrom: 'metric' });
    expect(run.documents.map((d) => d.Target).sort()).toEqual(['api', 'internal', 'metadata', 'shop']);
    const quiet = run.logLines.filter((line) => line.Target === 'quiet');
    expect(quiet).toHaveLength(1);
    expect(quiet[0]).toMatchObject({ ProbeFailed: 0, ok: true, status: 200 });
    expect(quiet[0]).not.toHaveProperty('_aws');
    // The read-back asked for the ProbeFailed series of every target, over the tails' reach.
    const query = cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(query.MetricDataQueries?.[0]?.Expression).toMatch(
      /^SELECT MAX\(ProbeFailed\) FROM SCHEMA\("Gatewatch", Target\) GROUP BY Target/,
    );
    expect(query.EndTime!.getTime() - query.StartTime!.getTime()).toBe(7 * 60_000);
  });

  it('writes no Heartbeat metric: the heartbeat alarm watches the function’s own Invocations', () => {
    expect(run.stdout).not.toContain('"Heartbeat"');
  });

  it('remembers what is owed between runs of one environment, and reads it back after a gap', async () => {
    cloudwatch.resetHistory();
    const next = await invoke(handler);
    // Same environment a moment later: from memory, no read-back. shop still owed (3 left), quiet not.
    expect(next.summary.owedFrom).toBe('memory');
    expect(cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(0);
    expect(next.documents.map((d) => d.Target).sort()).toEqual(['api', 'internal', 'metadata', 'shop']);
  });

  it('owes every target its tail when the read-back fails (dense for a few minutes: safe, only dearer)', async () => {
    vi.useFakeTimers({ now: Date.now() + 10 * 60_000, toFake: ['Date'] });
    try {
      cloudwatch.on(GetMetricDataCommand).rejects(new Error('ThrottlingException: Rate exceeded'));
      const after = await invoke(handler);
      expect(after.summary.owedFrom).toBe('assumed');
      expect(after.documents.map((d) => d.Target).sort()).toEqual([
        'api',
        'internal',
        'metadata',
        'quiet',
        'shop',
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('publishes exactly the metric and dimensions each probe alarm of the configuration watches', () => {
    const definitions = alarmDefinitionsForTargets(config.targets, {
      probeIntervalSeconds: AWS_SCHEDULE_SECONDS,
    }).filter((d) => d.metric.name === 'ProbeFailed' && d.target !== 'quiet');
    expect(definitions).toHaveLength(4);
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

  it('stamps each probe with its own start, not before the run', () => {
    const started = Date.parse(run.summary.at);
    for (const document of run.documents) expect(document._aws.Timestamp).toBeGreaterThanOrEqual(started);
  });
});
