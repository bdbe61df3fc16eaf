/**
 * Failures seen only in the access log. `upstream-error-response`: the upstream itself answered 502/503/504
 * (`$upstream_status`) and nginx, having logged no error, passed the answer on. When the error log could
 * not be read, the access log still names the failing upstream, but not why.
 */
import { listenerFor } from '../diagnostics/host-facts.ts';
import { peerHostPort } from '../nginx/peer.ts';
import { type Cause, type Context, listenEvidence } from './context.ts';
import { isReadable, readability } from './coverage.ts';

/** Addresses whose listeners the nginx host's own `ss` shows. */
const THIS_HOST = new Set(['127.0.0.1', '[::1]', 'localhost', '0.0.0.0', '[::]']);

export function accessLogOnlyCause(ctx: Context): Cause | undefined {
  const traffic = ctx.evidence.traffic;
  if (!traffic || traffic.status5xx === 0) return undefined;
  const errorLogRead = isReadable(readability(ctx).errorLog);
  const gateway = Object.entries(traffic.byUpstream)
    .map(([peer, stats]) => ({
      peer,
      count: (stats.byStatus['502'] ?? 0) + (stats.byStatus['504'] ?? 0) + (stats.byStatus['503'] ?? 0),
    }))
    .filter((u) => u.count > 0)
    .sort((a, b) => b.count - a.count)[0];
  const samples = traffic.samples.map((s) => ({ source: 'nginx access.log', excerpt: s }));
  if (!errorLogRead) {
    const down = gateway ? downFromAccessLog(ctx, gateway.peer, gateway.count) : undefined;
    if (down) return down;
    const gatewayStatus = (traffic.byStatus['502'] ?? 0) + (traffic.byStatus['504'] ?? 0);
    return {
      rootCause: 'unknown',
      peer: gateway?.peer,
      confidence: 0.35,
      summary: `The access log shows ${traffic.status5xx} of ${traffic.requests} requests failed with 5xx (${gatewayStatus} with 502/504)${gateway ? `, through ${gateway.peer}` : ''}; the error log could not be read, so why nginx failed is not established.`,
      findings: [
        {
          category: 'unknown',
          severity: 'critical',
          title: `${traffic.status5xx} responses with status 5xx in the access log${gateway ? ` (upstream ${gateway.peer}: ${gateway.count}× 502/503/504)` : ''}`,
          evidence: samples,
        },
      ],
      nextSteps: [],
      ruledOut: [],
    };
  }
  if (!gateway) {
    const answered = answeredItselfWithoutUpstreamStatus(ctx);
    if (answered) return answered;
    return {
      rootCause: 'unknown',
      peer: undefined,
      confidence: 0.3,
      summary: `${traffic.status5xx} of ${traffic.requests} requests failed with 5xx, but nginx logged no upstream error in the window.`,
      findings: [
        {
          category: 'unknown',
          severity: 'warning',
          title: `${traffic.status5xx} responses with status 5xx and no upstream error in the error log`,
          evidence: samples,
        },
      ],
      nextSteps: [
        'Check the upstream application logs for the 5xx responses it generated itself, and the error_log level (it must be `error` or lower to show upstream failures).',
      ],
      ruledOut: ['nginx-side upstream failures: the error log has none in the window'],
    };
  }
  return {
    rootCause: 'upstream-error-response',
    peer: gateway.peer,
    confidence: 0.75,
    summary: `${gateway.peer} itself answered 502/503/504 ${gateway.count} times (see $upstream_status); nginx passed the answers on. The failure is inside or behind that upstream.`,
    findings: [
      {
        category: 'upstream-error-response',
        severity: 'critical',
        title: `${gateway.peer} answered gateway errors itself (${gateway.count}×)`,
        evidence: samples,
      },
    ],
    nextSteps: [
      `Follow the request into ${gateway.peer}: its logs and whatever it calls (another proxy, a database).`,
    ],
    ruledOut: [`nginx's connection to ${gateway.peer}: no upstream error in the error log`],
  };
}

/**
 * With no error log, the access log and the listeners can still tell `upstream-down`: the upstream never
 * answered a request in the window (nginx wrote every 502 itself) and nothing listens on its address now.
 * Said with less confidence than a refusal in the error log would give, and the missing log is said.
 */
