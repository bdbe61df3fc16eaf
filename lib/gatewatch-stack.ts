/**
 * gatewatch in AWS, from one `gatewatch.yaml`: alarm → EventBridge → starter → the diagnosis workflow
 * (Step Functions running the same ASL as the local runner) → report in S3 → SNS e-mail; the
 * diagnostics run on the instances as gatewatch's own SSM Command document. Environment-agnostic and
 * free of lookups, so `cdk synth` runs offline without credentials.
 *
 * Detection: the probe Lambda and the log-rate Lambda run every minute and publish EMF metrics; the
 * alarms on them are Metrics Insights multi-time-series alarms made from the shared alarm definitions,
 * and each target in ALARM is a contributor event the trigger routes to that target's diagnosis.
 */
import { CfnOutput, type Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ConfigError, type GatewatchConfig } from '../lambdas/core/config.ts';
import { awsTargetProblems } from '../lambdas/handlers/wiring/aws-targets.ts';
import { AlarmTrigger } from './constructs/alarm-trigger.ts';
import { DeadLetterQueue } from './constructs/dead-letter-queue.ts';
import { DiagnosisWorkflow } from './constructs/diagnosis-workflow.ts';
import { DiagnosticsDocument, type InstanceTag } from './constructs/diagnostics-document.ts';
import { ExecutionFailureAlert } from './constructs/execution-failure-alert.ts';
import { deployedAlarmDefinitions, GatewatchAlarms } from './constructs/gatewatch-alarms.ts';
import { LogWatch } from './constructs/log-watch.ts';
import { NotificationTopic } from './constructs/notification-topic.ts';
import { ProbeSchedule } from './constructs/probe-schedule.ts';
import { RemediationDocument } from './constructs/remediation-document.ts';
import { ReportBucket } from './constructs/report-bucket.ts';
import { DIAGNOSTICS_SCRIPT, diagnosticsParameters } from './diagnostics-parameters.ts';
import { DEFAULT_LOG_GROUP_PREFIX, logGroupPrefixProblems } from './log-groups.ts';
import { REMEDIATION_SCRIPT, remediationParameters } from './remediation-parameters.ts';
import type { AlarmRoutes } from './workflow/lambda-wiring.ts';

export interface GatewatchStackProps extends StackProps {
  /** The validated `gatewatch.yaml`. Every target needs `aws.instanceId` and `aws.logGroups.error`. */
  readonly config: GatewatchConfig;
  /**
   * The tag an instance must carry for gatewatch to run its diagnostics there.
   * @default { key: 'gatewatch', value: 'enabled' }
   */
  readonly instanceTag?: InstanceTag;
  /**
   * Prefix of gatewatch's own alarm names: `<prefix><target>-…` starts a diagnosis of `<target>`.
   * @default 'gatewatch-'
   */
  readonly alarmNamePrefix?: string;
  /**
   * Every nginx log group of the configuration must start with this; IAM grants reading
   * `log-group:<prefix>*`, one resource for any number of targets.
   * @default '/gatewatch/'
   */
  readonly logGroupPrefix?: string;
  /**
   * Users' own alarms that should start a diagnosis too: alarm name → target name.
   * @default {}
   */
  readonly optInAlarms?: Readonly<Record<string, string>>;
  /**
   * Retention of every gatewatch log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How long incident reports are kept in S3.
   * @default Duration.days(400)
   */
  readonly reportExpiration?: Duration;
}

export class GatewatchStack extends Stack {
  public readonly reports: ReportBucket;
  public readonly notifications: NotificationTopic;
  public readonly deadLetters: DeadLetterQueue;
  public readonly diagnostics: DiagnosticsDocument;
  public readonly remediation: RemediationDocument;
  public readonly workflow: DiagnosisWorkflow;
  public readonly trigger: AlarmTrigger;
  public readonly executionFailureAlert: ExecutionFailureAlert;
  /** The probe Lambda and its schedule; absent when no target has a probe. */
  public readonly probes?: ProbeSchedule;
  /** The log-rate Lambda and its schedule; absent when no target has an access-log group. */
  public readonly logWatch?: LogWatch;
  public readonly alarms: GatewatchAlarms;
  public readonly alarmRoutes: AlarmRoutes;

