import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CloudWatchLogsLogSource,
  LogReadBudgetError,
} from '../../../lambdas/adapters/aws/cloudwatch-logs-log-source.ts';

const logs = mockClient(CloudWatchLogsClient);
afterAll(() => logs.restore());
const T0 = Date.parse('2026-12-06T10:00:00Z');

describe('CloudWatchLogsLogSource time budget (M8)', () => {
  beforeEach(() => logs.reset());

  it('stops asking for pages when its budget is spent, after yielding what it read, and says up to when', async () => {
    let page = 0;
    let clock = 0;
    logs.on(FilterLogEventsCommand).callsFake(async () => {
      page++;
      clock += 10_000; // each page takes 10 s of a slow, busy log group
      return {
        events: [{ timestamp: T0 + page * 1000, message: `line ${page}`, ingestionTime: T0 + page * 1000 }],
        nextToken: `t${page}`,
      };
    });
    const source = new CloudWatchLogsLogSource(new CloudWatchLogsClient({ region: 'us-east-1' }), {
      readBudgetMs: 25_000,
      now: () => clock,
    });
    const read: string[] = [];

    const reading = (async () => {
      for await (const chunk of source.chunks({
        log: '/gatewatch/shop/nginx-error',
        fromMs: T0,
        toMs: T0 + 900_000,
      })) {
        read.push(new TextDecoder().decode(chunk));
      }
    })();

    const error = await reading.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LogReadBudgetError);
    expect((error as LogReadBudgetError).readUpToMs).toBe(T0 + 3000);
    expect((error as Error).message).toMatch(/time budget.*3 page\(s\).*2026-12-06T10:00:03.000Z/);
    expect(read.join('')).toBe('line 1\nline 2\nline 3\n');
    expect(logs.commandCalls(FilterLogEventsCommand)).toHaveLength(3);
  });

  it('reads the whole window when it fits the budget', async () => {
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [{ timestamp: T0, message: 'a' }], nextToken: 'x' })
      .resolves({ events: [{ timestamp: T0 + 1, message: 'b' }] });
    const source = new CloudWatchLogsLogSource(new CloudWatchLogsClient({ region: 'us-east-1' }), {
      readBudgetMs: 25_000,
    });
    const read: string[] = [];
    for await (const chunk of source.chunks({ log: 'g', fromMs: T0, toMs: T0 + 60_000 })) {
      read.push(new TextDecoder().decode(chunk));
    }
    expect(read.join('')).toBe('a\nb\n');
  });
});
