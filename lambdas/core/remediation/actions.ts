/**
 * Remediation: the closed set of actions gatewatch may take and the one table that maps a verdict to
 * the action that repairs it. Everything else (modes, guardrails, the script's parameters) builds on
 * this module; the README's mapping table is this table in words.
 *
 * A verdict that no action repairs (wrong address, invalid config, a firewall, a security group, a full
 * disk, …) maps to nothing: its report carries the diagnosis's next steps and no action ever runs,
 * whatever the configured mode.
 */
import type { RootCause } from '../root-causes.ts';

/** The actions, closed. `scale-asg` exists only in AWS (an API call, not a command on a host). */
export const REMEDIATION_ACTIONS = ['restart-service', 'reload-nginx', 'scale-asg'] as const;
export type RemediationAction = (typeof REMEDIATION_ACTIONS)[number];

/** suggest (default): propose only. approve: wait for a human. auto: run at once. */
export const REMEDIATION_MODES = ['suggest', 'approve', 'auto'] as const;
export type RemediationMode = (typeof REMEDIATION_MODES)[number];

/** The service managers the actions script can restart through; a bare `process` hint cannot be restarted. */
export const RESTARTABLE_KINDS = ['systemd', 'docker', 'pm2'] as const;
export type RestartableKind = (typeof RESTARTABLE_KINDS)[number];

/** One row of the mapping table: which action repairs a verdict, and why. */
export interface RemediationRule {
  /** The rule's name, recorded in the audit (`upstream-down→restart-service`). */
  readonly id: string;
  readonly action: RemediationAction;
  /** Why this action repairs this verdict, in one sentence (shown in the report). */
  readonly because: string;
}

/**
 * The mapping table. A root cause not listed here has no action: it is suggest-only, in every mode.
 * `scale-asg` is a rule only where the target configures an Auto Scaling group (see `planRemediation`).
 */
export const REMEDIATION_RULES: Readonly<Partial<Record<RootCause, RemediationRule>>> = {
  'upstream-down': {
    id: 'upstream-down→restart-service',
    action: 'restart-service',
    because: 'nothing listens on the upstream address: (re)starting its service brings the listener back',
  },
  'resource-memory-oom': {
    id: 'resource-memory-oom→restart-service',
    action: 'restart-service',
    because:
      'the OOM killer ended the upstream: starting its service again restores it (the memory limit stays a follow-up)',
  },
  'unix-socket-missing': {
    id: 'unix-socket-missing→restart-service',
    action: 'restart-service',
    because: 'the upstream socket is gone: the service creates it again when it starts',
  },
  'upstream-timeout': {
    id: 'upstream-timeout→restart-service',
    action: 'restart-service',
    because:
      'the upstream accepts but does not answer in time: restarting a hung service clears its stuck workers',
  },
  'upstream-closed-early': {
    id: 'upstream-closed-early→restart-service',
    action: 'restart-service',
    because: 'the upstream drops connections mid-request: a restart replaces its crashing workers',
  },
  'upstream-dns': {
    id: 'upstream-dns→reload-nginx',
    action: 'reload-nginx',
    because:
      'nginx resolves upstream names when it loads its configuration: a reload resolves them again (only if nginx -t passes)',
  },
  'upstream-overloaded': {
    id: 'upstream-overloaded→scale-asg',
    action: 'scale-asg',
    because: "the upstream's accept backlog is full: more instances share the load",
  },
};

/** Root causes whose rule may run at all; every other verdict is suggest-only. */
export function ruleFor(rootCause: string): RemediationRule | undefined {
  return Object.hasOwn(REMEDIATION_RULES, rootCause) ? REMEDIATION_RULES[rootCause as RootCause] : undefined;
}
