// The AWS approval token flow over the wire against moto_server: the AwaitApproval gate keeps the task
// token in S3, `gatewatch approve --aws`'s responder answers it once (approve, reject), and refuses an
// expired one. moto accepts SendTaskSuccess/SendTaskFailure but does not resume executions (its
// implementation of both is a no-op), so what Step Functions receives is checked on the SDK's wire
// (the request moto answered) and the resumed workflow is covered by the local run of the definition.
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ApprovalRefusedError,
  S3ApprovalGate,
  StepFunctionsApprovalResponder,
} from '../../../lambdas/adapters/aws/s3-approvals.ts';
import { S3RemediationLedger } from '../../../lambdas/adapters/aws/s3-remediation-ledger.ts';
import { APPROVALS_PREFIX, REMEDIATION_STATE_PREFIX } from '../../../lib/workflow/lambda-wiring.ts';
import { type Moto, motoAvailable, motoClientConfig, motoSkipReason, startMoto } from '../../support/moto.ts';

const BUCKET = 'gatewatch-reports-approvals';
const INCIDENT = 'shop-20261206T120000Z-ab12';
let moto: Moto;
let s3: S3Client;
let sfn: SFNClient;
const sent: { name: string; input: Record<string, unknown> }[] = [];

beforeAll(async () => {
  if (!motoAvailable) return;
  moto = await startMoto();
  s3 = new S3Client(motoClientConfig(moto.endpoint));
  const { forcePathStyle: _ignored, ...sfnConfig } = motoClientConfig(moto.endpoint);
  sfn = new SFNClient(sfnConfig);
  sfn.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ name: context.commandName ?? '', input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'recordSent' },
  );
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});
beforeEach(async () => {
  if (!motoAvailable) return;
  await moto.reset();
  sent.length = 0;
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

async function requestApproval(expiresAt: string, token = 'token-123') {
  const gate = new S3ApprovalGate(s3, { bucket: BUCKET, prefix: APPROVALS_PREFIX });
  return gate.request({
    incidentId: INCIDENT,
    target: 'shop',
    action: 'restart-service',
    command: 'pm2 restart shop',
    expiresAt,
    taskToken: token,
  });
}

const responder = () =>
  new StepFunctionsApprovalResponder(s3, sfn, { bucket: BUCKET, prefix: APPROVALS_PREFIX });
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

describe.skipIf(!motoAvailable)(`approvals through S3 and Step Functions ${motoSkipReason}`, () => {
  it('keeps the task token and leaves the waiting to the state machine', async () => {
    expect(await requestApproval(inAnHour())).toEqual({ status: 'pending' });
    const object = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: `${APPROVALS_PREFIX}${INCIDENT}.json` }),
    );
    expect(JSON.parse(await object.Body!.transformToString())).toMatchObject({
      taskToken: 'token-123',
      action: 'restart-service',
    });
  });

  it('approves once with SendTaskSuccess carrying who and which action', async () => {
    await requestApproval(inAnHour());
    const { answer } = await responder().answer({
      incidentId: INCIDENT,
      by: 'alice',
      reject: false,
      action: 'restart-service',
    });
    expect(answer).toMatchObject({ status: 'approved', by: 'alice', action: 'restart-service' });
    const success = sent.find((s) => s.name === SendTaskSuccessCommand.name);
    expect(success?.input.taskToken).toBe('token-123');
    expect(JSON.parse(String(success?.input.output))).toMatchObject({ status: 'approved', by: 'alice' });
    await expect(responder().answer({ incidentId: INCIDENT, by: 'bob', reject: false })).rejects.toThrow(
      /already answered/,
    );
    expect(sent.filter((s) => s.name === SendTaskSuccessCommand.name)).toHaveLength(1);
  });

  it('rejects with SendTaskFailure', async () => {
    await requestApproval(inAnHour());
    await responder().answer({ incidentId: INCIDENT, by: 'alice', reject: true });
    expect(sent.find((s) => s.name === SendTaskFailureCommand.name)?.input).toMatchObject({
      taskToken: 'token-123',
      error: 'RemediationRejected',
    });
  });

  it('refuses an expired approval, a different action and an unknown incident, and sends nothing', async () => {
    await requestApproval(new Date(Date.now() - 1000).toISOString());
    await expect(responder().answer({ incidentId: INCIDENT, by: 'alice', reject: false })).rejects.toThrow(
      ApprovalRefusedError,
    );
    await requestApproval(inAnHour());
    await expect(
      responder().answer({ incidentId: INCIDENT, by: 'alice', reject: false, action: 'reload-nginx' }),
    ).rejects.toThrow(/proposes restart-service/);
    await expect(
      responder().answer({ incidentId: 'shop-20261206T120000Z-ffff', by: 'a', reject: false }),
    ).rejects.toThrow(/no approval is pending/);
    expect(sent.filter((s) => s.name.startsWith('SendTask'))).toHaveLength(0);
  });

  it('keeps the ledger and gives a host lock to one holder at a time (S3 conditional writes)', async () => {
    const ledger = new S3RemediationLedger(s3, {
      bucket: BUCKET,
      prefix: REMEDIATION_STATE_PREFIX,
      pollMs: 50,
    });
    const order: string[] = [];
    let firstIn!: () => void;
    const entered = new Promise<void>((resolve) => {
      firstIn = resolve;
    });
    const first = ledger.withLock('host-i-0abc', { ttlMs: 60_000, waitMs: 5000 }, async () => {
      order.push('first in');
      firstIn();
      await new Promise((r) => setTimeout(r, 300));
      order.push('first out');
    });
    await entered;
    const busy = await ledger.withLock('host-i-0abc', { ttlMs: 60_000, waitMs: 0 }, async () =>
      order.push('never'),
    );
    expect(busy.acquired).toBe(false);
    const second = ledger.withLock('host-i-0abc', { ttlMs: 60_000, waitMs: 30_000 }, async () =>
      order.push('second'),
    );
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second']);
    await ledger.update((entries) => ({
      entries: [
        ...entries,
        {
          incidentId: INCIDENT,
          target: 'shop',
          host: 'i-0abc',
          action: 'restart-service',
          at: new Date().toISOString(),
          outcome: 'verified' as const,
        },
      ],
      result: undefined,
    }));
    expect(await ledger.entries()).toHaveLength(1);
  });

  it('gives an expired host lock to exactly one contender, and a late holder never frees its successor (nothing deleted)', async () => {
    const ledger = () =>
      new S3RemediationLedger(s3, { bucket: BUCKET, prefix: REMEDIATION_STATE_PREFIX, pollMs: 20 });
    const lock = (ttlMs: number, work: () => Promise<unknown>) =>
      ledger().withLock('host-i-0abc', { ttlMs, waitMs: 0 }, work);
    const key = `${REMEDIATION_STATE_PREFIX}locks/host-i-0abc.json`;
    const lockBody = async () => {
      const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      return JSON.parse((await object.Body?.transformToString()) ?? '{}') as {
        expiresAt?: string;
        releasedAt?: string;
      };
    };
    const gate = () => {
      let open!: () => void;
      const closed = new Promise<void>((resolve) => {
        open = resolve;
      });
      return { open, closed };
    };
    // A holder that overruns its lock (ttl 100 ms) while it works.
    const lateIn = gate();
    const lateOut = gate();
    const late = lock(100, async () => {
      lateIn.open();
      await lateOut.closed;
    });
    await lateIn.closed;
    const { expiresAt } = await lockBody();
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiresAt!) - Date.now() + 50)));
    // Its lock has expired: five contenders at once, none willing to wait.
    const successorIn = gate();
    const successorOut = gate();
    let entered = 0;
    const contenders = Array.from({ length: 5 }, () =>
      lock(60_000, async () => {
        entered++;
        successorIn.open();
        await successorOut.closed;
      }),
    );
    await Promise.race([successorIn.closed, Promise.all(contenders)]);
    expect(entered).toBe(1);
    // The late holder finishes now; its release (a stale ETag) leaves the successor's lock in place.
    lateOut.open();
    expect((await late).acquired).toBe(true);
    expect((await lock(60_000, async () => 'never')).acquired).toBe(false);
    successorOut.open();
    expect((await Promise.all(contenders)).filter((c) => c.acquired)).toHaveLength(1);
    // Released, not deleted: the object stays, marked released, and the next holder takes it at once.
    expect((await lockBody()).releasedAt).toBeDefined();
    expect((await lock(60_000, async () => 'next')).acquired).toBe(true);
  });
});
