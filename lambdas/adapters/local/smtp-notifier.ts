/**
 * E-mail notifications over SMTP for the local pipeline (`notify.smtp` in gatewatch.yaml). In AWS the SNS
 * topic does this job; the `Notifier` port is the same.
 */
import { createTransport, type Transporter } from 'nodemailer';
import { sanitizeSubject } from '../../core/notification.ts';
import type { Notification, Notifier } from '../../ports.ts';

export interface SmtpNotifierOptions {
  host: string;
  port: number;
  /** TLS from the first byte (port 465). @default port === 465 */
  secure?: boolean;
  from: string;
  to: string[];
  auth?: { user: string; pass: string };
  /** Do not upgrade with STARTTLS even when the server offers it. @default false */
  ignoreTLS?: boolean;
  /** Verify the server certificate (STARTTLS or `secure`). Turn off only for a local relay. @default true */
  rejectUnauthorized?: boolean;
  /** Connection, greeting and socket timeouts. @default 10000 */
  timeoutMs?: number;
}

/** Thrown when the SMTP server cannot be reached or refuses the message. */
export class NotificationError extends Error {
  override name = 'NotificationError';
}

export class SmtpNotifier implements Notifier {
  readonly #options: SmtpNotifierOptions;
  readonly #transport: Transporter;

  constructor(options: SmtpNotifierOptions) {
    if (options.to.length === 0)
      throw new NotificationError('SmtpNotifier needs at least one recipient in `to`');
    this.#options = options;
    const timeout = options.timeoutMs ?? 10_000;
    this.#transport = createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure ?? options.port === 465,
      ignoreTLS: options.ignoreTLS ?? false,
      tls: { rejectUnauthorized: options.rejectUnauthorized ?? true },
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      ...(options.auth === undefined ? {} : { auth: options.auth }),
    });
  }

  async notify(notification: Notification): Promise<void> {
    try {
      await this.#transport.sendMail({
        from: this.#options.from,
        to: this.#options.to,
        subject: sanitizeSubject(notification.subject),
        text: notification.text,
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new NotificationError(
        `could not send the e-mail through ${this.#options.host}:${this.#options.port}: ${reason}`,
        { cause: error },
      );
    }
  }

  /** Closes pooled connections (none by default; kept for symmetry with shutdown code). */
  close(): void {
    this.#transport.close();
  }
}
