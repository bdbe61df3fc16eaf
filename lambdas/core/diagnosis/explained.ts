/**
 * How much of the failing traffic the verdict and findings explain: the access log's failing requests per
 * upstream against the error log's failures for that upstream. Counts, not a per-request join: the
 * traffic summary carries no request ids.
 */
import type { RootCause } from '../root-causes.ts';
import type { Finding } from '../types.ts';
import { type Context, isSymptom } from './context.ts';

export function explainedFinding(ctx: Context, verdict: RootCause): Finding | undefined {
  const traffic = ctx.evidence.traffic;
  if (!traffic || traffic.status5xx === 0) return undefined;
  const failing =
    (traffic.byStatus['502'] ?? 0) + (traffic.byStatus['504'] ?? 0) + (traffic.byStatus['503'] ?? 0);
  if (failing === 0) return undefined;
  const logged = new Map<string, { count: number; causes: Set<string> }>();
  for (const group of ctx.groups) {
    if (isSymptom(group) || group.peer === undefined) continue;
    const entry = logged.get(group.peer) ?? { count: 0, causes: new Set<string>() };
    entry.count += group.count;
    entry.causes.add(group.rootCause);
    logged.set(group.peer, entry);
  }
  const parts: string[] = [];
  const rest: string[] = [];
  let explained = 0;
  for (const [peer, stats] of Object.entries(traffic.byUpstream)) {
    const peerFailing =
      (stats.byStatus['502'] ?? 0) + (stats.byStatus['504'] ?? 0) + (stats.byStatus['503'] ?? 0);
    if (peerFailing === 0) continue;
    const match = logged.get(peer);
    const n = Math.min(peerFailing, match?.count ?? 0);
    explained += n;
    if (n > 0) parts.push(`${peer} ${n} (${[...(match?.causes ?? [])].join(', ')})`);
    if (peerFailing > n) rest.push(`${peer} ${peerFailing - n} with no matching error line`);
  }
  const unattributed =
    failing -
    Object.values(traffic.byUpstream).reduce(
      (sum, s) => sum + (s.byStatus['502'] ?? 0) + (s.byStatus['504'] ?? 0) + (s.byStatus['503'] ?? 0),
      0,
    );
  if (unattributed > 0) rest.push(`${unattributed} with no upstream in the access log`);
  const share = Math.round((100 * Math.min(explained, failing)) / failing);
  return {
    category: share >= 90 ? verdict : 'unknown',
    severity: 'info',
    title: `${share}% of the ${failing} failing requests (502/503/504) are explained by nginx's error log${parts.length ? `: ${parts.join('; ')}` : ''}${rest.length ? `. Not explained: ${rest.join('; ')}` : ''}`,
    evidence: [],
  };
}
