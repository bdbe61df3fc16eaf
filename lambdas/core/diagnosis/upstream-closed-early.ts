/**
 * `upstream-closed-early`: the upstream closed or reset the connection before a complete response. Three
 * stories tell it apart: the OOM killer ended it (see memory-oom.ts), it crashed or restarted (restarts in
 * the service facts), or — with `keepalive` in the upstream block and no restart — a keep-alive race:
 * the upstream closes idle connections sooner than nginx stops reusing them, and a request sent on such a
 * connection meets the close.
 */
import type { UpstreamGroup } from '../nginx/config.ts';
import type { FailureGroup } from '../nginx/error-log.ts';
import {
  baseCause,
  type Cause,
  type Context,
  hhmmss,
  quoteService,
  serviceEvidence,
  withServiceSteps,
} from './context.ts';
import { withOom } from './memory-oom.ts';

export function closedEarlyCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'upstream-closed-early', 0.85);
  cause.summary = `${group.peer} accepted the requests but closed or reset the connection before a complete response (${group.count}×): the upstream crashed, restarted or aborted mid-request.`;
  const facts = ctx.factsFor(group.peer);
  const hint = ctx.upstreamConfig(group.peer)?.service;
  const service = hint ? facts?.service : undefined;
  const restarted = (service?.restarts ?? 0) > 0 || (service !== undefined && !service.running);
  if (service?.restarts !== undefined && service.restarts > 0) {
    cause.findings.push({
      category: 'upstream-closed-early',
      severity: 'warning',
      title: `${quoteService(service.kind, service.name)} restarted ${service.restarts} times`,
      evidence: serviceEvidence(service),
    });
  }
  if (facts) withOom(ctx, facts, group, cause, 'lost the connection mid-request', 'the first reset');
  if (cause.rootCause !== 'upstream-closed-early') return withServiceSteps(cause, hint, service);

  const pool = keepalivePool(ctx, group.peer);
  if (pool && !restarted) return keepaliveRace(cause, group, pool);

  cause.nextSteps.push(
    `Read the upstream's own log at ${hhmmss(group.lastAt)} for a crash, an uncaught exception or a worker timeout (gunicorn/uwsgi/php-fpm kill slow workers).`,
    "Check the upstream's keep-alive timeout is longer than nginx's (`keepalive_timeout` upstream side) when the failures follow idle periods.",
  );
  return withServiceSteps(cause, hint, service);
}

/** The upstream block that keeps idle connections to `peer` open (`keepalive N`), if any. */
function keepalivePool(ctx: Context, peer: string | undefined): UpstreamGroup | undefined {
  if (!ctx.config || peer === undefined) return undefined;
  const named = new Set(ctx.passes(peer).flatMap((p) => (p.group ? [p.group] : [])));
  return ctx.config.upstreamGroups.find(
    (g) =>
      g.options.keepalive !== undefined &&
      (named.has(g.name) || g.servers.some((s) => s.address.toLowerCase() === peer.toLowerCase())),
  );
}

function keepaliveRace(cause: Cause, group: FailureGroup, pool: UpstreamGroup): Cause {
  const nginxIdle = pool.options.keepalive_timeout ?? '60s';
  cause.confidence = 0.8;
  cause.summary = `A keep-alive race on upstream "${pool.name}" (keepalive ${pool.options.keepalive} in ${pool.file}:${pool.line}): ${group.peer} closes idle connections before nginx stops reusing them (nginx keeps them ${nginxIdle}${pool.options.keepalive_timeout ? '' : ' by default'}), so requests sent on a just-closed connection fail (${group.count}× between ${hhmmss(group.firstAt)} and ${hhmmss(group.lastAt)}). The upstream did not restart.`;
  cause.findings.push({
    category: 'upstream-closed-early',
    severity: 'warning',
    title: `Keep-alive race: nginx reuses idle connections to "${pool.name}" for ${nginxIdle}, longer than ${group.peer} keeps them`,
    evidence: [
      {
        source: 'nginx -T',
        excerpt: `upstream ${pool.name} { keepalive ${pool.options.keepalive};${pool.options.keepalive_timeout ? ` keepalive_timeout ${pool.options.keepalive_timeout};` : ''} } (${pool.file}:${pool.line})`,
      },
    ],
  });
  cause.nextSteps.push(
    `Make the upstream keep idle connections longer than nginx does: its keep-alive timeout above ${nginxIdle} (Node.js \`server.keepAliveTimeout = 65000\` — the default is 5 s; gunicorn \`--keep-alive 75\`; uvicorn \`--timeout-keep-alive 75\`).`,
    `Or make nginx drop them sooner: \`keepalive_timeout 4s;\` in \`upstream ${pool.name}\` (${pool.file}:${pool.line}), below the upstream's own timeout; then \`nginx -t && nginx -s reload\`.`,
  );
  return cause;
}
