// The deployed pipeline end to end, over the wire: a CloudWatch alarm event on moto's EventBridge bus →
// the trigger's rules as synthesized → the bundled starter Lambda → the state machine definition as moto
// holds it (the template's DefinitionString, resolved) run by aws-local-stepfunctions, whose Tasks invoke their Resource ARNs through Lambda's Invoke API →
// the bundled task Lambdas (cdk.out asset folders, one Node.js process each, the template's environment)
// with every AWS client pointed at moto_server → the report in moto's S3 and the message on moto's SNS
// topic (read through an SQS subscription). Once with 1 target, once with 50.
//
// What is not moto, and why:
// - Lambda itself: moto runs functions only in Docker. `LambdaFleet`/`LambdaService` (support/aws-wire.ts)
//   run the bundles in Node.js 24 processes behind the Invoke API. For the same reason the rules' target
//   in moto is an SQS queue, whose message (the event as the rule delivers it) the test hands to the
//   starter.
// - Step Functions' interpreter: moto stores the state machine and records StartExecution, but does not
//   run it; aws-local-stepfunctions runs the definition moto returns, with the execution input moto kept.
// - The SSM agent: moto records SendCommand but runs nothing and answers GetCommandInvocation with empty
//   output. `FakeSsmAgent` runs the document's own `aws:runShellScript` lines (read back from moto) on
//   this machine, as the agent would, and uploads the output to moto's S3.
// - Logs Insights: not on this path. The evidence is read with FilterLogEvents, which moto implements;
//   only the log-rate Lambda (detection, not run here) uses StartQuery/GetQueryResults, and moto 5.2's
//   Logs Insights evaluates just `fields`/`sort`/`limit` over the built-in fields (moto/logs/logs_query),
//   not the `parse`/`stats` that query needs. No call here is mocked with aws-sdk-client-mock.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateDocumentCommand, SSMClient } from '@aws-sdk/client-ssm';
import { StateMachine } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewatchConfig, validateConfig } from '../../lambdas/core/config.ts';
import type { Report } from '../../lambdas/core/types.ts';
import { EPISODE_MINUTES, episodeSlot } from '../../lambdas/handlers/alarm-episode.ts';
import type { WorkflowOutcome } from '../../lambdas/local/workflow-runner.ts';
import { WORKFLOW_TASK_NAMES, type WorkflowTaskName } from '../../lib/workflow/definition.ts';
import { StackPolicies as Policies, type StackPolicies, simulate } from '../infra/iam-policies.ts';
import { resolveValue } from '../infra/resolve-template.ts';
import { scaleConfig } from '../infra/scale.ts';
import { type IamRequest, iamRequests } from '../infra/sdk-calls.ts';
import { type Moto, motoAvailable, motoSkipReason, startMoto } from '../support/moto.ts';
import { AwsWire, FakeSsmAgent, LambdaFleet, LambdaService } from './support/aws-wire.ts';
import {
  ACCOUNT,
  type BundledFunction,
  type BundledStack,
  REGION,
  synthesizeBundled,
} from './support/bundled-stack.ts';

const INSTANCE_TAG = { key: 'gatewatch', value: 'enabled' };
/** The user's own alarm the 1-target stack routes by name (a plain "CloudWatch Alarm State Change"). */
const OPT_IN_ALARM = 'ops-team-checkout-5xx';

let moto: Moto;
const clientConfig = () => ({
  endpoint: moto.endpoint,
  region: REGION,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  forcePathStyle: true,
});

// ------------------------------------------------------------------------------------------ the world

/**
 * A call to moto in the JSON protocol, for the services whose SDK client is not among this project's
 * packages: SQS (queues standing in for the on-call inbox and for the starter as a rule target) and
 * EventBridge (the trigger's rules).
 */
