/**
 * IAM simulated, not assumed. Each gatewatch Lambda runs its handler (the real steps and adapters) with
 * its AWS clients mocked at the client; every command it sends is recorded, translated into the IAM
 * requests AWS authorises (`sdk-calls.ts`), and evaluated by an IAM policy simulator
 * (@cloud-copilot/iam-simulate) against that Lambda's own synthesized role — inline and managed
 * policies — plus the resource policies involved (bucket, topic, key). Each must be allowed; calls
 * outside a grant must be denied. The same for the services that act on gatewatch's resources
 * themselves: CloudWatch alarm actions publishing to the encrypted topic, the SSM agent on a diagnosed
 * instance writing command output to the bucket, EventBridge invoking the starter and parking events
 * in the dead-letter queue.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetCommandInvocationCommand,
  GetParameterCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewatchConfig, validateConfig } from '../../lambdas/core/config.ts';
import { RemediationConfigSchema } from '../../lambdas/core/remediation/config.ts';
import type { Report } from '../../lambdas/core/types.ts';
import type { GatewatchStack } from '../../lib/gatewatch-stack.ts';
import { BUNDLED_FILES, LAMBDA_ENV } from '../../lib/workflow/lambda-wiring.ts';
import { lambdaContext } from '../handlers/support.ts';
import { type StackPolicies as Policies, StackPolicies, simulate } from './iam-policies.ts';
import { ACCOUNT, type CfnTemplate, PARTITION, REGION } from './resolve-template.ts';
import { type IamRequest, iamRequests, recordedCalls } from './sdk-calls.ts';
import { exampleConfig, synthesizeStack } from './synth.ts';

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

const INSTANCE = 'i-0123456789abcdef0';
/**
 * The tags the stack requires on a diagnosed instance and on one gatewatch may repair (the example
 * instance carries both; the negative cases below take each away).
 */
const INSTANCE_TAGS = { gatewatch: 'enabled', 'gatewatch-remediate': 'enabled' };
/** An Auto Scaling group ARN carries a generated id. */
const ASG_ID = '8e3a3c1b-4c1d-4e55-9f00-0a1b2c3d4e5f';

/**
 * The example configuration with remediation on (auto, restart and scale-out allowed), its probe on a
 * local receiver so the verification after a repair stays on this machine.
 */
function remediatingConfig(probePort: number): GatewatchConfig {
  const config = exampleConfig();
  const shop = config.targets[0]!;
  shop.probe = { ...shop.probe!, url: `http://127.0.0.1:${probePort}/healthz`, allowPrivate: true };
  shop.remediation = RemediationConfigSchema.parse({
    mode: 'auto',
    actions: ['restart-service', 'scale-asg'],
    maxPerHour: 3,
    verifySeconds: 5,
    autoScalingGroup: { name: 'shop-api', maxCapacity: 4 },
  });
  return config;
}

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/nginx/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line !== '');

