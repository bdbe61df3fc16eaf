/**
 * `no-live-upstreams` is a symptom: every server of a group is marked failed. When its servers' failures
 * are in the window their cause is the verdict and the symptom a finding; alone, it says to look earlier.
 */
import type { FailureGroup } from '../nginx/error-log.ts';
import { baseCause, type Cause, type Context, isSymptom, lineEvidence, lowerFirst } from './context.ts';

export function noLiveUpstreamsCause(ctx: Context, group: FailureGroup): Cause {
  // Only symptoms in the window: the failures that disabled the servers happened before it.
  const cause = baseCause(ctx, group, 'no-live-upstreams', 0.5);
  cause.summary = `nginx has no live server left in upstream "${group.peer}" (${group.count}×), and the failures that disabled them are not in the window: widen --since to find the first one.`;
  cause.nextSteps.push(
    `Re-run with a wider window (\`gatewatch diagnose --since 2h\`) to find what first failed in "${group.peer}"; check \`max_fails\`/\`fail_timeout\` on its servers.`,
  );
  return cause;
}

/** Adds the symptom to the cause found for the group's servers, and says so in the summary. */
export function withNoLiveUpstreams(ctx: Context, cause: Cause): Cause {
  const symptom = ctx.groups.find((g) => g.kind === 'no-live-upstreams');
  if (!symptom || cause.rootCause === 'no-live-upstreams') return cause;
  const members = ctx.config?.upstreamGroups
    .find((g) => g.name === symptom.peer)
    ?.servers.map((s) => s.address);
  const linked = ctx.symptoms
    .filter((s) => s.group === symptom.peer)
    .flatMap((s) => s.causes.map((c) => c.peer));
  const related =
    cause.peer === undefined ||
    members?.includes(cause.peer) === true ||
    linked.includes(cause.peer) ||
    (members === undefined && linked.length === 0);
  if (!related) return cause;
  const failing = ctx.groups.filter(
    (g) => !isSymptom(g) && g.peer !== undefined && (members ?? linked).includes(g.peer),
  );
  const servers = failing.length > 1 ? ` (${failing.map((g) => g.peer).join(', ')} all failing)` : '';
  cause.findings.push({
    category: 'no-live-upstreams',
    severity: 'warning',
    title: `nginx marked every server of upstream "${symptom.peer}" as failed${servers}: ${symptom.count}× "no live upstreams"`,
    evidence: [lineEvidence(ctx, symptom.example)],
  });
  cause.summary = `Every server of upstream "${symptom.peer}" is failing, so nginx has none left (${symptom.count}× "no live upstreams"). The cause: ${lowerFirst(cause.summary)}`;
  return cause;
}
