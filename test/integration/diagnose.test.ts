// Each fault is produced for real: a real nginx (`nginx -p DIR -c FILE` on 127.0.0.1) in front of real
// upstream processes, real requests, then one diagnosis through the workflow as `gatewatch diagnose` runs it.
import { readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../lambdas/core/config.ts';
import type { Report } from '../../lambdas/core/types.ts';
import { diagnoseOnce } from '../../lambdas/local/diagnose.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { UpstreamProcess } from '../../lambdas/local/lab/upstream-process.ts';

const running: { labs: NginxLab[]; upstreams: UpstreamProcess[]; paths: string[] } = {
  labs: [],
  upstreams: [],
  paths: [],
};

afterEach(async () => {
  for (const upstream of running.upstreams.splice(0)) await upstream.kill();
  for (const lab of running.labs.splice(0)) await lab.stop();
  for (const path of running.paths.splice(0)) await rm(path, { force: true, recursive: true });
});

async function lab(server: string, http?: string): Promise<NginxLab> {
  const started = await NginxLab.start(http === undefined ? { server } : { server, http });
  running.labs.push(started);
  return started;
}

async function upstream(options: Parameters<typeof UpstreamProcess.start>[0]): Promise<UpstreamProcess> {
  const started = await UpstreamProcess.start(options);
  running.upstreams.push(started);
  return started;
}

async function diagnose(
  nginx: NginxLab,
  target: Partial<TargetConfig> = {},
  from = new Date(Date.now() - 5 * 60_000),
): Promise<Report> {
  const config = nginx.gatewatchConfig(target);
  const result = await diagnoseOnce({ config, target: config.targets[0]!, from, deps: { notify: 'silent' } });
  await stat(join(result.dir, 'report.html'));
  await stat(join(result.dir, 'report.md'));
  return result.report;
}

async function requests(nginx: NginxLab, path: string, count: number): Promise<number[]> {
  const before = await accessLogLines(nginx);
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push(await nginx.get(path));
  // nginx writes a request's access-log line after the response has gone out: wait for the lines, or a
  // diagnosis started at once may count one request fewer.
  const deadline = Date.now() + 10_000;
  while ((await accessLogLines(nginx)) < before + count && Date.now() < deadline) await sleep(50);
  return statuses;
}

async function accessLogLines(nginx: NginxLab): Promise<number> {
  const text = await readFile(nginx.accessLog, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '').length;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function socketPath(name: string): string {
  const path = join(tmpdir(), `gw-${process.pid}-${Date.now()}-${name}.sock`);
  running.paths.push(path);
  return path;
}

describe('gatewatch diagnose against a real nginx', () => {
  it('finds no failure when the upstream answers', async () => {
    const port = await freePort();
    await upstream({ mode: 'ok', port });
    const nginx = await lab(`location / { proxy_pass http://127.0.0.1:${port}; }`);
    expect(await requests(nginx, '/', 5)).toEqual([200, 200, 200, 200, 200]);

    const report = await diagnose(nginx);

    expect(report.verdict.rootCause).toBe('healthy');
    expect(report.verdict.upstream).toBeUndefined();
    expect(report.traffic.requests).toBe(5);
    expect(report.traffic.status5xx).toBe(0);
    expect(report.checks.find((c) => c.name === 'listen')?.status).toBe('ok');
  });

  it('classifies connection refused with no listener as upstream-down', async () => {
    const port = await freePort();
    const nginx = await lab(`location / { proxy_pass http://127.0.0.1:${port}; }`);
    expect(await requests(nginx, '/', 3)).toEqual([502, 502, 502]);

    const report = await diagnose(nginx);

    expect(report.verdict.rootCause).toBe('upstream-down');
    expect(report.verdict.upstream).toBe(`127.0.0.1:${port}`);
    const quoted = report.findings.flatMap((f) => f.evidence.map((e) => e.excerpt)).join('\n');
    expect(quoted).toMatch(/connect\(\) failed \(111: /);
    expect(report.traffic.status5xx).toBe(3);
  });

  it('names upstream-wrong-address when the hinted service listens on another port', async () => {
    const nginxPort = await freePort();
    const actualPort = await freePort();
    const label = `gw-wrong-port-${process.pid}-${actualPort}`;
    await upstream({ mode: 'ok', port: actualPort, label });
    const nginx = await lab(`location / { proxy_pass http://127.0.0.1:${nginxPort}; }`);
    await requests(nginx, '/', 2);

    const report = await diagnose(nginx, {
      upstreams: [{ address: `127.0.0.1:${nginxPort}`, service: { process: label } }],
    });

    expect(report.verdict.rootCause).toBe('upstream-wrong-address');
    expect(report.verdict.upstream).toBe(`127.0.0.1:${nginxPort}`);
    expect(report.verdict.summary).toContain(`127.0.0.1:${actualPort}`);
  });

  it('classifies an upstream slower than proxy_read_timeout as upstream-timeout and quotes the directive', async () => {
    const port = await freePort();
    await upstream({ mode: 'slow', port, delayMs: 2500 });
    const nginx = await lab(`location / {
    proxy_pass http://127.0.0.1:${port};
    proxy_read_timeout 1s;
}`);
    expect(await requests(nginx, '/', 1)).toEqual([504]);

    const report = await diagnose(nginx);

    expect(report.verdict.rootCause).toBe('upstream-timeout');
    expect(report.verdict.upstream).toBe(`127.0.0.1:${port}`);
    expect(report.verdict.summary).toContain('proxy_read_timeout 1s');
    expect(report.verdict.summary).toContain(nginx.confPath);
  });

  it('classifies an upstream that drops the connection mid-request as upstream-closed-early', async () => {
    const port = await freePort();
    await upstream({ mode: 'close', port });
    const nginx = await lab(`location / { proxy_pass http://127.0.0.1:${port}; }`);
    expect(await requests(nginx, '/', 2)).toEqual([502, 502]);

    const report = await diagnose(nginx);

    expect(report.verdict.rootCause).toBe('upstream-closed-early');
    expect(report.verdict.upstream).toBe(`127.0.0.1:${port}`);
  });

  it('classifies an answer that is not HTTP as upstream-invalid-response', async () => {
    const port = await freePort();
    await upstream({ mode: 'garbage', port });
    const nginx = await lab(`location / { proxy_pass http://127.0.0.1:${port}; }`);
    // nginx logs the bad header and relays the answer as HTTP/0.9: the client gets no status line at all.
    expect(await nginx.firstLine('/')).toBe('SSH-2.0-OpenSSH_9.2 this is not HTTP');

    const report = await diagnose(nginx);

    expect(report.verdict.rootCause).toBe('upstream-invalid-response');
    expect(report.verdict.upstream).toBe(`127.0.0.1:${port}`);
  });

  it('classifies response headers larger than proxy_buffer_size as upstream-header-too-big', async () => {
    const port = await freePort();
    await upstream({ mode: 'big-header', port });
    const nginx = await lab(`location / { proxy_pass http://127.0.0.1:${port}; }`);
    expect(await requests(nginx, '/', 2)).toEqual([502, 502]);

    const report = await diagnose(nginx);

    expect(report.verdict.rootCause).toBe('upstream-header-too-big');
    expect(report.verdict.upstream).toBe(`127.0.0.1:${port}`);
    expect(report.nextSteps.join('\n')).toContain('proxy_buffer_size');
  });

  it('classifies https:// to a plain-HTTP upstream as upstream-tls', async () => {
    const port = await freePort();
    await upstream({ mode: 'ok', port });
    const nginx = await lab(`location / { proxy_pass https://127.0.0.1:${port}; }`);
    expect(await requests(nginx, '/', 2)).toEqual([502, 502]);

    const report = await diagnose(nginx);

    expect(report.verdict.rootCause).toBe('upstream-tls');
    expect(report.verdict.upstream).toBe(`127.0.0.1:${port}`);
    expect(report.verdict.summary).toMatch(/plain HTTP/);
  });

  it('classifies a missing unix socket as unix-socket-missing', async () => {
    const path = socketPath('missing');
    const nginx = await lab(`location / { proxy_pass http://unix:${path}:/; }`);
    expect(await requests(nginx, '/', 2)).toEqual([502, 502]);

    const report = await diagnose(nginx);

    expect(report.verdict.rootCause).toBe('unix-socket-missing');
    expect(report.verdict.upstream).toBe(`unix:${path}`);
    expect(report.findings.some((f) => f.title === `${path} does not exist`)).toBe(true);
  });

  it('classifies a socket the nginx worker may not open as unix-socket-permission', async () => {
    const path = socketPath('private');
    // Created by root with mode 0600; nginx's workers run as nobody when the master is root.
    await upstream({ mode: 'ok', socket: path, socketMode: '600' });
    const nginx = await lab(`location / { proxy_pass http://unix:${path}:/; }`);
    expect(await requests(nginx, '/', 2)).toEqual([502, 502]);

    const report = await diagnose(nginx);

    expect(report.verdict.rootCause).toBe('unix-socket-permission');
    expect(report.verdict.upstream).toBe(`unix:${path}`);
    expect(
      report.findings.some((f) => f.category === 'unix-socket-permission' && f.severity === 'critical'),
    ).toBe(true);
  });

  it('names the cause behind "no live upstreams" when every server of a group is down', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const nginx = await lab(
      `location / { proxy_pass http://backend; }`,
      `upstream backend {
    server 127.0.0.1:${a} max_fails=1 fail_timeout=60s;
    server 127.0.0.1:${b} max_fails=1 fail_timeout=60s;
}`,
    );
    expect(await requests(nginx, '/', 4)).toEqual([502, 502, 502, 502]);

    const report = await diagnose(nginx);

    expect(report.verdict.rootCause).toBe('upstream-down');
    expect([`127.0.0.1:${a}`, `127.0.0.1:${b}`]).toContain(report.verdict.upstream);
    expect(report.findings.some((f) => f.category === 'no-live-upstreams')).toBe(true);
    expect(report.verdict.summary).toContain('"backend"');
  });

  it('reports nginx-config-invalid when the configuration on disk fails nginx -t', async () => {
    const port = await freePort();
    await upstream({ mode: 'ok', port });
    const nginx = await lab(`location / { proxy_pass http://127.0.0.1:${port}; }`);
    expect(await requests(nginx, '/', 2)).toEqual([200, 200]);
    const good = await nginx.readConfigOnDisk();
    await nginx.writeConfigOnDisk(
      good.replace('server_name lab.local;', 'server_name lab.local;\n        proxy_pas http://127.0.0.1:1;'),
    );

    const report = await diagnose(nginx);

    expect(report.verdict.rootCause).toBe('nginx-config-invalid');
    expect(report.checks.find((c) => c.name === 'nginx-test')?.status).toBe('failed');
    expect(report.findings[0]?.evidence[0]?.excerpt).toMatch(/unknown directive "proxy_pas"/);
  });

  it('does not count failures from before the --since window', async () => {
    const port = await freePort();
    const nginx = await lab(`location / { proxy_pass http://127.0.0.1:${port}; }`);
    expect(await requests(nginx, '/', 3)).toEqual([502, 502, 502]);
    // The error log has one-second resolution: start the window on the next whole second.
    await new Promise((r) => setTimeout(r, 1100));
    const from = new Date(Math.ceil(Date.now() / 1000) * 1000);
    await new Promise((r) => setTimeout(r, from.getTime() - Date.now() + 50));
    await upstream({ mode: 'ok', port });
    expect(await requests(nginx, '/', 2)).toEqual([200, 200]);

    const recent = await diagnose(nginx, {}, from);
    const wide = await diagnose(nginx, {}, new Date(Date.now() - 60_000));

    expect(recent.verdict.rootCause).toBe('healthy');
    expect(recent.traffic.requests).toBe(2);
    expect(wide.verdict.rootCause).toBe('upstream-down');
  });
});
