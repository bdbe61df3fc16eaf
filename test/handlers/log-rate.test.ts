import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchLogsInsights } from '../../lambdas/adapters/aws/cloudwatch-logs-insights.ts';
import {
  LOG_RATE_QUERY,
  type LogRateTarget,
  minuteCountsByGroup,
} from '../../lambdas/core/metrics/log-rate.ts';
import { runLogRate } from '../../lambdas/handlers/log-watch.ts';

const logs = mockClient(CloudWatchLogsClient);
afterAll(() => logs.restore());

const M = 60_000;
const NOW = Date.parse('2026-12-06T10:04:30Z');
// Newest settled minute: 10:04:30 − 60 s settle → 10:03, minus the minute still being indexed → 10:02,
// whose query is started and left running; the minute published is the one before it, 10:01.
const MINUTE = Date.parse('2026-12-06T10:01:00Z');
const targets: LogRateTarget[] = [
  { target: 'shop', logGroup: '/gatewatch/shop/nginx-access', window: { minutes: 5, minRequests: 20 } },
  { target: 'blog', logGroup: '/gatewatch/blog/nginx-access', window: { minutes: 5, minRequests: 20 } },
];

function row(minute: number, group: string, requests: number, gw: number, clf = 0) {
  const at = new Date(minute).toISOString().replace('T', ' ').replace('Z', '');
  return [
    { field: 'minute', value: at },
    { field: '@log', value: `123456789012:${group}` },
    { field: 'requests', value: String(requests) },
    { field: 'gwErrors', value: String(gw) },
    { field: 'clfErrors', value: String(clf) },
  ];
}

describe('the log-rate Lambda', () => {
  beforeEach(() => logs.reset());

  it('asks Logs Insights once for the window and publishes the 5xx share of the target with errors only', async () => {
    logs.on(StartQueryCommand).resolves({ queryId: 'q-1' });
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: 'Running' })
      .resolves({
        status: 'Complete',
        results: [
          row(MINUTE - M, '/gatewatch/shop/nginx-access', 100, 0),
          row(MINUTE, '/gatewatch/shop/nginx-access', 100, 20, 10),
          row(MINUTE, '/gatewatch/blog/nginx-access', 400, 0),
        ],
      });
    const lines: string[] = [];
    const insights = new CloudWatchLogsInsights(new CloudWatchLogsClient({ region: 'us-east-1' }), {
      pollMs: 1,
    });

    const outcome = await runLogRate({ targets, insights }, NOW, Date.now() + 60_000, (l) =>
      lines.push(...l),
    );

    const start = logs.commandCalls(StartQueryCommand)[0]!.args[0].input;
    expect(start.logGroupNames?.sort()).toEqual([
      '/gatewatch/blog/nginx-access',
      '/gatewatch/shop/nginx-access',
    ]);
    expect(start.queryString).toBe(LOG_RATE_QUERY);
    // The window (5 minutes) and the two trailing minutes, ending with the published minute.
    expect(start.startTime).toBe((MINUTE - 6 * M) / 1000);
    expect(start.endTime).toBe((MINUTE + M) / 1000 - 1);
    expect(outcome).toMatchObject({
      minute: new Date(MINUTE).toISOString(),
      // A new execution environment: the published minute's query waited for, the next one's left running.
      queries: 2,
      collected: 0,
      published: ['shop'],
      failed: [],
    });
    const documents = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(documents).toHaveLength(1);
    // 30 of 200 requests over the window: a ratio of sums.
    expect(documents[0]).toMatchObject({ Target: 'shop', Status5xxShare: 15, requests: 200, status5xx: 30 });
  });

  it('stops a query that is not done by the deadline and reports the batch as failed, publishing nothing', async () => {
    logs.on(StartQueryCommand).resolves({ queryId: 'q-2' });
    logs.on(GetQueryResultsCommand).resolves({ status: 'Running' });
    logs.on(StopQueryCommand).resolves({ success: true });
    const insights = new CloudWatchLogsInsights(new CloudWatchLogsClient({ region: 'us-east-1' }), {
      pollMs: 5,
    });
    const lines: string[] = [];

    const outcome = await runLogRate({ targets, insights }, NOW, Date.now() + 5_300, (l) => lines.push(...l));

    expect(outcome.failed).toEqual([expect.stringContaining('still Running at the deadline')]);
    expect(logs.commandCalls(StopQueryCommand)).toHaveLength(1);
    expect(lines).toEqual([]);
  });

  it('collects the minute the previous run started instead of waiting for a new query', async () => {
    let started = 0;
    logs.on(StartQueryCommand).callsFake(() => ({ queryId: `q-${++started}` }));
    // Only the query started for 10:02 (the second one) holds the errors.
    logs.on(GetQueryResultsCommand).callsFake((input: { queryId: string }) => ({
      status: 'Complete',
      results:
        input.queryId === 'q-2'
          ? [row(MINUTE + M, '/gatewatch/blog/nginx-access', 40, 30)]
          : [row(MINUTE, '/gatewatch/blog/nginx-access', 40, 0)],
    }));
    const insights = new CloudWatchLogsInsights(new CloudWatchLogsClient({ region: 'us-east-1' }), {
      pollMs: 1,
    });
    const run = { targets, insights };
    const lines: string[] = [];

    const first = await runLogRate(run, NOW, Date.now() + 60_000, (l) => lines.push(...l));
    expect(first).toMatchObject({ queries: 2, collected: 0, published: [] });
    logs.resetHistory();
    const second = await runLogRate(run, NOW + M, Date.now() + 60_000, (l) => lines.push(...l));

    expect(second).toMatchObject({
      minute: new Date(MINUTE + M).toISOString(),
      queries: 1,
      collected: 1,
      published: ['blog'],
      failed: [],
    });
    // One new query (for 10:03, left running); the published minute's result came from q-2.
    const starts = logs.commandCalls(StartQueryCommand).map((c) => c.args[0].input);
    expect(starts).toHaveLength(1);
    expect(starts[0]!.endTime).toBe((MINUTE + 3 * M) / 1000 - 1);
    expect(logs.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input.queryId)).toEqual(['q-2']);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ Target: 'blog', Status5xxShare: 75 });
  });

  it('starts and waits again after a missed run: a query left for another minute is not used', async () => {
    let started = 0;
    logs.on(StartQueryCommand).callsFake(() => ({ queryId: `q-${++started}` }));
    logs.on(GetQueryResultsCommand).resolves({ status: 'Complete', results: [] });
    const insights = new CloudWatchLogsInsights(new CloudWatchLogsClient({ region: 'us-east-1' }), {
      pollMs: 1,
    });
    const run = { targets, insights };
    await runLogRate(run, NOW, Date.now() + 60_000, () => undefined);
    logs.resetHistory();
    // Two minutes later: the query left running was for 10:02, the minute to publish is 10:03.
    const later = await runLogRate(run, NOW + 2 * M, Date.now() + 60_000, () => undefined);
    expect(later).toMatchObject({ minute: new Date(MINUTE + 2 * M).toISOString(), queries: 2, collected: 0 });
    expect(logs.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input.queryId)).toEqual(['q-3']);
  });

  it('refuses result rows that are not the query’s shape with its own error', () => {
    expect(() => minuteCountsByGroup([{ minute: 'soon', '@log': 'a:b' }])).toThrow(/not a time/);
    expect(() => minuteCountsByGroup([{ minute: '2026-12-06 10:00:00.000' }])).toThrow(/no @log/);
  });
});
