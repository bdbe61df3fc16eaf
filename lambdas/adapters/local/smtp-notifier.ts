/**
 * E-mail notifications over SMTP (`notify.smtp` in gatewatch.yaml): a text and an HTML part, threaded —
 * the opening mail's Message-ID and the resolution's In-Reply-To/References are derived from the incident
 * id, so two processes days apart agree. SMTP login and TLS come from the configuration, the password from
 * the environment (or, in AWS, SSM/Secrets Manager), read when a mail is sent.
 */
import { createTransport, type Transporter } from 'nodemailer';
import { mailThread, sanitizeSubject } from '../../core/notification.ts';
import type { Notification, Notifier } from '../../ports.ts';

export interface SmtpNotifierOptions {
  host: string;
  port: number;
  /** TLS from the first byte (port 465). @default port === 465 */
  secure?: boolean;
  from: string;
  to: string[];
  auth?: { user: string; pass: string | (() => Promise<string>) };
  /** Do not upgrade with STARTTLS even when the server offers it. @default false */
  ignoreTLS?: boolean;
  /** Refuse to send unless the connection is upgraded with STARTTLS. @default false */
  requireTLS?: boolean;
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
  readonly channel = 'email';
  readonly #options: SmtpNotifierOptions;
  #transport: Transporter | undefined;

  constructor(options: SmtpNotifierOptions) {
    if (options.to.length === 0)
      throw new NotificationError('SmtpNotifier needs at least one recipient in `to`');
    this.#options = options;
  }

  /** Built on first use: the password is read then (a missing secret fails the send, and is recorded). */
  async #transporter(): Promise<Transporter> {
    if (this.#transport) return this.#transport;
    const options = this.#options;
    const timeout = options.timeoutMs ?? 10_000;
    const auth =
      options.auth === undefined
        ? undefined
        : {
            user: options.auth.user,
            pass: typeof options.auth.pass === 'string' ? options.auth.pass : await options.auth.pass(),
          };
    this.#transport = createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure ?? options.port === 465,
      ignoreTLS: options.ignoreTLS ?? false,
      requireTLS: options.requireTLS ?? false,
      tls: { rejectUnauthorized: options.rejectUnauthorized ?? true },
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      ...(auth === undefined ? {} : { auth }),
    });
    return this.#transport;
  }

  async notify(notification: Notification): Promise<void> {
    const thread =
      notification.incident === undefined ? undefined : mailThread(notification.incident, this.#options.from);
    try {
      const transport = await this.#transporter();
      await transport.sendMail({
        from: this.#options.from,
        to: this.#options.to,
        subject: sanitizeSubject(notification.subject),
        text: notification.text,
        ...(notification.html === undefined ? {} : { html: notification.html }),
        ...(thread === undefined
          ? {}
          : {
              messageId: thread.messageId,
              ...(thread.inReplyTo === undefined ? {} : { inReplyTo: thread.inReplyTo }),
              ...(thread.references === undefined ? {} : { references: thread.references }),
            }),
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
    this.#transport?.close();
  }
}
