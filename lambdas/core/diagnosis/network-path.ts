/**
 * The network path: `upstream-connect-timeout`, `upstream-unreachable` and the `network-blocked-*` causes
 * a security group, network ACL or host firewall rule on the path explains.
 */
import type { FailureGroup } from '../nginx/error-log.ts';
import type { RootCause } from '../root-causes.ts';
import { baseCause, type Cause, type Context } from './context.ts';

/** A firewall REJECT reaches nginx as "connection refused", a DROP as a connect timeout. */
export function blockedPathExplains(ctx: Context, group: FailureGroup): boolean {
  const blocked = (ctx.evidence.network?.blockedBy.length ?? 0) > 0;
  return (
    blocked && (group.kind === 'refused' || group.kind === 'connect-timeout' || group.kind === 'unreachable')
  );
}

export function pathCause(ctx: Context, group: FailureGroup): Cause {
  const rootCause: RootCause =
    group.kind === 'unreachable' ? 'upstream-unreachable' : 'upstream-connect-timeout';
  const cause = baseCause(ctx, group, rootCause, 0.75);
  const network = ctx.evidence.network;
  const blocks = network?.blockedBy ?? [];
  if (blocks.length > 0) {
    const first = blocks[0]!;
    cause.rootCause =
      first.kind === 'security-group'
        ? 'network-blocked-security-group'
        : first.kind === 'network-acl'
          ? 'network-blocked-nacl'
          : first.kind === 'host-firewall'
            ? 'network-blocked-host-firewall'
            : 'upstream-unreachable';
    cause.confidence = 0.9;
    cause.summary = `nginx could not reach ${group.peer}: ${first.kind} ${first.id} ${first.direction} blocks it (${first.rule}).`;
    for (const block of blocks) {
      cause.findings.push({
        category: cause.rootCause,
        severity: 'critical',
        title: `${block.kind} ${block.id} blocks ${block.direction}`,
        evidence: [{ source: block.kind, excerpt: block.rule }],
      });
      cause.nextSteps.push(block.fix);
    }
    return cause;
  }
  const setting = ctx.quote(group.peer, 'connect_timeout');
  if (setting) cause.findings[0]!.evidence.push(setting.evidence);
  cause.summary =
    group.kind === 'unreachable'
      ? `The network reported no route to ${group.peer} (${group.count}×): the host is down or a route is missing.`
      : `Connecting to ${group.peer} timed out ${group.count} times${setting ? ` (${setting.text})` : ''}: packets are dropped on the way (security group, network ACL, firewall) or the host is down.`;
  if (network?.status === 'skipped') {
    cause.nextSteps.push(
      `The network path was not checked (${network.reason ?? 'no network inventory'}): run \`gatewatch network --from <nginx host> --to ${group.peer}\`.`,
    );
  }
  cause.nextSteps.push(
    `From the nginx host: \`nc -vz -w 3 ${(group.peer ?? '').replace(/:(\d+)$/, ' $1')}\`; check security groups, network ACLs and \`iptables -S\` on both hosts.`,
  );
  return cause;
}
