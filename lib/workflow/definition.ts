/**
 * The diagnosis workflow, written once in Amazon States Language. The CDK stack deploys exactly this
 * definition (task resources substituted with Lambda ARNs); the local runner executes exactly this
 * definition with `aws-local-stepfunctions`, each Task bound to the same step function the Lambda runs.
 *
 * State data stays small plain JSON: evidence and command outputs live in the report store and only
 * their keys travel between states.
 */
import { MAX_APPROVAL_SECONDS, MAX_VERIFY_SECONDS } from '../../lambdas/core/remediation/config.ts';

/** Every Task of the workflow: state name → the step it runs and its timeout. */
export const WORKFLOW_TASKS = {
  GatherNginxEvidence: { step: 'gather-nginx-evidence', timeoutSeconds: 120 },
  SendDiagnostics: { step: 'send-diagnostics', timeoutSeconds: 90 },
  CollectDiagnostics: { step: 'collect-diagnostics', timeoutSeconds: 60 },
  CheckNetworkPath: { step: 'check-network-path', timeoutSeconds: 60 },
  ClassifyAndReport: { step: 'classify-and-report', timeoutSeconds: 120 },
  WriteDegradedReport: { step: 'write-degraded-report', timeoutSeconds: 60 },
  Notify: { step: 'notify', timeoutSeconds: 30 },
  PlanRemediation: { step: 'plan-remediation', timeoutSeconds: 60 },
  // Waits on a task token in AWS (and polls the approvals folder locally) up to the longest approval.
  AwaitApproval: { step: 'await-approval', timeoutSeconds: MAX_APPROVAL_SECONDS + 60 },
  // The action (at most 70 s), the host lock (30 s), verify-after (at most MAX_VERIFY_SECONDS), writing.
  Remediate: { step: 'remediate', timeoutSeconds: MAX_VERIFY_SECONDS + 160 },
} as const;

export type WorkflowTaskName = keyof typeof WORKFLOW_TASKS;
export type WorkflowStepId = (typeof WORKFLOW_TASKS)[WorkflowTaskName]['step'];

export const WORKFLOW_TASK_NAMES = Object.keys(WORKFLOW_TASKS) as WorkflowTaskName[];

/** The Wait state between sending the diagnostics command and polling for its result. */
export const DIAGNOSTICS_WAIT_STATE = 'WaitForDiagnostics';
export const DIAGNOSTICS_POLL_SECONDS = 5;
/** Bounded polling: after this many `pending` answers the host is reported as timed out. */
export const DIAGNOSTICS_MAX_POLLS = 24;
/** The whole execution, including the longest poll loop, the longest approval wait and the repair. */
export const WORKFLOW_TIMEOUT_SECONDS =
  900 + WORKFLOW_TASKS.AwaitApproval.timeoutSeconds + WORKFLOW_TASKS.Remediate.timeoutSeconds;

/** `${GatherNginxEvidenceFunctionArn}`: the placeholder CDK's `definitionSubstitutions` fills. */
export function taskArnPlaceholder(task: WorkflowTaskName): string {
  return `${task}FunctionArn`;
}

// Lambda's transient faults and AWS throttling: retried with backoff. Everything else is caught.
const RETRY_TRANSIENT = [
  {
    ErrorEquals: [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
      'ThrottlingException',
      'TooManyRequestsException',
    ],
    IntervalSeconds: 2,
    MaxAttempts: 4,
    BackoffRate: 2,
  },
];

function task(name: WorkflowTaskName, fields: Record<string, unknown>): Record<string, unknown> {
  return {
    Type: 'Task',
    Resource: `\${${taskArnPlaceholder(name)}}`,
    TimeoutSeconds: WORKFLOW_TASKS[name].timeoutSeconds,
    Retry: RETRY_TRANSIENT,
    ...fields,
  };
}

function catchAll(resultPath: string, next: string): Record<string, unknown>[] {
  return [{ ErrorEquals: ['States.ALL'], ResultPath: resultPath, Next: next }];
}

/** Runs the diagnostics script on one host and waits (bounded) for its result. Never fails the Map. */
function hostIteration(): Record<string, unknown> {
  return {
    ProcessorConfig: { Mode: 'INLINE' },
    StartAt: 'SendDiagnostics',
    States: {
      SendDiagnostics: task('SendDiagnostics', {
        ResultPath: '$.command',
        Catch: catchAll('$.error', 'HostFailed'),
        Next: DIAGNOSTICS_WAIT_STATE,
      }),
      [DIAGNOSTICS_WAIT_STATE]: {
        Type: 'Wait',
        Seconds: DIAGNOSTICS_POLL_SECONDS,
        Next: 'CollectDiagnostics',
      },
      CollectDiagnostics: task('CollectDiagnostics', {
        ResultPath: '$.poll',
        Catch: catchAll('$.error', 'HostFailed'),
        Next: 'DiagnosticsFinished',
      }),
      DiagnosticsFinished: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.poll.status', StringEquals: 'done', Next: 'HostDone' },
          {
            And: [
              { Variable: '$.poll.status', StringEquals: 'pending' },
              { Variable: '$.poll.attempt', NumericLessThan: DIAGNOSTICS_MAX_POLLS },
            ],
            Next: DIAGNOSTICS_WAIT_STATE,
          },
        ],
        Default: 'HostTimedOut',
      },
      HostDone: {
        Type: 'Pass',
        Parameters: { 'host.$': '$.host', status: 'done', 'key.$': '$.poll.key' },
        End: true,
      },
      HostTimedOut: {
        Type: 'Pass',
        Parameters: { 'host.$': '$.host', status: 'timed-out', 'attempts.$': '$.poll.attempt' },
        End: true,
      },
      HostFailed: {
        Type: 'Pass',
        Parameters: {
          'host.$': '$.host',
          status: 'failed',
          'error.$': '$.error.Error',
          'cause.$': '$.error.Cause',
        },
        End: true,
      },
    },
  };
}

