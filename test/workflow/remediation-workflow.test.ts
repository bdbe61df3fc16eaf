// The Remediate stage in the deployed definition (the synthesized state machine), run locally with the
// AWS actions runner: the real SsmRemediationRunner against an SSM (aws-sdk-client-mock) whose agent runs
// the synthesized actions document's commands (prelude and embedded script) with SSM_* variables. systemd
// is not available here: a stand-in `systemctl` on the agent's PATH records its argv and starts a real
// upstream, so verify-after sees a real recovery through a real nginx.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetCommandInvocationCommand,
  SendCommandCommand,
  type SendCommandCommandInput,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SsmRemediationRunner } from '../../lambdas/adapters/aws/ssm-remediation-runner.ts';
import { FileRemediationLedger } from '../../lambdas/adapters/local/file-remediation-ledger.ts';
import { FolderApprovalGate } from '../../lambdas/adapters/local/folder-approval-gate.ts';
import { HttpTargetProber } from '../../lambdas/adapters/local/http-target-prober.ts';
import { ProbeConfigSchema } from '../../lambdas/core/probe/schema.ts';
import type { Report } from '../../lambdas/core/types.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { runDiagnosisWorkflow } from '../../lambdas/local/workflow-runner.ts';
import type { RemediationPorts } from '../../lambdas/steps/deps.ts';
import { synthesizeStack } from '../infra/synth.ts';
import {
  Cleanup,
  deployedDefinition,
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
let ssmClient: SSMClient;
let work: string;
const started: ChildProcess[] = [];

beforeEach(async () => {
  ssmClient = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  ssm = mockClient(ssmClient);
  work = await mkdtemp(join(tmpdir(), 'gw-remediation-workflow-'));
});
afterEach(async () => {
  ssm.restore();
  for (const child of started) child.kill('SIGKILL');
  await cleanup.run();
  await rm(work, { recursive: true, force: true });
});

/** The actions document as deployed: its runCommand, from the synthesized template. */
let remediationRunCommand: string[] = [];

/** SSM with an agent that runs the actions document on this machine; records what was sent. */
function fakeAgent(port: number): SendCommandCommandInput[] {
  const sent: SendCommandCommandInput[] = [];
  const results = new Map<string, Promise<{ code: number; stdout: string; stderr: string }>>();
  ssm.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => {
    sent.push(input);
    const id = `cmd-${sent.length}`;
    const env: Record<string, string> = { PATH: `${work}/bin:/usr/bin:/bin`, GW_TEST_PORT: String(port) };
    for (const [name, [value]] of Object.entries(input.Parameters ?? {}) as [string, string[]][])
      env[`SSM_${name}`] = value ?? '';
    results.set(
      id,
      new Promise((resolve) => {
        const child = spawn('sh', ['-c', remediationRunCommand.join('\n')], { env });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => {
          stdout += c.toString();
        });
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString();
        });
        child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      }),
    );
    return { Command: { CommandId: id, Status: 'Pending' } };
  });
  ssm.on(GetCommandInvocationCommand).callsFake(async (input: { CommandId: string }) => {
    const result = await results.get(input.CommandId)!;
    return {
      Status: result.code === 0 ? 'Success' : 'Failed',
      ResponseCode: result.code,
      StandardOutputContent: result.stdout,
      StandardErrorContent: result.stderr,
    };
  });
  return sent;
}

