/**
 * Causes the error line names on its own, with one next step each: `upstream-dns`, `upstream-overloaded`,
 * `host-policy-denied`, `resource-fd-exhausted`, `resource-port-exhaustion` (and `unknown` for the rest).
 */
import type { FailureGroup } from '../nginx/error-log.ts';
import type { RootCause } from '../root-causes.ts';
import { baseCause, type Cause, type Context, describeKind } from './context.ts';

const STEPS: Partial<Record<RootCause, string>> = {
  'upstream-dns':
    'Make the name resolvable from the nginx host (`getent hosts NAME`), or define a `resolver` for names in variables.',
  'upstream-overloaded':
    "The upstream's accept queue is full: add workers/instances or raise its `listen` backlog (`somaxconn`).",
  'host-policy-denied':
    'SELinux/AppArmor denies nginx the connection: `ausearch -m avc -ts recent`; on SELinux `setsebool -P httpd_can_network_connect 1`.',
  'resource-fd-exhausted':
    'Raise `worker_rlimit_nofile` and the service limit (`LimitNOFILE`), and look for leaked connections.',
  'resource-port-exhaustion':
    'Reuse upstream connections (`keepalive` in the upstream block with `proxy_http_version 1.1` and `proxy_set_header Connection ""`), or widen `net.ipv4.ip_local_port_range`.',
};

/**
 * An HTTP/2 RST_STREAM or GOAWAY code (`upstream rejected request with error 2`) says the upstream refused
 * the stream, not why: INTERNAL_ERROR (2) is the app failing, PROTOCOL_ERROR (1) may be nginx and the app
 * disagreeing on the protocol, REFUSED_STREAM (7) an overloaded server. Named, but not with certainty.
 */
const REJECTED_CONFIDENCE = 0.7;

export function namedByTheLineCause(ctx: Context, group: FailureGroup): Cause {
  const confidence =
    group.rootCause === 'unknown' ? 0.3 : group.kind === 'rejected' ? REJECTED_CONFIDENCE : 0.8;
  const cause = baseCause(ctx, group, group.rootCause, confidence);
  cause.summary = `nginx reported ${describeKind(group.kind)} for ${group.peer ?? 'an upstream'} ${group.count} times.`;
  if (group.kind === 'rejected') {
    cause.summary +=
      ' The upstream reset the HTTP/2 stream with an error code: the code in the line says which (1 protocol error, 2 internal error, 7 refused stream, 11 enhance your calm).';
    cause.nextSteps.push(
      "Read the upstream's own log at that time for the error it answered with; for code 1 check that `grpc_pass`/`proxy_http_version` match what the upstream speaks.",
    );
  }
  const step = STEPS[group.rootCause];
  if (step) cause.nextSteps.push(step);
  return cause;
}
