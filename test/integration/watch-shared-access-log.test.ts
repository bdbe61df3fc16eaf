// Two nginx server blocks (two targets) writing ONE access log, as many hosts are set up: `alpha` proxies
// to a healthy upstream, `beta` to a port where nothing listens (every proxied request a 502). Run as
// shipped (bin/gatewatch.mjs watch --json), the error-rate alarm must fire for beta only: alpha counts
// its own lines, not the whole log. Noise: lines of a third vhost that no target names (warned about,
// counted for nobody) and beta's health checks answered by nginx itself.
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { UpstreamProcess } from '../../lambdas/local/lab/upstream-process.ts';
import { type RunningGatewatch, startGatewatch } from '../support/cli.ts';

let work: string;
let lab: NginxLab;
let app: UpstreamProcess;
let betaPort: number;
let alphaUpstream: number;
let betaUpstream: number;
let run: RunningGatewatch | undefined;

function get(port: number, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Host: host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(20_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gatewatch-shared-log-'));
  alphaUpstream = await freePort();
  betaUpstream = await freePort(); // nothing will listen here
  betaPort = await freePort();
  lab = await NginxLab.start({
    // the lab's own server is alpha; beta is a second server block; both inherit the http-level access_log
    server: `location / { proxy_pass http://127.0.0.1:${alphaUpstream}; }`,
    http: `server {
    listen 127.0.0.1:${betaPort};
    server_name b.local;
    location = /health { return 200 "ok"; }
    location / { proxy_pass http://127.0.0.1:${betaUpstream}; }
}`,
  });
  app = await UpstreamProcess.start({ mode: 'ok', port: alphaUpstream });
}, 180_000);

afterAll(async () => {
  if (run && run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill('SIGKILL');
    await run.exited;
  }
  await app?.kill();
  await lab?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('targets sharing one access log', () => {
  it('raise the error-rate alarm only for the target whose upstream fails (real nginx, one log, two server blocks)', async () => {
    const config = join(work, 'gatewatch.yaml');
    const nginx = {
      errorLog: lab.errorLog,
      accessLog: lab.accessLog,
      conf: lab.confPath,
      prefix: lab.prefix,
    };
    const alarm = { errorRate: { percent: 5, minutes: 1, minRequests: 5 } };
    await writeFile(
      config,
      stringify({
        targets: [
          {
            name: 'alpha',
            probe: { url: `http://127.0.0.1:${lab.port}/`, intervalSeconds: 1 },
            nginx,
            upstreams: [{ address: `127.0.0.1:${alphaUpstream}` }],
            alarm,
          },
          {
            name: 'beta',
            probe: {
              url: `http://127.0.0.1:${betaPort}/health`,
              intervalSeconds: 1,
              headers: { Host: 'b.local' },
            },
            nginx: { ...nginx, serverNames: ['b.local'] },
            upstreams: [{ address: `127.0.0.1:${betaUpstream}` }],
            alarm,
          },
        ],
        reports: { dir: join(work, 'incidents') },
      }),
    );
    run = startGatewatch(['watch', '--json', '--config', config, '--cooldown', '0']);
    await run.waitFor(/"type":"probe-changed"[^\n]*"target":"beta"[^\n]*"ok":true/, 120_000);
    await run.waitFor(/"type":"probe-changed"[^\n]*"target":"alpha"[^\n]*"ok":true/, 120_000);

    // The evaluator ignores the minute the watch started in (it saw only part of it): the traffic goes
    // into a later minute.
    const startedAt = Date.parse(/"type":"started","at":"([^"]+)"/.exec(run.stdout)![1]!);
    const firstFullMinute = Math.floor(startedAt / 60_000) * 60_000 + 60_000;
    const wait = firstFullMinute + 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // Traffic for both sites, interleaved: alpha's all answered, beta's all 502.
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      statuses.push(await get(lab.port, `/a/${i}`, '127.0.0.1'));
      statuses.push(await get(betaPort, `/b/${i}`, 'b.local'));
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.filter((s) => s === 502)).toHaveLength(30);
    // a third vhost nobody configured, written as nginx writes the gatewatch format
    const now = new Date();
    const iso = `${now.toISOString().slice(0, 19)}+00:00`;
    await appendFile(
      lab.accessLog,
      `gw1\t${iso}\t502\t0.001\t10.9.9.9:80\t502\t0.000\t0.001\t0.001\tabc\t10.0.0.9\t"GET / HTTP/1.1"\t0\t"-"\t"curl"\tother.example\n`,
    );

    await run.waitFor(/"type":"alarm"[^\n]*"alarmId":"beta-error-rate"[^\n]*"to":"ALARM"/, 150_000);
    await new Promise((r) => setTimeout(r, 3000));
    process.kill(run.child.pid!, 'SIGINT');
    const { code } = await run.exited;
    expect(code).toBe(0);

    const events = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; alarmId?: string; to?: string; message?: string });
    const alarms = events.filter((e) => e.type === 'alarm');
    // alpha's minute was published at the same time as beta's: its share was 0%, never an alarm
    expect(alarms.find((e) => e.alarmId === 'alpha-error-rate' && e.to === 'OK')).toBeDefined();
    expect(alarms.filter((e) => e.alarmId === 'alpha-error-rate' && e.to === 'ALARM')).toEqual([]);
    expect(alarms.filter((e) => e.alarmId?.endsWith('probe-failed') && e.to === 'ALARM')).toEqual([]);
    const opened = events.filter((e) => e.type === 'incident-opened') as unknown as {
      incident: { target: string; alarmIds: string[] };
    }[];
    expect(opened.map((e) => [e.incident.target, e.incident.alarmIds])).toEqual([
      ['beta', ['beta-error-rate']],
    ]);
    const unattributed = events.filter((e) => e.type === 'warning' && e.message?.includes('count for none'));
    expect(unattributed).toHaveLength(1);
    expect(unattributed[0]!.message).toContain('shared by alpha, beta: 1 line(s)');
  }, 300_000);
});
