// `gatewatch approve ID --aws --bucket B --region R --endpoint URL` through the shipped CLI against
// moto_server: the approval is stored the way the AwaitApproval step stores it (S3ApprovalGate, the task
// token in the report bucket), and the CLI, a child process, answers it over the wire. moto accepts
// SendTaskSuccess/SendTaskFailure without resuming anything, so a recording loopback proxy in front of
// moto shows what the CLI sent to Step Functions.

import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { S3ApprovalGate } from '../../lambdas/adapters/aws/s3-approvals.ts';
import { APPROVALS_PREFIX } from '../../lib/workflow/lambda-wiring.ts';
import { runGatewatch } from '../support/cli.ts';
import { type Moto, motoAvailable, motoClientConfig, motoSkipReason, startMoto } from '../support/moto.ts';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

const BUCKET = 'gatewatch-cli-approvals';
const REGION = 'eu-west-1';
const INCIDENT = 'shop-20261206T120000Z-ab12';
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_SESSION_TOKEN: '' };

let moto: Moto;
let s3: S3Client;
let proxy: Server;
let proxyUrl: string;
/** Step Functions calls that reached moto through the proxy: X-Amz-Target and the JSON body. */
const sfnCalls: { target: string; body: Record<string, unknown> }[] = [];

beforeAll(async () => {
  if (!motoAvailable) return;
  moto = await startMoto();
  s3 = new S3Client({ ...motoClientConfig(moto.endpoint), region: REGION });
  const upstream = new URL(moto.endpoint);
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string' && target.startsWith('AWSStepFunctions.')) {
        sfnCalls.push({ target, body: JSON.parse(body.toString('utf8')) as Record<string, unknown> });
      }
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  if (proxy) await new Promise((resolve) => proxy.close(resolve));
  await moto?.stop();
});
beforeEach(async () => {
  if (!motoAvailable) return;
  await moto.reset();
  sfnCalls.length = 0;
  await s3.send(
    new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }),
  );
});

/** What the AwaitApproval step stores: the pending approval with its task token, in the report bucket. */
async function awaitApproval(token: string, expiresAt = new Date(Date.now() + 3_600_000).toISOString()) {
  const gate = new S3ApprovalGate(s3, { bucket: BUCKET, prefix: APPROVALS_PREFIX });
  expect(
    await gate.request({
      incidentId: INCIDENT,
      target: 'shop',
      action: 'restart-service',
      command: 'systemctl restart shop',
      expiresAt,
      taskToken: token,
    }),
  ).toEqual({ status: 'pending' });
}

const approve = (extra: string[]) =>
  runGatewatch(
    ['approve', INCIDENT, '--aws', '--bucket', BUCKET, '--region', REGION, '--endpoint', proxyUrl, ...extra],
    { env: CREDENTIALS },
  );

async function answeredRecord(): Promise<Record<string, unknown>> {
  const object = await s3.send(
    new GetObjectCommand({ Bucket: BUCKET, Key: `${APPROVALS_PREFIX}${INCIDENT}.answered.json` }),
  );
  return JSON.parse(await object.Body!.transformToString()) as Record<string, unknown>;
}

describe.skipIf(!motoAvailable)(`gatewatch approve --aws (shipped CLI, moto) ${motoSkipReason}`, () => {
  it('answers the task token once with SendTaskSuccess, records who, and refuses a second answer', async () => {
    await awaitApproval('token-approve-1');
    const run = await approve(['--by', 'alice', '--action', 'restart-service']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('approved: systemctl restart shop (restart-service)');
    expect(sfnCalls.map((c) => c.target)).toEqual(['AWSStepFunctions.SendTaskSuccess']);
    expect(sfnCalls[0]!.body.taskToken).toBe('token-approve-1');
    expect(JSON.parse(String(sfnCalls[0]!.body.output))).toMatchObject({ status: 'approved', by: 'alice' });
    expect(await answeredRecord()).toMatchObject({ by: 'alice', reject: false });

    const again = await approve(['--by', 'bob']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already answered');
    expect(sfnCalls).toHaveLength(1);
    expect(await answeredRecord()).toMatchObject({ by: 'alice' });
  });

  it('rejects with SendTaskFailure on --reject', async () => {
    await awaitApproval('token-reject-1');
    const run = await approve(['--reject', '--by', 'bob']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('rejected: restart-service');
    expect(sfnCalls.map((c) => c.target)).toEqual(['AWSStepFunctions.SendTaskFailure']);
    expect(sfnCalls[0]!.body).toMatchObject({ taskToken: 'token-reject-1', error: 'RemediationRejected' });
    expect(await answeredRecord()).toMatchObject({ by: 'bob', reject: true });
  });

  it('refuses an expired approval, another action and an unknown incident, and sends nothing', async () => {
    await awaitApproval('token-expired', new Date(Date.now() - 1000).toISOString());
    const expired = await approve(['--by', 'alice']);
    expect(expired.code).toBe(2);
    expect(expired.stderr).toContain('expired');
    await awaitApproval('token-2');
    const other = await approve(['--action', 'reload-nginx']);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('proposes restart-service');
    const unknown = await runGatewatch(
      [
        'approve',
        'shop-20261206T120000Z-ffff',
        '--aws',
        '--bucket',
        BUCKET,
        '--region',
        REGION,
        '--endpoint',
        proxyUrl,
      ],
      { env: CREDENTIALS },
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no approval is pending');
    expect(sfnCalls).toHaveLength(0);
  });
});
