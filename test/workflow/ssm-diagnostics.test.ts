// The deployed workflow with the AWS diagnostics dispatcher: the real SsmDiagnosticsDispatcher against an
// SSM (aws-sdk-client-mock) that behaves as SSM documents, whose agent runs the real diagnostics script on
// this machine. The nginx evidence comes from a real nginx with a real fault.
import { readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { GetCommandInvocationCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SsmDiagnosticsDispatcher } from '../../lambdas/adapters/aws/ssm-diagnostics-dispatcher.ts';
import type { TargetConfig } from '../../lambdas/core/config.ts';
import { DIAGNOSTIC_CHECKS } from '../../lambdas/core/diagnostics/params.ts';
import type { Report } from '../../lambdas/core/types.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import type { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { runDiagnosisWorkflow, type WorkflowOutcome } from '../../lambdas/local/workflow-runner.ts';
import { DIAGNOSTICS_MAX_POLLS } from '../../lib/workflow/definition.ts';
import {
  Cleanup,
  deployedDefinition,
  FakeSsm,
  type InstanceBehaviour,
  labDeps,
  RecordingNotifier,
  requests,
  startLab,
  workflowInput,
} from './support.ts';

const NGINX_INSTANCE = 'i-0123456789abcdef0';
const UPSTREAM_INSTANCE = 'i-0abc12345678';

const cleanup = new Cleanup();
let ssm: AwsClientStub<SSMClient>;
let s3: AwsClientStub<S3Client>;
let ssmClient: SSMClient;
let s3Client: S3Client;

beforeEach(() => {
  ssmClient = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  s3Client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  ssm = mockClient(ssmClient);
  // Outputs here stay under 24,000 characters, so the full output in S3 is never read (asserted below).
  s3 = mockClient(s3Client);
});
afterEach(async () => {
  ssm.restore();
  s3.restore();
  await cleanup.run();
});

/** A real nginx whose upstream port has no listener, a few 502s in its logs. */
async function failingNginx(): Promise<{ lab: NginxLab; port: number }> {
  const port = await freePort();
  const lab = await startLab(cleanup, `location / { proxy_pass http://127.0.0.1:${port}; }`);
  expect(await requests(lab, 3)).toEqual([502, 502, 502]);
  return { lab, port };
}

/** The deployed workflow, nginx on an EC2 instance, diagnostics through SSM Run Command. */
async function diagnoseThroughSsm(
  lab: NginxLab,
  instances: Record<string, InstanceBehaviour>,
  target: Partial<TargetConfig> = {},
): Promise<{ outcome: WorkflowOutcome; report: Report; fake: FakeSsm; notifier: RecordingNotifier }> {
  const fake = new FakeSsm(ssm, { instances });
  const config = lab.gatewatchConfig(target);
  const notifier = new RecordingNotifier();
  const dispatcher = new SsmDiagnosticsDispatcher(ssmClient, s3Client, {
    documentName: 'Gatewatch-Diagnostics-AbC123',
    outputBucket: 'gatewatch-reports-test',
  });
  const deps = labDeps(config, { dispatcher, notifier, nginxHost: () => NGINX_INSTANCE });
  const outcome = await runDiagnosisWorkflow(workflowInput(), deps, { definition: deployedDefinition() });
  expect(outcome.report, 'the workflow wrote a report').toBeDefined();
  const report = JSON.parse(await readFile(outcome.report!.location, 'utf8')) as Report;
  return { outcome, report, fake, notifier };
}

describe('the deployed workflow with SSM Run Command diagnostics', () => {
  it('treats InvocationDoesNotExist right after SendCommand as pending and reports the host facts', async () => {
    const { lab, port } = await failingNginx();

    const { outcome, report, fake } = await diagnoseThroughSsm(lab, {
      [NGINX_INSTANCE]: { kind: 'runs-script', missingPolls: 1 },
    });

    expect(fake.missingAnswers.get(NGINX_INSTANCE)).toBe(1);
    expect(fake.polls.get(NGINX_INSTANCE)).toBe(2);
    expect(ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(2);
    // The dispatcher asked whether the command had ended before the invocation existed: it had not.
    expect(ssm.commandCalls(ListCommandsCommand)).toHaveLength(1);
    // The script the agent ran got the lab's nginx from the validated parameters the dispatcher sent.
    expect(fake.commands[0]!.parameters.GW_NGINX_CONF).toEqual([lab.confPath]);
    expect(fake.commands[0]!.parameters.interpolationCheck).toEqual(['ENV_VAR']);
    expect(outcome.hosts).toEqual([
      {
        host: NGINX_INSTANCE,
        status: 'done',
        key: `${report.incidentId}/evidence/host-${NGINX_INSTANCE}.json`,
      },
    ]);
    expect(report.checks.map((c) => c.name).sort()).toEqual([...DIAGNOSTIC_CHECKS].sort());
    expect(report.checks.find((c) => c.name === 'nginx-test')?.status).toBe('ok');
    expect(report.checks.find((c) => c.name === 'listen')?.status).toBe('ok');
    expect(report.verdict).toMatchObject({ rootCause: 'upstream-down', upstream: `127.0.0.1:${port}` });
    expect(report.findings.some((f) => f.title.includes(NGINX_INSTANCE))).toBe(false);
    expect(s3.calls()).toHaveLength(0);
  });

  it('stops polling a command that never finishes after DIAGNOSTICS_MAX_POLLS and still writes the report', async () => {
    const { lab, port } = await failingNginx();

    const { outcome, report, fake, notifier } = await diagnoseThroughSsm(lab, {
      [NGINX_INSTANCE]: { kind: 'never-finishes' },
    });

    expect(fake.polls.get(NGINX_INSTANCE)).toBe(DIAGNOSTICS_MAX_POLLS);
    expect(outcome.hosts).toEqual([
      { host: NGINX_INSTANCE, status: 'timed-out', attempts: DIAGNOSTICS_MAX_POLLS },
    ]);
    const finding = report.findings.find((f) => f.title === `Host ${NGINX_INSTANCE}: diagnostics timed out`);
    expect(finding?.evidence[0]?.excerpt).toBe(`no result after ${DIAGNOSTICS_MAX_POLLS} polls`);
    // The verdict still rests on what nginx logged.
    expect(report.verdict).toMatchObject({ rootCause: 'upstream-down', upstream: `127.0.0.1:${port}` });
    expect(outcome.report?.degraded).toBe(false);
    expect(
      (await readdir(dirname(outcome.report!.location))).filter((f) => f.startsWith('report.')),
    ).toHaveLength(3);
    expect(notifier.sent).toHaveLength(1);
  });

  it('completes the report for the nginx host when the upstream host refuses the command', async () => {
    const { lab, port } = await failingNginx();

    const { outcome, report, notifier } = await diagnoseThroughSsm(
      lab,
      {
        [NGINX_INSTANCE]: { kind: 'runs-script' },
        [UPSTREAM_INSTANCE]: { kind: 'unreachable' },
      },
      { upstreams: [{ address: `127.0.0.1:${port}`, host: UPSTREAM_INSTANCE }] },
    );

    const hosts = outcome.hosts as { host: string; status: string; error?: string; cause?: string }[];
    expect(hosts.map((h) => [h.host, h.status])).toEqual([
      [NGINX_INSTANCE, 'done'],
      [UPSTREAM_INSTANCE, 'failed'],
    ]);
    expect(hosts[1]).toMatchObject({ error: 'DiagnosticsDispatchError' });
    expect(hosts[1]!.cause).toContain('InvalidInstanceId');
    // Every check of the host that answered is in the report, named by its host.
    expect(report.checks.map((c) => c.name).sort()).toEqual(
      DIAGNOSTIC_CHECKS.map((c) => `${NGINX_INSTANCE}: ${c}`).sort(),
    );
    const finding = report.findings.find((f) => f.title === `Host ${UPSTREAM_INSTANCE}: diagnostics failed`);
    expect(finding?.evidence[0]?.excerpt).toContain(`could not send the diagnostics to ${UPSTREAM_INSTANCE}`);
    expect(report.verdict.rootCause).toBe('upstream-down');
    expect(report.verdict.upstream).toBe(`127.0.0.1:${port}`);
    expect(outcome.report?.degraded).toBe(false);
    expect(notifier.sent).toHaveLength(1);
  });
});
