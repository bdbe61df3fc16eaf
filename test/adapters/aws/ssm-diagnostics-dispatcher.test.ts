import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DiagnosticsDispatchError,
  INLINE_STDOUT_LIMIT,
  SsmDiagnosticsDispatcher,
  UnsupportedHostError,
} from '../../../lambdas/adapters/aws/ssm-diagnostics-dispatcher.ts';
import { motoAvailable, motoClientConfig, startMoto } from '../../support/moto.ts';

const INSTANCE = 'i-0123456789abcdef0';
const OPTIONS = { documentName: 'Gatewatch-Diagnostics', outputBucket: 'gatewatch-reports-test' };

describe.skipIf(!motoAvailable)(
  'SsmDiagnosticsDispatcher over the SSM and S3 protocols (moto_server)',
  () => {
    let moto: Awaited<ReturnType<typeof startMoto>>;
    let ssm: SSMClient;
    let s3: S3Client;
    let dispatcher: SsmDiagnosticsDispatcher;

    beforeAll(async () => {
      moto = await startMoto();
      ssm = new SSMClient(motoClientConfig(moto.endpoint));
      s3 = new S3Client(motoClientConfig(moto.endpoint));
      await s3.send(new CreateBucketCommand({ Bucket: OPTIONS.outputBucket }));
      dispatcher = new SsmDiagnosticsDispatcher(ssm, s3, OPTIONS);
    });

    afterAll(async () => {
      ssm?.destroy();
      s3?.destroy();
      await moto?.stop();
    });

    it('sends gatewatch’s document with each GW_* value as a parameter, the timeout and the S3 output', async () => {
      const { commandId } = await dispatcher.send({
        host: INSTANCE,
        checks: ['listeners', 'nginx-test'],
        params: { GW_CHECKS: 'listeners,nginx-test', GW_PORTS: '3000' },
        timeoutSeconds: 60,
      });

      const listed = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
      const command = listed.Commands?.[0];
      expect(command?.DocumentName).toBe('Gatewatch-Diagnostics');
      expect(command?.InstanceIds).toEqual([INSTANCE]);
      expect(command?.Parameters).toEqual({
        GW_CHECKS: ['listeners,nginx-test'],
        GW_PORTS: ['3000'],
        executionTimeout: ['60'],
        interpolationCheck: ['ENV_VAR'],
      });
      expect(command?.OutputS3BucketName).toBe(OPTIONS.outputBucket);
      expect(command?.OutputS3KeyPrefix).toBe('ssm-output');
    });

    it('collects a finished invocation as done with its exit code and duration', async () => {
      const { commandId } = await dispatcher.send({
        host: INSTANCE,
        checks: [],
        params: {},
        timeoutSeconds: 30,
      });

      const poll = await dispatcher.collect({ host: INSTANCE, commandId });

      expect(poll.status).toBe('done');
      expect(poll.status === 'done' && poll.result.exitCode).toBe(0);
      expect(poll.status === 'done' && poll.result.timedOut).toBe(false);
      expect(poll.status === 'done' && poll.result.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('reports a command that ended without ever reaching the host as failed, not pending forever', async () => {
      const { commandId } = await dispatcher.send({
        host: INSTANCE,
        checks: [],
        params: {},
        timeoutSeconds: 30,
      });

      const poll = await dispatcher.collect({ host: 'i-0fedcba9876543210', commandId });

      expect(poll).toMatchObject({ status: 'failed' });
      expect(poll.status === 'failed' && poll.reason).toMatch(/without reaching i-0fedcba9876543210/);
    });

    it('refuses a host that is not an instance id before calling SSM', async () => {
      await expect(
        dispatcher.send({ host: 'local', checks: [], params: {}, timeoutSeconds: 30 }),
      ).rejects.toBeInstanceOf(UnsupportedHostError);
    });

    describe('SSM answers moto cannot produce (SSM mocked, S3 over the wire)', () => {
      // Installed only around these tests: mockClient patches every SSMClient, the moto one above included.
      let ssmMock: AwsClientStub<SSMClient>;
      beforeAll(() => {
        ssmMock = mockClient(SSMClient);
      });
      afterEach(() => ssmMock.reset());
      afterAll(() => ssmMock.restore());

      const finished = {
        CommandId: 'cmd-1',
        InstanceId: INSTANCE,
        Status: 'Success' as const,
        StatusDetails: 'Success',
        ResponseCode: 0,
        ExecutionStartDateTime: '2026-11-24T06:01:00.000Z',
        ExecutionEndDateTime: '2026-11-24T06:01:07.250Z',
        StandardErrorContent: '',
      };

      it('treats InvocationDoesNotExist right after sending as pending', async () => {
        ssmMock
          .on(GetCommandInvocationCommand)
          .rejects(new InvocationDoesNotExist({ message: 'InvocationDoesNotExist', $metadata: {} }));
        ssmMock.on(ListCommandsCommand).resolves({ Commands: [{ CommandId: 'cmd-1', Status: 'Pending' }] });

        const poll = await new SsmDiagnosticsDispatcher(new SSMClient({}), s3, OPTIONS).collect({
          host: INSTANCE,
          commandId: 'cmd-1',
        });

        expect(poll).toEqual({ status: 'pending' });
      });

      it('treats InvocationDoesNotExist as pending while the command is not even listed yet', async () => {
        ssmMock
          .on(GetCommandInvocationCommand)
          .rejects(new InvocationDoesNotExist({ message: 'InvocationDoesNotExist', $metadata: {} }));
        ssmMock
          .on(ListCommandsCommand)
          .rejects(Object.assign(new Error('Invalid command id.'), { name: 'InvalidCommandId' }));

        const poll = await new SsmDiagnosticsDispatcher(new SSMClient({}), s3, OPTIONS).collect({
          host: INSTANCE,
          commandId: 'cmd-1',
        });

        expect(poll).toEqual({ status: 'pending' });
      });

      it.each(['Pending', 'InProgress', 'Delayed'] as const)(
        'keeps polling while the invocation is %s',
        async (status) => {
          ssmMock.on(GetCommandInvocationCommand).resolves({ ...finished, Status: status, ResponseCode: -1 });

          const poll = await new SsmDiagnosticsDispatcher(new SSMClient({}), s3, OPTIONS).collect({
            host: INSTANCE,
            commandId: 'cmd-1',
          });

          expect(poll).toEqual({ status: 'pending' });
        },
      );

      it('reads the whole stdout from the command’s S3 output when SSM cut it at 24,000 characters', async () => {
        const full = `@@GATEWATCH begin\n${'ss -tlnp: LISTEN 0 511 0.0.0.0:80\n'.repeat(2000)}@@GATEWATCH end\n`;
        const key = `ssm-output/cmd-1/${INSTANCE}/awsrunShellScript/runDiagnostics/stdout`;
        await s3.send(new PutObjectCommand({ Bucket: OPTIONS.outputBucket, Key: key, Body: full }));
        ssmMock.on(GetCommandInvocationCommand).resolves({
          ...finished,
          StandardOutputContent: full.slice(0, INLINE_STDOUT_LIMIT),
          StandardOutputUrl: `https://s3.us-east-1.amazonaws.com/${OPTIONS.outputBucket}/${key}`,
        });

        const poll = await new SsmDiagnosticsDispatcher(new SSMClient({}), s3, OPTIONS).collect({
          host: INSTANCE,
          commandId: 'cmd-1',
        });

        expect(poll.status).toBe('done');
        expect(poll.status === 'done' && poll.result.stdout).toBe(full);
        expect(poll.status === 'done' && poll.result.durationMs).toBe(7250);
      });

      it('keeps the first 24,000 characters and says what is missing when the S3 output cannot be read', async () => {
        const cut = 'x'.repeat(INLINE_STDOUT_LIMIT);
        ssmMock.on(GetCommandInvocationCommand).resolves({
          ...finished,
          CommandId: 'cmd-gone',
          StandardOutputContent: cut,
          StandardOutputUrl: '',
        });

        const poll = await new SsmDiagnosticsDispatcher(new SSMClient({}), s3, OPTIONS).collect({
          host: INSTANCE,
          commandId: 'cmd-gone',
        });

        expect(poll.status === 'done' && poll.result.stdout).toBe(cut);
        expect(poll.status === 'done' && poll.result.stderr).toMatch(
          /stdout was cut at 24000 characters and s3:\/\/gatewatch-reports-test\/ssm-output\/cmd-gone\/.* could not be read \(NoSuchKey/,
        );
      });

      it('returns a script that hit its execution timeout as failed with its partial output', async () => {
        ssmMock.on(GetCommandInvocationCommand).resolves({
          ...finished,
          Status: 'TimedOut',
          StatusDetails: 'ExecutionTimedOut',
          ResponseCode: 124,
          StandardOutputContent: '@@GATEWATCH begin listeners\n',
        });

        const poll = await new SsmDiagnosticsDispatcher(new SSMClient({}), s3, OPTIONS).collect({
          host: INSTANCE,
          commandId: 'cmd-1',
        });

        expect(poll).toMatchObject({ status: 'failed', result: { timedOut: true, exitCode: 124 } });
      });

      it('reports an undeliverable command as failed without a result', async () => {
        ssmMock.on(GetCommandInvocationCommand).resolves({
          ...finished,
          Status: 'Failed',
          StatusDetails: 'Undeliverable',
          ResponseCode: -1,
        });

        const poll = await new SsmDiagnosticsDispatcher(new SSMClient({}), s3, OPTIONS).collect({
          host: INSTANCE,
          commandId: 'cmd-1',
        });

        expect(poll).toEqual({
          status: 'failed',
          reason: `SSM reports Failed (Undeliverable) for ${INSTANCE}`,
        });
      });

      it('wraps a refused SendCommand in DiagnosticsDispatchError with the SDK error as cause', async () => {
        const denied = Object.assign(new Error('not authorized to perform ssm:SendCommand'), {
          name: 'AccessDeniedException',
        });
        ssmMock.on(SendCommandCommand).rejects(denied);

        const error = await new SsmDiagnosticsDispatcher(new SSMClient({}), s3, OPTIONS)
          .send({ host: INSTANCE, checks: [], params: {}, timeoutSeconds: 30 })
          .catch((e: unknown) => e);

        expect(error).toBeInstanceOf(DiagnosticsDispatchError);
        expect((error as Error).cause).toBe(denied);
      });
    });
  },
);

describe('SsmDiagnosticsDispatcher.outputKey', () => {
  const dispatcher = new SsmDiagnosticsDispatcher(
    new SSMClient({ region: 'us-east-1' }),
    new S3Client({}),
    OPTIONS,
  );

  it.each([
    `https://s3.eu-west-1.amazonaws.com/${OPTIONS.outputBucket}/ssm-output/c-1/${INSTANCE}/awsrunShellScript/runDiagnostics/stdout`,
    `https://${OPTIONS.outputBucket}.s3.eu-west-1.amazonaws.com/ssm-output/c-1/${INSTANCE}/awsrunShellScript/runDiagnostics/stdout`,
  ])('takes the key from the URL SSM reports (%s)', (url) => {
    expect(dispatcher.outputKey('c-1', INSTANCE, 'stdout', url)).toBe(
      `ssm-output/c-1/${INSTANCE}/awsrunShellScript/runDiagnostics/stdout`,
    );
  });

  it('falls back to SSM’s documented layout without a URL', () => {
    expect(dispatcher.outputKey('c-2', INSTANCE, 'stderr')).toBe(
      `ssm-output/c-2/${INSTANCE}/awsrunShellScript/runDiagnostics/stderr`,
    );
  });
});
