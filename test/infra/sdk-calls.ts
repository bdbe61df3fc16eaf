/**
 * What a Lambda asked AWS for: every command its SDK clients sent (read from aws-sdk-client-mock's
 * record of calls), translated into the IAM requests AWS authorises for it — the action, the resource
 * ARN and the request's condition keys. A command this table does not know fails loudly: a new SDK call
 * must be added here, and is then simulated against the role like the others.
 */
import { ACCOUNT, PARTITION, REGION } from './resolve-template.ts';

export interface SdkCall {
  client: string;
  command: string;
  input: Record<string, unknown>;
}

export interface IamRequest {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  /** Which call it comes from, for messages. */
  from: string;
}

/** A command the table below does not translate. */
export class UnmappedSdkCallError extends Error {
  override name = 'UnmappedSdkCallError';
}

/** Every call the stubs recorded since their last reset. */
export function recordedCalls(stubs: Record<string, { calls(): { args: unknown[] }[] }>): SdkCall[] {
  const calls: SdkCall[] = [];
  for (const [client, stub] of Object.entries(stubs)) {
    for (const call of stub.calls()) {
      const command = call.args[0] as { constructor: { name: string }; input: Record<string, unknown> };
      calls.push({ client, command: command.constructor.name.replace(/Command$/, ''), input: command.input });
    }
  }
  return calls;
}

const arn = (service: string, resource: string) =>
  `arn:${PARTITION}:${service}:${REGION}:${ACCOUNT}:${resource}`;
const TLS = { 'aws:SecureTransport': 'true' };
/** Stands for an Auto Scaling group's generated id in its ARN. */
const ASG_ID_PLACEHOLDER = '00000000-0000-4000-8000-000000000000';

/**
 * The IAM requests one SDK call makes. `instanceTags` are the tags of the instances (and Auto Scaling
 * groups) it names.
 */
export function iamRequests(call: SdkCall, instanceTags: Record<string, string> = {}): IamRequest[] {
  const from = `${call.client}.${call.command}`;
  const i = call.input;
  const one = (action: string, resource: string, context: Record<string, string | string[]> = {}) => ({
    action,
    resource,
    context: { ...TLS, ...context },
    from,
  });
  switch (`${call.client}.${call.command}`) {
    case 's3.GetObject':
      return [one('s3:GetObject', `arn:${PARTITION}:s3:::${i.Bucket}/${i.Key}`)];
    case 's3.PutObject':
      return [
        one('s3:PutObject', `arn:${PARTITION}:s3:::${i.Bucket}/${i.Key}`),
        ...(i.ACL ? [one('s3:PutObjectAcl', `arn:${PARTITION}:s3:::${i.Bucket}/${i.Key}`)] : []),
      ];
    case 'logs.FilterLogEvents':
      return [one('logs:FilterLogEvents', arn('logs', `log-group:${i.logGroupName}`))];
    case 'logs.StartQuery': {
      // Logs Insights authorizes StartQuery on each log group it reads (logGroupName or logGroupNames).
      const groups = [
        ...((i.logGroupNames as string[] | undefined) ?? []),
        ...(i.logGroupName ? [String(i.logGroupName)] : []),
      ];
      return groups.map((group) => one('logs:StartQuery', arn('logs', `log-group:${group}`)));
    }
    case 'cloudwatch.GetMetricData':
      // No resource-level permission: GetMetricData is authorised on "*".
      return [one('cloudwatch:GetMetricData', '*')];
    case 'logs.GetQueryResults':
      return [one('logs:GetQueryResults', '*')];
    case 'logs.StopQuery':
      return [one('logs:StopQuery', '*')];
    case 'logs.GetLogEvents':
      return [
        one('logs:GetLogEvents', arn('logs', `log-group:${i.logGroupName}:log-stream:${i.logStreamName}`)),
      ];
    case 'ssm.SendCommand': {
      const tags = Object.fromEntries(
        Object.entries(instanceTags).map(([k, v]) => [`ssm:resourceTag/${k}`, v]),
      );
      return [
        one('ssm:SendCommand', arn('ssm', `document/${i.DocumentName}`)),
        ...((i.InstanceIds as string[]) ?? []).map((id) =>
          one('ssm:SendCommand', arn('ec2', `instance/${id}`), tags),
        ),
      ];
    }
    case 'ssm.GetCommandInvocation':
      return [one('ssm:GetCommandInvocation', '*')];
    case 'ssm.ListCommands':
      return [one('ssm:ListCommands', '*')];
    case 'ssm.GetParameter': {
      // A parameter's ARN has no slash after `parameter` when its name is a path (`/gatewatch/x`).
      const name = String(i.Name);
      return [one('ssm:GetParameter', arn('ssm', `parameter${name.startsWith('/') ? '' : '/'}${name}`))];
    }
    case 'secretsmanager.GetSecretValue': {
      // A secret's ARN ends with a dash and six random characters that its name does not carry.
      const id = String(i.SecretId);
      return [
        one(
          'secretsmanager:GetSecretValue',
          id.startsWith('arn:') ? id : arn('secretsmanager', `secret:${id}-Ab12Cd`),
        ),
      ];
    }
    case 'sns.Publish':
      return [one('sns:Publish', String(i.TopicArn))];
    case 'sfn.StartExecution':
      return [one('states:StartExecution', String(i.stateMachineArn))];
    case 'autoscaling.DescribeAutoScalingGroups':
      return [one('autoscaling:DescribeAutoScalingGroups', '*')];
    case 'autoscaling.SetDesiredCapacity':
      // The group's ARN carries a generated id the caller does not name; any id matches the grant's `*`.
      return [
        one(
          'autoscaling:SetDesiredCapacity',
          arn(
            'autoscaling',
            `autoScalingGroup:${ASG_ID_PLACEHOLDER}:autoScalingGroupName/${i.AutoScalingGroupName}`,
          ),
          // Auto Scaling authorises against the group's tags (the same opt-in tags as the instances here).
          Object.fromEntries(
            Object.entries(instanceTags).map(([k, v]) => [`autoscaling:ResourceTag/${k}`, v]),
          ),
        ),
      ];
  }
  if (call.client === 'ec2' && /^(Describe|GetManagedPrefixListEntries)/.test(call.command)) {
    return [one(`ec2:${call.command}`, '*')];
  }
  throw new UnmappedSdkCallError(`no IAM translation for ${from}: add it to test/infra/sdk-calls.ts`);
}
