/**
 * `upstream-down` and `upstream-wrong-address`: nginx's connections were refused. Who listens where now
 * tells them apart: nothing at all (down), the service elsewhere (wrong address), the same port in the other
 * address family (Node ≥ 17 binding `localhost` → `[::1]:P` while nginx connects `127.0.0.1:P`), or the
 * configured upstream listening on the address nginx should target while `proxy_pass` names another.
 */
import type { HostFacts, Listener } from '../diagnostics/host-facts.ts';
import { listenerFor } from '../diagnostics/host-facts.ts';
import type { FailureGroup } from '../nginx/error-log.ts';
import { peerHostPort } from '../nginx/peer.ts';
import {
  baseCause,
  type Cause,
  type Context,
  describeListener,
  hhmmss,
  listenEvidence,
  listenerFinding,
  portOf,
  quoteService,
  serviceEvidence,
  withServiceSteps,
} from './context.ts';
import { withOom } from './memory-oom.ts';

const LOOPBACK_OR_ANY = new Set(['127.0.0.1', '[::1]', 'localhost', '0.0.0.0', '[::]']);

export function refusedCause(ctx: Context, group: FailureGroup): Cause {
  const peer = group.peer;
  const facts = ctx.factsFor(peer);
  const hint = ctx.upstreamConfig(peer)?.service;
  const cause = baseCause(ctx, group, 'upstream-down', facts ? 0.85 : 0.7);
  const pass = ctx.passes(peer)[0];
  const target = pass ? ` (${pass.directive} ${pass.target} in ${pass.file}:${pass.line})` : '';

  if (!facts) {
    cause.summary = `nginx's connections to ${peer} were refused ${group.count} times: nothing was listening there${target}. The host was not examined, so whether the service is down or listening elsewhere is not established.`;
    cause.nextSteps.push(`On the upstream host: \`ss -tlnp | grep ':${portOf(peer)}'\` to see what listens.`);
    return withServiceSteps(cause, hint);
  }

  const listener = peer ? listenerFor(facts, peer) : undefined;
  if (listener) {
    cause.confidence = 0.6;
    cause.findings.push(listenerFinding(facts, listener, 'info', `${peer} is listening again now`));
    cause.summary = `${peer} refused nginx's connections ${group.count} times (last at ${hhmmss(group.lastAt)}), but ${describeListener(listener)} listens there now: the upstream was down and has come back (restart or crash loop).`;
    cause.nextSteps.push(
      'Find out why it stopped: the service log around the last refused connection, and its restart count.',
    );
    return withServiceSteps(
      withOom(ctx, facts, group, cause, 'found nothing listening', 'the first refusal'),
      hint,
      facts.service,
    );
  }

  cause.findings.push({
    category: 'upstream-down',
    severity: 'critical',
    title: `Nothing listens on ${peer}`,
    evidence: [listenEvidence(facts, peer)],
  });

  const otherFamily = peer ? otherFamilyListener(facts, peer) : undefined;
  if (otherFamily) return otherFamilyCause(cause, group, facts, otherFamily, target, ctx);

  // The host's service facts come from this upstream's hint only; another upstream's service says nothing here.
  const service = hint ? facts.service : undefined;
  if (service?.running && service.listening.length > 0) {
    const elsewhere = service.listening.filter((address) => address !== peer);
    if (elsewhere.length > 0) {
      cause.rootCause = 'upstream-wrong-address';
      cause.confidence = 0.9;
      cause.summary = `The service ${quoteService(service.kind, service.name)} is running but listens on ${elsewhere.join(', ')}, while nginx connects to ${peer}${target}: the addresses do not match.`;
      cause.findings.push({
        category: 'upstream-wrong-address',
        severity: 'critical',
        title: `${quoteService(service.kind, service.name)} listens on ${elsewhere.join(', ')}, not ${peer}`,
        evidence: [
          {
            source: `service (${service.kind})`,
            excerpt: `pids ${service.pids.join(', ')} listening on ${service.listening.join(', ')}`,
          },
        ],
      });
      cause.nextSteps.push(
        pass
          ? `Make them agree: change \`${pass.directive} ${pass.target}\` in ${pass.file}:${pass.line} to the address the service uses, or start the service on ${peer}; then \`nginx -t && nginx -s reload\`.`
          : `Make them agree: point nginx at ${elsewhere[0]} or start the service on ${peer}.`,
      );
      return cause;
    }
  }

  // A hint for another address where the app does listen: nginx's proxy_pass names the wrong port or host.
  if (!hint) {
    const wrongTarget = configuredElsewhere(ctx, facts, peer);
    if (wrongTarget) return wrongTargetCause(cause, group, facts, wrongTarget, target, ctx);
  }

  if (service && !service.running) {
    cause.confidence = 0.95;
    cause.findings.push({
      category: 'upstream-down',
      severity: 'critical',
      title: `The service ${quoteService(service.kind, service.name)} is not running`,
      evidence: serviceEvidence(service),
    });
  } else if (service?.running) {
    cause.confidence = 0.8;
    cause.findings.push({
      category: 'upstream-down',
      severity: 'warning',
      title: `The service ${quoteService(service.kind, service.name)} runs but listens on no TCP port`,
      evidence: serviceEvidence(service),
    });
  }
  const who = service ? `the service ${quoteService(service.kind, service.name)}` : 'no process';
  cause.summary = `Nothing listens on ${peer}${target}: ${who}${service && !service.running ? ' is not running' : service ? ' listens elsewhere or not at all' : ' was found on that port'}, so nginx's connections are refused (${group.count}× since ${hhmmss(group.firstAt)}).`;
  if (!hint && ctx.evidence.target.upstreams.every((u) => u.service === undefined)) {
    cause.nextSteps.push(
      `Add a \`service\` hint for ${peer} in gatewatch.yaml (process, systemd, docker or pm2) so gatewatch can tell "down" from "listening elsewhere".`,
    );
  }
  const weighed = withOom(ctx, facts, group, cause, 'found nothing listening', 'the first refusal');
  return withServiceSteps(weighed, hint, service);
}

