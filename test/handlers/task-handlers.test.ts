/**
 * The workflow's Task Lambdas, one after another as the state machine calls them, each through its own
 * handler module with the AWS SDK mocked at the client (aws-sdk-client-mock): the real steps run, the
 * real adapters build the real requests, and what one Task stores the next one reads.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_CAUSES } from '../../lambdas/core/root-causes.ts';
import { awsStepDeps, PortNotWiredError } from '../../lambdas/handlers/task-handler.ts';
import { reportStoreFromEnvironment } from '../../lambdas/handlers/wiring/report-store.ts';
import {
  CommandRefSchema,
  EvidenceRefSchema,
  NetworkOutcomeSchema,
  NotifyOutputSchema,
  PollResultSchema,
  ReportRefSchema,
  type WorkflowInput,
} from '../../lambdas/steps/contracts.ts';
import { LAMBDA_ENV } from '../../lib/workflow/lambda-wiring.ts';
import {
  DOCUMENT_NAME,
  lambdaContext,
  REPORT_BUCKET,
  rememberingS3,
  setStackEnvironment,
  TOPIC_ARN,
} from './support.ts';

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

const INSTANCE = 'i-0123456789abcdef0';
const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/nginx/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line !== '');

/** As the CloudWatch agent ships a line: the message, stamped with the time nginx wrote it. */
function asLogEvents(lines: string[], timeOf: (line: string) => number) {
  return lines.map((message, i) => ({
    message,
    timestamp: timeOf(message),
    ingestionTime: timeOf(message) + 1000,
    logStreamName: INSTANCE,
    eventId: String(i),
  }));
}

const errorTime = (line: string) =>
  Date.parse(`${line.slice(0, 19).replaceAll('/', '-').replace(' ', 'T')}Z`);
const accessTime = (line: string) => Date.parse(line.split('\t')[1] ?? '');

