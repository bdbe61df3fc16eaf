/** `Notifier` on a Slack incoming webhook: Block Kit from the incident message, plain text otherwise. */
import { slackPayload } from '../../core/notification.ts';
import type { Notification, Notifier } from '../../ports.ts';
import { postJson } from './post-json.ts';

export interface SlackNotifierOptions {
  /** The webhook URL, read when a message is sent (it is a secret: it carries the token). */
  webhookUrl: () => Promise<string>;
  timeoutMs: number;
}

export class SlackNotifier implements Notifier {
  readonly channel = 'slack';
  readonly #options: SlackNotifierOptions;

  constructor(options: SlackNotifierOptions) {
    this.#options = options;
  }

  async notify(notification: Notification): Promise<void> {
    const payload = notification.incident
      ? slackPayload(notification.incident)
      : { text: `${notification.subject}\n${notification.text}` };
    await postJson(await this.#options.webhookUrl(), JSON.stringify(payload), {
      timeoutMs: this.#options.timeoutMs,
    });
  }
}
