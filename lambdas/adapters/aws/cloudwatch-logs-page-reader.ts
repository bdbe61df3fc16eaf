/**
 * `LogPageReader` on CloudWatch Logs FilterLogEvents: one page per call, with the continuation token
 * handed back so the log watcher can stop after any page and continue in its next invocation. Unlike
 * `CloudWatchLogsLogSource` (which streams a whole window into a diagnosis), it keeps each event's
 * timestamp and ingestion time, which the watcher buckets minutes by and measures lateness with.
 *
 * `log` is a log group, or `<group>:<stream>` for one stream of it (group names cannot contain `:`).
 */
import {
  type CloudWatchLogsClient,
  FilterLogEventsCommand,
  type FilterLogEventsCommandInput,
  type FilterLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  type LogPage,
  type LogPageReader,
  type LogPageRequest,
  PageTokenExpiredError,
} from '../../core/metrics/log-watch.ts';
import { LogReadError } from './cloudwatch-logs-log-source.ts';

export interface CloudWatchLogsPageReaderOptions {
  /** Events per page. @default 10000 (the API's maximum; a page is also cut at 1 MB) */
  pageSize?: number;
}

export class CloudWatchLogsPageReader implements LogPageReader {
  readonly #client: CloudWatchLogsClient;
  readonly #pageSize: number;

  constructor(client: CloudWatchLogsClient, options: CloudWatchLogsPageReaderOptions = {}) {
    this.#client = client;
    this.#pageSize = options.pageSize ?? 10_000;
  }

  async readPage(request: LogPageRequest): Promise<LogPage> {
    const separator = request.log.indexOf(':');
    const group = separator === -1 ? request.log : request.log.slice(0, separator);
    const input: FilterLogEventsCommandInput = {
      logGroupName: group,
      startTime: request.fromMs,
      // The API's endTime is inclusive; the range's end is not.
      endTime: request.toMs - 1,
      limit: this.#pageSize,
      ...(separator === -1 ? {} : { logStreamNames: [request.log.slice(separator + 1)] }),
      ...(request.nextToken === undefined ? {} : { nextToken: request.nextToken }),
    };
    let response: FilterLogEventsCommandOutput;
    try {
      response = await this.#client.send(new FilterLogEventsCommand(input));
    } catch (error) {
      const name = (error as Error | undefined)?.name;
      const message = (error as Error | undefined)?.message ?? '';
      if (request.nextToken !== undefined && name === 'InvalidParameterException' && /token/i.test(message)) {
        throw new PageTokenExpiredError(`${request.log}: the continuation token was refused (${message})`, {
          cause: error,
        });
      }
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new LogReadError(`could not read CloudWatch Logs ${request.log}: ${detail}`, { cause: error });
    }
    const events = (response.events ?? []).map((event) => ({
      timestampMs: event.timestamp ?? 0,
      message: event.message ?? '',
      ...(event.ingestionTime === undefined ? {} : { ingestionMs: event.ingestionTime }),
    }));
    return response.nextToken ? { events, nextToken: response.nextToken } : { events };
  }
}