describe('the Task Lambdas, run in workflow order against mocked AWS clients', () => {
  let s3: AwsClientStub<S3Client>;
  let logs: AwsClientStub<CloudWatchLogsClient>;
  let ssm: AwsClientStub<SSMClient>;
  let sns: AwsClientStub<SNSClient>;
  let ec2: AwsClientStub<EC2Client>;
  let objects: ReturnType<typeof rememberingS3>;
  const handlers = {} as Record<string, Handler>;
  const input: WorkflowInput = {
    incidentId: 'shop-20261124T060500Z-3f2a0b1c',
    target: 'shop',
    openedAt: '2026-11-24T06:05:00Z',
    window: { from: '2026-11-24T05:50:00Z', to: '2026-11-24T06:05:00Z' },
    trigger: { kind: 'alarm', detail: 'CloudWatch alarm gatewatch-shop-probe-failed entered ALARM' },
    logsOnly: false,
  };
  // The real diagnostics script, run on this host: its output is what SSM would return.
  const scriptOutput = spawnSync('bash', ['lambdas/assets/diagnostics/gatewatch-diagnostics.sh'], {
    env: { PATH: process.env.PATH, GW_CHECKS: 'listen,disk,memory', GW_PORTS: '3000' },
    encoding: 'utf8',
    timeout: 60_000,
  }).stdout;

  beforeAll(async () => {
    setStackEnvironment();
    s3 = mockClient(S3Client);
    logs = mockClient(CloudWatchLogsClient);
    ssm = mockClient(SSMClient);
    sns = mockClient(SNSClient);
    ec2 = mockClient(EC2Client);
    objects = rememberingS3(s3);
    logs.on(FilterLogEventsCommand, { logGroupName: '/gatewatch/shop/nginx-error' }).resolves({
      events: asLogEvents(fixture('real-error.log'), errorTime),
    });
    logs.on(FilterLogEventsCommand, { logGroupName: '/gatewatch/shop/nginx-access' }).resolves({
      events: asLogEvents(fixture('real-access.gatewatch.log'), accessTime),
    });
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'c0ffee00-1111-2222-3333-444455556666' } });
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    for (const module of [
      'gather-nginx-evidence',
      'send-diagnostics',
      'collect-diagnostics',
      'check-network-path',
      'classify-and-report',
      'write-degraded-report',
      'notify',
    ]) {
      handlers[module] = (
        (await import(`../../lambdas/handlers/${module}.ts`)) as { handler: Handler }
      ).handler;
    }
  });
  afterAll(() => {
    for (const mock of [s3, logs, ssm, sns, ec2]) mock.restore();
  });

  let evidence: ReturnType<typeof EvidenceRefSchema.parse>;

  it('GatherNginxEvidence reads both log groups of the window and stores the evidence as JSON', async () => {
    evidence = EvidenceRefSchema.parse(await handlers['gather-nginx-evidence']!(input, lambdaContext()));

    expect(evidence).toMatchObject({ key: `${input.incidentId}/evidence/nginx.json`, hosts: [INSTANCE] });
    expect(evidence.failures).toBeGreaterThan(0);
    const calls = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.logGroupName).sort()).toEqual([
      '/gatewatch/shop/nginx-access',
      '/gatewatch/shop/nginx-error',
    ]);
    expect(calls[0]).toMatchObject({
      startTime: Date.parse(input.window.from),
      endTime: Date.parse(input.window.to),
    });
    const stored = objects.get(`${REPORT_BUCKET}/incidents/${evidence.key}`);
    expect(stored?.contentType).toBe('application/json; charset=utf-8');
    expect(stored?.body).not.toContain('pa55word'); // the referrer's password is redacted before storing
  });

  let command: ReturnType<typeof CommandRefSchema.parse>;
  const hostInput = () => ({
    incidentId: input.incidentId,
    target: input.target,
    window: input.window,
    host: INSTANCE,
  });

  it('SendDiagnostics sends gatewatch’s document to the nginx instance with validated GW_* parameters', async () => {
    command = CommandRefSchema.parse(await handlers['send-diagnostics']!(hostInput(), lambdaContext()));

    expect(command).toEqual({ commandId: 'c0ffee00-1111-2222-3333-444455556666', host: INSTANCE });
    const sent = ssm.commandCalls(SendCommandCommand)[0]!.args[0].input;
    expect(sent).toMatchObject({
      DocumentName: DOCUMENT_NAME,
      InstanceIds: [INSTANCE],
      OutputS3BucketName: REPORT_BUCKET,
      OutputS3KeyPrefix: 'ssm-output',
    });
    expect(sent.Parameters).toMatchObject({
      GW_CHECKS: [expect.stringMatching(/^[a-z-]+(,[a-z-]+)*$/)],
      GW_PORTS: ['3000'],
      GW_SERVICE_KIND: ['systemd'],
      GW_SERVICE_NAME: ['shop-api.service'],
      GW_NGINX_CONF: ['/etc/nginx/nginx.conf'],
      interpolationCheck: ['ENV_VAR'],
      executionTimeout: [expect.stringMatching(/^\d+$/)],
    });
  });

  it('CollectDiagnostics answers pending while SSM has not registered the invocation yet', async () => {
    ssm
      .on(GetCommandInvocationCommand)
      .rejectsOnce(new InvocationDoesNotExist({ message: 'InvocationDoesNotExist', $metadata: {} }));
    ssm.on(ListCommandsCommand).resolves({ Commands: [{ CommandId: command.commandId, Status: 'Pending' }] });

    const poll = PollResultSchema.parse(
      await handlers['collect-diagnostics']!({ ...hostInput(), command }, lambdaContext()),
    );

    expect(poll).toEqual({ status: 'pending', attempt: 1 });
  });

  let hostKey: string;

  it('CollectDiagnostics stores the host facts once the script has finished', async () => {
    ssm.on(GetCommandInvocationCommand).resolves({
      CommandId: command.commandId,
      InstanceId: INSTANCE,
      Status: 'Success',
      StatusDetails: 'Success',
      ResponseCode: 0,
      StandardOutputContent: scriptOutput,
      StandardErrorContent: '',
      ExecutionStartDateTime: '2026-11-24T06:05:10.000Z',
      ExecutionEndDateTime: '2026-11-24T06:05:11.500Z',
    });

    const poll = PollResultSchema.parse(
      await handlers['collect-diagnostics']!(
        { ...hostInput(), command, poll: { attempt: 1 } },
        lambdaContext(),
      ),
    );

    expect(poll).toEqual({
      status: 'done',
      attempt: 2,
      key: `${input.incidentId}/evidence/host-${INSTANCE}.json`,
    });
    hostKey = poll.key!;
    expect(objects.get(`${REPORT_BUCKET}/incidents/${hostKey}`)?.body).toContain('"checks"');
  });

  let network: ReturnType<typeof NetworkOutcomeSchema.parse>;

  it('CheckNetworkPath checks only the host firewall for a loopback upstream, with no EC2 call', async () => {
    network = NetworkOutcomeSchema.parse(
      await handlers['check-network-path']!(
        { ...input, evidence, hosts: [{ host: INSTANCE, status: 'done', key: hostKey }] },
        lambdaContext(),
      ),
    );
    expect(network).toMatchObject({ status: 'checked', key: `${input.incidentId}/evidence/network.json` });
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    const stored = JSON.parse(objects.get(`${REPORT_BUCKET}/incidents/${network.key}`)!.body);
    expect(stored.notes.join('\n')).toContain('on loopback');
  });

  let report: ReturnType<typeof ReportRefSchema.parse>;
  const reportInput = () => ({
    ...input,
    evidence,
    hosts: [{ host: INSTANCE, status: 'done' as const, key: hostKey }],
    network,
  });

  it('ClassifyAndReport writes report.json, .md and .html with their content types and says where', async () => {
    report = ReportRefSchema.parse(await handlers['classify-and-report']!(reportInput(), lambdaContext()));

    const prefix = `${REPORT_BUCKET}/incidents/${input.incidentId}`;
    expect(objects.get(`${prefix}/report.json`)?.contentType).toBe('application/json; charset=utf-8');
    expect(objects.get(`${prefix}/report.md`)?.contentType).toBe('text/markdown; charset=utf-8');
    expect(objects.get(`${prefix}/report.html`)?.contentType).toBe('text/html; charset=utf-8');
    expect(report.location).toBe(`s3://${REPORT_BUCKET}/incidents/${input.incidentId}/report.json`);
    expect(Object.keys(ROOT_CAUSES)).toContain(report.rootCause);
    expect(JSON.parse(objects.get(`${prefix}/report.json`)!.body)).toMatchObject({
      incidentId: input.incidentId,
      target: 'shop',
    });
  });

  it('WriteDegradedReport still writes a report when classifying failed', async () => {
    const degraded = ReportRefSchema.parse(
      await handlers['write-degraded-report']!(
        {
          ...reportInput(),
          incidentId: 'shop-20261124T060500Z-0000dead',
          reportError: { Error: 'EvidenceMissingError', Cause: 'gone' },
        },
        lambdaContext(),
      ),
    );

    expect(degraded.degraded).toBe(true);
    expect(objects.has(`${REPORT_BUCKET}/incidents/shop-20261124T060500Z-0000dead/report.json`)).toBe(true);
  });

  it('Notify publishes the verdict, the host and a console link to the HTML report under a subject SNS accepts', async () => {
    const output = NotifyOutputSchema.parse(
      await handlers.notify!({ ...reportInput(), report }, lambdaContext()),
    );

    expect(output.sent).toBe(true);
    const published = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(published.TopicArn).toBe(TOPIC_ARN);
    expect(published.Subject!.length).toBeLessThan(100);
    expect(published.Subject).toContain(report.rootCause);
    expect(published.Message).toContain(`${report.rootCause}`);
    expect(published.Message).toContain(INSTANCE);
    expect(published.Message).toContain(
      `Report: https://console.aws.amazon.com/s3/object/${REPORT_BUCKET}?prefix=incidents/${input.incidentId}/report.html`,
    );
    const stored = JSON.parse(
      objects.get(`${REPORT_BUCKET}/incidents/${input.incidentId}/report.json`)!.body,
    );
    expect(stored.notifications).toEqual([
      expect.objectContaining({ event: 'open', channel: 'sns', status: 'sent', attempts: 1 }),
    ]);
  });

  it('keeps an ack written while it was sending: the outcomes are added by compare-and-swap', async () => {
    const key = `incidents/${input.incidentId}/report.json`;
    sns.reset();
    sns.on(PublishCommand).callsFake(async () => {
      // `gatewatch ack` against the bucket, between the Notify step's read and its write.
      const acked = JSON.parse(objects.get(`${REPORT_BUCKET}/${key}`)!.body);
      acked.activity = [{ at: '2026-11-24T06:06:00Z', by: 'alice', action: 'ack' }];
      await new S3Client({}).send(
        new PutObjectCommand({
          Bucket: REPORT_BUCKET,
          Key: key,
          Body: `${JSON.stringify(acked, null, 2)}\n`,
        }),
      );
      return { MessageId: 'm-2' };
    });

    const output = NotifyOutputSchema.parse(
      await handlers.notify!({ ...reportInput(), report }, lambdaContext()),
    );

    expect(output.sent).toBe(true);
    const stored = JSON.parse(objects.get(`${REPORT_BUCKET}/${key}`)!.body);
    expect(stored.activity).toEqual([{ at: '2026-11-24T06:06:00Z', by: 'alice', action: 'ack' }]);
    expect(stored.notifications.at(-1)).toMatchObject({ channel: 'sns', status: 'sent', attempts: 1 });
  });

  it('a publish SNS keeps refusing is retried, recorded in the report with its error, and the report stays whole', async () => {
    sns.reset();
    sns
      .on(PublishCommand)
      .rejects(Object.assign(new Error('Topic does not exist'), { name: 'NotFoundException' }));

    const output = NotifyOutputSchema.parse(
      await handlers.notify!({ ...reportInput(), report }, lambdaContext()),
    );

    expect(output.sent).toBe(false);
    expect(output.detail).toMatch(/failed: sns \(.*Topic does not exist/);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(3);
    const stored = JSON.parse(
      objects.get(`${REPORT_BUCKET}/incidents/${input.incidentId}/report.json`)!.body,
    );
    expect(stored.incidentId).toBe(input.incidentId);
    expect(stored.verdict.rootCause).toBe(report.rootCause);
    expect(stored.notifications.at(-1)).toMatchObject({
      event: 'open',
      channel: 'sns',
      status: 'failed',
      attempts: 3,
      error: expect.stringContaining('Topic does not exist'),
    });
  });
});

