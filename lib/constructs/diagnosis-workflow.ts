/**
 * The diagnosis workflow in Step Functions (Standard): exactly the ASL of `lib/workflow/definition.ts`,
 * each Task's `${<Task>FunctionArn}` placeholder substituted with the ARN of that Task's Lambda. Every
 * Lambda is wired (permissions and environment together) to the capabilities `TASK_CAPABILITIES` lists
 * for its Task, and the state machine's role may invoke these Lambdas and nothing else.
 */
import { Annotations, ArnFormat, type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { DEFAULT_LOG_GROUP_PREFIX, logGroupPrefixArn, logGroupPrefixArnForNag } from '../log-groups.ts';
import {
  buildDiagnosisDefinition,
  taskArnPlaceholder,
  WORKFLOW_TASK_NAMES,
  WORKFLOW_TASKS,
  type WorkflowTaskName,
} from '../workflow/definition.ts';
import {
  APPROVALS_PREFIX,
  LAMBDA_ENV,
  REMEDIATION_STATE_PREFIX,
  TASK_CAPABILITIES,
  type TaskCapability,
} from '../workflow/lambda-wiring.ts';
import type { DiagnosticsDocument } from './diagnostics-document.ts';
import { GatewatchFunction } from './gatewatch-function.ts';
import type { NotificationTopic } from './notification-topic.ts';
import type { RemediationDocument } from './remediation-document.ts';
import type { ReportBucket } from './report-bucket.ts';

export class DiagnosisWorkflowPropsError extends Error {
  override name = 'DiagnosisWorkflowPropsError';
}

export interface DiagnosisWorkflowProps {
  /** The validated configuration (every target has an `aws` block). */
  readonly config: GatewatchConfig;
  readonly reports: ReportBucket;
  readonly diagnostics: DiagnosticsDocument;
  readonly notifications: NotificationTopic;
  /** The remediation actions document (the Remediate Task sends it). */
  readonly remediation: RemediationDocument;
  /**
   * Every nginx log group's name starts with this; the logs grant is on `log-group:<prefix>*`.
   * @default DEFAULT_LOG_GROUP_PREFIX ('/gatewatch/')
   */
  readonly logGroupPrefix?: string;
  /**
   * Retention of the Lambdas' and the state machine's logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Seconds a Lambda stops before its Task's timeout, so the Task records the Lambda's own error. */
export const LAMBDA_TIMEOUT_MARGIN_SECONDS = 5;

/** Parsing a window of logs or classifying wants CPU; polling and publishing do not. */
const TASK_MEMORY_MB: Record<WorkflowTaskName, number> = {
  GatherNginxEvidence: 1024,
  SendDiagnostics: 256,
  CollectDiagnostics: 512,
  CheckNetworkPath: 256,
  ClassifyAndReport: 1024,
  WriteDegradedReport: 256,
  Notify: 256,
  PlanRemediation: 256,
  AwaitApproval: 256,
  Remediate: 512,
};

function kebab(task: WorkflowTaskName): string {
  return WORKFLOW_TASKS[task].step;
}

/**
 * Read access to exactly the secrets `notify` names (Slack, the webhook, PagerDuty): SSM parameters by
 * name, Secrets Manager secrets by ARN (or by name, with the random suffix Secrets Manager appends).
 * Nothing when no channel has a secret in AWS. A secret named as an environment variable cannot reach a
 * Lambda without being written into the template, so it is a synth warning and that channel fails (and
 * is recorded) at run time.
 */
function grantNotificationSecrets(scope: Construct, role: iam.IRole, config: GatewatchConfig): void {
  const { slack, webhook, pagerduty } = config.notify;
  const refs = [slack?.webhookUrl, webhook?.secret, pagerduty?.routingKey].filter((ref) => ref !== undefined);
  const stack = Stack.of(scope);
  const parameters: string[] = [];
  const secrets: string[] = [];
  for (const ref of refs) {
    if ('ssmParameter' in ref) {
      const name = ref.ssmParameter.replace(/^\//, '');
      parameters.push(stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name }));
    } else if ('secretsManager' in ref) {
      secrets.push(
        ref.secretsManager.startsWith('arn:')
          ? ref.secretsManager
          : stack.formatArn({
              service: 'secretsmanager',
              resource: 'secret',
              resourceName: `${ref.secretsManager}-??????`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
      );
    } else {
      Annotations.of(scope).addWarning(
        `notify names the environment variable ${ref.env} for a secret: in AWS name an SSM parameter or a Secrets Manager secret, or that channel fails`,
      );
    }
  }
  if (parameters.length > 0)
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: parameters }),
    );
  if (secrets.length > 0)
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secrets }),
    );
}