async function motoJson(
  service: 'sqs' | 'events',
  action: string,
  input: Record<string, unknown>,
): Promise<unknown> {
  const [target, version] = service === 'sqs' ? ['AmazonSQS', '1.0'] : ['AWSEvents', '1.1'];
  const response = await fetch(moto.endpoint, {
    method: 'POST',
    headers: {
      'content-type': `application/x-amz-json-${version}`,
      'x-amz-target': `${target}.${action}`,
      authorization: `AWS4-HMAC-SHA256 Credential=test/20261207/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(input),
  });
  const body = await response.text();
  if (!response.ok) throw new Error(`${service} ${action}: ${response.status} ${body}`);
  return body === '' ? {} : JSON.parse(body);
}

const sqs = (action: string, input: Record<string, unknown>) => motoJson('sqs', action, input);

async function createQueue(name: string): Promise<{ url: string; arn: string }> {
  const url = ((await sqs('CreateQueue', { QueueName: name })) as { QueueUrl: string }).QueueUrl;
  const arn = (
    (await sqs('GetQueueAttributes', { QueueUrl: url, AttributeNames: ['QueueArn'] })) as {
      Attributes: { QueueArn: string };
    }
  ).Attributes.QueueArn;
  return { url, arn };
}

async function receive(queueUrl: string, waitSeconds: number): Promise<string[]> {
  const received = (await sqs('ReceiveMessage', {
    QueueUrl: queueUrl,
    MaxNumberOfMessages: 10,
    WaitTimeSeconds: waitSeconds,
  })) as { Messages?: { Body: string }[] };
  return (received.Messages ?? []).map((m) => m.Body);
}

interface Host {
  instanceId: string;
  privateIp: string;
}

/** EC2 as the targets' hosts would be: one VPC, subnet and security group, one tagged instance per target. */
async function createHosts(count: number): Promise<Host[]> {
  const ec2 = new EC2Client(clientConfig());
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.0.0.0/16' }))).Subnet!
    .SubnetId!;
  const group = (
    await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: 'nginx', Description: 'nginx hosts', VpcId: vpc }),
    )
  ).GroupId!;
  const image = (await ec2.send(new DescribeImagesCommand({}))).Images![0]!.ImageId!;
  const instances = (
    await ec2.send(
      new RunInstancesCommand({
        ImageId: image,
        MinCount: count,
        MaxCount: count,
        InstanceType: 't4g.small',
        SubnetId: subnet,
        SecurityGroupIds: [group],
        TagSpecifications: [
          { ResourceType: 'instance', Tags: [{ Key: INSTANCE_TAG.key, Value: INSTANCE_TAG.value }] },
        ],
      }),
    )
  ).Instances!;
  return instances.map((i) => ({ instanceId: i.InstanceId!, privateIp: i.PrivateIpAddress! }));
}

/** The scale configuration (63-character names, two upstreams each) on moto's instances. */
function configOn(hosts: Host[]): GatewatchConfig {
  const base = scaleConfig(hosts.length);
  return validateConfig(
    {
      ...base,
      targets: base.targets.map((t, i) => ({ ...t, aws: { ...t.aws!, instanceId: hosts[i]!.instanceId } })),
    },
    `e2e-${hosts.length}`,
  );
}

const pad = (n: number) => String(n).padStart(2, '0');
/** nginx's error-log time (the host's zone; EC2 hosts run on UTC). */
const errorLogTime = (at: Date) =>
  `${at.getUTCFullYear()}/${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const accessLogTime = (at: Date) =>
  `${pad(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} +0000`;

/**
 * Every target's nginx logs in CloudWatch Logs, as the CloudWatch agent ships them (one event per line,
 * one stream per instance): each target's own upstream refusing connections (so a report that names
 * another target's upstream is wrong), among ordinary traffic and noise — a 200, a client that went
 * away, and a request whose path carries shell and HTML metacharacters.
 */
async function writeNginxLogs(config: GatewatchConfig, alarmAt: Date): Promise<void> {
  const logs = new CloudWatchLogsClient(clientConfig());
  for (const target of config.targets) {
    const upstream = target.upstreams[0]!.address;
    const stream = target.aws!.instanceId!;
    type LogEvent = { timestamp: number; message: string };
    const events: Record<'error' | 'access', LogEvent[]> = { error: [], access: [] };
    for (let s = 240; s >= 30; s -= 15) {
      const at = new Date(alarmAt.getTime() - s * 1000);
      const request = `GET /checkout/${s} HTTP/1.1`;
      events.error.push({
        timestamp: at.getTime(),
        message: `${errorLogTime(at)} [error] 2811#2811: *${1000 + s} connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.200.7, server: ${target.name}.shop.example.com, request: "${request}", upstream: "http://${upstream}/checkout/${s}", host: "${target.name}.shop.example.com"`,
      });
      events.access.push(
        {
          timestamp: at.getTime(),
          message: `10.0.200.7 - - [${accessLogTime(at)}] "${request}" 502 157 "-" "Mozilla/5.0"`,
        },
        {
          timestamp: at.getTime(),
          message: `10.0.200.8 - - [${accessLogTime(at)}] "GET /static/app.css HTTP/1.1" 200 5120 "-" "Mozilla/5.0"`,
        },
      );
    }
    const noiseAt = new Date(alarmAt.getTime() - 200_000);
    events.error.push({
      timestamp: noiseAt.getTime(),
      message: `${errorLogTime(noiseAt)} [info] 2811#2811: *77 client 10.0.200.9 closed keepalive connection`,
    });
    events.access.push({
      timestamp: noiseAt.getTime(),
      message: `10.0.200.9 - - [${accessLogTime(noiseAt)}] "GET /search?q=$(touch%20/tmp/gw-e2e-pwned)<script>alert(1)</script> HTTP/1.1" 404 0 "-" "curl/8.5.0"`,
    });
    for (const [kind, list] of Object.entries(events)) {
      const group = target.aws!.logGroups[kind as 'error' | 'access']!;
      await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
      await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
      await logs.send(
        new PutLogEventsCommand({
          logGroupName: group,
          logStreamName: stream,
          logEvents: list.sort((a, b) => a.timestamp - b.timestamp),
        }),
      );
    }
  }
}

interface Deployment {
  stack: BundledStack;
  /** Where the trigger's rules deliver (in the starter's place). */
  ruleQueueUrl: string;
  config: GatewatchConfig;
  hosts: Host[];
  queueUrl: string;
  stateMachineArn: string;
  wire: AwsWire;
  agent: FakeSsmAgent;
  fleet: LambdaFleet;
  lambda: LambdaService;
  policies: StackPolicies;
  /** The Task Lambdas and the starter, by role. */
  functions: Record<WorkflowTaskName | 'Starter', BundledFunction>;
  stop(): Promise<void>;
}

/** What `cdk deploy` would have created, created in moto from the resolved template. */
async function deploy(count: number, alarmAt: Date): Promise<Deployment> {
  await moto.reset();
  const hosts = await createHosts(count);
  const config = configOn(hosts);
  await writeNginxLogs(config, alarmAt);
  const stack = synthesizeBundled(config, {
    optInAlarms: count === 1 ? { [OPT_IN_ALARM]: config.targets[0]!.name } : {},
  });
  const cdk = stack.stack;
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    cdk.getLogicalId(construct.node.defaultChild as never);

  const bucketId = id(cdk.reports.bucket);
  const bucket = stack.ref(bucketId);
  const s3 = new S3Client(clientConfig());
  await s3.send(
    new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }),
  );

  const topicId = id(cdk.notifications.topic);
  const sns = new SNSClient(clientConfig());
  const topicArn = (await sns.send(new CreateTopicCommand({ Name: stack.ref(topicId, 'TopicName') })))
    .TopicArn!;
  expect(topicArn, 'the topic moto made is the one the template names').toBe(stack.ref(topicId));
  const { url: queueUrl, arn: queueArn } = await createQueue('oncall-inbox');
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));

  // The trigger's rules, as synthesized, on moto's default bus. Their target is the starter; moto
  // delivers to Lambda targets only through Docker, so an SQS queue takes the starter's place as the
  // target and the test hands what arrives there to the bundled starter.
  const starterArn = stack.fn(/starts one diagnosis/).arn;
  const { url: ruleQueueUrl, arn: ruleQueueArn } = await createQueue('starter-deliveries');
  let rules = 0;
  for (const [ruleId, rule] of Object.entries(stack.template.Resources)) {
    if (rule.Type !== 'AWS::Events::Rule') continue;
    const p = resolveValue(stack.template, rule.Properties) as {
      EventPattern: unknown;
      State: string;
      Targets: { Arn: string; Id: string }[];
    };
    if (!p.Targets.some((t) => t.Arn === starterArn)) continue;
    rules++;
    await motoJson('events', 'PutRule', {
      Name: stack.ref(ruleId),
      EventPattern: JSON.stringify(p.EventPattern),
      State: p.State,
    });
    await motoJson('events', 'PutTargets', {
      Rule: stack.ref(ruleId),
      Targets: [{ Id: 'starter', Arn: ruleQueueArn }],
    });
  }
  expect(rules, 'rules that invoke the starter').toBeGreaterThan(0);

  const documentId = cdk.getLogicalId(cdk.diagnostics.document);
  const document = stack.template.Resources[documentId]!.Properties!;
  const ssm = new SSMClient(clientConfig());
  await ssm.send(
    new CreateDocumentCommand({
      Name: stack.ref(documentId),
      Content: JSON.stringify(resolveValue(stack.template, document.Content)),
      DocumentType: String(document.DocumentType) as 'Command',
      DocumentFormat: String(document.DocumentFormat) as 'JSON',
      TargetType: String(document.TargetType),
    }),
  );

  const machineId = id(cdk.workflow.stateMachine);
  const machine = stack.template.Resources[machineId]!.Properties!;
  let definition = String(machine.DefinitionString);
  for (const [key, value] of Object.entries(machine.DefinitionSubstitutions as Record<string, unknown>)) {
    definition = definition.replaceAll(`\${${key}}`, String(resolveValue(stack.template, value)));
  }
  expect(definition, 'every substitution resolved').not.toMatch(/\$\{[^}]*\}/);
  const sfn = new SFNClient(clientConfig());
  const stateMachineArn = (
    await sfn.send(
      new CreateStateMachineCommand({
        name: stack.ref(machineId, 'Name'),
        definition,
        roleArn: String(resolveValue(stack.template, machine.RoleArn)),
        type: 'STANDARD',
      }),
    )
  ).stateMachineArn!;
  expect(stateMachineArn, 'the state machine moto made is the one the starter names').toBe(
    stack.ref(machineId),
  );

  const agent = new FakeSsmAgent({ ssm, s3, ec2: new EC2Client(clientConfig()) }, INSTANCE_TAG);
  const wire = new AwsWire(moto.endpoint, agent);
  const functions = {
    ...Object.fromEntries(
      WORKFLOW_TASK_NAMES.map((task) => [task, stack.fn(new RegExp(`^gatewatch workflow task ${task}$`))]),
    ),
    Starter: stack.fn(/starts one diagnosis/),
  } as Deployment['functions'];
  const fleet = await LambdaFleet.start(Object.values(functions), async (fn) => ({
    // What Lambda's Node.js runtime sets; the template's variables are laid over these.
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    LAMBDA_TASK_ROOT: fn.assetDir,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/07/[$LATEST]e2e',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'ASIAE2ETEST',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SESSION_TOKEN: 'test',
    // The one addition: every AWS client of the function talks to moto, through its recording proxy.
    AWS_ENDPOINT_URL: await wire.endpointFor(fn.logicalId),
  }));
  const { service: lambda, endpoint: lambdaEndpoint } = await LambdaService.start(fleet);
  // aws-local-stepfunctions invokes each Task's Resource with its own Lambda client, configured from the
  // environment of this (test) process: point that client, and only that one, at the Invoke API above.
  const saved = {
    AWS_ENDPOINT_URL_LAMBDA: process.env.AWS_ENDPOINT_URL_LAMBDA,
    AWS_REGION: process.env.AWS_REGION,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
  };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });

  return {
    stack,
    ruleQueueUrl,
    config,
    hosts,
    queueUrl,
    stateMachineArn,
    wire,
    agent,
    fleet,
    lambda,
    policies: new Policies(stack.template),
    functions,
    async stop() {
      await agent.settled();
      await fleet.stop();
      await lambda.close();
      await wire.close();
      rmSync(stack.outdir, { recursive: true, force: true });
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    },
  };
}

