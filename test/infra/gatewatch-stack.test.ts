import { type App, Stack, Token } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambdas/core/config.ts';
import { DIAGNOSTICS_ENVIRONMENT } from '../../lambdas/core/diagnostics/params.ts';
import type { GatewatchStack } from '../../lib/gatewatch-stack.ts';
import {
  buildDiagnosisDefinition,
  taskArnPlaceholder,
  WORKFLOW_TASK_NAMES,
  WORKFLOW_TASKS,
} from '../../lib/workflow/definition.ts';
import { BUNDLED_FILES, LAMBDA_ENV, TASK_CAPABILITIES } from '../../lib/workflow/lambda-wiring.ts';
import { exampleConfig, synthesizedDefinition, synthesizeStack } from './synth.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
};

function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type)) as [string, Resource][];
}

function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

function resourcesOf(statement: Statement): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/** Every IAM statement of every inline and managed policy, with the roles it is attached to. */
function statements(template: Template): { roles: unknown[]; statement: Statement }[] {
  const all: { roles: unknown[]; statement: Statement }[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const [, policy] of resources(template, type)) {
      const document = policy.Properties.PolicyDocument as { Statement: Statement[] };
      for (const statement of document.Statement)
        all.push({ roles: (policy.Properties.Roles as unknown[]) ?? [], statement });
    }
  }
  return all;
}

/** Every Task state of an ASL definition, nested Map iterations included. */
function taskStates(definition: Record<string, unknown>): [string, Record<string, unknown>][] {
  const found: [string, Record<string, unknown>][] = [];
  const states = definition.States as Record<string, Record<string, unknown>>;
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') found.push([name, state]);
    const inner = (state.ItemProcessor ?? state.Iterator) as Record<string, unknown> | undefined;
    if (inner) found.push(...taskStates(inner));
    for (const branch of (state.Branches as Record<string, unknown>[] | undefined) ?? [])
      found.push(...taskStates(branch));
  }
  return found;
}

function logicalIdOfTask(template: Template, task: string): string {
  const match = resources(template, 'AWS::Lambda::Function').find(
    ([, fn]) => fn.Properties.Description === `gatewatch workflow task ${task}`,
  );
  if (!match) throw new Error(`no Lambda for ${task}`);
  return match[0];
}

