/**
 * `Notifier` on an SNS topic (the topic's e-mail subscriptions deliver it). SNS rejects a subject with
 * a line break or a control character, or of 100 characters or more, and a message over 256 KiB: both
 * are made to fit here rather than lose the notification.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { sanitizeSubject } from '../../core/notification.ts';
import type { Notification, Notifier } from '../../ports.ts';

/** SNS refused or failed the publish; `cause` holds the SDK error. */
export class NotificationError extends Error {
  override name = 'NotificationError';
}

export interface SnsNotifierOptions {
  topicArn: string;
}

/** SNS messages may be 256 KiB; the margin keeps room for the truncation note. */
export const MAX_MESSAGE_BYTES = 256 * 1024 - 512;

/** The message cut to what SNS accepts, at a character boundary, saying that it was cut. */
export function fitMessage(text: string): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= MAX_MESSAGE_BYTES) return text;
  // `fatal: false` drops a partial character at the cut instead of throwing.
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.slice(0, MAX_MESSAGE_BYTES));
  return `${head.replace(/\uFFFD$/, '')}\n\n[message truncated: ${bytes.length} bytes; the report has everything]`;
}

export class SnsNotifier implements Notifier {
  readonly channel = 'sns';
  readonly #client: SNSClient;
  readonly #topicArn: string;

  constructor(client: SNSClient, options: SnsNotifierOptions) {
    this.#client = client;
    this.#topicArn = options.topicArn;
  }

  async notify(notification: Notification): Promise<void> {
    try {
      await this.#client.send(
        new PublishCommand({
          TopicArn: this.#topicArn,
          Subject: sanitizeSubject(notification.subject),
          Message: fitMessage(notification.text),
        }),
      );
    } catch (error) {
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new NotificationError(`could not publish to ${this.#topicArn}: ${detail}`, { cause: error });
    }
  }
}