// ------------------------------------------------------------------------------------------ events

/**
 * The events CloudWatch sends to EventBridge, which the trigger's rules deliver to the starter. Shapes:
 * "Alarm events and EventBridge" (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
 * cloudwatch-and-eventbridge.html) for the single-alarm state change; the EventBridge reference lists
 * "CloudWatch Alarm Contributor State Change" among CloudWatch's events (docs.aws.amazon.com/eventbridge/
 * latest/ref/events-ref-cloudwatch.html), and its contributor is the API's AlarmContributor
 * (docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_AlarmContributor.html: an id of at most
 * 16 characters and the contributor's attributes, the dimensions of its time series — gatewatch's is
 * `Target`). The sample contributor event body itself was not in the reference text available here;
 * the starter accepts the key spellings of both the event and the API type.
 */
function alarmStateChange(alarmName: string, at: Date) {
  return {
    version: '0',
    id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: ACCOUNT,
    time: at.toISOString().replace(/\.\d+Z$/, 'Z'),
    region: REGION,
    resources: [`arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${alarmName}`],
    detail: {
      alarmName,
      state: {
        value: 'ALARM',
        reason:
          'Threshold Crossed: 1 out of the last 1 datapoints [12.5] was greater than the threshold (5.0).',
        timestamp: at.toISOString().replace('Z', '+0000'),
      },
      previousState: { value: 'OK', reason: 'Threshold Crossed', timestamp: at.toISOString() },
    },
  };
}

