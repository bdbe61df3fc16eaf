/**
 * One JSON POST for the notification channels that speak HTTP (Slack, the generic webhook, PagerDuty).
 * Errors name the host only: a Slack webhook URL is itself a secret and must not reach a report.
 */

/** A channel could not deliver; `cause` holds the underlying error. */
export class NotificationError extends Error {
  override name = 'NotificationError';
}

export interface PostJsonOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  /** What the receiver must answer; any 2xx by default. */
  accept?: (status: number) => boolean;
}

/** POSTs `body` (already serialized JSON) and returns the answer's text; throws {@link NotificationError}. */
export async function postJson(url: string, body: string, options: PostJsonOptions): Promise<string> {
  let host: string;
  try {
    host = new URL(url).host;
  } catch (error) {
    throw new NotificationError('the channel URL is not a valid URL', { cause: error });
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'gatewatch', ...options.headers },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const reason =
      error instanceof Error
        ? error.cause instanceof Error
          ? error.cause.message
          : error.message
        : String(error);
    throw new NotificationError(`POST to ${host} failed: ${reason}`, { cause: error });
  }
  const text = await response.text().catch(() => '');
  const accept = options.accept ?? ((status) => status >= 200 && status < 300);
  if (!accept(response.status)) {
    throw new NotificationError(
      `POST to ${host} answered HTTP ${response.status}${text ? `: ${text.slice(0, 200).replace(/\s+/g, ' ')}` : ''}`,
    );
  }
  return text;
}
