/**
 * How a target is reached in AWS: its nginx instance and its CloudWatch Logs groups come from the
 * target's `aws` block. `cdk synth` refuses a configuration where they are missing (same checks), so
 * at run time these only fail for a hand-edited environment.
 */
import type { GatewatchConfig, TargetConfig } from '../../core/config.ts';

/** A target lacks what gatewatch needs to diagnose it in AWS. */
export class TargetNotDeployableError extends Error {
  override name = 'TargetNotDeployableError';
}

/** One `path: what to add` line per missing setting; empty when every target can be diagnosed in AWS. */
export function awsTargetProblems(config: GatewatchConfig): string[] {
  const problems: string[] = [];
  config.targets.forEach((target, index) => {
    const at = `targets[${index}]`;
    if (!target.aws) {
      problems.push(`${at}.aws: is required for cdk deploy: add aws.instanceId and aws.logGroups.error`);
      return;
    }
    if (!target.aws.instanceId) {
      problems.push(
        `${at}.aws.instanceId: is required for cdk deploy: the EC2 instance nginx runs on (i-0abc…), where the diagnostics run`,
      );
    }
    // The Lambdas read logs and run commands in their own account and region; a target elsewhere would
    // synthesize and then fail at run time (and widen every grant per account).
    for (const field of ['account', 'region'] as const) {
      if (target.aws[field] !== undefined) {
        problems.push(
          `${at}.aws.${field}: cdk deploy diagnoses targets in the stack's own account and region only: remove it and deploy the stack there (-c or the CDK environment)`,
        );
      }
    }
    target.upstreams.forEach((upstream, u) => {
      if (upstream.host === 'local') {
        problems.push(
          `${at}.upstreams[${u}].host: "local" has no meaning in AWS; give the upstream's instance id or leave it out (nginx's instance)`,
        );
      }
    });
  });
  return problems;
}

export function awsLogLocations(target: TargetConfig): { error: string; access?: string } {
  if (!target.aws) throw new TargetNotDeployableError(`target ${target.name} has no aws block`);
  const { error, access } = target.aws.logGroups;
  return access === undefined ? { error } : { error, access };
}

export function awsNginxHost(target: TargetConfig): string {
  const id = target.aws?.instanceId;
  if (!id) throw new TargetNotDeployableError(`target ${target.name} has no aws.instanceId`);
  return id;
}