type AlarmEvent = Omit<ReturnType<typeof alarmStateChange>, 'detail'> & { detail: Record<string, unknown> };

/**
 * CloudWatch's part: the event put on moto's default bus (moto accepts an `aws.` source from a client;
 * AWS would not), and what the trigger's rules delivered for it, as the starter receives it.
 */
async function throughEventBridge(d: Deployment, event: AlarmEvent): Promise<unknown[]> {
  const put = (await motoJson('events', 'PutEvents', {
    Entries: [
      {
        Source: event.source,
        DetailType: event['detail-type'],
        Detail: JSON.stringify(event.detail),
        Resources: event.resources,
        Time: Date.parse(event.time) / 1000,
      },
    ],
  })) as { FailedEntryCount: number };
  expect(put.FailedEntryCount).toBe(0);
  // moto's envelope lacks `account`, which EventBridge always sets (the account the event came from).
  return (await receive(d.ruleQueueUrl, 2)).map((body) => ({ account: ACCOUNT, ...JSON.parse(body) }));
}

function contributorStateChange(alarmName: string, target: string, at: Date): AlarmEvent {
  const event = alarmStateChange(alarmName, at);
  return {
    ...event,
    'detail-type': 'CloudWatch Alarm Contributor State Change',
    detail: {
      ...event.detail,
      alarmContributor: { id: '6d1e2f3a4b5c6d7e', attributes: { Target: target } },
    },
  };
}

