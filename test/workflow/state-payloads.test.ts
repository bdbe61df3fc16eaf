// Step Functions refuses a state whose input or output exceeds 256 KiB. Command outputs are far larger
// than what GetCommandInvocation returns inline (24,000 characters), so they must travel by key: every
// state's input and output of a run with a large real diagnostics output is measured from the event log.
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  INLINE_STDOUT_LIMIT,
  SsmDiagnosticsDispatcher,
} from '../../lambdas/adapters/aws/ssm-diagnostics-dispatcher.ts';
import type { HostFacts } from '../../lambdas/core/diagnostics/host-facts.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { runDiagnosisWorkflow } from '../../lambdas/local/workflow-runner.ts';
import { storeKeys } from '../../lambdas/steps/deps.ts';
import { WORKFLOW_TASK_NAMES } from '../../lib/workflow/definition.ts';
import { motoAvailable, motoClientConfig, motoSkipReason, startMoto } from '../support/moto.ts';
import {
  Cleanup,
  deployedDefinition,
  eventRecorder,
  FakeSsm,
  labDeps,
  payloadBytes,
  RecordingNotifier,
  requests,
  startLab,
  workflowInput,
} from './support.ts';

/** Step Functions' limit on a state's input or output. */
const STATE_PAYLOAD_LIMIT = 256 * 1024;
const NGINX_INSTANCE = 'i-0123456789abcdef0';
const BUCKET = 'gatewatch-reports-test';
const LOCATIONS = 400;

describe.skipIf(!motoAvailable)(`state payloads of the deployed workflow ${motoSkipReason}`, () => {
  const cleanup = new Cleanup();
  let moto: Awaited<ReturnType<typeof startMoto>>;
  let s3Client: S3Client;
  let ssmClient: SSMClient;
  let ssm: AwsClientStub<SSMClient>;

  beforeAll(async () => {
    moto = await startMoto();
    s3Client = new S3Client(motoClientConfig(moto.endpoint));
    await s3Client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    ssmClient = new SSMClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    ssm = mockClient(ssmClient);
  });
  afterEach(() => cleanup.run());
  afterAll(async () => {
    ssm?.restore();
    s3Client?.destroy();
    await moto?.stop();
  });

  it('keeps every state input and output under 256 KiB when the diagnostics print over 24,000 characters', async () => {
    const port = await freePort();
    // A real configuration of a few hundred locations: `nginx -T` in the diagnostics prints all of it.
    const locations = Array.from(
      { length: LOCATIONS },
      (_, i) =>
        `location /api/v1/resource-${String(i).padStart(4, '0')}/ { proxy_pass http://127.0.0.1:${port}; proxy_set_header X-Request-Id $request_id; }`,
    ).join('\n');
    const lab = await startLab(cleanup, `${locations}\nlocation / { proxy_pass http://127.0.0.1:${port}; }`);
    expect(await requests(lab, 2)).toEqual([502, 502]);
    const fake = new FakeSsm(ssm, { instances: { [NGINX_INSTANCE]: { kind: 'runs-script' } }, s3: s3Client });
    const s3Reads: string[] = [];
    const reading = new S3Client(motoClientConfig(moto.endpoint));
    reading.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === GetObjectCommand.name) s3Reads.push((args.input as { Key: string }).Key);
        return next(args);
      },
      { step: 'initialize' },
    );
    const dispatcher = new SsmDiagnosticsDispatcher(ssmClient, reading, {
      documentName: 'Gatewatch-Diagnostics-AbC123',
      outputBucket: BUCKET,
    });
    const config = lab.gatewatchConfig();
    const deps = labDeps(config, {
      dispatcher,
      notifier: new RecordingNotifier(),
      nginxHost: () => NGINX_INSTANCE,
    });
    const recorder = eventRecorder();
    const input = workflowInput();

    const outcome = await runDiagnosisWorkflow(input, deps, {
      definition: deployedDefinition(),
      onEvents: recorder.onEvents,
    });
    await recorder.done();

    // The command really printed more than SSM returns inline, and the full output was read from S3.
    const printed = await fake.commands[0]!.result!;
    expect(printed.stdout.length).toBeGreaterThan(INLINE_STDOUT_LIMIT);
    expect(s3Reads).toEqual([
      `ssm-output/${fake.commands[0]!.commandId}/${NGINX_INSTANCE}/awsrunShellScript/runDiagnostics/stdout`,
    ]);
    const facts = JSON.parse(
      (await deps.store.get(storeKeys.hostEvidence(input.incidentId, NGINX_INSTANCE)))!,
    ) as HostFacts;
    expect(facts.nginxDump).toContain(`/api/v1/resource-${String(LOCATIONS - 1).padStart(4, '0')}/`);
    expect(outcome.report?.rootCause).toBe('upstream-down');

    const measured = recorder.events.flatMap((event) => {
      const sizes: { what: string; bytes: number }[] = [];
      if (event.state) {
        const what = `${event.type} ${event.state.name}${event.index === undefined ? '' : `[${event.index}]`}`;
        sizes.push({ what: `${what} input`, bytes: payloadBytes(event.state.input) });
        if ('output' in event.state)
          sizes.push({ what: `${what} output`, bytes: payloadBytes(event.state.output) });
      }
      return sizes;
    });
    const exited = new Set(recorder.events.filter((e) => e.type === 'StateExited').map((e) => e.state!.name));
    // Every Task of this run's path was measured (the degraded-report Task only runs when reporting fails;
    // AwaitApproval and Remediate only when a target's remediation block decides so: their payloads are the
    // state plus a small plan and outcome, see test/workflow/remediation-workflow.test.ts).
    const offPath = new Set(['WriteDegradedReport', 'AwaitApproval', 'Remediate']);
    for (const task of WORKFLOW_TASK_NAMES.filter((t) => !offPath.has(t))) expect(exited).toContain(task);
    expect(recorder.events.at(-1)?.type).toBe('ExecutionSucceeded');
    const largest = measured.reduce((max, m) => (m.bytes > max.bytes ? m : max));
    expect(largest.bytes, `largest state payload: ${largest.what}`).toBeLessThan(STATE_PAYLOAD_LIMIT);
    // Only keys travel: no state carries the script's framed output, inline or otherwise.
    const carrying = recorder.events.filter((e) => JSON.stringify(e.state ?? {}).includes('@@GATEWATCH'));
    expect(carrying.map((e) => `${e.type} ${e.state?.name}`)).toEqual([]);
  });
});
