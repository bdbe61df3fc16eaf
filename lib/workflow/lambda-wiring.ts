/**
 * What each workflow Task's Lambda is wired to in AWS, said once for both sides: the stack grants and
 * sets environment variables from this table, and each handler builds exactly these adapters (its
 * `taskHandler` call does not type-check otherwise). A port a Task does not list is not built in its
 * Lambda, and its role has no permission for it.
 */
import type { WorkflowTaskName } from './definition.ts';

/** Environment variables the gatewatch Lambdas read. */
export const LAMBDA_ENV = {
  /**
   * The validated `gatewatch.yaml` as compact JSON — read only by the handler source outside a bundle
   * (tests); deployed functions read {@link BUNDLED_FILES}.config and the stack never sets it.
   */
  config: 'GATEWATCH_CONFIG',
  reportBucket: 'GATEWATCH_REPORT_BUCKET',
  /** Key prefix of incident folders in the report bucket, ending with `/`. */
  reportPrefix: 'GATEWATCH_REPORT_PREFIX',
  diagnosticsDocument: 'GATEWATCH_DIAGNOSTICS_DOCUMENT',
  /** Key prefix (in the report bucket) of SSM Run Command output, ending with `/`. */
  commandOutputPrefix: 'GATEWATCH_COMMAND_OUTPUT_PREFIX',
  topicArn: 'GATEWATCH_TOPIC_ARN',
  stateMachineArn: 'GATEWATCH_STATE_MACHINE_ARN',
  /** JSON `AlarmRoutes`, for the unbundled starter source only (deployed: {@link BUNDLED_FILES}.alarmRoutes). */
  alarmRoutes: 'GATEWATCH_ALARM_ROUTES',
  /** The remediation actions document (SSM Command). */
  remediationDocument: 'GATEWATCH_REMEDIATION_DOCUMENT',
} as const;

/** The JSON documents shipped in a Lambda's code package, next to `index.mjs`, by role. */
export const BUNDLED_FILES = {
  /** The validated `gatewatch.yaml` (every Lambda). */
  config: 'gatewatch-config.json',
  /** The starter's {@link AlarmRoutes}. */
  alarmRoutes: 'gatewatch-alarm-routes.json',
} as const;

/** The esbuild `define` that marks code as a deployed bundle (whose documents are files next to it). */
export const BUNDLED_FILES_DEFINE = {
  expression: 'process.env.GATEWATCH_FILES_DELIVERY',
  value: 'bundle',
} as const;

/**
 * One permission-and-adapter bundle:
 * - `logs`: read the targets' CloudWatch Logs groups (`LogSource`);
 * - `store`: read and write the incident folders of the report bucket (`ReportStore`);
 * - `diagnostics-send` / `diagnostics-collect`: SSM Run Command with gatewatch's document, split so that
 *   only the send Task may start commands (`DiagnosticsDispatcher`);
 * - `notifier`: publish to the notification topic, and read exactly the SSM parameters and Secrets Manager
 *   secrets `notify` names for Slack, the webhook and PagerDuty (`Notifier`).
 * - `approvals`: keep approval task tokens under the report bucket's approvals prefix (`ApprovalGate`);
 * - `remediation`: SSM Run Command with the actions document on instances tagged for remediation, the
 *   remediation ledger and locks, the Auto Scaling groups the configuration names (`RemediationPorts`).
 */
export type TaskCapability =
  | 'logs'
  | 'store'
  | 'diagnostics-send'
  | 'diagnostics-collect'
  | 'notifier'
  | 'network'
  | 'approvals'
  | 'remediation';

export const TASK_CAPABILITIES = {
  GatherNginxEvidence: ['logs', 'store'],
  SendDiagnostics: ['diagnostics-send'],
  CollectDiagnostics: ['diagnostics-collect', 'store'],
  CheckNetworkPath: ['store', 'network'],
  ClassifyAndReport: ['store'],
  WriteDegradedReport: ['store'],
  // The store: the Notify step reads the report it notifies about and records each channel's outcome in it.
  Notify: ['notifier', 'store'],
  PlanRemediation: ['store'],
  AwaitApproval: ['notifier', 'approvals'],
  Remediate: ['store', 'logs', 'remediation'],
} as const satisfies Record<WorkflowTaskName, readonly TaskCapability[]>;