describe('every AWS call each Lambda makes, simulated against its synthesized role', () => {
  let policies: Policies;
  let stack: GatewatchStack;
  const stubs = {
    s3: mockClient(S3Client),
    logs: mockClient(CloudWatchLogsClient),
    ssm: mockClient(SSMClient),
    sns: mockClient(SNSClient),
    ec2: mockClient(EC2Client),
    sfn: mockClient(SFNClient),
    autoscaling: mockClient(AutoScalingClient),
    secretsmanager: mockClient(SecretsManagerClient),
    cloudwatch: mockClient(CloudWatchClient),
  };
  const objects = new Map<string, string>();
  /** The environment of every function, as deployed. */
  const env: Record<string, string> = {};
  let probeReceiver: Server;
  let work: string;
  /** What the actions script printed for the last SendCommand with the actions document. */
  let actionsOutput = '';
  /** The Notify Lambda's secrets, by SSM parameter name or Secrets Manager secret id. */
  const secretValues = new Map<string, string>();
  /** A real HTTP server on loopback standing in for Slack, the webhook receiver and PagerDuty. */
  let receiver: Server;
  const received: { path: string; body: string }[] = [];
  /** Lambda (function logical id) → the IAM requests its calls made. */
  const made = new Map<string, IamRequest[]>();

  function mockWorld(): void {
    for (const stub of Object.values(stubs)) stub.reset();
    stubs.s3.on(PutObjectCommand).callsFake((input: { Bucket: string; Key: string; Body: string }) => {
      objects.set(`${input.Bucket}/${input.Key}`, String(input.Body));
      return { ETag: '"e1"' };
    });
    stubs.s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
      const body = objects.get(`${input.Bucket}/${input.Key}`);
      if (body === undefined)
        throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
      return { Body: { transformToString: async () => body }, ETag: '"e1"' };
    });
    const at = (line: string) => Date.parse(`${line.slice(0, 19).replaceAll('/', '-').replace(' ', 'T')}Z`);
    stubs.cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    stubs.logs.on(StartQueryCommand).resolves({ queryId: 'q-1' });
    stubs.logs.on(GetQueryResultsCommand).resolves({ status: 'Complete', results: [] });
    stubs.logs.on(FilterLogEventsCommand).callsFake((input: { logGroupName: string }) => ({
      events: input.logGroupName.endsWith('nginx-error')
        ? fixture('real-error.log').map((message, i) => ({
            message,
            timestamp: at(message),
            eventId: String(i),
            logStreamName: INSTANCE,
          }))
        : [],
    }));
    stubs.ssm
      .on(SendCommandCommand)
      .callsFake((input: { DocumentName: string; Parameters: Record<string, string[]> }) => {
        if (input.DocumentName === env[LAMBDA_ENV.remediationDocument]) {
          // The real actions script with the parameters SSM would hand over, and a stand-in systemctl.
          const gw = Object.fromEntries(
            Object.entries(input.Parameters)
              .filter(([name]) => name.startsWith('GW_'))
              .map(([name, [value]]) => [name, value ?? '']),
          );
          actionsOutput = spawnSync('bash', ['lambdas/assets/remediation/gatewatch-remediate.sh'], {
            env: { PATH: `${work}/bin:/usr/bin:/bin`, ...gw },
            encoding: 'utf8',
            timeout: 60_000,
          }).stdout;
        }
        return { Command: { CommandId: 'c0ffee00-1111-2222-3333-444455556666' } };
      });
    stubs.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: 'shop-api',
          AutoScalingGroupARN: `arn:${PARTITION}:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:${ASG_ID}:autoScalingGroupName/shop-api`,
          DesiredCapacity: 2,
          MinSize: 1,
          MaxSize: 6,
          DefaultCooldown: 300,
          AvailabilityZones: [],
          HealthCheckType: 'EC2',
          CreatedTime: new Date(),
        },
      ],
    });
    stubs.autoscaling.on(SetDesiredCapacityCommand).resolves({});
    stubs.sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    stubs.ssm.on(GetParameterCommand).callsFake((input: { Name: string }) => {
      const value = secretValues.get(input.Name);
      if (value === undefined) throw Object.assign(new Error(input.Name), { name: 'ParameterNotFound' });
      return { Parameter: { Name: input.Name, Type: 'SecureString', Value: value } };
    });
    stubs.secretsmanager.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
      const value = secretValues.get(input.SecretId);
      if (value === undefined)
        throw Object.assign(new Error(input.SecretId), { name: 'ResourceNotFoundException' });
      return { SecretString: value };
    });
    stubs.sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: 'arn:aws:states:x:1:execution:a:b', startDate: new Date() });
  }

  /** Runs `invoke` as the Lambda `functionId`, recording the IAM requests of every SDK call it makes. */
  async function asLambda<T>(functionId: string, invoke: () => Promise<T>): Promise<T> {
    for (const stub of Object.values(stubs)) stub.resetHistory();
    const result = await invoke();
    const requests = recordedCalls(stubs).flatMap((call) => {
      const translated = iamRequests(call, INSTANCE_TAGS);
      // Publishing to an encrypted topic: SNS uses the topic's key on the caller's behalf.
      if (call.client === 'sns' && call.command === 'Publish') {
        const kms = {
          'kms:EncryptionContext:aws:sns:topicArn': String(call.input.TopicArn),
          'aws:SecureTransport': 'true',
        };
        translated.push(
          {
            action: 'kms:GenerateDataKey',
            resource: policies.topicKeyArn(),
            context: kms,
            from: 'sns.Publish (key)',
          },
          {
            action: 'kms:Decrypt',
            resource: policies.topicKeyArn(),
            context: kms,
            from: 'sns.Publish (key)',
          },
        );
      }
      return translated;
    });
    made.set(functionId, [...(made.get(functionId) ?? []), ...requests]);
    return result;
  }

  async function decide(functionId: string, request: IamRequest) {
    const role = policies.roleOfFunction(functionId);
    return simulate({
      principal: policies.roleArn(role),
      action: request.action,
      resource: request.resource,
      context: request.context,
      identityPolicies: policies.identityPolicies(role),
      resourcePolicy: policies.resourcePolicyFor(request.resource),
    });
  }

  const handler = async (module: string) =>
    ((await import(`../../lambdas/handlers/${module}.ts`)) as { handler: Handler }).handler;

  beforeAll(async () => {
    probeReceiver = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => probeReceiver.listen(0, '127.0.0.1', resolve));
    work = mkdtempSync(join(tmpdir(), 'gatewatch-iam-'));
    mkdirBin(work);
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        received.push({ path: request.url ?? '', body });
        response.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"success"}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    // Slack, the signed webhook and PagerDuty, each secret read at run time: two from SSM, one from
    // Secrets Manager (the template names them; the role may read exactly those).
    secretValues.set('/gatewatch/slack-webhook', `${base}/slack`);
    secretValues.set('gatewatch/webhook-signing', 'whsec-iam-simulation');
    secretValues.set('/gatewatch/pagerduty-routing-key', 'R0UT1NGKEY0000000000000000000000');
    const example = remediatingConfig((probeReceiver.address() as AddressInfo).port);
    const config = validateConfig({
      ...example,
      notify: {
        ...example.notify,
        slack: { webhookUrl: { ssmParameter: '/gatewatch/slack-webhook' } },
        webhook: { url: `${base}/hook`, secret: { secretsManager: 'gatewatch/webhook-signing' } },
        pagerduty: {
          url: `${base}/pagerduty`,
          routingKey: { ssmParameter: '/gatewatch/pagerduty-routing-key' },
        },
      },
    });
    let template: ReturnType<typeof synthesizeStack>['template'];
    ({ stack, template } = synthesizeStack({ config }));
    policies = new StackPolicies(template.toJSON() as CfnTemplate);
    // The environment each function is deployed with, resolved as CloudFormation would (the documents
    // a bundle carries come from the same stack object).
    for (const task of Object.values(stack.workflow.tasks)) {
      Object.assign(
        env,
        policies.environmentOf(stack.getLogicalId(task.function.node.defaultChild as never)),
      );
    }
    Object.assign(
      env,
      policies.environmentOf(stack.getLogicalId(stack.trigger.starter.function.node.defaultChild as never)),
    );
    const watcher = stack.logWatch!.watcher;
    Object.assign(
      env,
      policies.environmentOf(stack.getLogicalId(watcher.function.node.defaultChild as never)),
    );
    Object.assign(process.env, env, {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      [LAMBDA_ENV.config]: stack.workflow.tasks.Notify.bundledDocuments[BUNDLED_FILES.config],
      [LAMBDA_ENV.alarmRoutes]: stack.trigger.starter.bundledDocuments[BUNDLED_FILES.alarmRoutes],
    });
    mockWorld();

    const id = (fn: { function: { node: { defaultChild?: unknown } } }) =>
      stack.getLogicalId(fn.function.node.defaultChild as never);
    const tasks = stack.workflow.tasks;
    const input = {
      incidentId: 'shop-20261124T060500Z-3f2a0b1c',
      target: 'shop',
      openedAt: '2026-11-24T06:05:00Z',
      window: { from: '2026-11-24T05:50:00Z', to: '2026-11-24T06:05:00Z' },
      trigger: { kind: 'alarm', detail: 'CloudWatch alarm gatewatch-shop-probe-failed entered ALARM' },
      logsOnly: false,
    };
    const host = { incidentId: input.incidentId, target: input.target, window: input.window, host: INSTANCE };
    const evidence = (await asLambda(id(tasks.GatherNginxEvidence), async () =>
      (
        await handler('gather-nginx-evidence')
      )(input, lambdaContext()),
    )) as Record<string, unknown>;
    const command = await asLambda(id(tasks.SendDiagnostics), async () =>
      (await handler('send-diagnostics'))(host, lambdaContext()),
    );
    const stdout = spawnSync('bash', ['lambdas/assets/diagnostics/gatewatch-diagnostics.sh'], {
      env: { PATH: process.env.PATH, GW_CHECKS: 'listen,disk', GW_PORTS: '3000' },
      encoding: 'utf8',
      timeout: 60_000,
    }).stdout;
    stubs.ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      StatusDetails: 'Success',
      ResponseCode: 0,
      StandardOutputContent: stdout,
      StandardErrorContent: '',
    });
    const poll = (await asLambda(id(tasks.CollectDiagnostics), async () =>
      (
        await handler('collect-diagnostics')
      )({ ...host, command, poll: { attempt: 1 } }, lambdaContext()),
    )) as { key: string };
    const hosts = [{ host: INSTANCE, status: 'done', key: poll.key }];
    const network = await asLambda(id(tasks.CheckNetworkPath), async () =>
      (await handler('check-network-path'))({ ...input, evidence, hosts }, lambdaContext()),
    );
    const reportInput = { ...input, evidence, hosts, network };
    const report = await asLambda(id(tasks.ClassifyAndReport), async () =>
      (await handler('classify-and-report'))(reportInput, lambdaContext()),
    );
    await asLambda(id(tasks.WriteDegradedReport), async () =>
      (await handler('write-degraded-report'))(
        { ...reportInput, reportError: { Error: 'EvidenceMissingError', Cause: 'gone' } },
        lambdaContext(),
      ),
    );
    await asLambda(id(tasks.Notify), async () =>
      (await handler('notify'))({ ...reportInput, report }, lambdaContext()),
    );
    await asLambda(id(stack.trigger.starter), async () =>
      (await handler('starter'))(
        {
          version: '0',
          id: 'e-1',
          // gatewatch's own alarms are multi-time-series: each target in ALARM arrives as a contributor.
          'detail-type': 'CloudWatch Alarm Contributor State Change',
          source: 'aws.cloudwatch',
          account: ACCOUNT,
          time: '2026-11-24T06:05:00Z',
          region: REGION,
          resources: [`arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:gatewatch-probe-failed-1`],
          detail: {
            alarmName: 'gatewatch-probe-failed-1',
            alarmContributor: { id: 'a1b2c3d4e5f60718', attributes: { Target: 'shop' } },
            state: { value: 'ALARM', reason: 'Threshold Crossed', timestamp: '2026-11-24T06:05:00.000+0000' },
          },
        },
        lambdaContext(),
      ),
    );
    await asLambda(id(stack.logWatch!.watcher), async () =>
      (await handler('log-watch'))({}, lambdaContext()).catch(() => undefined),
    );
    // A new probe execution environment reads back which targets are still owed datapoints.
    await asLambda(id(stack.probes!.prober), async () => (await handler('probe'))({}, lambdaContext()));

    // Remediation: the report's verdict set to ones the mapping table repairs (the classification is
    // not what is simulated here), then plan → approval request → repair, as the workflow runs them.
    const reportRef = report as { key: string; rootCause: string };
    const stored = [...objects.entries()].find(([key]) => key.endsWith(`/${input.incidentId}/report.json`))!;
    const repairable = (incidentId: string, rootCause: string) => {
      const copy = JSON.parse(stored[1]) as Report;
      copy.incidentId = incidentId;
      copy.verdict = { ...copy.verdict, rootCause: rootCause as never, upstream: '127.0.0.1:3000' };
      objects.set(stored[0].replace(input.incidentId, incidentId), JSON.stringify(copy));
      return {
        ...reportInput,
        incidentId,
        report: { ...reportRef, key: reportRef.key.replace(input.incidentId, incidentId), rootCause },
      };
    };
    stubs.ssm.on(GetCommandInvocationCommand).callsFake(() => ({
      Status: 'Success',
      StatusDetails: 'Success',
      ResponseCode: 0,
      StandardOutputContent: actionsOutput,
      StandardErrorContent: '',
    }));
    for (const [incidentId, rootCause] of [
      ['shop-20261124T060600Z-5e1f0a2b', 'upstream-down'],
      ['shop-20261124T060700Z-6a7b8c9d', 'upstream-overloaded'],
    ] as const) {
      const state = repairable(incidentId, rootCause);
      const plan = (await asLambda(id(tasks.PlanRemediation), async () =>
        (
          await handler('plan-remediation')
        )(state, lambdaContext()),
      )) as { decision: string };
      expect(plan.decision, rootCause).toBe('run');
      await asLambda(id(tasks.AwaitApproval), async () =>
        (await handler('await-approval'))(
          {
            input: {
              ...state,
              remediationPlan: {
                ...plan,
                decision: 'approve',
                expiresAt: new Date(Date.now() + 600_000).toISOString(),
              },
            },
            taskToken: `token-${incidentId}`,
          },
          lambdaContext(),
        ),
      );
      const outcome = (await asLambda(id(tasks.Remediate), async () =>
        (
          await handler('remediate')
        )({ ...state, remediationPlan: plan }, lambdaContext()),
      )) as { status: string };
      expect(outcome.status, `${rootCause}: ${JSON.stringify(outcome)}`).toBe('verified');
    }
  }, 600_000);
  afterAll(async () => {
    for (const stub of Object.values(stubs)) stub.restore();
    await new Promise((resolve) => probeReceiver?.close(resolve));
    if (work) rmSync(work, { recursive: true, force: true });
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('records calls from every Lambda that talks to AWS', () => {
    const id = (fn: { function: { node: { defaultChild?: unknown } } }) =>
      stack.getLogicalId(fn.function.node.defaultChild as never);
    const actions = (fn: Parameters<typeof id>[0]) => new Set((made.get(id(fn)) ?? []).map((r) => r.action));
    const tasks = stack.workflow.tasks;
    expect(actions(tasks.GatherNginxEvidence)).toEqual(new Set(['logs:FilterLogEvents', 's3:PutObject']));
    expect(actions(tasks.SendDiagnostics)).toContain('ssm:SendCommand');
    expect(actions(tasks.CollectDiagnostics)).toContain('ssm:GetCommandInvocation');
    expect(actions(tasks.ClassifyAndReport)).toContain('s3:GetObject');
    expect(actions(tasks.Notify)).toEqual(
      new Set([
        'sns:Publish',
        'kms:GenerateDataKey',
        'kms:Decrypt',
        's3:GetObject',
        's3:PutObject',
        'ssm:GetParameter',
        'secretsmanager:GetSecretValue',
      ]),
    );
    // The secrets were used, not just read: each channel's receiver got its messages (the incident notice,
    // and the approval request and repair outcome of the remediation run above).
    expect(new Set(received.map((r) => r.path))).toEqual(new Set(['/hook', '/pagerduty', '/slack']));
    expect(received.find((r) => r.path === '/pagerduty')!.body).toContain('R0UT1NGKEY');
    expect(actions(stack.trigger.starter)).toEqual(new Set(['states:StartExecution']));
    expect(actions(stack.logWatch!.watcher)).toContain('logs:StartQuery');
    expect(actions(stack.probes!.prober)).toEqual(new Set(['cloudwatch:GetMetricData']));
    expect(actions(tasks.PlanRemediation)).toEqual(new Set(['s3:GetObject', 's3:PutObject']));
    for (const action of ['sns:Publish', 's3:PutObject'])
      expect(actions(tasks.AwaitApproval)).toContain(action);
    for (const action of [
      'ssm:SendCommand',
      'ssm:GetCommandInvocation',
      'logs:FilterLogEvents',
      's3:GetObject',
      's3:PutObject',
      'autoscaling:DescribeAutoScalingGroups',
      'autoscaling:SetDesiredCapacity',
    ])
      expect(actions(tasks.Remediate), action).toContain(action);
    // The repair went to the actions document, not the diagnostics one.
    const sent = (made.get(id(tasks.Remediate)) ?? []).filter((r) => r.action === 'ssm:SendCommand');
    expect(sent.map((r) => r.resource)).toContain(
      `arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:document/${env[LAMBDA_ENV.remediationDocument]}`,
    );
  });

  it('allows every recorded call under the calling Lambda’s own role and the resource policies', async () => {
    const denied: string[] = [];
    let checked = 0;
    for (const [functionId, requests] of made) {
      for (const request of requests) {
        checked++;
        const decision = await decide(functionId, request);
        if (decision !== 'Allowed')
          denied.push(
            `${functionId}: ${request.action} on ${request.resource} (${request.from}) → ${decision}`,
          );
      }
    }
    expect(checked).toBeGreaterThan(15);
    expect(denied).toEqual([]);
  }, 120_000);

  it('denies calls outside each grant', async () => {
    const id = (fn: { function: { node: { defaultChild?: unknown } } }) =>
      stack.getLogicalId(fn.function.node.defaultChild as never);
    const tasks = stack.workflow.tasks;
    const bucket = policies.bucketName(/ReportsBucket/);
    const tls = { 'aws:SecureTransport': 'true' };
    const outside: [string, IamRequest][] = [
      // A log group outside /gatewatch/.
      [
        id(tasks.GatherNginxEvidence),
        {
          action: 'logs:FilterLogEvents',
          resource: `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/payroll`,
          context: tls,
          from: 'negative',
        },
      ],
      // The Notify Lambda writing outside the incident folders (it records outcomes in report.json only).
      [
        id(tasks.Notify),
        {
          action: 's3:PutObject',
          resource: `arn:${PARTITION}:s3:::${bucket}/ssm-output/x/stdout`,
          context: tls,
          from: 'negative',
        },
      ],
      // The Notify Lambda reading a parameter or a secret that `notify` does not name.
      [
        id(tasks.Notify),
        {
          action: 'ssm:GetParameter',
          resource: `arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:parameter/prod/database-password`,
          context: tls,
          from: 'negative',
        },
      ],
      [
        id(tasks.Notify),
        {
          action: 'secretsmanager:GetSecretValue',
          resource: `arn:${PARTITION}:secretsmanager:${REGION}:${ACCOUNT}:secret:prod/database-Ab12Cd`,
          context: tls,
          from: 'negative',
        },
      ],
      // Another Lambda reading the Notify Lambda's secret.
      [
        id(tasks.ClassifyAndReport),
        {
          action: 'ssm:GetParameter',
          resource: `arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:parameter/gatewatch/slack-webhook`,
          context: tls,
          from: 'negative',
        },
      ],
      // Deleting a report.
      [
        id(tasks.ClassifyAndReport),
        {
          action: 's3:DeleteObject',
          resource: `arn:${PARTITION}:s3:::${bucket}/incidents/x/report.json`,
          context: tls,
          from: 'negative',
        },
      ],
      // Over plain HTTP.
      [
        id(tasks.ClassifyAndReport),
        {
          action: 's3:PutObject',
          resource: `arn:${PARTITION}:s3:::${bucket}/incidents/x/report.json`,
          context: { 'aws:SecureTransport': 'false' },
          from: 'negative',
        },
      ],
      // Running the document on an instance without the gatewatch tag.
      [
        id(tasks.SendDiagnostics),
        {
          action: 'ssm:SendCommand',
          resource: `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:instance/i-0fedcba9876543210`,
          context: { ...tls, 'ssm:resourceTag/gatewatch': 'no' },
          from: 'negative',
        },
      ],
      // Running a document other than gatewatch's.
      [
        id(tasks.SendDiagnostics),
        {
          action: 'ssm:SendCommand',
          resource: `arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:document/SomeoneElsesShellDocument`,
          context: tls,
          from: 'negative',
        },
      ],
      // The starter starting another state machine.
      [
        id(stack.trigger.starter),
        {
          action: 'states:StartExecution',
          resource: `arn:${PARTITION}:states:${REGION}:${ACCOUNT}:stateMachine:Other`,
          context: tls,
          from: 'negative',
        },
      ],
      // The prober reading logs or reports: it may read its own metric back, nothing else.
      [
        id(stack.probes!.prober),
        {
          action: 'logs:StartQuery',
          resource: `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:/gatewatch/shop/nginx-access`,
          context: tls,
          from: 'negative',
        },
      ],
      [
        id(stack.probes!.prober),
        {
          action: 'cloudwatch:PutMetricData',
          resource: '*',
          context: tls,
          from: 'negative',
        },
      ],
      // The log watcher reading incident reports.
      [
        id(stack.logWatch!.watcher),
        {
          action: 's3:GetObject',
          resource: `arn:${PARTITION}:s3:::${bucket}/incidents/x/report.json`,
          context: tls,
          from: 'negative',
        },
      ],
      // A repair on an instance that is diagnosed but not opted in to remediation.
      [
        id(tasks.Remediate),
        {
          action: 'ssm:SendCommand',
          resource: `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:instance/${INSTANCE}`,
          context: { ...tls, 'ssm:resourceTag/gatewatch': 'enabled' },
          from: 'negative',
        },
      ],
      // The Remediate Lambda sending the diagnostics document, or someone else's.
      [
        id(tasks.Remediate),
        {
          action: 'ssm:SendCommand',
          resource: `arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:document/${env[LAMBDA_ENV.diagnosticsDocument]}`,
          context: tls,
          from: 'negative',
        },
      ],
      [
        id(tasks.Remediate),
        {
          action: 'ssm:SendCommand',
          resource: `arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:document/AWS-RunShellScript`,
          context: tls,
          from: 'negative',
        },
      ],
      // The diagnostics Lambda sending the actions document.
      [
        id(tasks.SendDiagnostics),
        {
          action: 'ssm:SendCommand',
          resource: `arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:document/${env[LAMBDA_ENV.remediationDocument]}`,
          context: tls,
          from: 'negative',
        },
      ],
      // Scaling a group that is not opted in (no gatewatch-remediate tag).
      [
        id(tasks.Remediate),
        {
          action: 'autoscaling:SetDesiredCapacity',
          resource: `arn:${PARTITION}:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:${ASG_ID}:autoScalingGroupName/payroll`,
          context: { ...tls, 'autoscaling:ResourceTag/gatewatch': 'enabled' },
          from: 'negative',
        },
      ],
      // Deleting a lock or the ledger (locks are released by conditional writes).
      [
        id(tasks.Remediate),
        {
          action: 's3:DeleteObject',
          resource: `arn:${PARTITION}:s3:::${bucket}/state/remediation/locks/host-${INSTANCE}.json`,
          context: tls,
          from: 'negative',
        },
      ],
      // The approval Lambda writing a report; the planner writing the ledger.
      [
        id(tasks.AwaitApproval),
        {
          action: 's3:PutObject',
          resource: `arn:${PARTITION}:s3:::${bucket}/incidents/x/report.json`,
          context: tls,
          from: 'negative',
        },
      ],
      [
        id(tasks.PlanRemediation),
        {
          action: 's3:PutObject',
          resource: `arn:${PARTITION}:s3:::${bucket}/state/remediation/ledger.json`,
          context: tls,
          from: 'negative',
        },
      ],
    ];
    for (const [functionId, request] of outside) {
      expect(await decide(functionId, request), `${request.action} on ${request.resource}`).not.toBe(
        'Allowed',
      );
    }
  }, 120_000);
});

