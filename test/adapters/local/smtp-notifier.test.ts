import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationError, SmtpNotifier } from '../../../lambdas/adapters/local/smtp-notifier.ts';
import { sanitizeSubject } from '../../../lambdas/core/notification.ts';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

const received: Received[] = [];
let server: SMTPServer;
let port: number;

beforeAll(async () => {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Splits a raw RFC 5322 message into unfolded headers and the body. */
function parse(raw: string): { headers: Record<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n(?=[ \t])/g, '');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: raw.slice(split + 4) };
}

/** Decodes RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`) the way a mail client shows them. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_m, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text
              .replace(/_/g, ' ')
              .replace(/=([0-9A-F]{2})/gi, (_h, hex: string) =>
                String.fromCharCode(Number.parseInt(hex, 16)),
              ),
            'latin1',
          ).toString('utf8'),
    );
}

describe('SmtpNotifier', () => {
  it('delivers the notification to a real SMTP server with a clean subject and the text as body', async () => {
    const notifier = new SmtpNotifier({
      host: '127.0.0.1',
      port,
      from: 'gatewatch@localhost',
      to: ['oncall@example.com', 'lead@example.com'],
    });
    const injected = `[gatewatch] shop: upstream-down\r\nBcc: attacker@example.com ${'x'.repeat(150)}`;
    await notifier.notify({
      subject: injected,
      text: 'Nothing listens on 127.0.0.1:3000.\nReport: incidents/shop-20261124T051148Z-3f2a/report.md\n',
    });
    notifier.close();

    expect(received).toHaveLength(1);
    const mail = received[0]!;
    expect(mail.from).toBe('gatewatch@localhost');
    expect(mail.to).toEqual(['oncall@example.com', 'lead@example.com']);
    const { headers, body } = parse(mail.raw);
    const subject = decodeWords(headers.subject ?? '');
    expect(subject).toBe(sanitizeSubject(injected));
    expect(subject.length).toBeLessThan(100);
    expect(subject.startsWith('[gatewatch] shop: upstream-down Bcc: attacker@example.com x')).toBe(true);
    expect(headers.bcc).toBeUndefined();
    expect(body).toContain('Nothing listens on 127.0.0.1:3000.');
    expect(body).toContain('Report: incidents/shop-20261124T051148Z-3f2a/report.md');
  });

  it('throws NotificationError, with the cause, when nothing listens on the SMTP port', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const notifier = new SmtpNotifier({
      host: '127.0.0.1',
      port: closedPort,
      from: 'g@localhost',
      to: ['a@b.c'],
    });
    const error = await notifier.notify({ subject: 's', text: 't' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotificationError);
    expect((error as NotificationError).message).toContain(`127.0.0.1:${closedPort}`);
    expect((error as NotificationError).cause).toBeInstanceOf(Error);
  });
});