/**
 * The ASL definition. Task `Resource`s are `${<Task>FunctionArn}` placeholders; substitute them with
 * {@link substituteTaskArns} (local) or CDK `definitionSubstitutions` (AWS).
 */
export function buildDiagnosisDefinition(): Record<string, unknown> {
  return {
    Comment: 'gatewatch: find out why nginx answered 502/504, write the incident report, notify.',
    TimeoutSeconds: WORKFLOW_TIMEOUT_SECONDS,
    StartAt: 'GatherNginxEvidence',
    States: {
      GatherNginxEvidence: task('GatherNginxEvidence', {
        ResultPath: '$.evidence',
        Catch: catchAll('$.gatherError', 'GatherFailed'),
        Next: 'DiagnoseHosts',
      }),
      // Without the nginx evidence there is no host list: continue with none, the report says why.
      GatherFailed: { Type: 'Pass', Result: { hosts: [] }, ResultPath: '$.evidence', Next: 'DiagnoseHosts' },
      DiagnoseHosts: {
        Type: 'Map',
        ItemsPath: '$.evidence.hosts',
        ItemSelector: {
          'incidentId.$': '$.incidentId',
          'target.$': '$.target',
          'window.$': '$.window',
          'host.$': '$$.Map.Item.Value',
        },
        MaxConcurrency: 4,
        ItemProcessor: hostIteration(),
        ResultPath: '$.hosts',
        Catch: catchAll('$.hostsError', 'CheckNetworkPath'),
        Next: 'CheckNetworkPath',
      },
      CheckNetworkPath: task('CheckNetworkPath', {
        ResultPath: '$.network',
        Catch: catchAll('$.networkError', 'ClassifyAndReport'),
        Next: 'ClassifyAndReport',
      }),
      ClassifyAndReport: task('ClassifyAndReport', {
        ResultPath: '$.report',
        Catch: catchAll('$.reportError', 'WriteDegradedReport'),
        Next: 'PlanRemediation',
      }),
      ...remediationStates('Notify'),
      WriteDegradedReport: task('WriteDegradedReport', {
        ResultPath: '$.report',
        Catch: catchAll('$.degradedError', 'ReportFailed'),
        Next: 'Notify',
      }),
      Notify: task('Notify', {
        ResultPath: '$.notification',
        Catch: catchAll('$.notifyError', 'Done'),
        Next: 'Done',
      }),
      Done: { Type: 'Succeed' },
      ReportFailed: {
        Type: 'Fail',
        Error: 'ReportFailed',
        Cause: 'Neither the report nor the degraded report could be written; see the execution history.',
      },
    },
  };
}

/**
 * The Remediate stage (see lambdas/steps/remediate.ts): plan, then wait for an approval or run, then
 * `next`. A failure anywhere goes on to `next` with the report already written: remediation never
 * loses the report or the notification.
 */
function remediationStates(next: string): Record<string, unknown> {
  return {
    PlanRemediation: task('PlanRemediation', {
      ResultPath: '$.remediationPlan',
      Catch: catchAll('$.remediationError', next),
      Next: 'RemediationDecision',
    }),
    RemediationDecision: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.remediationPlan.decision', StringEquals: 'approve', Next: 'AwaitApproval' },
        { Variable: '$.remediationPlan.decision', StringEquals: 'run', Next: 'Remediate' },
      ],
      Default: next,
    },
    // The Lambda is invoked with the task token and returns at once in AWS; the state waits until an
    // approval answers (SendTaskSuccess/SendTaskFailure) or TimeoutSeconds passes (expired: no action).
    AwaitApproval: {
      Type: 'Task',
      Resource: APPROVAL_RESOURCE,
      Parameters: {
        FunctionName: `\${${taskArnPlaceholder('AwaitApproval')}}`,
        Payload: { 'input.$': '$', 'taskToken.$': '$$.Task.Token' },
      },
      TimeoutSeconds: WORKFLOW_TASKS.AwaitApproval.timeoutSeconds,
      Retry: RETRY_TRANSIENT,
      ResultPath: '$.approval',
      // Expired (States.Timeout) or rejected (SendTaskFailure): Remediate records it and runs nothing.
      Catch: catchAll('$.approvalError', 'Remediate'),
      Next: 'Remediate',
    },
    Remediate: task('Remediate', {
      ResultPath: '$.remediation',
      Catch: catchAll('$.remediationError', next),
      Next: next,
    }),
  };
}

/** Step Functions' Lambda integration that waits for a task token. */
export const APPROVAL_RESOURCE = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/** Replaces every `${<Task>FunctionArn}` placeholder, as CloudFormation does with `DefinitionSubstitutions`. */
export function substituteTaskArns(
  definition: Record<string, unknown>,
  arnFor: (task: WorkflowTaskName) => string,
): Record<string, unknown> {
  let text = JSON.stringify(definition);
  for (const name of WORKFLOW_TASK_NAMES) {
    text = text.replaceAll(`\${${taskArnPlaceholder(name)}}`, arnFor(name));
  }
  return JSON.parse(text) as Record<string, unknown>;
}