/**
 * A loopback or wildcard listener on the same port in the other address family: nginx connects to
 * `127.0.0.1:P` while the app listens on `[::1]:P` (or the reverse).
 */
export function otherFamilyListener(facts: HostFacts, peer: string): Listener | undefined {
  const wanted = peerHostPort(peer.toLowerCase());
  if (!wanted || !LOOPBACK_OR_ANY.has(wanted.host)) return undefined;
  const v6 = wanted.host.startsWith('[');
  return facts.listeners.find((l) => {
    if (l.proto !== 'tcp' || l.port !== wanted.port) return false;
    const host = peerHostPort(l.address)?.host;
    return host !== undefined && LOOPBACK_OR_ANY.has(host) && host.startsWith('[') !== v6;
  });
}

function otherFamilyCause(
  cause: Cause,
  group: FailureGroup,
  facts: HostFacts,
  listener: Listener,
  target: string,
  ctx: Context,
): Cause {
  const peer = group.peer ?? '';
  const port = portOf(peer);
  const v4 = !peer.startsWith('[');
  cause.rootCause = 'upstream-wrong-address';
  cause.confidence = 0.9;
  cause.summary = `${describeListener(listener)} listens on ${listener.address}, the other address family, while nginx connects to ${peer}${target}: the app is up but bound to ${v4 ? 'IPv6' : 'IPv4'} only, so nginx is refused (${group.count}×). A Node.js ≥ 17 server bound to \`localhost\` listens on [::1] only.`;
  cause.findings.push(
    listenerFinding(
      facts,
      listener,
      'critical',
      `Listening on the other family: ${listener.address}, not ${peer}`,
      'upstream-wrong-address',
    ),
  );
  const pass = ctx.passes(peer)[0];
  const loopback = v4 ? '127.0.0.1' : '::1';
  cause.nextSteps.push(
    `Bind the app to ${loopback} explicitly (Node.js: \`server.listen(${port}, '${loopback}')\`, or HOST=${loopback}), or to both families.`,
    pass
      ? `Or point nginx at the address the app uses: \`${pass.directive} ${pass.target.replace(v4 ? /127\.0\.0\.1|localhost/ : /\[::1\]|localhost/, v4 ? '[::1]' : '127.0.0.1')}\` in ${pass.file}:${pass.line}; then \`nginx -t && nginx -s reload\`.`
      : `Or point nginx at ${listener.address.replace(/^\[::\]|^0\.0\.0\.0/, v4 ? '[::1]' : '127.0.0.1')}.`,
  );
  return cause;
}

/** A configured upstream (with a service hint) on the same host that listens, while nginx targets `peer`. */
function configuredElsewhere(
  ctx: Context,
  facts: HostFacts,
  peer: string | undefined,
): { address: string; listener: Listener; hint: string } | undefined {
  // The failing peer is not one the user listed, and the candidate is no address nginx targets already
  // (a second, healthy upstream is not where the first one should be).
  if (peer === undefined || ctx.upstreamConfig(peer) !== undefined) return undefined;
  const targeted = new Set((ctx.config?.passes ?? []).flatMap((p) => p.peers.map((x) => x.toLowerCase())));
  for (const upstream of ctx.evidence.target.upstreams) {
    if (!upstream.service || targeted.has(upstream.address.toLowerCase())) continue;
    const listener = listenerFor(facts, upstream.address);
    if (!listener) continue;
    const service = upstream.service;
    const hint =
      'process' in service
        ? `process "${service.process}"`
        : 'systemd' in service
          ? `systemd ${service.systemd}`
          : 'docker' in service
            ? `docker ${service.docker}`
            : `pm2 ${service.pm2}`;
    return { address: upstream.address, listener, hint };
  }
  return undefined;
}

function wrongTargetCause(
  cause: Cause,
  group: FailureGroup,
  facts: HostFacts,
  found: { address: string; listener: Listener; hint: string },
  target: string,
  ctx: Context,
): Cause {
  const peer = group.peer ?? '';
  const pass = ctx.passes(peer)[0];
  cause.rootCause = 'upstream-wrong-address';
  cause.confidence = 0.85;
  cause.summary = `nginx connects to ${peer}${target}, where nothing listens, while the configured upstream ${found.address} (${found.hint}) is up: ${describeListener(found.listener)} listens there. nginx targets the wrong address (${group.count}× refused).`;
  cause.findings.push(
    listenerFinding(
      facts,
      found.listener,
      'critical',
      `The app listens on ${found.address} (gatewatch.yaml), not on ${peer} (nginx)`,
      'upstream-wrong-address',
    ),
  );
  cause.nextSteps.push(
    pass
      ? `Point nginx at the app: change \`${pass.directive} ${pass.target}\` in ${pass.file}:${pass.line} to ${found.address}; then \`nginx -t && nginx -s reload\`.`
      : `Point nginx's proxy_pass at ${found.address}, where the app listens; then \`nginx -t && nginx -s reload\`.`,
  );
  return cause;
}
