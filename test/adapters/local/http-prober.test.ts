import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConnectAttempt,
  type ProbeRunOptions,
  runProbe,
  runProbes,
} from '../../../lambdas/adapters/local/http-prober.ts';
import { type ProbeConfigInput, ProbeConfigSchema } from '../../../lambdas/core/probe/schema.ts';
import { ChecksFailedError, UsageError } from '../../../lambdas/local/cli/errors.ts';
import { formatProbeTable, probeCommand, runProbeCommand } from '../../../lambdas/local/cli/probe.ts';

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

async function listen<T extends net.Server>(server: T): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: bound once to get it from the kernel, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function probe(name: string, config: ProbeConfigInput) {
  return { name, probe: ProbeConfigSchema.parse(config) };
}

function recorder(): { attempts: ConnectAttempt[]; options: ProbeRunOptions } {
  const attempts: ConnectAttempt[] = [];
  return { attempts, options: { onConnect: (attempt) => attempts.push(attempt), retryDelayMs: 20 } };
}

let port: number;
let tlsPort: number;
let retryPort: number;
let garbagePort: number;
let caPem: string;
let certDir: string;
let retryConnections = 0;
const seen: {
  url: string;
  host: string | undefined;
  authorization: string | undefined;
  apiKey: string | undefined;
}[] = [];
let inFlight = 0;
let maxInFlight = 0;