async function setUp(remediation: Record<string, unknown>) {
  const port = await freePort();
  const lab = await startLab(cleanup, `location / { proxy_pass http://127.0.0.1:${port}; }`);
  expect(await requests(lab, 3)).toEqual([502, 502, 502]);
  // A stand-in systemctl: records its argv, starts the real upstream in the background.
  await rm(join(work, 'bin'), { recursive: true, force: true });
  await mkdir(join(work, 'bin'));
  const upstreamScript = join(work, 'upstream.cjs');
  await writeFile(
    upstreamScript,
    "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.GW_TEST_PORT), '127.0.0.1');\n",
  );
  await writeFile(
    join(work, 'bin', 'systemctl'),
    `#!/bin/sh\nprintf '%s\\n' "$@" > "${work}/systemctl.argv"\n"${process.execPath}" "${upstreamScript}" >/dev/null 2>&1 &\necho $! > "${work}/upstream.pid"\nsleep 1\n`,
  );
  await chmod(join(work, 'bin', 'systemctl'), 0o755);
  const config = lab.gatewatchConfig({
    probe: ProbeConfigSchema.parse({ url: `http://127.0.0.1:${lab.port}/`, timeoutMs: 3000 }),
    upstreams: [
      { address: `127.0.0.1:${port}`, host: UPSTREAM_INSTANCE, service: { systemd: 'shop-api.service' } },
    ],
    remediation: {
      mode: 'auto',
      actions: ['restart-service'],
      maxPerHour: 3,
      verifySeconds: 20,
      approvalSeconds: 900,
      ...remediation,
    } as never,
  });
  const notifier = new RecordingNotifier();
  const ports: RemediationPorts = {
    world: 'aws',
    runner: new SsmRemediationRunner(ssmClient, { documentName: 'Gatewatch-Remediation-AbC', pollMs: 50 }),
    ledger: new FileRemediationLedger(join(work, 'ledger')),
    approvals: new FolderApprovalGate(join(work, 'approvals'), { pollMs: 50 }),
    prober: new HttpTargetProber('local'),
    verifyIntervalMs: 300,
  };
  const deps = labDeps(config, { notifier, nginxHost: () => NGINX_INSTANCE, remediation: ports });
  return { lab, port, deps, notifier };
}

describe('the Remediate stage of the deployed workflow, through SSM and the actions document', () => {
  beforeAll(() => {
    const { template, stack } = synthesizedStack();
    remediationRunCommand = (
      template.Resources[stack.getLogicalId(stack.remediation.document)]!.Properties.Content as {
        mainSteps: { inputs: { runCommand: string[] } }[];
      }
    ).mainSteps[0]!.inputs.runCommand;
  }, 300_000);

  it('restarts the upstream on its instance with validated parameters and verifies recovery', async () => {
    const { port, deps, notifier } = await setUp({});
    const sent = fakeAgent(port);
    const outcome = await runDiagnosisWorkflow(workflowInput(), deps, { definition: deployedDefinition() });
    const report = JSON.parse(await readFile(outcome.report!.location, 'utf8')) as Report;
    cleanup.add(async () => {
      const pid = Number(await readFile(join(work, 'upstream.pid'), 'utf8').catch(() => '0'));
      if (pid > 0) process.kill(pid, 'SIGKILL');
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      DocumentName: 'Gatewatch-Remediation-AbC',
      InstanceIds: [UPSTREAM_INSTANCE],
    });
    expect(sent[0]!.Parameters).toMatchObject({
      GW_ACTION: ['restart-service'],
      GW_SERVICE_KIND: ['systemd'],
      GW_SERVICE_NAME: ['shop-api.service'],
      interpolationCheck: ['ENV_VAR'],
    });
    expect((await readFile(join(work, 'systemctl.argv'), 'utf8')).split('\n')).toEqual([
      'restart',
      '--',
      'shop-api.service',
      '',
    ]);
    expect(report.remediation).toMatchObject({
      status: 'verified',
      verified: true,
      proposed: { host: UPSTREAM_INSTANCE, command: 'systemctl restart -- shop-api.service' },
      ran: { outcome: 'ok', commands: ['systemctl restart -- shop-api.service'] },
    });
    expect(outcome.remediation).toMatchObject({ status: 'verified', escalated: false });
    expect(notifier.sent.at(-1)?.text).toContain('Remediation: verified');
  }, 180_000);

  it('waits for the approval (waitForTaskToken state), and an expired one runs nothing', async () => {
    const { port, deps } = await setUp({ mode: 'approve', approvalSeconds: 2 });
    const sent = fakeAgent(port);
    const outcome = await runDiagnosisWorkflow(workflowInput(), deps, { definition: deployedDefinition() });
    const report = JSON.parse(await readFile(outcome.report!.location, 'utf8')) as Report;
    expect(sent).toHaveLength(0);
    expect(report.remediation).toMatchObject({ status: 'not-approved', approval: { status: 'expired' } });
    expect(existsSync(join(work, 'systemctl.argv'))).toBe(false);
  }, 180_000);
});

let synthesized: ReturnType<typeof synthesizeStack> | undefined;
function synthesizedStack(): {
  template: { Resources: Record<string, { Properties: { Content: unknown } }> };
  stack: ReturnType<typeof synthesizeStack>['stack'];
} {
  synthesized ??= synthesizeStack();
  return { template: synthesized.template.toJSON() as never, stack: synthesized.stack };
}