  constructor(scope: Construct, id: string, props: GatewatchStackProps) {
    super(scope, id, props);
    const logGroupPrefix = props.logGroupPrefix ?? DEFAULT_LOG_GROUP_PREFIX;
    const problems = [
      ...awsTargetProblems(props.config),
      ...logGroupPrefixProblems(props.config, logGroupPrefix),
    ];
    const alarmNamePrefix = props.alarmNamePrefix ?? 'gatewatch-';
    const optIn = props.optInAlarms ?? {};
    const targetNames = new Set(props.config.targets.map((t) => t.name));
    for (const [alarm, target] of Object.entries(optIn)) {
      if (!targetNames.has(target)) problems.push(`optInAlarms["${alarm}"]: no target named "${target}"`);
    }
    if (problems.length > 0) throw new ConfigError('the configuration for cdk deploy', problems);
    // gatewatch's alarms route by contributor (the `Target` attribute), users' alarms by exact name:
    // neither the routes nor the rules grow with the number of targets.
    this.alarmRoutes = { prefixes: {}, names: { ...optIn }, contributorPrefix: alarmNamePrefix };
    const logRetention = props.logRetention ? { logRetention: props.logRetention } : {};

    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters');
    this.reports = new ReportBucket(this, 'Reports', {
      ...(props.reportExpiration ? { reportExpiration: props.reportExpiration } : {}),
    });
    this.notifications = new NotificationTopic(this, 'Notifications', {
      emails: props.config.notify.email,
      deadLetterQueue: this.deadLetters.queue,
    });
    this.deadLetters.alarmTo(this.notifications.topic);
    this.diagnostics = new DiagnosticsDocument(this, 'Diagnostics', {
      scriptPath: DIAGNOSTICS_SCRIPT,
      parameters: diagnosticsParameters(),
      instanceTag: props.instanceTag ?? { key: 'gatewatch', value: 'enabled' },
      outputBucket: this.reports.bucket,
      outputPrefix: this.reports.commandOutputPrefix,
    });
    this.remediation = new RemediationDocument(this, 'Remediation', {
      scriptPath: REMEDIATION_SCRIPT,
      parameters: remediationParameters(),
    });
    this.workflow = new DiagnosisWorkflow(this, 'Diagnosis', {
      config: props.config,
      reports: this.reports,
      diagnostics: this.diagnostics,
      remediation: this.remediation,
      notifications: this.notifications,
      logGroupPrefix,
      ...logRetention,
    });
    this.trigger = new AlarmTrigger(this, 'Trigger', {
      config: props.config,
      routes: this.alarmRoutes,
      stateMachine: this.workflow.stateMachine,
      deadLetterQueue: this.deadLetters.queue,
      ...logRetention,
    });
    this.executionFailureAlert = new ExecutionFailureAlert(this, 'ExecutionFailureAlert', {
      stateMachine: this.workflow.stateMachine,
      topic: this.notifications.topic,
      deadLetterQueue: this.deadLetters.queue,
    });

    if (props.config.targets.some((t) => t.probe !== undefined)) {
      this.probes = new ProbeSchedule(this, 'Probes', {
        config: props.config,
        deadLetterQueue: this.deadLetters.queue,
        ...logRetention,
      });
    }
    if (props.config.targets.some((t) => t.aws?.logGroups.access !== undefined)) {
      this.logWatch = new LogWatch(this, 'LogWatch', {
        config: props.config,
        deadLetterQueue: this.deadLetters.queue,
        logGroupPrefix,
        ...logRetention,
      });
    }
    this.alarms = new GatewatchAlarms(this, 'Alarms', {
      definitions: deployedAlarmDefinitions(props.config),
      alarmNamePrefix,
      routes: this.alarmRoutes,
      topic: this.notifications.topic,
      ...(this.probes ? { prober: this.probes.prober.function } : {}),
    });

    new CfnOutput(this, 'ReportsLocation', {
      description: 'Incident reports: <incidentId>/report.{json,md,html}',
      value: this.reports.reportsUri,
    });
    new CfnOutput(this, 'NotificationTopicArn', { value: this.notifications.topic.topicArn });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'DiagnosticsDocumentName', { value: this.diagnostics.documentName });
    new CfnOutput(this, 'RemediationDocumentName', {
      description: 'Runs only on instances tagged gatewatch-remediate=enabled',
      value: this.remediation.documentName,
    });
    new CfnOutput(this, 'InstancePolicyArn', {
      description:
        'Attach to the IAM role of every diagnosed instance (next to AmazonSSMManagedInstanceCore)',
      value: this.diagnostics.instancePolicy.managedPolicyArn,
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetters.queue.queueUrl });
  }
}