export type CapabilitiesOf<T extends WorkflowTaskName> = (typeof TASK_CAPABILITIES)[T][number];

/** Prefixes in the report bucket. */
export const REPORT_PREFIX = 'incidents/';
export const COMMAND_OUTPUT_PREFIX = 'ssm-output/';
/** The remediation ledger and host locks (report bucket), outside the expiring prefixes. */
export const REMEDIATION_STATE_PREFIX = 'state/remediation/';
/** Pending approvals (task tokens), one object per incident. */
export const APPROVALS_PREFIX = 'state/approvals/';

/** The fixed parts of the remediation actions document the runner must agree with. */
export const REMEDIATION_DOCUMENT = {
  stepName: 'runRemediation',
  executionTimeoutParameter: 'executionTimeout',
  interpolationCheckParameter: 'interpolationCheck',
  interpolationCheckValue: 'ENV_VAR',
} as const;

/**
 * How often the scheduled Lambdas run in AWS (EventBridge `rate(1 minute)`): the probe Lambda's run
 * interval, hence the period of the probe alarms and of the heartbeat, and the log-rate Lambda's.
 */
export const AWS_SCHEDULE_SECONDS = 60;

/** Probes the probe Lambda runs at once (sockets in flight); its timeout is sized from it. */
export const AWS_PROBE_CONCURRENCY = 32;

/**
 * Which CloudWatch alarm starts a diagnosis of which target: gatewatch's own alarms are Metrics Insights
 * multi-time-series alarms named `<contributorPrefix>…`, whose contributor events name the target in the
 * contributor's `Target` attribute; users' alarms route by exact name (and, for alarms named per
 * target, by name prefix). The EventBridge rules and the starter Lambda both use this one value, and it
 * does not grow with the number of targets.
 */
export interface AlarmRoutes {
  /** Alarm name prefix → target name. */
  prefixes: Record<string, string>;
  /** Exact alarm name → target name. */
  names: Record<string, string>;
  /**
   * Name prefix of gatewatch's multi-time-series alarms: a contributor event of such an alarm starts a
   * diagnosis of the target its `Target` attribute names.
   */
  contributorPrefix?: string;
}

/** The target an alarm belongs to: an exact name first, else the longest matching prefix. */
export function targetForAlarm(routes: AlarmRoutes, alarmName: string): string | undefined {
  const exact = routes.names[alarmName];
  if (exact !== undefined) return exact;
  let best: { prefix: string; target: string } | undefined;
  for (const [prefix, target] of Object.entries(routes.prefixes)) {
    if (alarmName.startsWith(prefix) && (!best || prefix.length > best.prefix.length))
      best = { prefix, target };
  }
  return best?.target;
}

/**
 * The fixed parts of gatewatch's SSM Command document that the dispatcher must agree with. The `GW_*`
 * parameters come from `lambdas/core/diagnostics/params.ts`.
 */
export const DIAGNOSTICS_DOCUMENT = {
  /** The document's only step; SSM puts its S3 output under `…/awsrunShellScript/<stepName>/`. */
  stepName: 'runDiagnostics',
  /** Seconds the script may run (the `aws:runShellScript` timeout). Read by the agent, not the shell. */
  executionTimeoutParameter: 'executionTimeout',
  /**
   * Always sent as `ENV_VAR`: the script refuses to start unless the agent exported it as
   * `SSM_interpolationCheck`, i.e. unless the agent supports environment-variable interpolation
   * (SSM Agent 3.3.2746.0 or later) and the parameters reach the shell only as environment variables.
   */
  interpolationCheckParameter: 'interpolationCheck',
  interpolationCheckValue: 'ENV_VAR',
} as const;