// ------------------------------------------------------------------------------------------ the run

interface PipelineRun {
  started: { status: string; incidentId: string; executionArn: string };
  outcome: WorkflowOutcome;
  report: Report;
  objects: Map<string, string>;
  message: { Subject?: string; Message: string; TopicArn: string };
}

async function getText(key: string, bucket: string): Promise<string | undefined> {
  const s3 = new S3Client(clientConfig());
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await object.Body!.transformToString('utf8');
  } catch (error) {
    if ((error as NoSuchKey).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** EventBridge delivers `event` to the starter; the execution it started in moto runs to the end. */
async function runPipeline(d: Deployment, event: AlarmEvent): Promise<PipelineRun> {
  const [routed, ...more] = await throughEventBridge(d, event);
  expect(more, 'one rule matched').toEqual([]);
  expect(routed, 'the trigger’s rule matched the event').toBeDefined();
  const delivered = await d.fleet.invoke(d.functions.Starter, routed);
  expect(delivered.error, d.fleet.output(d.functions.Starter.logicalId).slice(-3000)).toBeUndefined();
  const started = delivered.result as PipelineRun['started'];
  expect(started.status).toBe('started');

  const sfn = new SFNClient(clientConfig());
  const executions = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: d.stateMachineArn })))
    .executions!;
  expect(executions.map((e) => e.executionArn)).toEqual([started.executionArn]);
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
  const definition = (await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: d.stateMachineArn })))
    .definition!;
  const machine = new StateMachine(JSON.parse(definition), { validationOptions: { noValidate: true } });
  // No local handlers: every Task invokes its Resource ARN through the Invoke API.
  const outcome = (await machine.run(JSON.parse(execution.input!)).result) as WorkflowOutcome;
  await d.agent.settled();

  const bucket = d.stack.ref(
    d.stack.stack.getLogicalId(d.stack.stack.reports.bucket.node.defaultChild as never),
  );
  const s3 = new S3Client(clientConfig());
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'incidents/' }));
  const objects = new Map<string, string>();
  for (const { Key } of listed.Contents ?? []) {
    if (Key && !Key.endsWith('.gz')) objects.set(Key, (await getText(Key, bucket)) ?? '');
  }
  const reportKey = `incidents/${started.incidentId}/report.json`;
  expect([...objects.keys()], 'report.json in moto’s S3').toContain(reportKey);
  const report = JSON.parse(objects.get(reportKey)!) as Report;

  const inbox = await receive(d.queueUrl, 5);
  expect(inbox, 'one message on the topic').toHaveLength(1);
  const message = JSON.parse(inbox[0]!) as PipelineRun['message'];
  return { started, outcome, report, objects, message };
}

