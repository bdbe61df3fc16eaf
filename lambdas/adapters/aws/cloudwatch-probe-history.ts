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
import { contributorQuery } from '../../core/alarm/contributor-alarms.ts';
import type { PublishedHistory } from '../../core/metrics/probe-publication.ts';

export class ProbeHistoryReadError extends Error {
  override name = 'ProbeHistoryReadError';
}

/**
 * The target a series belongs to. A `GROUP BY Target` series is labelled with its group's value (the
 * target's name); matched against the configured names as a whole token, so a label that carries more
 * (`Target=shop`, several keys) still finds its target.
 */
function targetOfLabel(label: string | undefined, targets: ReadonlySet<string>): string | undefined {
  if (label === undefined) return undefined;
  if (targets.has(label)) return label;
  return label.split(/[\s,=:]+/).find((token) => targets.has(token));
}

/**
 * The published `ProbeFailed` datapoints of every target that has any in `[fromMs, toMs)`, oldest first.
 * A series whose label names no configured target makes the read fail: the caller then assumes every
 * target owed, rather than none.
 */
export async function readProbeHistory(
  client: CloudWatchClient,
  fromMs: number,
  toMs: number,
  targets: ReadonlySet<string>,
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
        if ((series.Timestamps ?? []).length === 0) continue;
        const target = targetOfLabel(series.Label, targets);
        if (target === undefined) {
          throw new ProbeHistoryReadError(
            `series ${JSON.stringify(series.Label)} names no configured target`,
          );
        }
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
    if (error instanceof ProbeHistoryReadError) throw error;
    throw new ProbeHistoryReadError(`could not read ProbeFailed back: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return [...history].map(([target, points]) => ({
    target,
    values: points.sort((a, b) => a.at - b.at).map((p) => p.value),
  }));
}
