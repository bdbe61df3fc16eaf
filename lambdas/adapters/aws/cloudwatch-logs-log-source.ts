/**
 * `LogSource` on CloudWatch Logs. The CloudWatch agent ships each nginx log line as one log event; this
 * adapter reads the events of a time window back, page by page, and hands them on as newline-terminated
 * chunks (one chunk per page) so the steps read CloudWatch exactly as they read a file.
 *
 * `log` names a log group (`/gatewatch/shop/nginx-error`), read across all its streams with
 * FilterLogEvents, or one stream as `<group>:<stream>` (log group names cannot contain `:`), read with
 * GetLogEvents.
 */
import {
  type CloudWatchLogsClient,
  type FilteredLogEvent,
  FilterLogEventsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { LogUnavailableError } from '../../core/nginx/coverage.ts';
import type { LogReadRequest, LogSource } from '../../ports.ts';

/** CloudWatch Logs refused or failed a read; `cause` holds the SDK error. */
export class LogReadError extends Error {
  override name = 'LogReadError';
}

/**
 * A read stopped at its time budget: everything up to `readUpToMs` was yielded, the rest of the window
 * was not read. The evidence is partial, not lost (review finding M8).
 */
export class LogReadBudgetError extends LogReadError {
  override name = 'LogReadBudgetError';
  readonly readUpToMs: number | undefined;

  constructor(message: string, readUpToMs: number | undefined) {
    super(message);
    this.readUpToMs = readUpToMs;
  }
}

export interface CloudWatchLogsLogSourceOptions {
  /**
   * Wall-clock budget of one `chunks()` read, ms: no page is requested after it, and the read ends with
   * {@link LogReadBudgetError} after yielding what it has. @default no budget
   */
  readBudgetMs?: number;
  /** Clock for the budget. @default Date.now */
  now?: () => number;
  /** Events per page. @default 10000 (the API's maximum) */
  pageSize?: number;
  /**
   * Stop after this many pages: a window that large is not an incident window, and a Lambda has a
   * deadline. @default 500
   */
  maxPages?: number;
}

const encoder = new TextEncoder();

export class CloudWatchLogsLogSource implements LogSource {
  readonly #client: CloudWatchLogsClient;
  readonly #pageSize: number;
  readonly #maxPages: number;
  readonly #options: CloudWatchLogsLogSourceOptions;

  constructor(client: CloudWatchLogsClient, options: CloudWatchLogsLogSourceOptions = {}) {
    this.#options = options;
    this.#client = client;
    this.#pageSize = options.pageSize ?? 10_000;
    this.#maxPages = options.maxPages ?? 500;
  }

  chunks(request: LogReadRequest): AsyncIterable<Uint8Array> {
    const separator = request.log.indexOf(':');
    return separator === -1
      ? this.#filterGroup(request)
      : this.#readStream(request, request.log.slice(0, separator), request.log.slice(separator + 1));
  }

  async *#filterGroup(request: LogReadRequest): AsyncGenerator<Uint8Array> {
    let nextToken: string | undefined;
    const started = (this.#options.now ?? Date.now)();
    let readUpToMs: number | undefined;
    for (let page = 0; page < this.#maxPages; page++) {
      const budget = this.#options.readBudgetMs;
      if (budget !== undefined && page > 0 && (this.#options.now ?? Date.now)() - started >= budget) {
        throw new LogReadBudgetError(
          `${request.log}: read stopped after ${Math.round(budget / 1000)} s (time budget) with ${page} page(s) read; ` +
            `events after ${readUpToMs === undefined ? 'the window start' : new Date(readUpToMs).toISOString()} were not read`,
          readUpToMs,
        );
      }
      const response = await this.#send(request.log, () =>
        this.#client.send(
          new FilterLogEventsCommand({
            logGroupName: request.log,
            startTime: request.fromMs,
            // The API's endTime is inclusive up to the millisecond; the window's `toMs` is too.
            endTime: request.toMs,
            limit: this.#pageSize,
            nextToken,
            // Ignored (always on) by the service today; moto and older endpoints still need it to merge streams.
            interleaved: true,
          }),
        ),
      );
      const events = sortByTime(response.events ?? []);
      const last = events.at(-1)?.timestamp;
      if (last !== undefined) readUpToMs = Math.max(readUpToMs ?? last, last);
      const chunk = encodeEvents(events, request.stampLines ?? false);
      if (chunk) yield chunk;
      // A page may be empty while the search continues; only a missing token ends it.
      if (!response.nextToken) return;
      nextToken = response.nextToken;
    }
    throw new LogReadError(
      `${request.log}: more than ${this.#maxPages} pages of ${this.#pageSize} events in the window; narrow the window`,
    );
  }

  async *#readStream(request: LogReadRequest, group: string, stream: string): AsyncGenerator<Uint8Array> {
    let nextToken: string | undefined;
    for (let page = 0; page < this.#maxPages; page++) {
      const response = await this.#send(request.log, () =>
        this.#client.send(
          new GetLogEventsCommand({
            logGroupName: group,
            logStreamName: stream,
            startTime: request.fromMs,
            endTime: request.toMs,
            limit: this.#pageSize,
            startFromHead: true,
            nextToken,
          }),
        ),
      );
      const chunk = encodeEvents(response.events ?? [], request.stampLines ?? false);
      if (chunk) yield chunk;
      // GetLogEvents signals the end of the stream by returning the token it was given.
      if (!response.nextForwardToken || response.nextForwardToken === nextToken) return;
      nextToken = response.nextForwardToken;
    }
    throw new LogReadError(
      `${request.log}: more than ${this.#maxPages} pages of ${this.#pageSize} events in the window; narrow the window`,
    );
  }

  async #send<T>(log: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const name = error instanceof Error ? error.name : '';
      // The coverage of the diagnosis tells "no such log" and "not allowed to read it" apart.
      if (name === 'ResourceNotFoundException') {
        throw new LogUnavailableError('missing', `CloudWatch Logs ${log} does not exist (${detail})`, {
          cause: error,
        });
      }
      if (name === 'AccessDeniedException' || name === 'UnauthorizedOperation') {
        throw new LogUnavailableError('unreadable', `CloudWatch Logs ${log} may not be read: ${detail}`, {
          cause: error,
        });
      }
      throw new LogReadError(`could not read CloudWatch Logs ${log}: ${detail}`, { cause: error });
    }
  }
}

/** Events of one page in the order nginx wrote them (stable for equal timestamps). */
function sortByTime(events: FilteredLogEvent[]): FilteredLogEvent[] {
  return events
    .map((event, index) => ({ event, index }))
    .sort((a, b) => (a.event.timestamp ?? 0) - (b.event.timestamp ?? 0) || a.index - b.index)
    .map(({ event }) => event);
}

function encodeEvents(
  events: { message?: string | undefined; timestamp?: number | undefined }[],
  stamp: boolean,
): Uint8Array | undefined {
  if (events.length === 0) return undefined;
  let text = '';
  for (const event of events) {
    const message = event.message ?? '';
    // the event's time as a CloudWatch export writes it: the readers take it off as a known prefix
    if (stamp && event.timestamp !== undefined) text += `${new Date(event.timestamp).toISOString()} `;
    text += message.endsWith('\n') ? message : `${message}\n`;
  }
  return encoder.encode(text);
}