/** The functions' recorded AWS calls, as IAM requests, each simulated against that function's role. */
async function deniedCalls(d: Deployment): Promise<{ checked: number; denied: string[] }> {
  const tags = { [INSTANCE_TAG.key]: INSTANCE_TAG.value };
  let checked = 0;
  const denied: string[] = [];
  for (const [functionId, calls] of d.wire.calls) {
    const role = d.policies.roleOfFunction(functionId);
    for (const call of calls) {
      const requests: IamRequest[] = iamRequests(call, tags);
      if (call.client === 'sns' && call.command === 'Publish') {
        // SNS uses the topic's key on the publisher's behalf.
        const context = {
          'kms:EncryptionContext:aws:sns:topicArn': String(call.input.TopicArn),
          'aws:SecureTransport': 'true',
        };
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt'])
          requests.push({ action, resource: d.policies.topicKeyArn(), context, from: 'sns.Publish (key)' });
      }
      for (const request of requests) {
        checked++;
        const decision = await simulate({
          principal: d.policies.roleArn(role),
          action: request.action,
          resource: request.resource,
          context: request.context,
          identityPolicies: d.policies.identityPolicies(role),
          resourcePolicy: d.policies.resourcePolicyFor(request.resource),
        });
        if (decision !== 'Allowed')
          denied.push(
            `${functionId}: ${request.action} on ${request.resource} (${request.from}) → ${decision}`,
          );
      }
    }
  }
  return { checked, denied };
}

