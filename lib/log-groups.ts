/** The nginx log groups the configuration names, and the ARNs IAM grants on them (one place for every construct). */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { GatewatchConfig } from '../lambdas/core/config.ts';

export interface LogGroupRef {
  name: string;
  account?: string;
  region?: string;
}

/** The CloudWatch Logs groups of the configured targets (a `group:stream` log names its group). */
export function nginxLogGroups(config: GatewatchConfig): LogGroupRef[] {
  const seen = new Map<string, LogGroupRef>();
  for (const target of config.targets) {
    const aws = target.aws;
    if (!aws) continue;
    for (const log of [aws.logGroups.error, aws.logGroups.access]) {
      if (log === undefined) continue;
      const group: LogGroupRef = {
        name: log.split(':')[0]!,
        ...(aws.account ? { account: aws.account } : {}),
        ...(aws.region ? { region: aws.region } : {}),
      };
      seen.set(JSON.stringify(group), group);
    }
  }
  return [...seen.values()];
}

/**
 * The ARNs FilterLogEvents is allowed on: each group, in both spellings IAM matches it by (with and
 * without the `:*` CloudWatch Logs appends to group ARNs).
 */
export function nginxLogGroupArns(scope: Construct, config: GatewatchConfig): string[] {
  const stack = Stack.of(scope);
  return nginxLogGroups(config).flatMap((group) => {
    const arn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: group.name,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      ...(group.account ? { account: group.account } : {}),
      ...(group.region ? { region: group.region } : {}),
    });
    return [arn, `${arn}:*`];
  });
}
