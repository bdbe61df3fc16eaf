/**
 * Failures seen only in the access log. `upstream-error-response`: the upstream itself answered 502/503/504
 * (`$upstream_status`) and nginx, having logged no error, passed the answer on. When the error log could
 * not be read, the access log still names the failing upstream, but not why.
 */
import type { Cause, Context } from './context.ts';
import { isReadable, readability } from './coverage.ts';

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