/** What every full run must show: the right target, a classified cause, all three files, the index, the message. */
function expectDiagnosed(d: Deployment, run: PipelineRun, targetIndex: number): void {
  const target = d.config.targets[targetIndex]!;
  const upstream = target.upstreams[0]!.address;
  const { report, outcome, objects, message, started } = run;
  const why = `report: ${JSON.stringify({ rootCause: report.verdict.rootCause, summary: report.verdict.summary })}`;

  expect(outcome.report?.degraded, why).toBe(false);
  // No Task failed and was caught on the way (a caught failure still ends in a report).
  const caught = ['gatherError', 'hostsError', 'networkError', 'reportError', 'notifyError'].filter(
    (key) => key in outcome,
  );
  expect(caught.map((key) => `${key}: ${JSON.stringify(outcome[key])}`)).toEqual([]);
  expect(outcome.network, 'the network path was evaluated on moto’s EC2 inventory').toMatchObject({
    status: 'checked',
  });
  expect(report.target).toBe(target.name);
  expect(report.incidentId).toBe(started.incidentId);
  expect(['healthy', 'insufficient-evidence'], why).not.toContain(report.verdict.rootCause);
  // The evidence is this target's: its own upstream, no other target's.
  expect(JSON.stringify(report), why).toContain(upstream);
  for (const [i, other] of d.config.targets.entries()) {
    if (i !== targetIndex) expect(JSON.stringify(report)).not.toContain(`"${other.upstreams[0]!.address}`);
  }
  for (const ext of ['json', 'md', 'html']) {
    expect([...objects.keys()]).toContain(`incidents/${started.incidentId}/report.${ext}`);
  }
  const html = objects.get(`incidents/${started.incidentId}/report.html`)!;
  expect(html).toContain(target.name);
  expect(html).not.toContain('<script>alert(1)</script>');
  const index = JSON.parse(objects.get('incidents/index.json') ?? '{"incidents":[]}') as {
    incidents: { id: string; target: string; rootCause: string }[];
  };
  expect(
    index.incidents.find((e) => e.id === started.incidentId),
    'the index entry',
  ).toMatchObject({
    target: target.name,
    rootCause: report.verdict.rootCause,
  });

  expect(message.TopicArn).toBe(
    d.stack.ref(d.stack.stack.getLogicalId(d.stack.stack.notifications.topic.node.defaultChild as never)),
  );
  // SNS: "Subject … must be less than 100 characters" (Publish API), even with 63-character names.
  expect(message.Subject?.length ?? 0).toBeLessThanOrEqual(100);
  expect(message.Subject).toContain(target.name);
  expect(message.Message).toContain(target.name);
  expect(message.Message).toContain(report.verdict.rootCause);
  expect(message.Message).toContain(`incidents/${started.incidentId}/`);

  // Every Task but the degraded-report fallback ran in its own bundled Lambda, invoked by ARN.
  const invoked = new Set(d.lambda.invoked);
  for (const task of WORKFLOW_TASK_NAMES.filter((t) => t !== 'WriteDegradedReport')) {
    expect(invoked, task).toContain(d.functions[task].logicalId);
  }
  expect(invoked).not.toContain(d.functions.WriteDegradedReport.logicalId);

  // Over the wire: the evidence came from this target's log groups in moto, the command went to its host.
  const calls = (task: WorkflowTaskName) => d.wire.calls.get(d.functions[task].logicalId) ?? [];
  const groups = new Set(
    calls('GatherNginxEvidence')
      .filter((c) => c.command === 'FilterLogEvents')
      .map((c) => c.input.logGroupName),
  );
  expect(groups).toEqual(new Set([target.aws!.logGroups.error, target.aws!.logGroups.access]));
  const sent = calls('SendDiagnostics').filter((c) => c.command === 'SendCommand');
  expect(sent.map((c) => c.input.InstanceIds)).toEqual([[target.aws!.instanceId]]);
  expect(d.agent.runs.map((r) => [r.instanceId, r.exitCode])).toEqual([[target.aws!.instanceId, 0]]);
  // The network step reads the VPC of this target's instance only: by instance id, then by vpc-id.
  const [byId, ...byVpc] = calls('CheckNetworkPath').filter((c) => c.client === 'ec2');
  expect(byId?.command).toBe('DescribeInstances');
  expect(byId?.input['InstanceId.1']).toBe(target.aws!.instanceId);
  expect(byId?.input).not.toHaveProperty('InstanceId.2');
  expect(byVpc.map((c) => c.command).sort()).toEqual([
    'DescribeInstances',
    'DescribeNetworkAcls',
    'DescribeNetworkInterfaces',
    'DescribeRouteTables',
    'DescribeSecurityGroups',
    'DescribeSubnets',
  ]);
  for (const call of byVpc) expect(call.input['Filter.1.Name'], call.command).toBe('vpc-id');
  expect(d.wire.unreadable).toEqual([]);
  // Step Functions passes at most 256 KiB between states ("Quotas related to state machine executions").
  expect(Math.max(...d.lambda.payloads.flatMap((p) => [p.requestBytes, p.responseBytes]))).toBeLessThan(
    262_144,
  );
  // The log line's `$(touch …)` reached no shell.
  expect(existsSync('/tmp/gw-e2e-pwned')).toBe(false);
}

// ------------------------------------------------------------------------------------------ the tests

