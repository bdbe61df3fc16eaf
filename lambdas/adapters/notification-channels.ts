/**
 * The notification channels a configuration asks for, the same locally and in the Notify Lambda: e-mail
 * over SMTP (`notify.smtp` and at least one `notify.email`), Slack, the signed webhook, PagerDuty. Secrets
 * are resolved when a message is sent, so a missing one fails that channel (recorded, retried) rather than
 * the whole run.
 */
import { DEFAULT_NOTIFY_TIMEOUT_MS, type NotifyConfig } from '../core/notify-config.ts';
import type { Notification, Notifier, SecretResolver } from '../ports.ts';
import { PagerDutyNotifier } from './http/pagerduty-notifier.ts';
import { SlackNotifier } from './http/slack-notifier.ts';
import { WebhookNotifier } from './http/webhook-notifier.ts';
import type { SmtpNotifier, SmtpNotifierOptions } from './local/smtp-notifier.ts';

/**
 * The e-mail channel. Its module (nodemailer, some 200 files) is loaded with the first e-mail, not when the
 * CLI starts: a diagnosis without SMTP never pays for it (issue 9: start-up time).
 */
export class LazySmtpChannel implements Notifier {
  readonly channel = 'email';
  readonly #options: SmtpNotifierOptions;
  #loaded: Promise<SmtpNotifier> | undefined;

  constructor(options: SmtpNotifierOptions) {
    this.#options = options;
  }

  #load(): Promise<SmtpNotifier> {
    this.#loaded ??= import('./local/smtp-notifier.ts').then((m) => new m.SmtpNotifier(this.#options));
    return this.#loaded;
  }

  async notify(notification: Notification): Promise<void> {
    await (await this.#load()).notify(notification);
  }

  close(): void {
    void this.#loaded?.then((mail) => mail.close());
  }
}

/** The SMTP channel the configuration asks for (`notify.smtp` and at least one `notify.email`), if any. */
export function smtpChannel(notify: NotifyConfig, secrets: SecretResolver): LazySmtpChannel | undefined {
  const smtp = notify.smtp;
  if (smtp === undefined || notify.email.length === 0) return undefined;
  const password =
    smtp.passwordEnv !== undefined
      ? { env: smtp.passwordEnv }
      : smtp.password !== undefined
        ? smtp.password
        : undefined;
  return new LazySmtpChannel({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    ignoreTLS: smtp.starttls === 'off',
    requireTLS: smtp.starttls === 'required',
    rejectUnauthorized: smtp.rejectUnauthorized,
    from: smtp.from,
    to: notify.email,
    timeoutMs: notify.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS,
    ...(smtp.user === undefined
      ? {}
      : { auth: { user: smtp.user, pass: password === undefined ? '' : () => secrets.resolve(password) } }),
  });
}

/** Every channel configured in `notify`, e-mail first. */
export function notificationChannels(notify: NotifyConfig, secrets: SecretResolver): Notifier[] {
  const timeoutMs = notify.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS;
  const channels: Notifier[] = [];
  const mail = smtpChannel(notify, secrets);
  if (mail) channels.push(mail);
  const { slack, webhook, pagerduty } = notify;
  if (slack)
    channels.push(new SlackNotifier({ webhookUrl: () => secrets.resolve(slack.webhookUrl), timeoutMs }));
  if (webhook)
    channels.push(
      new WebhookNotifier({ url: webhook.url, secret: () => secrets.resolve(webhook.secret), timeoutMs }),
    );
  if (pagerduty)
    channels.push(
      new PagerDutyNotifier({
        url: pagerduty.url,
        routingKey: () => secrets.resolve(pagerduty.routingKey),
        timeoutMs,
      }),
    );
  return channels;
}