describe('the services that act on gatewatch’s resources themselves, simulated', () => {
  let policies: Policies;
  let stack: GatewatchStack;
  const alarmArn = `arn:${PARTITION}:cloudwatch:${REGION}:${ACCOUNT}:alarm:gatewatch-shop-probe-failed`;

  beforeAll(() => {
    let template: ReturnType<typeof synthesizeStack>['template'];
    ({ stack, template } = synthesizeStack({ config: exampleConfig() }));
    policies = new StackPolicies(template.toJSON() as CfnTemplate);
  }, 300_000);

  const asService = (service: string, action: string, resource: string, context: Record<string, string>) =>
    simulate({
      principal: service,
      action,
      resource,
      context,
      identityPolicies: [],
      resourcePolicy: policies.resourcePolicyFor(resource),
    });

  it('lets CloudWatch alarm actions publish to the encrypted topic (topic policy and key policy)', async () => {
    const topic = policies.topicArn();
    const key = policies.topicKeyArn();
    const source = { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': alarmArn, 'aws:SecureTransport': 'true' };
    expect(await asService('cloudwatch.amazonaws.com', 'sns:Publish', topic, source)).toBe('Allowed');
    // The key policy also limits CloudWatch to `kms:EncryptionContext:aws:sns:topicArn` of this account's
    // topics. The simulator reads variable condition keys only in the `prefix/name` form, so it ignores
    // that one (it reports it in ignoredContextKeys and then treats it as missing): the condition is
    // asserted on the template here, and the rest of the statement is simulated without it.
    const keyPolicy = policies.resourcePolicyFor(key) as {
      Statement: { Principal?: unknown; Condition?: Record<string, Record<string, unknown>> }[];
    };
    const cloudwatch = keyPolicy.Statement.filter((st) =>
      JSON.stringify(st.Principal).includes('cloudwatch.amazonaws.com'),
    );
    expect(cloudwatch).toHaveLength(1);
    expect(cloudwatch[0]!.Condition?.StringLike?.['kms:EncryptionContext:aws:sns:topicArn']).toBe(
      `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:*`,
    );
    const withoutContextKey = {
      ...keyPolicy,
      Statement: keyPolicy.Statement.map((st) => {
        if (!st.Condition?.StringLike) return st;
        const { StringLike: _ignored, ...rest } = st.Condition;
        return { ...st, Condition: rest };
      }),
    };
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      const decision = await simulate({
        principal: 'cloudwatch.amazonaws.com',
        action,
        resource: key,
        context: source,
        identityPolicies: [],
        resourcePolicy: withoutContextKey,
      });
      expect(decision, action).toBe('Allowed');
      const foreign = await simulate({
        principal: 'cloudwatch.amazonaws.com',
        action,
        resource: key,
        context: { ...source, 'aws:SourceAccount': '210987654321' },
        identityPolicies: [],
        resourcePolicy: withoutContextKey,
      });
      expect(foreign, `${action} for another account`).not.toBe('Allowed');
    }
    expect(
      await asService('events.amazonaws.com', 'kms:GenerateDataKey', key, { 'aws:SecureTransport': 'true' }),
      'EventBridge publishes through its role, not as a service principal on the key',
    ).not.toBe('Allowed');
  });

  it('refuses CloudWatch acting for another account’s alarm, or over plain HTTP', async () => {
    const topic = policies.topicArn();
    const foreign = `arn:${PARTITION}:cloudwatch:${REGION}:210987654321:alarm:anything`;
    expect(
      await asService('cloudwatch.amazonaws.com', 'sns:Publish', topic, {
        'aws:SourceAccount': '210987654321',
        'aws:SourceArn': foreign,
        'aws:SecureTransport': 'true',
      }),
    ).not.toBe('Allowed');
    expect(
      await asService('cloudwatch.amazonaws.com', 'sns:Publish', topic, {
        'aws:SourceAccount': ACCOUNT,
        'aws:SourceArn': alarmArn,
        'aws:SecureTransport': 'false',
      }),
    ).not.toBe('Allowed');
    expect(
      await asService('events.amazonaws.com', 'sns:Publish', topic, {
        'aws:SourceAccount': ACCOUNT,
        'aws:SecureTransport': 'true',
      }),
      'no service may publish merely by being a service',
    ).not.toBe('Allowed');
  });

  it('lets the SSM agent on a diagnosed instance store command output with its ACL header, and nothing else', async () => {
    const instancePolicy = policies.managedPolicy(/InstancePolicy/);
    const bucket = policies.bucketName(/ReportsBucket/);
    const role = `arn:${PARTITION}:iam::${ACCOUNT}:role/nginx-instance`;
    const tls = { 'aws:SecureTransport': 'true' };
    const asAgent = (action: string, resource: string) =>
      simulate({
        principal: role,
        action,
        resource,
        context: tls,
        identityPolicies: [instancePolicy],
        resourcePolicy: policies.resourcePolicyFor(resource),
      });
    const stdout = `arn:${PARTITION}:s3:::${bucket}/ssm-output/c0ffee00/${'i-0123456789abcdef0'}/awsrunShellScript/runDiagnostics/stdout`;
    // agent/s3util/s3util.go: PutObject with ACL bucket-owner-full-control, after GetBucketEncryption.
    expect(await asAgent('s3:PutObject', stdout)).toBe('Allowed');
    expect(await asAgent('s3:PutObjectAcl', stdout)).toBe('Allowed');
    expect(await asAgent('s3:GetEncryptionConfiguration', `arn:${PARTITION}:s3:::${bucket}`)).toBe('Allowed');
    expect(await asAgent('s3:PutObject', `arn:${PARTITION}:s3:::${bucket}/incidents/x/report.json`)).not.toBe(
      'Allowed',
    );
    expect(await asAgent('s3:GetObject', stdout)).not.toBe('Allowed');
  });

  it('lets EventBridge invoke the starter only from gatewatch’s alarm rule', async () => {
    const starter = policies.functionByDescription(/starts one diagnosis/);
    const fnArn = `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:${(await import('./resolve-template.ts')).resourceValue(starter, 'AWS::Lambda::Function')}`;
    const rule = `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/${(await import('./resolve-template.ts')).resourceValue(stack.getLogicalId(stack.trigger.rule.node.defaultChild as never), 'AWS::Events::Rule')}`;
    expect(
      await asService('events.amazonaws.com', 'lambda:InvokeFunction', fnArn, { 'aws:SourceArn': rule }),
    ).toBe('Allowed');
    expect(
      await asService('events.amazonaws.com', 'lambda:InvokeFunction', fnArn, {
        'aws:SourceArn': `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/someone-elses`,
      }),
    ).not.toBe('Allowed');
  });
});

/** A stand-in `systemctl` on the actions script's PATH: the repair "succeeds" without touching this host. */
function mkdirBin(work: string): void {
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'systemctl'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(bin, 'systemctl'), 0o755);
}