describe.skipIf(!motoAvailable)(
  `the deployed pipeline over the wire, against moto_server ${motoSkipReason}`,
  () => {
    beforeAll(async () => {
      moto = await startMoto(60_000);
    }, 90_000);
    afterAll(async () => {
      await moto?.stop();
    });

    describe('one target: a routed alarm’s state change', () => {
      let d: Deployment;
      let run: PipelineRun;
      const alarmAt = new Date(Date.now() - 60_000);

      beforeAll(async () => {
        d = await deploy(1, alarmAt);
        run = await runPipeline(d, alarmStateChange(OPT_IN_ALARM, alarmAt));
      }, 600_000);
      afterAll(async () => {
        await d?.stop();
      });

      it('diagnoses the target: report in S3, index entry, message on the topic', () => {
        expectDiagnosed(d, run, 0);
        expect(run.report.trigger.detail).toContain(OPT_IN_ALARM);
      });

      it('folds the contributor event of the same outage into the running incident', async () => {
        const target = d.config.targets[0]!.name;
        // The error-rate alarm fires 20 s later, within the same episode slot.
        const slotEnd = episodeSlot(alarmAt).getTime() + EPISODE_MINUTES * 60_000;
        const sameEpisodeLater = new Date(Math.min(alarmAt.getTime() + 20_000, slotEnd - 1000));
        const delivered = await throughEventBridge(
          d,
          contributorStateChange('gatewatch-error-rate-1', target, sameEpisodeLater),
        );
        expect(delivered).toHaveLength(1);
        const again = await d.fleet.invoke(d.functions.Starter, delivered[0]);
        expect(again.result).toMatchObject({ status: 'already-started', incidentId: run.started.incidentId });
        const sfn = new SFNClient(clientConfig());
        const executions = await sfn.send(new ListExecutionsCommand({ stateMachineArn: d.stateMachineArn }));
        expect(executions.executions).toHaveLength(1);
      });

      it('allows every AWS call each bundled Lambda made, under its own synthesized role', async () => {
        const { checked, denied } = await deniedCalls(d);
        expect(checked).toBeGreaterThan(10);
        expect(denied).toEqual([]);
      }, 120_000);

      it('ran each bundle with the template’s environment: configuration and routes from files in the package', () => {
        for (const fn of Object.values(d.functions)) {
          expect(Object.keys(fn.environment)).not.toContain('GATEWATCH_CONFIG');
          expect(Object.keys(fn.environment)).not.toContain('GATEWATCH_ALARM_ROUTES');
          expect(readFileSync(`${fn.assetDir}/gatewatch-config.json`, 'utf8')).toContain(
            d.config.targets[0]!.name,
          );
        }
      });
    });

    describe('fifty targets: a contributor event for target #37', () => {
      const TARGET = 37;
      let d: Deployment;
      let run: PipelineRun;
      const alarmAt = new Date(Date.now() - 60_000);

      beforeAll(async () => {
        d = await deploy(50, alarmAt);
        const target = d.config.targets[TARGET]!.name;
        run = await runPipeline(d, contributorStateChange('gatewatch-probe-failed-1', target, alarmAt));
      }, 900_000);
      afterAll(async () => {
        await d?.stop();
      });

      it('diagnoses target #37 with its own upstreams, host and log groups', () => {
        expect(d.config.targets).toHaveLength(50);
        expectDiagnosed(d, run, TARGET);
        expect(run.report.trigger.detail).toContain(d.config.targets[TARGET]!.name);
      });

      it('delivers nothing to the starter for an alarm that is not routed, or a contributor back to OK', async () => {
        const target = d.config.targets[TARGET]!.name;
        const ok = contributorStateChange('gatewatch-probe-failed-1', target, alarmAt);
        (ok.detail.state as { value: string }).value = 'OK';
        expect(await throughEventBridge(d, ok)).toEqual([]);
        expect(await throughEventBridge(d, alarmStateChange('payroll-db-cpu', alarmAt))).toEqual([]);
      });

      it('allows every AWS call each bundled Lambda made, under its own synthesized role', async () => {
        const { checked, denied } = await deniedCalls(d);
        expect(checked).toBeGreaterThan(10);
        expect(denied).toEqual([]);
      }, 120_000);
    });
  },
);
