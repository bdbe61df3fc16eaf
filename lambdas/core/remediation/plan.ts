/**
 * From a verdict to a decision: which action (the mapping table), with which validated parameters (from
 * the configuration only, never from the evidence), and what the mode allows. Pure: the steps load the
 * report, the configuration and the ledger and hand them in.
 */
import type { TargetConfig, UpstreamConfig } from '../config.ts';
import type { Verdict } from '../types.ts';
import {
  RESTARTABLE_KINDS,
  type RemediationAction,
  type RemediationMode,
  type RestartableKind,
  ruleFor,
} from './actions.ts';
import type { ProposedAction } from './audit.ts';
import { remediationOf } from './config.ts';
import { describeCommand, REMEDIATION_PATTERNS, type RemediationParams } from './params.ts';

/** What the workflow does next. */
export type RemediationDecision =
  /** No action repairs this verdict (or nothing failed). */
  | 'none'
  /** Propose only: suggest mode, a suggest-only verdict, or an action outside the allowlist. */
  | 'suggest'
  /** Wait for a person. */
  | 'approve'
  /** Run now. */
  | 'run';

export interface RemediationPlan {
  decision: RemediationDecision;
  mode: RemediationMode;
  reason: string;
  dryRun: boolean;
  proposed?: ProposedAction;
  /** The script's parameters for a host action. */
  params?: RemediationParams;
  /** scale-asg: the group and the capacity bounds. */
  scale?: { group: string; step: number; maxCapacity: number };
  /** Seconds to verify after the action; seconds an approval stays valid. */
  verifySeconds: number;
  approvalSeconds: number;
  maxPerHour: number;
}

export interface PlanRequest {
  incidentId: string;
  target: TargetConfig;
  verdict: Pick<Verdict, 'rootCause' | 'upstream'>;
  /** Where nginx runs: `local` or an instance id. */
  nginxHost: string;
  world: 'local' | 'aws';
  dryRun: boolean;
}

/** The one command that approves the action of an incident, for the report and the notification. */
export function approveCommandFor(
  world: 'local' | 'aws',
  incidentId: string,
  action: RemediationAction,
): string {
  return `gatewatch approve ${world === 'aws' ? '--aws ' : ''}${incidentId} --action ${action}`;
}

export function planRemediation(request: PlanRequest): RemediationPlan {
  const settings = remediationOf(request.target);
  const base = {
    mode: settings.mode,
    dryRun: request.dryRun,
    verifySeconds: settings.verifySeconds,
    approvalSeconds: settings.approvalSeconds,
    maxPerHour: settings.maxPerHour,
  };
  const rule = ruleFor(request.verdict.rootCause);
  if (!rule) {
    return {
      ...base,
      decision: 'none',
      reason: `no action in gatewatch's mapping table repairs ${request.verdict.rootCause}; follow the next steps`,
    };
  }
  const concrete = concreteAction(rule.action, request);
  if ('unavailable' in concrete) {
    return { ...base, decision: 'none', reason: concrete.unavailable };
  }
  const proposed: ProposedAction = {
    action: rule.action,
    rule: rule.id,
    because: rule.because,
    host: concrete.host,
    command: concrete.command,
  };
  const plan: RemediationPlan = { ...base, decision: 'suggest', reason: '', proposed };
  if (concrete.params) plan.params = concrete.params;
  if (concrete.scale) plan.scale = concrete.scale;
  if (concrete.suggestOnly) {
    plan.reason = concrete.suggestOnly;
    return plan;
  }
  proposed.approveCommand = approveCommandFor(request.world, request.incidentId, rule.action);
  if (!settings.actions.includes(rule.action)) {
    plan.reason = `${rule.action} is not in remediation.actions (the allowlist): suggested only`;
    return plan;
  }
  if (settings.maxPerHour === 0) {
    plan.reason = 'remediation.maxPerHour is 0: suggested only';
    return plan;
  }
  if (settings.mode === 'suggest') {
    plan.reason = 'remediation.mode is suggest: approve it with the command below';
    return plan;
  }
  if (settings.mode === 'approve') {
    plan.decision = 'approve';
    plan.reason = `remediation.mode is approve: waiting up to ${settings.approvalSeconds} s for an approval`;
    return plan;
  }
  plan.decision = 'run';
  plan.reason = 'remediation.mode is auto and the action is allowlisted';
  return plan;
}

type Concrete =
  | { unavailable: string }
  | {
      host: string;
      command: string;
      params?: RemediationParams;
      scale?: { group: string; step: number; maxCapacity: number };
      /** Set when the action can only be suggested (a bare process hint, a name the script refuses). */
      suggestOnly?: string;
    };

function concreteAction(action: RemediationAction, request: PlanRequest): Concrete {
  const { target } = request;
  switch (action) {
    case 'restart-service': {
      const upstream = upstreamOf(target, request.verdict.upstream);
      if (!upstream?.service) {
        return {
          unavailable: `no service hint for ${request.verdict.upstream ?? 'the upstream'} in the configuration: gatewatch does not know what to restart (add upstreams[].service)`,
        };
      }
      const host = upstream.host ?? request.nginxHost;
      const [kind, name] = Object.entries(upstream.service)[0] as [string, string];
      if (!(RESTARTABLE_KINDS as readonly string[]).includes(kind)) {
        return {
          host,
          command: `restart the process "${name}" the way it is normally started`,
          suggestOnly:
            'the service hint is a bare process: gatewatch cannot restart it (use a systemd, docker or pm2 hint)',
        };
      }
      if (!REMEDIATION_PATTERNS.serviceName.test(name)) {
        return {
          host,
          command: `restart ${kind} service ${name}`,
          suggestOnly: `the ${kind} name does not match ${REMEDIATION_PATTERNS.serviceName.source}: suggested only`,
        };
      }
      const params: RemediationParams = {
        action: 'restart-service',
        serviceKind: kind as RestartableKind,
        serviceName: name,
        dryRun: request.dryRun,
      };
      return { host, command: describeCommand(params), params };
    }
    case 'reload-nginx': {
      const params: RemediationParams = { action: 'reload-nginx', dryRun: request.dryRun };
      if (target.nginx.binary !== undefined) params.nginxBin = target.nginx.binary;
      if (target.nginx.conf !== undefined) params.nginxConf = target.nginx.conf;
      if (target.nginx.prefix !== undefined) params.nginxPrefix = target.nginx.prefix;
      return { host: request.nginxHost, command: describeCommand(params), params };
    }
    case 'scale-asg': {
      const group = remediationOf(target).autoScalingGroup;
      if (request.world !== 'aws' || group === undefined) {
        return {
          unavailable:
            request.world === 'aws'
              ? 'no remediation.autoScalingGroup for this target: add more capacity to the upstream by hand'
              : 'scale-asg runs in AWS only: add more upstream capacity by hand',
        };
      }
      return {
        host: group.name,
        command: `aws autoscaling set-desired-capacity --auto-scaling-group-name ${group.name} --desired-capacity <current + ${group.step}, at most ${group.maxCapacity}>`,
        scale: { group: group.name, step: group.step, maxCapacity: group.maxCapacity },
      };
    }
  }
}

function upstreamOf(target: TargetConfig, address: string | undefined): UpstreamConfig | undefined {
  const withService = target.upstreams.filter((u) => u.service !== undefined);
  if (address !== undefined) {
    const exact = target.upstreams.find((u) => u.address === address);
    if (exact) return exact;
    // nginx may print a name where the configuration has an address (or the reverse): only one candidate is safe.
    return undefined;
  }
  return withService.length === 1 ? withService[0] : undefined;
}
