/**
 * Reads back the `ProbeFailed` datapoints published over the last minutes, one series per target, with
 * one Metrics Insights query (`GetMetricData`): what a new probe execution environment needs to know which
 * targets are still owed datapoints after a failure (`core/metrics/probe-publication.ts`). The metric is
 * sparse, so a healthy fleet returns no series at all.
 *
 * Limits: a Metrics Insights query returns at most 500 time series and reads the latest 3 hours only
 * ("Metrics Insights quotas"); `GetMetricData` has no resource-level permission (Resource "*").
 */
import { type CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CONTRIBUTOR_DIMENSION, contributorQuery } from '../../core/alarm/contributor-alarms.ts';
import type { PublishedHistory } from '../../core/metrics/probe-publication.ts';

export class ProbeHistoryReadError extends Error {
  override name = 'ProbeHistoryReadError';
}

/** The published `ProbeFailed` datapoints of every target that has any in `[fromMs, toMs)`, oldest first. */
export async function readProbeHistory(
  client: CloudWatchClient,
  fromMs: number,
  toMs: number,
): Promise<PublishedHistory[]> {
  const history = new Map<string, { at: number; value: number }[]>();
  let nextToken: string | undefined;
  try {
    do {
      const page = await client.send(
        new GetMetricDataCommand({
          StartTime: new Date(fromMs),
          EndTime: new Date(toMs),
          MetricDataQueries: [
            {
              Id: 'probeFailed',
              Expression: contributorQuery('ProbeFailed', 'Maximum', undefined),
              Period: 60,
              ReturnData: true,
            },
          ],
          ScanBy: 'TimestampAscending',
          NextToken: nextToken,
        }),
      );
      for (const series of page.MetricDataResults ?? []) {
        // A GROUP BY series is labelled with its group's value: the target's name.
        const target = series.Label;
        if (target === undefined || target === '' || target === CONTRIBUTOR_DIMENSION) continue;
        const points = history.get(target) ?? [];
        (series.Timestamps ?? []).forEach((at, i) => {
          const value = series.Values?.[i];
          if (value !== undefined) points.push({ at: at.getTime(), value });
        });
        history.set(target, points);
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
  } catch (error) {
    throw new ProbeHistoryReadError(`could not read ProbeFailed back: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return [...history].map(([target, points]) => ({
    target,
    values: points.sort((a, b) => a.at - b.at).map((p) => p.value),
  }));
}
