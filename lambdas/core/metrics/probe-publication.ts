/**
 * Which probe results become `ProbeFailed` datapoints in AWS. A custom metric costs $0.30 for every month
 * it has data (prorated by the hour in which it has any), so publishing every target's 0 every minute
 * costs $0.30 a target whether anything fails or not. gatewatch publishes **sparsely**:
 *
 * - a failed probe is published (1);
 * - after a target's last failure, its next `tail` probe results are published too (0s when it passes);
 * - then nothing, until it fails again.
 *
 * **Why the alarm cannot tell the difference.** The probe-failed alarm treats missing data as not
 * breaching. CloudWatch evaluates the N most recent *real* datapoints in its evaluation range, reaching
 * back over gaps, and fills gaps only when fewer than N are real (`lambdas/core/alarm/evaluate.ts`, from
 * "How alarm state is evaluated when data is missing"). With `tail >= N`, every range that holds a
 * failure also holds the `tail` datapoints published after it, so whenever the two publications differ
 * (a quiet period is missing instead of 0) either N newer real datapoints exist — the same ones a dense
 * publication evaluates — or the range holds only the current episode, whose datapoints are all real and
 * whose missing periods are quiet ones before it (0 when dense, not breaching when filled). Either way
 * the count of breaching datapoints is the same, so the state is. `test/core/metrics/probe-publication.
 * test.ts` checks this against the evaluator for random sequences and shows that `tail = N - 1` breaks it.
 * The tail used is N + 2, the size of the evaluation range in AWS's own example (the exact size is not
 * published): a margin, not a requirement.
 *
 * What the Lambda must remember between runs is the zeros still owed per target ({@link OwedZeros}); it
 * keeps them in memory and, when it starts without them (a new execution environment), recovers them
 * from the metric itself ({@link owedZerosFromHistory}).
 */
import type { ProbeResult } from '../probe/types.ts';

/** Target → datapoints still to publish after its last failure. Absent or 0: publish nothing while it passes. */
export type OwedZeros = ReadonlyMap<string, number>;

/** The tail after a failure for an alarm of N evaluation periods: N + 2 (see the module comment). */
export function publicationTail(evaluationPeriods: number): number {
  return evaluationPeriods + 2;
}

export interface SparsePublication {
  /** Results to publish as `ProbeFailed` datapoints. */
  published: ProbeResult[];
  /** Results that stay log lines only (passing, no tail owed). */
  quiet: ProbeResult[];
  /** What is owed after this run. */
  owed: Map<string, number>;
}

/**
 * Splits a run's results. `tailOf(target)` is the tail of the target's alarm
 * ({@link publicationTail} of its N). Targets not in `results` keep what they are owed.
 */
export function sparseProbePublication(
  results: readonly ProbeResult[],
  owed: OwedZeros,
  tailOf: (target: string) => number,
): SparsePublication {
  const next = new Map(owed);
  const published: ProbeResult[] = [];
  const quiet: ProbeResult[] = [];
  for (const result of results) {
    if (!result.ok) {
      published.push(result);
      next.set(result.target, tailOf(result.target));
      continue;
    }
    const left = next.get(result.target) ?? 0;
    if (left > 0) {
      published.push(result);
      if (left === 1) next.delete(result.target);
      else next.set(result.target, left - 1);
    } else {
      quiet.push(result);
      next.delete(result.target);
    }
  }
  return { published, quiet, owed: next };
}

/** A target's recent `ProbeFailed` datapoints as read back from CloudWatch. */
export interface PublishedHistory {
  target: string;
  /** The datapoints' values, oldest first (one per published probe run). */
  values: readonly number[];
}

/**
 * What is still owed, recovered from the datapoints already published (read back over the last few
 * minutes): the tail after the newest failure minus the datapoints published since. The metric is the
 * record: a datapoint exists exactly when one was published.
 */
export function owedZerosFromHistory(
  history: readonly PublishedHistory[],
  tailOf: (target: string) => number,
): Map<string, number> {
  const owed = new Map<string, number>();
  for (const { target, values } of history) {
    const newestFailure = values.findLastIndex((value) => value >= 1);
    if (newestFailure < 0) continue;
    const since = values.length - 1 - newestFailure;
    const left = tailOf(target) - since;
    if (left > 0) owed.set(target, left);
  }
  return owed;
}