describe('the gatewatch stack synthesized in-process from gatewatch.example.yaml', () => {
  let app: App;
  let stack: GatewatchStack;
  let template: Template;

  beforeAll(() => {
    ({ app, stack, template } = synthesizeStack());
  }, 300_000);

  describe('synthesis', () => {
    it('needs no account, region or context lookup (works offline, without credentials)', () => {
      expect(Token.isUnresolved(stack.account)).toBe(true);
      expect(Token.isUnresolved(stack.region)).toBe(true);
      const artifact = app.synth().getStackByName(stack.stackName);
      expect(artifact.environment.account).toBe('unknown-account');
      expect(app.synth().manifest.missing ?? []).toEqual([]);
    });

    it('refuses a configuration whose target cannot be reached in AWS, naming the path to fix', () => {
      const config = exampleConfig();
      delete config.targets[0]!.aws!.instanceId;

      expect(() => synthesizeStack({ config })).toThrow(ConfigError);
      expect(() => synthesizeStack({ config })).toThrow(
        /targets\[0\]\.aws\.instanceId: is required for cdk deploy/,
      );
    });
  });

  describe('diagnosis workflow', () => {
    it('deploys the shared definition unchanged, as a Standard state machine with full logging and tracing', () => {
      const { definition } = synthesizedDefinition();
      expect(definition).toEqual(buildDiagnosisDefinition());
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
      });
    });

    it('substitutes every Task placeholder with the ARN of that Task’s own Lambda', () => {
      const [, machine] = resources(template, 'AWS::StepFunctions::StateMachine')[0]!;
      const substitutions = machine.Properties.DefinitionSubstitutions as Record<string, unknown>;
      expect(Object.keys(substitutions).sort()).toEqual(WORKFLOW_TASK_NAMES.map(taskArnPlaceholder).sort());
      for (const task of WORKFLOW_TASK_NAMES) {
        expect(substitutions[taskArnPlaceholder(task)]).toEqual({
          'Fn::GetAtt': [logicalIdOfTask(template, task), 'Arn'],
        });
      }
    });

    it('gives every Task of the synthesized definition a timeout, a throttling retry and a catch', () => {
      const tasks = taskStates(synthesizedDefinition().definition);
      expect(tasks.map(([name]) => name).sort()).toEqual([...WORKFLOW_TASK_NAMES].sort());
      for (const [name, state] of tasks) {
        expect(state.TimeoutSeconds, name).toBe(
          WORKFLOW_TASKS[name as keyof typeof WORKFLOW_TASKS].timeoutSeconds,
        );
        expect(state.Retry, name).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              ErrorEquals: expect.arrayContaining(['ThrottlingException', 'Lambda.TooManyRequestsException']),
              MaxAttempts: expect.any(Number),
              BackoffRate: expect.any(Number),
            }),
          ]),
        );
        expect(state.Catch, name).toEqual(
          expect.arrayContaining([expect.objectContaining({ ErrorEquals: ['States.ALL'] })]),
        );
      }
    });

    it('lets the state machine invoke its seven task Lambdas and no other function', () => {
      const [machineId, machine] = resources(template, 'AWS::StepFunctions::StateMachine')[0]!;
      const roleRef = machine.Properties.RoleArn as { 'Fn::GetAtt': [string, string] };
      const roleId = roleRef['Fn::GetAtt'][0];
      const invoke = statements(template).filter(
        ({ roles, statement }) =>
          roles.some((r) => JSON.stringify(r).includes(roleId)) &&
          actionsOf(statement).some((a) => a.startsWith('lambda:')),
      );
      const allowed = new Set(WORKFLOW_TASK_NAMES.map((t) => logicalIdOfTask(template, t)));
      expect(invoke.length).toBeGreaterThan(0);
      for (const { statement } of invoke) {
        expect(actionsOf(statement)).toEqual(['lambda:InvokeFunction']);
        for (const resource of resourcesOf(statement)) {
          const text = JSON.stringify(resource);
          expect(text, `${machineId} may invoke ${text}`).toMatch(/"Fn::GetAtt":\["([A-Za-z0-9]+)","Arn"\]/);
          expect(allowed.has(/"Fn::GetAtt":\["([A-Za-z0-9]+)"/.exec(text)![1]!)).toBe(true);
        }
      }
    });

    it('stops each task Lambda before its Task times out, so the Task sees the Lambda’s own error', () => {
      for (const task of WORKFLOW_TASK_NAMES) {
        const [, fn] = resources(template, 'AWS::Lambda::Function').find(
          ([id]) => id === logicalIdOfTask(template, task),
        )!;
        expect(fn.Properties.Timeout as number).toBeLessThan(WORKFLOW_TASKS[task].timeoutSeconds);
      }
    });

    it('wires each task Lambda to exactly the resources its capabilities name', () => {
      const expectedEnv = {
        logs: [],
        store: [LAMBDA_ENV.reportBucket, LAMBDA_ENV.reportPrefix],
        'diagnostics-send': [
          LAMBDA_ENV.diagnosticsDocument,
          LAMBDA_ENV.reportBucket,
          LAMBDA_ENV.commandOutputPrefix,
        ],
        'diagnostics-collect': [
          LAMBDA_ENV.diagnosticsDocument,
          LAMBDA_ENV.reportBucket,
          LAMBDA_ENV.commandOutputPrefix,
        ],
        notifier: [LAMBDA_ENV.topicArn],
        network: [],
      } as const;
      for (const task of WORKFLOW_TASK_NAMES) {
        const [, fn] = resources(template, 'AWS::Lambda::Function').find(
          ([id]) => id === logicalIdOfTask(template, task),
        )!;
        const variables = Object.keys(
          (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
        );
        const wanted = new Set<string>(['POWERTOOLS_LOG_LEVEL']);
        for (const capability of TASK_CAPABILITIES[task])
          for (const name of expectedEnv[capability]) wanted.add(name);
        expect(variables.sort(), task).toEqual([...wanted].sort());
      }
    });
  });

  describe('Lambdas', () => {
    it('runs every function on Node.js 24, arm64, with X-Ray tracing, memory and timeout set', () => {
      const functions = resources(template, 'AWS::Lambda::Function');
      // The task Lambdas, the starter, the prober and the log watcher.
      expect(functions).toHaveLength(WORKFLOW_TASK_NAMES.length + 3);
      for (const [id, fn] of functions) {
        expect(fn.Properties, id).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          MemorySize: expect.any(Number),
          Timeout: expect.any(Number),
        });
      }
    });

    it('logs each function into its own log group with a retention period', () => {
      const groups = new Map(resources(template, 'AWS::Logs::LogGroup'));
      for (const [id, fn] of resources(template, 'AWS::Lambda::Function')) {
        const ref = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
        expect(groups.get(ref)?.Properties.RetentionInDays, id).toBeGreaterThan(0);
      }
    });

    it('ships every function the validated configuration in its code package, never in the environment', () => {
      for (const [id, fn] of resources(template, 'AWS::Lambda::Function')) {
        const variables = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
        expect(variables, id).not.toHaveProperty(LAMBDA_ENV.config);
        expect(variables, id).not.toHaveProperty(LAMBDA_ENV.alarmRoutes);
      }
      const functions = [
        ...Object.values(stack.workflow.tasks),
        stack.trigger.starter,
        ...(stack.logWatch ? [stack.logWatch.watcher] : []),
        ...(stack.probes ? [stack.probes.prober] : []),
      ];
      for (const fn of functions) {
        expect(JSON.parse(fn.bundledDocuments[BUNDLED_FILES.config]!)).toEqual(exampleConfig());
      }
    });
  });

  describe('least privilege', () => {
    it('never allows ssm:SendCommand on * or on AWS-* documents', () => {
      const send = statements(template).filter(({ statement }) =>
        actionsOf(statement).some((a) => a === 'ssm:SendCommand' || a === 'ssm:*' || a === '*'),
      );
      expect(send.length).toBeGreaterThan(0);
      for (const { statement } of send) {
        expect(actionsOf(statement)).toEqual(['ssm:SendCommand']);
        for (const resource of resourcesOf(statement)) {
          expect(resource).not.toBe('*');
          expect(JSON.stringify(resource)).not.toMatch(/document\/AWS-|document\/\*/);
        }
      }
    });

    it('sends only gatewatch’s own document, and only to instances carrying the gatewatch tag', () => {
      const documentId = resources(template, 'AWS::SSM::Document')[0]![0];
      const send = statements(template).filter(({ statement }) =>
        actionsOf(statement).includes('ssm:SendCommand'),
      );
      const onDocument = send.filter(({ statement }) =>
        JSON.stringify(statement.Resource).includes(`"Ref":"${documentId}"`),
      );
      const onInstances = send.filter(({ statement }) =>
        JSON.stringify(statement.Resource).includes(':instance/*'),
      );
      expect(onDocument).toHaveLength(1);
      expect(onDocument[0]!.statement.Condition).toBeUndefined();
      expect(onInstances).toHaveLength(1);
      expect(onInstances[0]!.statement.Condition).toEqual({
        StringEquals: { 'ssm:resourceTag/gatewatch': 'enabled' },
      });
      expect(send).toHaveLength(2);
      const sendRoles = new Set(send.flatMap(({ roles }) => roles.map((r) => JSON.stringify(r))));
      expect([...sendRoles]).toHaveLength(1);
      expect([...sendRoles][0]).toContain('SendDiagnostics');
    });

    it('allows deleting nothing in the report bucket', () => {
      for (const { statement } of statements(template)) {
        for (const action of actionsOf(statement))
          expect(action).not.toMatch(/^s3:(Delete|\*|PutBucketPolicy)/);
      }
    });

    it('reads only the log groups under the /gatewatch/ prefix, one resource for any number of targets', () => {
      const reads = statements(template).filter(({ statement }) =>
        actionsOf(statement).some((a) => a === 'logs:FilterLogEvents' || a === 'logs:StartQuery'),
      );
      // GatherNginxEvidence (FilterLogEvents) and the log-rate Lambda (StartQuery).
      expect(reads).toHaveLength(2);
      for (const { statement } of reads) {
        expect(resourcesOf(statement)).toHaveLength(1);
        expect(JSON.stringify(statement.Resource)).toMatch(/:log-group:\/gatewatch\/\*"/);
      }
    });

    it('refuses a log group outside the prefix, naming it and the setting that moves the prefix', () => {
      const config = exampleConfig();
      config.targets[0]!.aws!.logGroups.access = '/var/log/nginx-access';
      expect(() => synthesizeStack({ config })).toThrow(
        /targets\[0\]\.aws\.logGroups\.access.*gatewatch:logGroupPrefix/,
      );
      expect(() => synthesizeStack({ props: { logGroupPrefix: '/' } })).toThrow(/every log group/);
    });
  });

  describe('diagnostics document', () => {
    let content: {
      schemaVersion: string;
      parameters: Record<string, Record<string, unknown>>;
      mainSteps: { action: string; inputs: { runCommand: string[]; timeoutSeconds: string } }[];
    };
    beforeAll(() => {
      const [, document] = resources(template, 'AWS::SSM::Document')[0]!;
      expect(document.Properties).toMatchObject({ DocumentType: 'Command', DocumentFormat: 'JSON' });
      content = document.Properties.Content as typeof content;
    });

    it('is a schema 2.2 aws:runShellScript document', () => {
      expect(content.schemaVersion).toBe('2.2');
      expect(content.mainSteps.map((s) => s.action)).toEqual(['aws:runShellScript']);
    });

    it('constrains every parameter with allowedValues or allowedPattern', () => {
      for (const [name, parameter] of Object.entries(content.parameters)) {
        expect(parameter.allowedPattern !== undefined || parameter.allowedValues !== undefined, name).toBe(
          true,
        );
      }
    });

    it('declares every GW_* variable of the script, each interpolated as an environment variable', () => {
      for (const variable of DIAGNOSTICS_ENVIRONMENT) {
        expect(content.parameters[variable.name], variable.name).toMatchObject({
          interpolationType: 'ENV_VAR',
        });
      }
      const shellParameters = Object.entries(content.parameters).filter(
        ([name]) => name !== 'executionTimeout',
      );
      for (const [name, parameter] of shellParameters)
        expect(parameter.interpolationType, name).toBe('ENV_VAR');
    });

    it('splices no parameter into the script text: the only {{ }} is the agent’s timeout', () => {
      const text = JSON.stringify(content.mainSteps);
      expect(text.match(/\{\{[^}]*\}\}/g)).toEqual(['{{ executionTimeout }}']);
      expect(content.mainSteps[0]!.inputs.timeoutSeconds).toBe('{{ executionTimeout }}');
    });
  });

  describe('report bucket', () => {
    it('is private, TLS-only, encrypted, versioned, logged, expiring and kept when the stack is deleted', () => {
      const reports = resources(template, 'AWS::S3::Bucket').find(
        ([, b]) => b.Properties.LoggingConfiguration,
      );
      expect(reports).toBeDefined();
      const [id, bucket] = reports!;
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.Properties).toMatchObject({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: { DestinationBucketName: expect.anything() },
      });
      const rules = (bucket.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
      expect(rules).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Prefix: 'incidents/',
            ExpirationInDays: expect.any(Number),
            Status: 'Enabled',
          }),
          expect.objectContaining({ Prefix: 'ssm-output/', ExpirationInDays: expect.any(Number) }),
          expect.objectContaining({ NoncurrentVersionExpiration: expect.anything() }),
        ]),
      );
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });
  });

  describe('notifications', () => {
    it('encrypts the topic with a rotating KMS key, refuses plain HTTP and subscribes the configured addresses', () => {
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
      const subscriptions = resources(template, 'AWS::SNS::Subscription');
      expect(subscriptions.map(([, s]) => s.Properties.Endpoint)).toEqual(exampleConfig().notify.email);
      for (const [, subscription] of subscriptions) {
        expect(subscription.Properties).toMatchObject({
          Protocol: 'email',
          RedrivePolicy: expect.anything(),
        });
      }
    });

    it('admits CloudWatch alarm actions in the topic policy and the key policy, for this account’s alarms only', () => {
      const fromAlarms = {
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        ArnLike: { 'aws:SourceArn': Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':alarm:*'])] }) },
      };
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Condition: fromAlarms,
            }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Condition: Match.objectLike(fromAlarms),
            }),
          ]),
        },
      });
    });

    it('admits no service principal without a condition to the topic or its key', () => {
      const documents = [
        ...resources(template, 'AWS::SNS::TopicPolicy').map(([, p]) => p.Properties.PolicyDocument),
        ...resources(template, 'AWS::KMS::Key').map(([, k]) => k.Properties.KeyPolicy),
      ] as { Statement: { Effect: string; Principal?: { Service?: unknown }; Condition?: unknown }[] }[];
      for (const document of documents) {
        for (const statement of document.Statement) {
          if (statement.Effect === 'Allow' && statement.Principal?.Service !== undefined) {
            expect(statement.Condition, JSON.stringify(statement)).toBeDefined();
          }
        }
      }
    });
  });

  describe('trigger', () => {
    it('routes contributors of gatewatch’s alarms entering ALARM to the starter, with retries and a dead-letter queue', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.cloudwatch'],
          'detail-type': ['CloudWatch Alarm Contributor State Change'],
          detail: { state: { value: ['ALARM'] }, alarmName: [{ prefix: 'gatewatch-' }] },
        },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('TriggerStarter'), 'Arn'] },
            RetryPolicy: {
              MaximumRetryAttempts: Match.anyValue(),
              MaximumEventAgeInSeconds: Match.anyValue(),
            },
            DeadLetterConfig: { Arn: Match.anyValue() },
          }),
        ],
      });
    });

    it('also routes users’ alarms opted in by name, and ships the starter the routes in its code package', () => {
      const { stack: optInStack, template: optIn } = synthesizeStack({
        props: { optInAlarms: { 'shop-api-5xx': 'shop', 'gatewatch-shop-custom': 'shop' } },
      });

      // Users' alarms are ordinary alarms, matched by the state-change rule (the contributor rule only sees
      // gatewatch's own multi-time-series alarms); a name under the prefix needs no entry of its own.
      optIn.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectLike({
          'detail-type': ['CloudWatch Alarm State Change'],
          detail: Match.objectLike({ alarmName: [{ prefix: 'gatewatch-' }, 'shop-api-5xx'] }),
        }),
      });
      expect(JSON.parse(optInStack.trigger.starter.bundledDocuments[BUNDLED_FILES.alarmRoutes]!)).toEqual({
        prefixes: {},
        names: { 'shop-api-5xx': 'shop', 'gatewatch-shop-custom': 'shop' },
        contributorPrefix: 'gatewatch-',
      });
    });

    it('refuses opted-in names that would not fit EventBridge’s 2,048-character pattern, saying how to fix it', () => {
      const optInAlarms = Object.fromEntries(
        Array.from({ length: 40 }, (_, i) => [
          `team-alarm-${String(i).padStart(2, '0')}-${'x'.repeat(40)}`,
          'shop',
        ]),
      );
      expect(() => synthesizeStack({ props: { optInAlarms } })).toThrow(/2048.*start with "gatewatch-"/);
    });

    it('refuses an opted-in alarm routed to a target that does not exist', () => {
      expect(() => synthesizeStack({ props: { optInAlarms: { 'x-5xx': 'nope' } } })).toThrow(
        /optInAlarms\["x-5xx"\]/,
      );
    });

    it('sends the starter’s failed asynchronous invocations to the dead-letter queue', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: Match.stringLikeRegexp('TriggerStarter') },
        MaximumRetryAttempts: 2,
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetters'), 'Arn'] } },
        },
      });
    });

    it('lets the starter start executions of the diagnosis state machine only', () => {
      const start = statements(template).filter(({ statement }) =>
        actionsOf(statement).includes('states:StartExecution'),
      );
      expect(start).toHaveLength(1);
      expect(start[0]!.statement.Resource).toEqual({
        Ref: resources(template, 'AWS::StepFunctions::StateMachine')[0]![0],
      });
    });

    it('notifies through the topic, without a Lambda, when an execution fails, times out or is aborted', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.states'],
          'detail-type': ['Step Functions Execution Status Change'],
          detail: {
            status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
            stateMachineArn: [{ Ref: resources(template, 'AWS::StepFunctions::StateMachine')[0]![0] }],
          },
        },
        Targets: [
          Match.objectLike({
            Arn: { Ref: Match.stringLikeRegexp('NotificationsTopic') },
            InputTransformer: Match.objectLike({
              InputPathsMap: Match.objectLike({ 'detail-executionArn': '$.detail.executionArn' }),
            }),
            DeadLetterConfig: Match.anyValue(),
            RetryPolicy: Match.anyValue(),
          }),
        ],
      });
    });

    it('alarms on the first message in the dead-letter queue, through the topic', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
        AlarmActions: [{ Ref: Match.stringLikeRegexp('NotificationsTopic') }],
      });
    });
  });

  it('exposes where reports are and the policy diagnosed instances need as stack outputs', () => {
    template.hasOutput('ReportsLocation', Match.anyValue());
    template.hasOutput('InstancePolicyArn', Match.anyValue());
    expect(JSON.stringify(Stack.of(stack.reports).resolve(stack.reports.reportsUri))).toMatch(
      /"s3:\/\/",.*"\/incidents\/"/,
    );
  });
});
