// `gatewatch diagnose --notify` through the shipped CLI: a real nginx in front of a dead upstream (502s),
// a real SMTP receiver on loopback configured as the mail channel. With --notify the failing diagnosis
// sends one mail; without it, none (the person running it already sees the verdict).
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Report } from '../../lambdas/core/types.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { runGatewatch } from '../support/cli.ts';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });

let nginx: NginxLab;
let smtp: SMTPServer;
const mails: { to: string[]; raw: string }[] = [];
let config: string;

beforeAll(async () => {
  smtp = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  // Nothing listens on the upstream port: every request through nginx is a 502.
  const dead = await freePort();
  nginx = await NginxLab.start({ server: `location / { proxy_pass http://127.0.0.1:${dead}; }` });
  for (let i = 0; i < 5; i++) expect(await nginx.get('/checkout')).toBe(502);
  const base = nginx.gatewatchConfig({ upstreams: [{ address: `127.0.0.1:${dead}` }] });
  config = join(nginx.prefix, 'gatewatch.json');
  await writeFile(
    config,
    JSON.stringify({
      ...base,
      notify: {
        email: ['oncall@example.com'],
        smtp: { host: '127.0.0.1', port: smtpPort, starttls: 'off', from: 'gatewatch@alerts.example.com' },
        retry: { attempts: 1, initialDelayMs: 20, maxDelayMs: 50 },
        timeoutMs: 10_000,
      },
    }),
  );
});

afterAll(async () => {
  await nginx?.stop();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

async function diagnose(extra: string[]): Promise<Report> {
  const run = await runGatewatch(['diagnose', '--config', config, '--since', '10m', '--json', ...extra]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Report;
}

describe('gatewatch diagnose --notify (real nginx, dead upstream, real SMTP receiver)', () => {
  it('notifies nobody without --notify', async () => {
    const report = await diagnose([]);
    expect(report.verdict.rootCause).toBe('upstream-down');
    expect(mails).toHaveLength(0);
    expect(report.notifications?.map((n) => `${n.channel}:${n.status}:${n.detail}`)).toEqual([
      'all:skipped:manual diagnose: notifications are sent only with --notify',
    ]);
  });

  it('sends one mail to the configured address with --notify, naming the incident', async () => {
    const report = await diagnose(['--notify']);
    expect(report.verdict.rootCause).toBe('upstream-down');
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual(['oncall@example.com']);
    expect(mails[0]!.raw.replace(/=\r\n/g, '')).toContain(report.incidentId);
    expect(report.notifications?.map((n) => `${n.channel}:${n.status}`)).toEqual(['email:sent']);
  });
});
