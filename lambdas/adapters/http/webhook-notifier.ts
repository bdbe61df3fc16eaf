/**
 * `Notifier` on a generic webhook: the incident as JSON, signed. The receiver recomputes
 * `HMAC-SHA256(secret, "<timestamp>.<body>")` and compares it with `X-Gatewatch-Signature: sha256=<hex>`,
 * and rejects a timestamp (`X-Gatewatch-Timestamp`, Unix seconds) older than its tolerance, so a captured
 * request cannot be replayed later.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { webhookPayload, webhookSignedContent } from '../../core/notification.ts';
import type { Notification, Notifier } from '../../ports.ts';
import { postJson } from './post-json.ts';

export const SIGNATURE_HEADER = 'x-gatewatch-signature';
export const TIMESTAMP_HEADER = 'x-gatewatch-timestamp';

/** `sha256=<hex>` of `<timestamp>.<body>`. */
export function signWebhook(secret: string, timestampSeconds: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(webhookSignedContent(timestampSeconds, body)).digest('hex')}`;
}

/**
 * What a receiver does (and what gatewatch's tests do): the signature matches and the timestamp is within
 * `toleranceSeconds` of `nowSeconds`.
 */
export function verifyWebhook(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(headers.signature ?? '');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface WebhookNotifierOptions {
  url: string;
  secret: () => Promise<string>;
  timeoutMs: number;
  now?: () => Date;
}

export class WebhookNotifier implements Notifier {
  readonly channel = 'webhook';
  readonly #options: WebhookNotifierOptions;

  constructor(options: WebhookNotifierOptions) {
    this.#options = options;
  }

  async notify(notification: Notification): Promise<void> {
    const now = this.#options.now?.() ?? new Date();
    const body = JSON.stringify(
      notification.incident
        ? webhookPayload(notification.incident, now.toISOString())
        : {
            type: 'notice',
            version: 1,
            sentAt: now.toISOString(),
            subject: notification.subject,
            text: notification.text,
          },
    );
    const timestamp = Math.floor(now.getTime() / 1000);
    const secret = await this.#options.secret();
    await postJson(this.#options.url, body, {
      timeoutMs: this.#options.timeoutMs,
      headers: {
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
      },
    });
  }
}