function downFromAccessLog(ctx: Context, peer: string, count: number): Cause | undefined {
  const stats = ctx.evidence.traffic?.byUpstream[peer];
  if (!stats || stats.firstAnsweredAt !== undefined || (stats.byStatus['502'] ?? 0) === 0) return undefined;
  const configured = ctx.upstreamConfig(peer)?.host;
  const local = THIS_HOST.has(peerHostPort(peer.toLowerCase())?.host ?? '');
  if (!local && (configured === undefined || configured === 'local')) return undefined;
  const facts = ctx.factsFor(peer);
  if (!facts || listenerFor(facts, peer)) return undefined;
  const samples = (ctx.evidence.traffic?.samples ?? []).map((s) => ({
    source: 'nginx access.log',
    excerpt: s,
  }));
  return {
    rootCause: 'upstream-down',
    peer,
    confidence: 0.6,
    summary: `${peer} never answered in the window: nginx wrote ${count} gateway errors for it itself (access log), and nothing listens on ${peer} now. The error log could not be read, so the refusals themselves are not quoted.`,
    findings: [
      {
        category: 'upstream-down',
        severity: 'critical',
        title: `Nothing listens on ${peer}, and it answered none of ${stats.requests} requests in the access log`,
        evidence: [listenEvidence(facts, peer), ...samples],
      },
    ],
    nextSteps: [
      `Start the service behind ${peer} and check it listens there (\`ss -tlnp\`).`,
      'Make the error log readable to gatewatch so the next diagnosis can quote nginx itself.',
    ],
    ruledOut: [],
  };
}

/** Levels at which nginx writes its upstream failures (they are `error`). */
const SHOWS_UPSTREAM_ERRORS = new Set(['debug', 'info', 'notice', 'warn', 'error']);

/**
 * A log format without `$upstream_status` (`combined`) cannot say who wrote a 502/504. nginx can: it
 * writes an `error`-level line for every 502/504 it makes itself (refused, reset, timed out, invalid
 * header, no live upstreams). So when the error log was read, holds no upstream failure in the window,
 * and every `error_log` of the configuration logs at `error` or lower, the gateway errors in the access
 * log were the upstream's own answers. Said with middling confidence (the configuration must be known),
 * and naming the upstream only when the configuration passes to exactly one.
 */
function answeredItselfWithoutUpstreamStatus(ctx: Context): Cause | undefined {
  const traffic = ctx.evidence.traffic;
  const config = ctx.config;
  if (!traffic || !config || Object.keys(traffic.byUpstream).length > 0) return undefined;
  const gatewayErrors = (traffic.byStatus['502'] ?? 0) + (traffic.byStatus['504'] ?? 0);
  if (gatewayErrors === 0) return undefined;
  const levels = (config.errorLogs ?? []).map((e) => e.level);
  if (levels.some((level) => !SHOWS_UPSTREAM_ERRORS.has(level))) return undefined;
  const peers = [...new Set(config.passes.flatMap((p) => p.peers))];
  const peer = peers.length === 1 ? peers[0] : undefined;
  const samples = traffic.samples.map((s) => ({ source: 'nginx access.log', excerpt: s }));
  const who = peer ?? 'the upstream';
  return {
    rootCause: 'upstream-error-response',
    peer,
    confidence: peer ? 0.55 : 0.45,
    summary: `${gatewayErrors} of ${traffic.requests} requests got 502/504, and nginx, which logs every gateway error it makes itself at \`error\` level, logged none: ${who} answered them itself. The access log format has no $upstream_status to show it directly.`,
    findings: [
      {
        category: 'upstream-error-response',
        severity: 'critical',
        title: `${gatewayErrors} gateway errors in the access log and no upstream failure in the error log (error_log at ${levels.length > 0 ? [...new Set(levels)].join(', ') : 'error, the default'})`,
        evidence: samples,
      },
    ],
    nextSteps: [
      `Follow the request into ${who}: its logs and whatever it calls (another proxy, a database).`,
      'Log with the gatewatch format (lambdas/assets/nginx/gatewatch-log-format.conf): $upstream_status would show the answers directly.',
    ],
    ruledOut: ["nginx's connection to the upstream: no upstream error in the error log"],
  };
}