export class DiagnosisWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;
  /** One Lambda per Task of the definition. */
  public readonly tasks: Readonly<Record<WorkflowTaskName, GatewatchFunction>>;

  constructor(scope: Construct, id: string, props: DiagnosisWorkflowProps) {
    super(scope, id);
    const missing = props.config.targets.filter((t) => !t.aws).map((t) => t.name);
    if (missing.length > 0) {
      throw new DiagnosisWorkflowPropsError(
        `targets without an aws block cannot be diagnosed in AWS: ${missing.join(', ')}`,
      );
    }

    const tasks = {} as Record<WorkflowTaskName, GatewatchFunction>;
    for (const task of WORKFLOW_TASK_NAMES) {
      tasks[task] = new GatewatchFunction(this, task, {
        handlerModule: `${kebab(task)}.ts`,
        description: `gatewatch workflow task ${task}`,
        // AwaitApproval's state waits on a task token; its Lambda only stores the token and e-mails.
        timeout: Duration.seconds(
          task === 'AwaitApproval' ? 60 : WORKFLOW_TASKS[task].timeoutSeconds - LAMBDA_TIMEOUT_MARGIN_SECONDS,
        ),
        memorySize: TASK_MEMORY_MB[task],
        config: props.config,
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      });
      Validations.of(tasks[task].function).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously by Step Functions only: a failure is caught by the state machine (Retry/Catch) and ends in a degraded report; a DLQ would never receive anything.',
      });
    }
    this.tasks = tasks;

    this.logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    });
    const definitionSubstitutions: Record<string, string> = {};
    for (const task of WORKFLOW_TASK_NAMES) {
      definitionSubstitutions[taskArnPlaceholder(task)] = tasks[task].function.functionArn;
    }
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(buildDiagnosisDefinition())),
      definitionSubstitutions,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      comment: 'gatewatch: why did nginx answer 502/504?',
    });

    for (const task of WORKFLOW_TASK_NAMES) {
      tasks[task].function.grantInvoke(this.stateMachine);
      for (const capability of TASK_CAPABILITIES[task] as readonly TaskCapability[]) {
        this.#wire(capability, tasks[task], props);
      }
    }
    this.#acknowledge(props);
  }

  /** Grants a capability and sets the environment variables naming its resources, together. */
  #wire(capability: TaskCapability, fn: GatewatchFunction, props: DiagnosisWorkflowProps): void {
    const lambda = fn.function;
    switch (capability) {
      case 'logs':
        fn.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: ['logs:FilterLogEvents', 'logs:GetLogEvents'],
            resources: [logGroupPrefixArn(this, props.logGroupPrefix ?? DEFAULT_LOG_GROUP_PREFIX)],
          }),
        );
        return;
      case 'store':
        props.reports.grantIncidentReadWrite(lambda);
        lambda.addEnvironment(LAMBDA_ENV.reportBucket, props.reports.bucket.bucketName);
        lambda.addEnvironment(LAMBDA_ENV.reportPrefix, props.reports.reportPrefix);
        return;
      case 'diagnostics-send':
      case 'diagnostics-collect':
        if (capability === 'diagnostics-send') props.diagnostics.grantSend(lambda);
        else {
          props.diagnostics.grantCollect(lambda);
          props.reports.grantCommandOutputRead(lambda);
        }
        lambda.addEnvironment(LAMBDA_ENV.diagnosticsDocument, props.diagnostics.documentName);
        lambda.addEnvironment(LAMBDA_ENV.reportBucket, props.reports.bucket.bucketName);
        lambda.addEnvironment(LAMBDA_ENV.commandOutputPrefix, props.reports.commandOutputPrefix);
        return;
      case 'notifier':
        props.notifications.grantPublish(lambda);
        lambda.addEnvironment(LAMBDA_ENV.topicArn, props.notifications.topic.topicArn);
        grantNotificationSecrets(this, fn.role, props.config);
        return;
      case 'approvals':
        this.#grantState(fn, props, APPROVALS_PREFIX, ['s3:GetObject', 's3:PutObject']);
        lambda.addEnvironment(LAMBDA_ENV.reportBucket, props.reports.bucket.bucketName);
        return;
      case 'remediation': {
        props.remediation.grantSend(lambda);
        // Locks are replaced with conditional writes, never deleted: no s3:DeleteObject anywhere.
        this.#grantState(fn, props, REMEDIATION_STATE_PREFIX, ['s3:GetObject', 's3:PutObject']);
        const groups = scaledGroups(props.config);
        if (groups.length > 0) {
          // Describe has no resource-level permissions. SetDesiredCapacity: any group carrying the same
          // opt-in tag as a repairable instance (one statement for any number of targets; the step
          // itself only ever names the groups the configuration lists).
          const tag = props.remediation.instanceTag;
          fn.role.addToPrincipalPolicy(
            new iam.PolicyStatement({ actions: ['autoscaling:DescribeAutoScalingGroups'], resources: ['*'] }),
          );
          fn.role.addToPrincipalPolicy(
            new iam.PolicyStatement({
              actions: ['autoscaling:SetDesiredCapacity'],
              resources: [
                Stack.of(this).formatArn({
                  service: 'autoscaling',
                  resource: 'autoScalingGroup',
                  resourceName: '*:autoScalingGroupName/*',
                  arnFormat: ArnFormat.COLON_RESOURCE_NAME,
                }),
              ],
              conditions: { StringEquals: { [`autoscaling:ResourceTag/${tag.key}`]: tag.value } },
            }),
          );
        }
        lambda.addEnvironment(LAMBDA_ENV.remediationDocument, props.remediation.documentName);
        lambda.addEnvironment(LAMBDA_ENV.reportBucket, props.reports.bucket.bucketName);
        return;
      }
      case 'network':
        // Read-only describes of the network path; EC2 offers no resource-level permissions for them.
        fn.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: [
              'ec2:DescribeInstances',
              'ec2:DescribeNetworkInterfaces',
              'ec2:DescribeSecurityGroups',
              'ec2:DescribeNetworkAcls',
              'ec2:DescribeSubnets',
              'ec2:DescribeRouteTables',
              'ec2:DescribeManagedPrefixLists',
              'ec2:GetManagedPrefixListEntries',
            ],
            resources: ['*'],
          }),
        );
        return;
    }
  }

  /** Read/write one state prefix of the report bucket (approvals, the remediation ledger). */
  #grantState(fn: GatewatchFunction, props: DiagnosisWorkflowProps, prefix: string, actions: string[]): void {
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions, resources: [props.reports.bucket.arnForObjects(`${prefix}*`)] }),
    );
  }

  /** The wildcards cdk-nag reports here, each with why it is the narrowest grant possible. */
  #acknowledge(props: DiagnosisWorkflowProps): void {
    const stack = Stack.of(this);
    for (const task of WORKFLOW_TASK_NAMES) {
      const fn = this.tasks[task];
      const role = fn.role;
      const capabilities = TASK_CAPABILITIES[task] as readonly TaskCapability[];
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions' +
          (capabilities.includes('diagnostics-collect')
            ? '; ssm:GetCommandInvocation and ssm:ListCommands support none either (read-only status and output of commands)'
            : '') +
          (capabilities.includes('network')
            ? '; the read-only ec2:Describe* calls of the network-path check support none either'
            : '') +
          (capabilities.includes('remediation')
            ? '; ssm:GetCommandInvocation (the result of the action) and autoscaling:DescribeAutoScalingGroups support none either'
            : '') +
          '.',
      });
      if (capabilities.includes('store')) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(props.reports.bucket.node.defaultChild as CfnElement)}.Arn>/incidents/*]`,
          reason:
            'Incident folders are named by incident id at run time; the grant is limited to the incidents/ prefix.',
        });
      }
      if (capabilities.includes('diagnostics-collect')) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(props.reports.bucket.node.defaultChild as CfnElement)}.Arn>/ssm-output/*]`,
          reason:
            'SSM names command output by command id at run time; the grant is limited to the ssm-output/ prefix.',
        });
      }
      if (capabilities.includes('notifier')) {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
          reason:
            'Publishing to the KMS-encrypted topic needs data keys of its key (GenerateDataKey and its WithoutPlaintext form); the resource is that one key.',
        });
      }
      if (capabilities.includes('diagnostics-send')) {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
          reason: `SendCommand is allowed only on instances tagged ${props.diagnostics.instanceTag.key}=${props.diagnostics.instanceTag.value} (ssm:resourceTag condition) and only with gatewatch's document.`,
        });
      }
      const bucketArn = `<${stack.getLogicalId(props.reports.bucket.node.defaultChild as CfnElement)}.Arn>`;
      if (capabilities.includes('approvals')) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${bucketArn}/${APPROVALS_PREFIX}*]`,
          reason:
            'One pending-approval object per incident, named by incident id at run time; limited to the approvals prefix.',
        });
      }
      if (capabilities.includes('remediation')) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${bucketArn}/${REMEDIATION_STATE_PREFIX}*]`,
          reason:
            'The remediation ledger and its host locks (named by host at run time); limited to the remediation state prefix.',
        });
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
          reason: `SendCommand with the actions document is allowed only on instances tagged ${props.remediation.instanceTag.key}=${props.remediation.instanceTag.value} (ssm:resourceTag condition).`,
        });
        if (scaledGroups(props.config).length > 0)
          Validations.of(role).acknowledge({
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/*]',
            reason: `SetDesiredCapacity only on Auto Scaling groups tagged ${props.remediation.instanceTag.key}=${props.remediation.instanceTag.value} (autoscaling:ResourceTag condition); their ARNs carry a generated id.`,
          });
      }
      if (capabilities.includes('logs')) {
        const prefix = props.logGroupPrefix ?? DEFAULT_LOG_GROUP_PREFIX;
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${logGroupPrefixArnForNag(prefix)}]`,
          reason: `Read-only FilterLogEvents/GetLogEvents on the log groups under ${prefix}, where every configured nginx log group must be (checked at synth): one grant whatever the number of targets, where one ARN per group outgrows IAM's policy size limits at ~18 targets.`,
        });
      }
    }
    const smRole = this.stateMachine.role;
    Validations.of(smRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'CloudWatch Logs delivery and X-Ray actions of Step Functions support no resource-level permissions.',
    });
    for (const task of WORKFLOW_TASK_NAMES) {
      const logicalId = stack.getLogicalId(this.tasks[task].function.node.defaultChild as CfnElement);
      Validations.of(smRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        reason:
          'lambda:InvokeFunction on the task Lambda’s own versions and aliases (ARN:*), as CDK grants it; no other function.',
      });
    }
  }
}

/** The Auto Scaling groups the configuration lets `scale-asg` raise. */
function scaledGroups(config: DiagnosisWorkflowProps['config']): string[] {
  return config.targets.flatMap((t) =>
    t.remediation?.autoScalingGroup && t.remediation.actions.includes('scale-asg')
      ? [t.remediation.autoScalingGroup.name]
      : [],
  );
}
