import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ProbeHistoryReadError,
  readProbeHistory,
} from '../../../lambdas/adapters/aws/cloudwatch-probe-history.ts';

const cloudwatch = mockClient(CloudWatchClient);
afterAll(() => cloudwatch.restore());

const T = Date.parse('2026-12-07T04:00:00Z');
const at = (minute: number) => new Date(T + minute * 60_000);
const TARGETS = new Set(['shop', 'blog', 'api']);

describe('reading ProbeFailed back (a new probe execution environment)', () => {
  beforeEach(() => cloudwatch.reset());

  it('asks one Metrics Insights query over the range and returns each target’s values, oldest first, across pages', async () => {
    cloudwatch
      .on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [
          // Newest first, as GetMetricData may return them; the label carries more than the name.
          { Label: 'Target=shop', Timestamps: [at(3), at(2)], Values: [0, 1], StatusCode: 'PartialData' },
        ],
        NextToken: 'page-2',
      })
      .resolves({
        MetricDataResults: [
          { Label: 'shop', Timestamps: [at(4)], Values: [0], StatusCode: 'Complete' },
          { Label: 'blog', Timestamps: [at(1)], Values: [1], StatusCode: 'Complete' },
          { Label: 'api', Timestamps: [], Values: [], StatusCode: 'Complete' },
        ],
      });
    const history = await readProbeHistory(
      new CloudWatchClient({ region: 'us-east-1' }),
      T,
      T + 7 * 60_000,
      TARGETS,
    );
    expect(history).toEqual([
      { target: 'shop', values: [1, 0, 0] },
      { target: 'blog', values: [1] },
    ]);
    const calls = cloudwatch.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.NextToken).toBe('page-2');
    expect(calls[0]!.MetricDataQueries?.[0]).toMatchObject({
      Expression: expect.stringMatching(
        /^SELECT MAX\(ProbeFailed\) FROM SCHEMA\("Gatewatch", Target\) GROUP BY Target/,
      ),
      Period: 60,
    });
    expect(calls[0]!.StartTime).toEqual(new Date(T));
  });

  it('fails (so the caller assumes every target owed) on a series it cannot place, or on an API error', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Label: 'payments', Timestamps: [at(1)], Values: [1] }],
    });
    await expect(
      readProbeHistory(new CloudWatchClient({ region: 'us-east-1' }), T, T + 60_000, TARGETS),
    ).rejects.toThrow(ProbeHistoryReadError);
    cloudwatch.reset();
    cloudwatch.on(GetMetricDataCommand).rejects(new Error('AccessDenied'));
    await expect(
      readProbeHistory(new CloudWatchClient({ region: 'us-east-1' }), T, T + 60_000, TARGETS),
    ).rejects.toThrow(/could not read ProbeFailed back: AccessDenied/);
  });
});
