/**
 * Must show 2: the notification channels against real receivers on loopback — a real SMTP server
 * (smtp-server, STARTTLS required, AUTH) receiving the opening and the resolution mail of one incident,
 * threaded, each with a text and an HTML part; a real HTTP server receiving the Slack, the signed webhook
 * and the PagerDuty payloads; and the SMTP server down: the failure is recorded with its attempts, retried,
 * and the incident's report is intact.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../lambdas/adapters/http/webhook-notifier.ts';
import { EnvSecretResolver } from '../../lambdas/adapters/local/env-secret-resolver.ts';
import { FolderReportStore } from '../../lambdas/adapters/local/folder-report-store.ts';
import { notificationChannels } from '../../lambdas/adapters/notification-channels.ts';
import { type GatewatchConfig, validateConfig } from '../../lambdas/core/config.ts';
import { withResolution } from '../../lambdas/core/incident/resolution.ts';
import { incidentMessage } from '../../lambdas/core/notification.ts';
import type { Report } from '../../lambdas/core/types.ts';
import { storeReportFiles } from '../../lambdas/steps/classify-and-report.ts';
import { storeKeys } from '../../lambdas/steps/deps.ts';
import { NotifierChannels, notifyReport } from '../../lambdas/steps/notify.ts';
import { loadReport } from '../core/report/fixtures.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Mail {
  raw: string;
  headers: Record<string, string>;
  user: string | undefined;
  secured: boolean;
}

function headersOf(raw: string): Record<string, string> {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n(?=[ \t])/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** A real SMTP server on loopback that insists on STARTTLS and a login, and keeps what it receives. */
async function smtpReceiver(
  password: string,
): Promise<{ port: number; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    logger: false,
    // smtp-server's built-in self-signed certificate; AUTH is only offered after STARTTLS.
    allowInsecureAuth: false,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      if (auth.username === 'gatewatch' && auth.password === password)
        callback(null, { user: auth.username });
      else callback(new Error('invalid credentials'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({
          raw,
          headers: headersOf(raw),
          user: session.user as string | undefined,
          secured: session.secure,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

interface Hit {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server standing in for Slack, a webhook receiver and PagerDuty (which answers 202). */
async function httpReceiver(): Promise<{ base: string; hits: Hit[]; close(): Promise<void> }> {
  const hits: Hit[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      hits.push({
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      if (request.url === '/pagerduty') {
        response.writeHead(202, { 'content-type': 'application/json' });
        response.end('{"status":"success","message":"Event processed"}');
      } else {
        response.writeHead(200);
        response.end('ok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function configFor(smtpPort: number, base: string | undefined): GatewatchConfig {
  return validateConfig({
    targets: [{ name: 'shop', nginx: { errorLog: '/var/log/nginx/error.log' } }],
    notify: {
      email: ['oncall@example.com'],
      smtp: {
        host: '127.0.0.1',
        port: smtpPort,
        starttls: 'required',
        rejectUnauthorized: false,
        user: 'gatewatch',
        passwordEnv: 'GW_TEST_SMTP_PASSWORD',
        from: 'gatewatch@alerts.example.com',
      },
      ...(base === undefined
        ? {}
        : {
            slack: { webhookUrl: { env: 'GW_TEST_SLACK_URL' } },
            webhook: { url: `${base}/webhook`, secret: { env: 'GW_TEST_WEBHOOK_SECRET' } },
            pagerduty: { routingKey: { env: 'GW_TEST_PD_KEY' }, url: `${base}/pagerduty` },
          }),
      retry: { attempts: 3, initialDelayMs: 20, maxDelayMs: 100 },
      timeoutMs: 5000,
    },
  });
}

async function reportFolder(): Promise<{ store: FolderReportStore; dir: string; report: Report }> {
  const dir = await mkdtemp(join(tmpdir(), 'gatewatch-notify-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const store = new FolderReportStore(dir);
  const report = loadReport('upstream-down');
  await storeReportFiles(report, store);
  return { store, dir, report };
}

function partsOf(raw: string): string[] {
  return [...raw.matchAll(/Content-Type: (text\/(?:plain|html))/gi)].map((m) => m[1]!.toLowerCase());
}

describe('notifications delivered to real receivers', () => {
  it('mails the opening and the resolution of one incident, threaded, with text and HTML parts, over STARTTLS with a login', async () => {
    const password = 'pa55-word-from-env';
    const smtp = await smtpReceiver(password);
    cleanups.push(smtp.close);
    const env = { GW_TEST_SMTP_PASSWORD: password };
    const config = configFor(smtp.port, undefined);
    const { report } = await reportFolder();
    const channels = notificationChannels(config.notify, new EnvSecretResolver(env));
    const link = 'file:///var/lib/gatewatch/incidents/x/report.html';
    const context = {
      config,
      notifier: new NotifierChannels(channels),
      now: () => new Date(),
      host: 'web-1',
      link,
    };

    const opened = await notifyReport(report, 'open', context);
    // Another process (the watch loop, days later) sends the resolution: only the incident id is shared.
    const resolvedReport = withResolution(opened!.report, '2026-11-24T06:00:00Z', 'alarms OK');
    const fresh = notificationChannels(config.notify, new EnvSecretResolver(env));
    const resolved = await notifyReport(resolvedReport, 'resolve', {
      ...context,
      notifier: new NotifierChannels(fresh),
    });

    expect(opened!.outcomes).toEqual([
      expect.objectContaining({ channel: 'email', status: 'sent', attempts: 1 }),
    ]);
    expect(resolved!.outcomes).toEqual([
      expect.objectContaining({ channel: 'email', status: 'sent', event: 'resolve' }),
    ]);
    expect(smtp.mails).toHaveLength(2);
    const [open, close] = smtp.mails as [Mail, Mail];
    expect(open.secured && close.secured).toBe(true);
    expect(open.user).toBe('gatewatch');
    expect(open.headers['message-id']).toBe(`<${report.incidentId}.open@alerts.example.com>`);
    expect(close.headers['in-reply-to']).toBe(open.headers['message-id']);
    expect(close.headers.references).toBe(open.headers['message-id']);
    expect(close.headers['message-id']).not.toBe(open.headers['message-id']);
    for (const mail of [open, close]) {
      expect(mail.headers['content-type']).toMatch(/^multipart\/alternative/);
      expect(partsOf(mail.raw)).toEqual(['text/plain', 'text/html']);
    }
    const text = open.raw.replace(/=\r\n/g, '');
    expect(text).toContain('web-1');
    expect(text).toContain(report.verdict.rootCause);
    expect(text).toContain('Next steps');
    expect(text).toContain('Decisive line');
    expect(text).toContain(link);
    // The password is a secret: it is in no mail and no report.
    expect(open.raw + close.raw).not.toContain(password);
    expect(JSON.stringify(resolved!.report)).not.toContain(password);
    expect(resolved!.report.notifications?.map((n) => `${n.event}:${n.channel}:${n.status}`)).toEqual([
      'open:email:sent',
      'resolve:email:sent',
    ]);
  });

  it('posts to Slack, the signed webhook and PagerDuty (trigger, then resolve with the same dedup_key)', async () => {
    const smtp = await smtpReceiver('x');
    cleanups.push(smtp.close);
    const http = await httpReceiver();
    cleanups.push(http.close);
    const secret = 'webhook-shared-secret';
    const env = {
      GW_TEST_SMTP_PASSWORD: 'x',
      GW_TEST_SLACK_URL: `${http.base}/slack/T000/B000/XXXX`,
      GW_TEST_WEBHOOK_SECRET: secret,
      GW_TEST_PD_KEY: 'R0UTINGKEY0000000000000000000000',
    };
    const config = configFor(smtp.port, http.base);
    const { report } = await reportFolder();
    const context = {
      config,
      notifier: new NotifierChannels(notificationChannels(config.notify, new EnvSecretResolver(env))),
      now: () => new Date(),
      host: 'web-1',
      link: 'https://console.aws.amazon.com/s3/object/bucket?prefix=x/report.html',
    };
    const opened = await notifyReport(report, 'open', context);
    await notifyReport(withResolution(opened!.report, '2026-11-24T06:00:00Z', 'ok'), 'resolve', context);

    expect(opened!.outcomes.map((o) => `${o.channel}:${o.status}`)).toEqual([
      'email:sent',
      'slack:sent',
      'webhook:sent',
      'pagerduty:sent',
    ]);
    const slack = http.hits.filter((h) => h.path.startsWith('/slack/'));
    expect(slack).toHaveLength(2);
    const slackOpen = JSON.parse(slack[0]!.body) as { text: string; blocks: unknown[] };
    expect(slackOpen.text).toContain(`[gatewatch] shop: ${report.verdict.rootCause}`);
    expect(JSON.stringify(slackOpen.blocks)).toContain('web-1');

    const hooks = http.hits.filter((h) => h.path === '/webhook');
    expect(hooks).toHaveLength(2);
    const now = Math.floor(Date.now() / 1000);
    for (const hook of hooks) {
      const headers = {
        signature: hook.headers['x-gatewatch-signature'] as string | undefined,
        timestamp: hook.headers['x-gatewatch-timestamp'] as string | undefined,
      };
      expect(verifyWebhook(secret, headers, hook.body, now)).toBe(true);
      // A tampered body, a wrong secret, or the same request replayed an hour later does not verify.
      expect(verifyWebhook(secret, headers, hook.body.replace('shop', 'shap'), now)).toBe(false);
      expect(verifyWebhook('other-secret', headers, hook.body, now)).toBe(false);
      expect(verifyWebhook(secret, headers, hook.body, now + 3600)).toBe(false);
    }
    expect(JSON.parse(hooks[0]!.body)).toMatchObject({
      type: 'incident.opened',
      incident: { incidentId: report.incidentId, host: 'web-1' },
    });
    expect(JSON.parse(hooks[1]!.body)).toMatchObject({ type: 'incident.resolved' });

    const pages = http.hits.filter((h) => h.path === '/pagerduty').map((h) => JSON.parse(h.body));
    expect(pages).toEqual([
      expect.objectContaining({
        event_action: 'trigger',
        dedup_key: report.incidentId,
        routing_key: env.GW_TEST_PD_KEY,
      }),
      { event_action: 'resolve', dedup_key: report.incidentId, routing_key: env.GW_TEST_PD_KEY },
    ]);
    expect(pages[0].payload).toMatchObject({ source: 'web-1', component: 'shop', severity: 'critical' });

    // What a responder reads on each channel: host, verdict, decisive line, next steps, the report link.
    const { decisive, nextSteps } = incidentMessage(report, 'open', { host: 'web-1' });
    expect(decisive).toBeTruthy();
    expect(report.findings.some((f) => f.evidence.some((e) => e.excerpt.includes(decisive!)))).toBe(true);
    const unslack = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    const slackText = unslack(
      (slackOpen.blocks as { text?: { text: string }; elements?: { text: string }[] }[])
        .map((b) => b.text?.text ?? b.elements?.map((e) => e.text).join(' ') ?? '')
        .join('\n'),
    );
    const pd = pages[0].payload.custom_details as Record<string, unknown>;
    const essentials = [
      ['slack', slackText],
      [
        'pagerduty',
        `${pages[0].payload.summary} ${pages[0].payload.source} ${JSON.stringify(pd)} ${JSON.stringify(pages[0].links)}`,
      ],
      ['webhook', hooks[0]!.body],
    ] as const;
    for (const [channel, text] of essentials) {
      expect(text, `${channel}: host`).toContain('web-1');
      expect(text, `${channel}: verdict`).toContain(report.verdict.rootCause);
      expect(text, `${channel}: link`).toContain(context.link);
    }
    expect(slackText).toContain(decisive!.replace(/`/g, "'"));
    expect(slackText).toContain(nextSteps[0]!);
    expect(pd).toMatchObject({ decisive, nextSteps, report: context.link });
    expect(pages[0].links).toEqual([{ href: context.link, text: 'gatewatch report' }]);
    expect(JSON.parse(hooks[0]!.body).incident).toMatchObject({ decisive, nextSteps, link: context.link });
  });

  it('carries the local report link (a file URL) on Slack and PagerDuty, where it cannot be a button', async () => {
    const smtp = await smtpReceiver('x');
    cleanups.push(smtp.close);
    const http = await httpReceiver();
    cleanups.push(http.close);
    const env = {
      GW_TEST_SMTP_PASSWORD: 'x',
      GW_TEST_SLACK_URL: `${http.base}/slack/T000/B000/XXXX`,
      GW_TEST_WEBHOOK_SECRET: 's',
      GW_TEST_PD_KEY: 'R0UTINGKEY0000000000000000000000',
    };
    const config = configFor(smtp.port, http.base);
    const { report } = await reportFolder();
    const link = 'file:///var/lib/gatewatch/incidents/x/report.html';
    const opened = await notifyReport(report, 'open', {
      config,
      notifier: new NotifierChannels(notificationChannels(config.notify, new EnvSecretResolver(env))),
      now: () => new Date(),
      host: 'web-1',
      link,
    });

    expect(opened!.outcomes.every((o) => o.status === 'sent')).toBe(true);
    const slack = http.hits.find((h) => h.path.startsWith('/slack/'))!;
    expect(slack.body).toContain(`report: ${link}`);
    const page = JSON.parse(http.hits.find((h) => h.path === '/pagerduty')!.body);
    expect(page.payload.custom_details.report).toBe(link);
    expect(page.links).toBeUndefined();
    const mail = smtp.mails[0]!.raw.replace(/=\r\n/g, '');
    expect(mail).toContain(`Report: ${link}`);
    expect(mail).toContain(`href=3D"${link}"`);
  });

  it('starts no retry that could not finish before the deadline (the Notify Lambda records outcomes before it stops)', async () => {
    const gone = await smtpReceiver('x');
    await gone.close();
    const config = configFor(gone.port, undefined);
    const { report } = await reportFolder();
    const env = { GW_TEST_SMTP_PASSWORD: 'x' };
    const base = {
      config,
      notifier: new NotifierChannels(notificationChannels(config.notify, new EnvSecretResolver(env))),
      now: () => new Date(),
      sleep: async () => undefined,
      host: 'web-1',
    };
    // One attempt may take timeoutMs (5 s): with 2 s left, the first refused attempt is the only one.
    const bounded = await notifyReport(report, 'open', { ...base, deadline: Date.now() + 2000 });
    expect(bounded!.outcomes).toEqual([
      expect.objectContaining({
        channel: 'email',
        status: 'failed',
        attempts: 1,
        detail: expect.stringContaining('no time left'),
        error: expect.stringContaining('ECONNREFUSED'),
      }),
    ]);
    // With time enough, all the configured attempts are made.
    const unbounded = await notifyReport(report, 'open', { ...base, deadline: Date.now() + 60_000 });
    expect(unbounded!.outcomes).toEqual([expect.objectContaining({ status: 'failed', attempts: 3 })]);
    expect(unbounded!.outcomes[0]!.detail).toBeUndefined();
  });

  it('records a down SMTP server as failed after its retries, still reaches the other channels, and keeps the report intact', async () => {
    // A port that was listening and is closed now: connection refused on every attempt.
    const gone = await smtpReceiver('x');
    await gone.close();
    const http = await httpReceiver();
    cleanups.push(http.close);
    const env = {
      GW_TEST_SMTP_PASSWORD: 'x',
      GW_TEST_SLACK_URL: `${http.base}/slack/T/B/X`,
      GW_TEST_WEBHOOK_SECRET: 's',
      GW_TEST_PD_KEY: 'k',
    };
    const config = configFor(gone.port, http.base);
    const { store, report } = await reportFolder();
    const waits: number[] = [];
    const context = {
      config,
      notifier: new NotifierChannels(notificationChannels(config.notify, new EnvSecretResolver(env))),
      now: () => new Date(),
      sleep: async (ms: number) => {
        waits.push(ms);
      },
      host: 'web-1',
    };
    const result = await notifyReport(report, 'open', context);
    await storeReportFiles(result!.report, store);

    const email = result!.outcomes.find((o) => o.channel === 'email')!;
    expect(email).toMatchObject({ status: 'failed', attempts: 3 });
    expect(email.error).toMatch(/127\.0\.0\.1|ECONNREFUSED|connect/i);
    expect(waits).toEqual([20, 40]); // bounded exponential backoff between the three attempts
    expect(result!.outcomes.filter((o) => o.status === 'sent').map((o) => o.channel)).toEqual([
      'slack',
      'webhook',
      'pagerduty',
    ]);
    const stored = JSON.parse((await store.get(storeKeys.report(report.incidentId, 'json')))!) as Report;
    expect({ ...stored, notifications: undefined }).toEqual({ ...report, notifications: undefined });
    expect(stored.notifications?.find((n) => n.channel === 'email')?.status).toBe('failed');
    const page = await readFile(store.locate(storeKeys.report(report.incidentId, 'html')), 'utf8');
    expect(page).toContain('id="notifications"');
    expect(page).toContain('failed');
  });

  it('notifies nobody inside a silence window, records why, and never notifies a healthy verdict', async () => {
    const smtp = await smtpReceiver('x');
    cleanups.push(smtp.close);
    const base = configFor(smtp.port, undefined);
    const config = validateConfig({
      ...base,
      targets: [
        {
          name: 'shop',
          nginx: { errorLog: '/var/log/nginx/error.log' },
          silence: [{ from: '2026-12-01T00:00:00Z', to: '2026-12-01T02:00:00Z', reason: 'database upgrade' }],
        },
      ],
    });
    const { report } = await reportFolder();
    const channels = notificationChannels(
      config.notify,
      new EnvSecretResolver({ GW_TEST_SMTP_PASSWORD: 'x' }),
    );
    const context = {
      config,
      notifier: new NotifierChannels(channels),
      now: () => new Date('2026-12-01T01:00:00Z'),
      host: 'h',
    };
    const silenced = await notifyReport(report, 'open', context);
    expect(silenced!.outcomes).toEqual([
      expect.objectContaining({
        channel: 'all',
        status: 'silenced',
        detail: expect.stringContaining('database upgrade'),
      }),
    ]);
    const healthy = await notifyReport(loadReport('healthy'), 'open', {
      ...context,
      now: () => new Date('2026-12-02T00:00:00Z'),
    });
    expect(healthy).toBeUndefined();
    expect(smtp.mails).toEqual([]);
  });
});
