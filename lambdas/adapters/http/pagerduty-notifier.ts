/**
 * `Notifier` on PagerDuty Events API v2: an opening triggers an alert, a resolution resolves it; the
 * incident id is the dedup_key, so a re-sent trigger does not page twice and the resolve finds its alert.
 */
import { pagerDutyEvent } from '../../core/notification.ts';
import type { Notification, Notifier } from '../../ports.ts';
import { NotificationError, postJson } from './post-json.ts';

export interface PagerDutyNotifierOptions {
  /** `https://events.pagerduty.com/v2/enqueue` (or a regional/test endpoint). */
  url: string;
  routingKey: () => Promise<string>;
  timeoutMs: number;
}

export class PagerDutyNotifier implements Notifier {
  readonly channel = 'pagerduty';
  readonly #options: PagerDutyNotifierOptions;

  constructor(options: PagerDutyNotifierOptions) {
    this.#options = options;
  }

  async notify(notification: Notification): Promise<void> {
    if (notification.incident === undefined)
      throw new NotificationError('PagerDuty events need an incident (its id is the dedup key)');
    const event = pagerDutyEvent(notification.incident, await this.#options.routingKey());
    // The Events API answers 202 Accepted; anything else did not enqueue the event.
    await postJson(this.#options.url, JSON.stringify(event), {
      timeoutMs: this.#options.timeoutMs,
      accept: (status) => status === 202,
    });
  }
}
