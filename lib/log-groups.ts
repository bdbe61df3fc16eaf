/**
 * The nginx log groups gatewatch reads, and the one ARN IAM grants on them. Every configured group must
 * start with one name prefix (default `/gatewatch/`): the grant is `log-group:<prefix>*`, a single
 * resource however many targets there are. Naming each group instead grows the role's policy by about
 * 170 characters per target and breaks IAM's 6,144-character managed-policy limit at ~18 targets.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { GatewatchConfig } from '../lambdas/core/config.ts';

/** The log-group name prefix when none is configured. */
export const DEFAULT_LOG_GROUP_PREFIX = '/gatewatch/';

/** CloudWatch Logs group names: 1–512 of `[.-_/#A-Za-z0-9]`. */
const LOG_GROUP_CHARS = /^[.\-_/#A-Za-z0-9]+$/;

/** The CloudWatch Logs groups of the configured targets (a `group:stream` log names its group). */
export function nginxLogGroups(config: GatewatchConfig): string[] {
  const seen = new Set<string>();
  for (const target of config.targets) {
    for (const log of [target.aws?.logGroups.error, target.aws?.logGroups.access]) {
      if (log !== undefined) seen.add(log.split(':')[0]!);
    }
  }
  return [...seen];
}

/** One `path: what to change` line per log group outside `prefix` (and for an unusable prefix). */
export function logGroupPrefixProblems(config: GatewatchConfig, prefix: string): string[] {
  if (prefix.length < 2 || !prefix.startsWith('/') || !LOG_GROUP_CHARS.test(prefix)) {
    return [
      `gatewatch:logGroupPrefix "${prefix}": must start with / and name a folder of log groups, e.g. ${DEFAULT_LOG_GROUP_PREFIX} (a lone / would grant every log group of the account)`,
    ];
  }
  const problems: string[] = [];
  config.targets.forEach((target, index) => {
    for (const kind of ['error', 'access'] as const) {
      const log = target.aws?.logGroups[kind];
      if (log === undefined || log.split(':')[0]!.startsWith(prefix)) continue;
      problems.push(
        `targets[${index}].aws.logGroups.${kind}: "${log}" is outside the log-group prefix ${prefix}: ship the nginx logs to a group named ${prefix}…, or set -c gatewatch:logGroupPrefix=/your-prefix/ (one prefix keeps the IAM grant the same size for any number of targets)`,
      );
    }
  });
  return problems;
}

/** The one ARN the log grants name: every group under `prefix`, with its streams (`*` spans `:`). */
export function logGroupPrefixArn(scope: Construct, prefix: string): string {
  return Stack.of(scope).formatArn({
    service: 'logs',
    resource: 'log-group',
    resourceName: `${prefix}*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** How cdk-nag spells {@link logGroupPrefixArn} in its finding ids. */
export function logGroupPrefixArnForNag(prefix: string): string {
  return `arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${prefix}*`;
}
