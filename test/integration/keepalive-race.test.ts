// The keep-alive race, for real: nginx keeps idle upstream connections (upstream `keepalive`, nginx's
// 60 s `keepalive_timeout`), a Node.js application closes idle ones much sooner. `gatewatch lint` flags it
// before it happens; when it happens, the incident report names the setting that made it likely.
//
// The application closes a kept-alive connection exactly when nginx reuses it after an idle pause: the
// moment of the race, made deterministic. nginx retries an idempotent GET on a fresh connection, not a
// POST, so the POSTs get the 502s.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Report } from '../../lambdas/core/types.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { runGatewatch } from '../support/cli.ts';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

const gatewatch = (args: string[]) => runGatewatch(args);

const APP = `
import { createServer } from 'node:net';
const idleMs = 150;
createServer((socket) => {
  let lastAnswer;
  let buffered = '';
  socket.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    const end = buffered.indexOf('\\r\\n\\r\\n');
    if (end === -1) return;
    const length = Number(/content-length: *(\\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
    if (buffered.length < end + 4 + length) return;
    buffered = '';
    if (lastAnswer !== undefined && Date.now() - lastAnswer > idleMs) {
      socket.resetAndDestroy(); // the application's idle timer fired as nginx reused the connection
      return;
    }
    socket.write('HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: keep-alive\\r\\n\\r\\nok');
    lastAnswer = Date.now();
  });
  socket.on('error', () => {});
}).listen(Number(process.argv[2]), '127.0.0.1');
`;

let work: string;
let app: ChildProcess;
let nginx: NginxLab;
let configFile: string;
let appPort: number;

function post(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: nginx.port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'text/plain' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end('order=1');
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gatewatch-keepalive-race-'));
  appPort = await freePort();
  const script = join(work, 'keepalive-app.mjs');
  await writeFile(script, APP);
  app = spawn(process.execPath, [script, String(appPort)], { stdio: 'ignore' });
  nginx = await NginxLab.start({
    http: `upstream app { server 127.0.0.1:${appPort}; keepalive 4; }`,
    server: 'location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }',
  });
  const config = nginx.gatewatchConfig(
    { upstreams: [{ address: `127.0.0.1:${appPort}` }] },
    join(work, 'incidents'),
  );
  configFile = join(work, 'gatewatch.json');
  await writeFile(configFile, JSON.stringify(config));
});

afterAll(async () => {
  app?.kill('SIGKILL');
  await nginx?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('the keep-alive race', () => {
  it('is flagged by `gatewatch lint` before it happens, naming both timeouts and the fix', async () => {
    const run = await gatewatch(['lint', '--config', configFile, '--json']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('at or above warning');
    const [result] = JSON.parse(run.stdout) as {
      findings: { rule: string; severity: string; title: string; fix: string; evidence: string[] }[];
      apps: Record<string, { server: string }>;
    }[];
    expect(result?.apps[`127.0.0.1:${appPort}`]?.server).toBe('node');
    const race = result?.findings.find((f) => f.rule === 'keepalive-race');
    expect(race?.severity).toBe('error');
    expect(race?.title).toBe(`upstream app reuses idle connections for 60 s; node closes them after 5 s`);
    expect(race?.fix).toContain('keepalive_timeout 4s;');
    expect(race?.evidence.join('\n')).toContain(`keepalive-app.mjs ${appPort}`);
  });

  it('when it happens, the incident report names the setting that made it likely', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      statuses.push(await post('/orders'));
      await new Promise((r) => setTimeout(r, 400));
      statuses.push(await post('/orders'));
    }
    expect(statuses).toContain(502);

    const run = await gatewatch(['diagnose', '--config', configFile, '--since', '5m', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.verdict.rootCause).toBe('upstream-closed-early');
    expect(report.verdict.upstream).toBe(`127.0.0.1:${appPort}`);
    // The diagnostics know the listener's process name, not its command line (Node 24 even names its main
    // thread "MainThread"), so the report may only know that most servers close idle connections sooner.
    expect(report.findings.map((f) => f.title)).toContainEqual(
      expect.stringMatching(
        /^This setting made it likely: upstream app (reuses|keeps) idle connections (for )?60 s/,
      ),
    );
    const likely = report.findings.find((f) => f.title.startsWith('This setting made it likely'));
    expect(likely?.evidence.map((e) => e.source)).toContain('gatewatch lint');
    expect(report.nextSteps.join('\n')).toContain('keepalive_timeout 4s;');
  });
});
