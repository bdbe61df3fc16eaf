/**
 * The root-cause vocabulary: the one list of values `verdict.rootCause` and `findings[].category` take.
 * DESIGN.md documents the same table; a test keeps the two in step.
 */
export const ROOT_CAUSES = {
  healthy: 'no upstream failure in the window',
  'upstream-down': 'nothing listens on the upstream address',
  'upstream-wrong-address': 'the service runs but listens elsewhere than nginx targets',
  'upstream-timeout': 'upstream accepted but answered too late (504)',
  'upstream-connect-timeout': 'connecting timed out: packets dropped on the way',
  'upstream-closed-early': 'upstream closed or reset the connection mid-request',
  'upstream-invalid-response': "the upstream's answer is not valid HTTP",
  'upstream-header-too-big': 'response headers exceed the proxy buffers',
  'upstream-tls': 'TLS handshake to the upstream failed',
  'upstream-dns': 'the upstream host name cannot be resolved',
  'unix-socket-missing': 'the upstream unix socket does not exist',
  'unix-socket-permission': 'nginx may not open the upstream unix socket',
  'upstream-overloaded': "the upstream's accept backlog is full",
  'upstream-unreachable': 'no route to the upstream host or network',
  'host-policy-denied': "SELinux/AppArmor forbids nginx's connect to a TCP upstream",
  'no-live-upstreams':
    'every server of an upstream group is marked failed (a symptom: name the cause when it is found)',
  'network-blocked-security-group': 'a security group rule is missing on the path',
  'network-blocked-nacl': 'a network ACL denies the traffic or its return',
  'network-blocked-host-firewall': 'iptables/nftables on a host drops or rejects it',
  'upstream-error-response': 'the upstream itself answered 502/503/504 and nginx passed it on',
  'resource-disk-full': "a full disk broke the upstream or nginx's own temp, cache or body files",
  'resource-memory-oom': "the kernel's OOM killer ended the upstream",
  'resource-fd-exhausted': 'out of file descriptors (nginx answers 500 here, not 502)',
  'resource-port-exhaustion': 'no free local port for the connection to the upstream',
  'nginx-config-invalid': 'the configuration on disk does not pass `nginx -t`',
  'nginx-worker-connections': 'nginx ran out of `worker_connections` and dropped clients',
  'nginx-file-permission': 'nginx may not open its own temp, cache, body or log files (EACCES)',
  'insufficient-evidence': 'the logs could not be read (missing, unreadable, no parsable line): no verdict',
  unknown: 'failures seen, cause not established; the report says what was ruled out',
} as const;

export type RootCause = keyof typeof ROOT_CAUSES;

export const ROOT_CAUSE_NAMES = Object.keys(ROOT_CAUSES) as RootCause[];

export function isRootCause(value: string): value is RootCause {
  return Object.hasOwn(ROOT_CAUSES, value);
}
