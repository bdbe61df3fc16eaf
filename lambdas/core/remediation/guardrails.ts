/**
 * The guardrails that do not depend on where gatewatch runs, as pure decisions over the remediation
 * ledger (every action that ran, per target and host, kept across incidents and restarts):
 * - a rate limit: at most `maxPerHour` actions per target, and per host across all targets and
 *   concurrent incidents, in any sliding hour;
 * - a circuit breaker: after {@link BREAKER_FAILURES} failed repairs of a target in a row (each within
 *   {@link BREAKER_WINDOW_MS} of the next), nothing more runs for that target until an hour has passed
 *   since the last failure; a person looks first.
 * The one-host-at-a-time lock and the allowlist are enforced around these (ledger adapters, plan).
 */

/** One action in the ledger. `dry-run` and `refused` entries are recorded but never count. */
export interface LedgerEntry {
  incidentId: string;
  target: string;
  host: string;
  action: string;
  at: string;
  outcome: 'started' | 'verified' | 'failed' | 'refused' | 'dry-run';
}

export const HOUR_MS = 3_600_000;
/** Failed repairs in a row that open the breaker. */
export const BREAKER_FAILURES = 2;
/** How long the breaker stays open after the last failure. */
export const BREAKER_WINDOW_MS = HOUR_MS;

export type GuardrailVerdict =
  | { allowed: true }
  | {
      allowed: false;
      guardrail: 'rate-limit-target' | 'rate-limit-host' | 'circuit-breaker';
      reason: string;
    };

const RAN = new Set<LedgerEntry['outcome']>(['started', 'verified', 'failed']);

/**
 * May one more action run for `target` on `host` at `nowMs`? `incidentId`'s own entries do not count
 * against it (a re-delivered step must not refuse the action its first delivery reserved).
 */
export function checkGuardrails(
  entries: readonly LedgerEntry[],
  request: { target: string; host: string; incidentId: string; nowMs: number; maxPerHour: number },
): GuardrailVerdict {
  const recent = entries.filter(
    (e) =>
      RAN.has(e.outcome) &&
      e.incidentId !== request.incidentId &&
      request.nowMs - Date.parse(e.at) < HOUR_MS &&
      Date.parse(e.at) <= request.nowMs,
  );
  const forTarget = recent.filter((e) => e.target === request.target).length;
  if (forTarget >= request.maxPerHour) {
    return {
      allowed: false,
      guardrail: 'rate-limit-target',
      reason: `${forTarget} action(s) already ran for target ${request.target} in the last hour (maxPerHour: ${request.maxPerHour})`,
    };
  }
  const forHost = recent.filter((e) => e.host === request.host).length;
  if (forHost >= request.maxPerHour) {
    return {
      allowed: false,
      guardrail: 'rate-limit-host',
      reason: `${forHost} action(s) already ran on host ${request.host} in the last hour, across targets (maxPerHour: ${request.maxPerHour})`,
    };
  }
  const finished = entries
    .filter((e) => e.target === request.target && (e.outcome === 'verified' || e.outcome === 'failed'))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const last = finished.slice(-BREAKER_FAILURES);
  if (
    last.length === BREAKER_FAILURES &&
    last.every((e) => e.outcome === 'failed') &&
    request.nowMs - Date.parse(last[last.length - 1]!.at) < BREAKER_WINDOW_MS
  ) {
    return {
      allowed: false,
      guardrail: 'circuit-breaker',
      reason: `the last ${BREAKER_FAILURES} repairs of target ${request.target} did not recover it; the circuit breaker is open until an hour after the last failure`,
    };
  }
  return { allowed: true };
}

/** Entries older than a day are dropped when the ledger is written (nothing looks further back). */
export function pruneLedger(entries: readonly LedgerEntry[], nowMs: number): LedgerEntry[] {
  return entries.filter((e) => nowMs - Date.parse(e.at) < 24 * HOUR_MS);
}