describe('awsStepDeps', () => {
  beforeAll(() => setStackEnvironment());

  it('builds only the ports a Task is wired to; any other fails loudly instead of with AccessDenied', async () => {
    const deps = awsStepDeps('SendDiagnostics', { 'diagnostics-send': () => ({}) as never }, process.env);

    await expect(async () =>
      deps.store.put('x/report.json', '{}', 'application/json'),
    ).rejects.toBeInstanceOf(PortNotWiredError);
    await expect(async () => deps.notifier.notify({ subject: 's', text: 't' })).rejects.toBeInstanceOf(
      PortNotWiredError,
    );
    expect(() => deps.logs.chunks({ log: 'g', fromMs: 0, toMs: 1 })).toThrow(
      /SendDiagnostics used logs\.chunks/,
    );
  });

  it('reads the nginx instance and log groups from the target’s aws block', () => {
    const deps = awsStepDeps('ClassifyAndReport', { store: reportStoreFromEnvironment }, process.env);
    const target = deps.config.targets[0]!;

    expect(deps.nginxHost(target)).toBe(INSTANCE);
    expect(deps.logLocations(target)).toEqual({
      error: '/gatewatch/shop/nginx-error',
      access: '/gatewatch/shop/nginx-access',
    });
  });

  it('names the missing variable when the function was deployed without the configuration', () => {
    const env = { ...process.env, [LAMBDA_ENV.config]: undefined };
    const notifier = () => ({ notify: async () => undefined });
    expect(() => awsStepDeps('Notify', { notifier, store: reportStoreFromEnvironment }, env)).toThrow(
      /GATEWATCH_CONFIG is not set/,
    );
  });
});
