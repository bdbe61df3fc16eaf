/**
 * CloudWatch Logs Insights: start a query over a set of log groups and wait for its result within a
 * deadline. Aggregation happens server-side (`stats`), so a minute of a busy access log costs one row,
 * not thousands of events paged through FilterLogEvents. A query that is not complete at the deadline is
 * stopped and reported as {@link LogsQueryTimeoutError}; the caller decides what partial means.
 *
 * Quotas (CloudWatch Logs quotas page): StartQuery takes at most 50 log groups; a query returns at most
 * 10,000 rows; concurrent queries per account are limited (shared with people's own queries), so callers
 * run one query at a time.
 */
import {
  type CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { LogReadError } from './cloudwatch-logs-log-source.ts';

/** The query did not finish before the deadline (it was stopped). */
export class LogsQueryTimeoutError extends Error {
  override name = 'LogsQueryTimeoutError';
}

export interface LogsQuery {
  logGroupNames: readonly string[];
  /** Epoch ms, inclusive. */
  fromMs: number;
  /** Epoch ms, exclusive. */
  toMs: number;
  queryString: string;
}

export interface LogsInsightsOptions {
  /** Pause between GetQueryResults polls. @default 1000 */
  pollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class CloudWatchLogsInsights {
  readonly #client: CloudWatchLogsClient;
  readonly #pollMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(client: CloudWatchLogsClient, options: LogsInsightsOptions = {}) {
    this.#client = client;
    this.#pollMs = options.pollMs ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
  }

  /** The result rows (field → value) of the query, or {@link LogsQueryTimeoutError} at `deadlineMs`. */
  async run(query: LogsQuery, deadlineMs: number): Promise<Record<string, string>[]> {
    return this.results(await this.start(query), deadlineMs);
  }

  /**
   * Starts the query and returns its id without waiting: Logs Insights keeps the result for days, so a
   * caller may collect it a minute later (the log-rate Lambda does, instead of paying for the wait).
   */
  async start(query: LogsQuery): Promise<string> {
    let queryId: string | undefined;
    try {
      const started = await this.#client.send(
        new StartQueryCommand({
          logGroupNames: [...query.logGroupNames],
          startTime: Math.floor(query.fromMs / 1000),
          // Both ends are inclusive, in seconds.
          endTime: Math.ceil(query.toMs / 1000) - 1,
          queryString: query.queryString,
        }),
      );
      queryId = started.queryId;
    } catch (error) {
      throw new LogReadError(`Logs Insights could not start the query: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (queryId === undefined) throw new LogReadError('Logs Insights returned no query id');
    return queryId;
  }

  /** The result rows of a started query, polling until it completes or `deadlineMs` (then it is stopped). */
  async results(queryId: string, deadlineMs: number): Promise<Record<string, string>[]> {
    for (;;) {
      const result = await this.#client.send(new GetQueryResultsCommand({ queryId }));
      const status = result.status ?? 'Unknown';
      if (status === 'Complete') {
        return (result.results ?? []).map((row) =>
          Object.fromEntries(row.flatMap((f) => (f.field === undefined ? [] : [[f.field, f.value ?? '']]))),
        );
      }
      if (status === 'Failed' || status === 'Cancelled' || status === 'Timeout') {
        throw new LogReadError(`Logs Insights query ${queryId} ended ${status}`);
      }
      if (this.#now() + this.#pollMs >= deadlineMs) {
        await this.#client.send(new StopQueryCommand({ queryId })).catch(() => undefined);
        throw new LogsQueryTimeoutError(`Logs Insights query ${queryId} was still ${status} at the deadline`);
      }
      await this.#sleep(this.#pollMs);
    }
  }
}
