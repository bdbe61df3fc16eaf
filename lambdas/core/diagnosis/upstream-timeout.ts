/** `upstream-timeout`: the upstream accepted the connection but answered too late (504). */
import type { FailureGroup } from '../nginx/error-log.ts';
import { baseCause, type Cause, type Context } from './context.ts';

export function timeoutCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'upstream-timeout', 0.9);
  const setting = ctx.quote(group.peer, group.kind === 'send-timeout' ? 'send_timeout' : 'read_timeout');
  const slowest = group.peer ? ctx.evidence.traffic?.byUpstream[group.peer]?.maxResponseTime : undefined;
  const limit = setting ? ` (${setting.text})` : '';
  cause.summary = `${group.peer} accepted nginx's connections but did not answer in time${limit}: nginx gave up ${group.count} times${group.kind === 'read-timeout' ? ' waiting for the response header' : ' sending the request'} and answered 504.${slowest !== undefined ? ` Slowest upstream response in the access log: ${slowest}s.` : ''}`;
  if (setting) cause.findings[0]!.evidence.push(setting.evidence);
  cause.ruledOut.push(`connectivity to ${group.peer}: nginx connected (the timeout came after connecting)`);
  cause.nextSteps.push(
    `Find why ${group.peer} is slow for these requests (its own logs, CPU, database), then decide the limit.`,
    setting
      ? `If the upstream legitimately needs longer, raise the limit: ${setting.text} → e.g. 30s, then \`nginx -t && nginx -s reload\`.`
      : 'If the upstream legitimately needs longer, raise `proxy_read_timeout` for this location.',
  );
  return cause;
}