beforeAll(async () => {
  const app = http.createServer((req, res) => {
    seen.push({
      url: req.url ?? '',
      host: req.headers.host,
      authorization: req.headers.authorization,
      apiKey: req.headers['x-api-key'] as string | undefined,
    });
    const path = (req.url ?? '/').split('?')[0];
    switch (path) {
      case '/health':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('status: ok\n');
        return;
      case '/slow':
        setTimeout(() => res.end('ok'), 300);
        return;
      case '/hang':
        return; // never answers; the socket is destroyed in afterAll
      case '/error':
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('upstream unavailable');
        return;
      case '/cut':
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial body');
        // Give the head and the first bytes time to reach the client, then drop the connection.
        setTimeout(() => req.socket.destroy(), 20);
        return;
      case '/to-metadata':
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam?token=s3cr3t-redirect' });
        res.end();
        return;
      case '/to-other-origin':
        res.writeHead(302, { location: `http://localhost:${port}/health` });
        res.end();
        return;
      case '/to-health':
        res.writeHead(301, { location: '/health' });
        res.end();
        return;
      case '/counted':
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          res.end('ok');
        }, 30);
        return;
      default:
        res.writeHead(404);
        res.end();
    }
  });
  port = await listen(app);

  // Drops the first connection it accepts (a lost packet's worth of failure), then serves normally.
  const flaky = http.createServer((_req, res) => res.end('ok'));
  flaky.prependListener('connection', (socket: net.Socket) => {
    retryConnections++;
    if (retryConnections === 1) socket.destroy();
  });
  retryPort = await listen(flaky);

  const garbage = net.createServer((socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
  garbagePort = await listen(garbage);

  certDir = mkdtempSync(join(tmpdir(), 'gatewatch-probe-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-days',
      '3',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(certDir, 'key.pem'),
      '-out',
      join(certDir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  caPem = readFileSync(join(certDir, 'cert.pem'), 'utf8');
  const secure = https.createServer(
    { key: readFileSync(join(certDir, 'key.pem')), cert: caPem },
    (_req, res) => res.end('secure ok'),
  );
  tlsPort = await listen(secure);
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  rmSync(certDir, { recursive: true, force: true });
});

describe('runProbe over HTTP against real local servers', () => {
  it('reports a healthy endpoint as ok with every phase timed and every assertion passing', async () => {
    const result = await runProbe(
      probe('shop', {
        url: `http://127.0.0.1:${port}/health`,
        expect: {
          status: [200],
          bodyContains: 'ok',
          bodyMatches: 'status:\\s*ok',
          header: { name: 'Content-Type', pattern: '^text/plain' },
          maxLatencyMs: 4000,
        },
      }),
    );
    expect(result).toMatchObject({
      target: 'shop',
      ok: true,
      status: 200,
      attempts: 1,
      address: `127.0.0.1:${port}`,
    });
    expect(result.failure).toBeUndefined();
    expect(result.assertions.map((a) => [a.name, a.ok])).toEqual([
      ['status', true],
      ['latency', true],
      ['bodyContains', true],
      ['bodyMatches', true],
      ['header', true],
    ]);
    expect(result.phases.dns).toBe(0);
    expect(result.phases.connect).toBeGreaterThanOrEqual(0);
    expect(result.phases.firstByte).toBeGreaterThanOrEqual(0);
    expect(result.phases.total).toBeGreaterThanOrEqual(result.phases.connect!);
    expect(result.phases.tls).toBeUndefined();
  });

  it('fails the latency assertion of an endpoint slower than maxLatencyMs, keeping its status', async () => {
    const result = await runProbe(
      probe('slow', { url: `http://127.0.0.1:${port}/slow`, expect: { maxLatencyMs: 100 } }),
    );
    expect(result).toMatchObject({ ok: false, status: 200, failure: { kind: 'assertion' }, attempts: 1 });
    expect(result.assertions.find((a) => a.name === 'latency')).toMatchObject({ ok: false });
    expect(result.phases.total).toBeGreaterThanOrEqual(300);
  });

  it('times out an endpoint that never answers and says it was waiting for the response head', async () => {
    const result = await runProbe(
      probe('hang', { url: `http://127.0.0.1:${port}/hang`, timeoutMs: 200, retries: 0 }),
    );
    expect(result).toMatchObject({ ok: false, failure: { kind: 'timeout' }, attempts: 1 });
    expect(result.failure?.message).toContain('waiting for the response head');
    expect(result.status).toBeUndefined();
  });

  it('fails a 503 on the status assertion without retrying it', async () => {
    const result = await runProbe(probe('error', { url: `http://127.0.0.1:${port}/error`, retries: 2 }), {
      retryDelayMs: 10,
    });
    expect(result).toMatchObject({ ok: false, status: 503, attempts: 1, failure: { kind: 'assertion' } });
    expect(result.failure?.message).toBe('status 503, expected 200');
  });

  it('classifies a closed port as refused after the one retry', async () => {
    const closed = await closedPort();
    const { attempts, options } = recorder();
    const result = await runProbe(probe('down', { url: `http://127.0.0.1:${closed}/health` }), options);
    expect(result).toMatchObject({ ok: false, attempts: 2, failure: { kind: 'refused' } });
    expect(result.failure?.message).toContain('ECONNREFUSED');
    expect(attempts).toHaveLength(2);
  });

  it('classifies a connection closed after the response head as reset', async () => {
    const result = await runProbe(probe('cut', { url: `http://127.0.0.1:${port}/cut` }), {
      retryDelayMs: 10,
    });
    expect(result).toMatchObject({ ok: false, status: 200, attempts: 2, failure: { kind: 'reset' } });
    expect(result.failure?.message).toContain('before the body was complete');
  });

  it('classifies an answer that is not HTTP as a protocol failure', async () => {
    const result = await runProbe(probe('garbage', { url: `http://127.0.0.1:${garbagePort}/`, retries: 0 }));
    expect(result).toMatchObject({ ok: false, failure: { kind: 'protocol' } });
  });

  it('absorbs one dropped connection with the retry inside the run', async () => {
    const result = await runProbe(probe('flaky', { url: `http://127.0.0.1:${retryPort}/` }), {
      retryDelayMs: 10,
    });
    expect(result).toMatchObject({ ok: true, status: 200, attempts: 2 });
    expect(retryConnections).toBe(2);
  });

  it('does not retry when retries is 0, so the dropped connection is the datapoint', async () => {
    retryConnections = 0;
    const result = await runProbe(probe('flaky', { url: `http://127.0.0.1:${retryPort}/`, retries: 0 }));
    expect(result).toMatchObject({ ok: false, attempts: 1, failure: { kind: 'reset' } });
  });
});

describe('runProbe over HTTPS', () => {
  it('fails certValidDays for a certificate that expires in 3 days and reports the days left', async () => {
    const result = await runProbe(
      probe('tls', { url: `https://127.0.0.1:${tlsPort}/`, expect: { certValidDays: 14 } }),
      { ca: caPem },
    );
    expect(result).toMatchObject({ ok: false, status: 200, failure: { kind: 'assertion' } });
    expect([2, 3]).toContain(result.certificate?.daysLeft);
    expect(Date.parse(result.certificate!.validTo)).toBeGreaterThan(Date.now());
    expect(result.assertions.find((a) => a.name === 'certValidDays')).toMatchObject({ ok: false });
    expect(result.phases.tls).toBeGreaterThanOrEqual(0);
  });

  it('passes certValidDays when the certificate lasts long enough', async () => {
    const result = await runProbe(
      probe('tls', { url: `https://127.0.0.1:${tlsPort}/`, expect: { certValidDays: 1 } }),
      { ca: caPem },
    );
    expect(result).toMatchObject({ ok: true, status: 200 });
  });

  it('classifies an untrusted certificate as a TLS failure and does not retry it', async () => {
    const result = await runProbe(probe('tls', { url: `https://127.0.0.1:${tlsPort}/` }));
    expect(result).toMatchObject({ ok: false, attempts: 1, failure: { kind: 'tls' } });
    expect(result.failure?.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
  });
});

describe('redirects and the address policy', () => {
  it('does not follow a redirect unless asked: the 302 itself fails the status assertion', async () => {
    const { attempts, options } = recorder();
    const result = await runProbe(probe('redir', { url: `http://127.0.0.1:${port}/to-metadata` }), options);
    expect(result).toMatchObject({ ok: false, status: 302, failure: { kind: 'assertion' } });
    expect(attempts.map((a) => a.address)).toEqual(['127.0.0.1']);
  });

  it('refuses a followed redirect to 169.254.169.254 before connecting to it', async () => {
    const { attempts, options } = recorder();
    const result = await runProbe(
      probe('redir', { url: `http://127.0.0.1:${port}/to-metadata`, followRedirects: true }),
      options,
    );
    expect(result).toMatchObject({ ok: false, attempts: 1, failure: { kind: 'forbidden-address' } });
    expect(result.failure?.message).toContain('169.254.169.254 is a cloud metadata address');
    // The policy ran on the redirect target: the only socket ever opened was to the first hop.
    expect(attempts).toEqual([{ target: 'redir', host: '127.0.0.1', address: '127.0.0.1', port }]);
    expect(JSON.stringify(result)).not.toContain('s3cr3t-redirect');
  });

  it('follows a redirect on the same server when asked', async () => {
    const result = await runProbe(
      probe('redir', { url: `http://127.0.0.1:${port}/to-health`, followRedirects: true }),
    );
    expect(result).toMatchObject({ ok: true, status: 200 });
  });

  it('does not carry credentials across a redirect to another origin', async () => {
    const result = await runProbe(
      probe('redir', {
        url: `http://127.0.0.1:${port}/to-other-origin`,
        followRedirects: true,
        headers: { Authorization: 'Bearer same-origin-only' },
      }),
    );
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(seen.at(-2)).toMatchObject({ url: '/to-other-origin', authorization: 'Bearer same-origin-only' });
    expect(seen.at(-1)).toMatchObject({
      url: '/health',
      host: `localhost:${port}`,
      authorization: undefined,
    });
  });

  it('classifies a name that does not resolve as dns and does not retry it', async () => {
    let lookups = 0;
    const result = await runProbe(probe('typo', { url: 'http://shop.invalid/health' }), {
      resolve: async () => {
        lookups++;
        throw Object.assign(new Error('getaddrinfo ENOTFOUND shop.invalid'), { code: 'ENOTFOUND' });
      },
    });
    expect(result).toMatchObject({ ok: false, attempts: 1, failure: { kind: 'dns' } });
    expect(result.failure?.message).toContain('cannot resolve shop.invalid');
    expect(lookups).toBe(1);
  });

  it('resolves a host name once and connects to the checked address, whatever DNS answers next', async () => {
    let lookups = 0;
    const { attempts, options } = recorder();
    const result = await runProbe(probe('named', { url: `http://shop.test:${port}/health` }), {
      ...options,
      // A rebinding resolver: the first answer passes the policy, later ones point at the metadata service.
      resolve: async () => {
        lookups++;
        return [{ address: lookups === 1 ? '127.0.0.1' : '169.254.169.254', family: 4 }];
      },
    });
    expect(result).toMatchObject({ ok: true, status: 200, address: `127.0.0.1:${port}` });
    expect(lookups).toBe(1);
    expect(attempts.map((a) => [a.host, a.address])).toEqual([['shop.test', '127.0.0.1']]);
    expect(seen.at(-1)?.host).toBe(`shop.test:${port}`);
  });

  it('refuses a host name that resolves only to a metadata address without opening a socket', async () => {
    const { attempts, options } = recorder();
    const result = await runProbe(probe('evil', { url: 'http://metadata.test/latest' }), {
      ...options,
      resolve: async () => [
        { address: 'fd00:ec2::254', family: 6 },
        { address: '169.254.169.254', family: 4 },
      ],
    });
    expect(result).toMatchObject({ ok: false, failure: { kind: 'forbidden-address' } });
    expect(attempts).toEqual([]);
  });

  it('refuses loopback in AWS mode unless the probe allows private addresses', async () => {
    const refused = await runProbe(probe('aws', { url: `http://127.0.0.1:${port}/health` }), { mode: 'aws' });
    expect(refused).toMatchObject({ ok: false, failure: { kind: 'forbidden-address' } });
    expect(refused.failure?.message).toContain('probe.allowPrivate');
    const allowed = await runProbe(
      probe('aws', { url: `http://127.0.0.1:${port}/health`, allowPrivate: true }),
      {
        mode: 'aws',
      },
    );
    expect(allowed).toMatchObject({ ok: true, status: 200 });
  });
});

describe('secrets', () => {
  it('sends credentials from the URL and headers but keeps them out of the result', async () => {
    const result = await runProbe(
      probe('secret', {
        url: `http://probe-user:hunter2-pass@127.0.0.1:${port}/health?token=tok-in-query&x=1`,
        headers: { Authorization: 'Bearer bearer-in-header', 'X-Api-Key': 'key-in-header' },
      }),
    );
    expect(result).toMatchObject({ ok: true, status: 200 });
    const request = seen.at(-1)!;
    expect(request.authorization).toBe('Bearer bearer-in-header');
    expect(request.apiKey).toBe('key-in-header');
    expect(request.url).toContain('tok-in-query');
    const json = JSON.stringify(result);
    for (const secret of ['hunter2-pass', 'tok-in-query', 'bearer-in-header', 'key-in-header']) {
      expect(json).not.toContain(secret);
    }
    expect(result.url).toBe(`http://probe-user:[REDACTED]@127.0.0.1:${port}/health?token=[REDACTED]&x=1`);
  });

  it('keeps URL secrets out of a failed result too', async () => {
    const closed = await closedPort();
    const result = await runProbe(
      probe('secret', { url: `http://u:pw-secret@127.0.0.1:${closed}/?api_key=k-secret`, retries: 0 }),
    );
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toMatch(/pw-secret|k-secret/);
  });
});

describe('runProbe over TCP', () => {
  it('reports a listening port as ok with the connect time', async () => {
    const result = await runProbe(probe('tcp', { tcp: `127.0.0.1:${port}` }));
    expect(result).toMatchObject({ ok: true, url: `tcp://127.0.0.1:${port}`, attempts: 1 });
    expect(result.phases.connect).toBeGreaterThanOrEqual(0);
    expect(result.status).toBeUndefined();
  });

  it('reports a closed port as refused', async () => {
    const closed = await closedPort();
    const result = await runProbe(probe('tcp', { tcp: `127.0.0.1:${closed}` }), { retryDelayMs: 10 });
    expect(result).toMatchObject({ ok: false, attempts: 2, failure: { kind: 'refused' } });
  });
});

describe('runProbes', () => {
  it('keeps at most `concurrency` probes in flight and returns results in target order', async () => {
    maxInFlight = 0;
    const targets = Array.from({ length: 12 }, (_, i) =>
      probe(`t${i}`, { url: `http://127.0.0.1:${port}/counted?i=${i}` }),
    );
    const results = await runProbes(targets, { concurrency: 3 });
    expect(results.map((r) => r.target)).toEqual(targets.map((t) => t.name));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(maxInFlight).toBeLessThanOrEqual(3);
    expect(maxInFlight).toBeGreaterThan(1);
  });
});

// The `gatewatch probe` command, end to end over the same real servers (kept here, next to the prober it
// drives; test/local/cli/ is outside this change's files).
describe('gatewatch probe', () => {
  const config = async () => ({
    targets: [
      { name: 'shop', probe: ProbeConfigSchema.parse({ url: `http://127.0.0.1:${port}/health` }) },
      { name: 'logs-only' },
      { name: 'checkout-api', probe: ProbeConfigSchema.parse({ url: `http://127.0.0.1:${port}/error` }) },
    ],
  });

  it('prints an aligned table with ok/FAIL, status, total ms and the failure, then a summary', async () => {
    const written: string[] = [];
    const { results, output } = await runProbeCommand(
      { config: 'gatewatch.yaml' },
      { loadConfig: config, write: (text) => written.push(text) },
    );
    expect(written.join('')).toBe(output);
    const lines = output.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TARGET\s+RESULT\s+STATUS\s+TOTAL MS\s+FAILURE$/);
    expect(lines[1]).toMatch(/^shop\s+ok\s+200\s+\d+$/);
    expect(lines[2]).toMatch(/^checkout-api\s+FAIL\s+503\s+\d+\s+assertion: status 503, expected 200$/);
    expect(lines.at(-1)).toBe('1 of 2 probes failed');
    // Columns line up: every row starts its RESULT and FAILURE cells at the header's offsets.
    const resultColumn = lines[0]!.indexOf('RESULT');
    expect(lines[1]!.indexOf('ok')).toBe(resultColumn);
    expect(lines[2]!.indexOf('FAIL')).toBe(resultColumn);
    expect(lines[2]!.indexOf('assertion')).toBe(lines[0]!.indexOf('FAILURE'));
    expect(results.map((r) => r.target)).toEqual(['shop', 'checkout-api']);
  });

  it('prints only JSON with --json', async () => {
    const { results, output } = await runProbeCommand(
      { config: 'gatewatch.yaml', json: true },
      { loadConfig: config, write: () => undefined },
    );
    expect(JSON.parse(output)).toEqual(results);
  });

  it('reads --config through the injected loader when run by commander, and fails the command when a probe fails', async () => {
    const paths: string[] = [];
    const written: string[] = [];
    const outcome = await probeCommand(
      async (path) => {
        paths.push(path);
        return config();
      },
      { write: (text) => written.push(text) },
    )
      .parseAsync(['--config', './other.yaml', '--json'], { from: 'user' })
      .catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(ChecksFailedError);
    expect(paths).toEqual(['./other.yaml']);
    expect(JSON.parse(written.join(''))).toHaveLength(2);
  });

  it('is a usage error, with the fix, when no target has a probe', async () => {
    const error = await runProbeCommand(
      { config: 'gatewatch.yaml' },
      { loadConfig: async () => ({ targets: [{ name: 'logs-only' }] }), write: () => undefined },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).hint).toContain('probe: { url:');
  });

  it('shows a dash for a missing status and counts attempts in the failure', () => {
    const table = formatProbeTable([
      {
        target: 'db',
        url: 'tcp://127.0.0.1:1',
        ok: false,
        failure: { kind: 'refused', message: 'connect ECONNREFUSED 127.0.0.1:1' },
        phases: { total: 3.4 },
        attempts: 2,
        assertions: [],
        at: '2026-11-24T06:00:00.000Z',
      },
    ]);
    expect(table).toContain(
      'db      FAIL         -         3  refused: connect ECONNREFUSED 127.0.0.1:1 (2 attempts)',
    );
  });
});
