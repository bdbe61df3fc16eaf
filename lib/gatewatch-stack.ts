/**
 * gatewatch in AWS, from one `gatewatch.yaml`: alarm → EventBridge → starter → the diagnosis workflow
 * (Step Functions running the same ASL as the local runner) → report in S3 → SNS e-mail; the
 * diagnostics run on the instances as gatewatch's own SSM Command document. Environment-agnostic and
 * free of lookups, so `cdk synth` runs offline without credentials.
 *
 * Detection: the probe Lambda and the log watcher run every minute and publish EMF metrics; the alarms
 * on them are made from the shared alarm definitions and named ({@link alarmNameFor}) so the trigger
 * routes each to its target's diagnosis.
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
  public readonly logWatch: LogWatch;
  public readonly alarms: GatewatchAlarms;
  public readonly alarmRoutes: AlarmRoutes;
  readonly #alarmNamePrefix: string;

  constructor(scope: Construct, id: string, props: GatewatchStackProps) {
    super(scope, id, props);
    const problems = awsTargetProblems(props.config);
    const alarmNamePrefix = props.alarmNamePrefix ?? 'gatewatch-';
    const optIn = props.optInAlarms ?? {};
    const targetNames = new Set(props.config.targets.map((t) => t.name));
    for (const [alarm, target] of Object.entries(optIn)) {
      if (!targetNames.has(target)) problems.push(`optInAlarms["${alarm}"]: no target named "${target}"`);
    }
    if (problems.length > 0) throw new ConfigError('the configuration for cdk deploy', problems);
    this.#alarmNamePrefix = alarmNamePrefix;
    this.alarmRoutes = {
      prefixes: Object.fromEntries(props.config.targets.map((t) => [`${alarmNamePrefix}${t.name}-`, t.name])),
      names: { ...optIn },
    };
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
    this.logWatch = new LogWatch(this, 'LogWatch', {
      config: props.config,
      reports: this.reports,
      deadLetterQueue: this.deadLetters.queue,
      ...logRetention,
    });
    this.alarms = new GatewatchAlarms(this, 'Alarms', {
      definitions: deployedAlarmDefinitions(props.config),
      // Alarms about gatewatch itself join their id with `_`, which no target name has: no route matches.
      alarmName: (d) =>
        d.target === undefined
          ? `${alarmNamePrefix}${d.id.replaceAll('-', '_')}`
          : this.alarmNameFor(d.target, d.id),
      routes: this.alarmRoutes,
      topic: this.notifications.topic,
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

  /** The CloudWatch alarm name under which an alarm of `target` starts its diagnosis (`gatewatch-shop-probe-failed`). */
  alarmNameFor(target: string, alarmId: string): string {
    const local = alarmId.startsWith(`${target}-`) ? alarmId.slice(target.length + 1) : alarmId;
    return `${this.#alarmNamePrefix}${target}-${local}`;
  }
}
