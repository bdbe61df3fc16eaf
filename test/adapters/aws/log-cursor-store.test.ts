import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CursorStoreError, S3LogCursorStore } from '../../../lambdas/adapters/aws/log-cursor-store.ts';
import {
  CursorConflictError,
  CursorStateError,
  type LogWatchState,
} from '../../../lambdas/core/metrics/log-watch.ts';
import { LOG_CURSOR_KEY } from '../../../lib/workflow/lambda-wiring.ts';
import { motoAvailable, motoClientConfig, motoSkipReason, startMoto } from '../../support/moto.ts';

const T0 = Date.parse('2026-11-24T05:00:00Z');

function state(doneBeforeMs: number): LogWatchState {
  return {
    version: 1,
    cursors: {
      'shop/access': { doneBeforeMs },
      'shop/error': {
        doneBeforeMs,
        pending: {
          fromMs: doneBeforeMs,
          toMs: doneBeforeMs + 120_000,
          nextToken: 'Bxkq6kVGFtq2y_MoigeqscPOdhXVbhiVtLoAmXb5jCo',
          pages: 2,
          counts: {
            kind: 'error',
            events: 3,
            lines: 3,
            malformed: 0,
            outsideRange: 0,
            maxIngestionDelayMs: 4200,
            minutes: { [String(doneBeforeMs)]: { refused: { count: 3, peers: { '10.0.1.7:8080': 3 } } } },
          },
        },
      },
    },
  };
}

describe.skipIf(!motoAvailable)(
  `S3LogCursorStore over the S3 wire protocol (moto_server) ${motoSkipReason}`,
  () => {
    let moto: Awaited<ReturnType<typeof startMoto>>;
    let client: S3Client;
    const bucket = 'gatewatch-reports-test';
    let store: S3LogCursorStore;

    beforeAll(async () => {
      moto = await startMoto();
      client = new S3Client(motoClientConfig(moto.endpoint));
    });

    afterAll(async () => {
      client?.destroy();
      await moto?.stop();
    });

    beforeEach(async () => {
      await moto.reset();
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      store = new S3LogCursorStore(client, { bucket, key: LOG_CURSOR_KEY });
    });

    it('finds no cursor before the first run', async () => {
      expect(await store.load()).toEqual({});
    });

    it('writes the first cursor only if none exists, and reads back the same state and its version', async () => {
      const version = await store.save(state(T0), undefined);

      const loaded = await store.load();
      expect(loaded).toEqual({ state: state(T0), version });
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: LOG_CURSOR_KEY }));
      expect(object.ContentType).toBe('application/json');
    });

    it('replaces the cursor when nobody changed it since it was read, with a new version', async () => {
      const first = await store.save(state(T0), undefined);

      const second = await store.save(state(T0 + 60_000), first);

      expect(second).not.toBe(first);
      expect(await store.load()).toEqual({ state: state(T0 + 60_000), version: second });
    });

    it('refuses to overwrite a cursor another run wrote after it was read', async () => {
      const read = await store.save(state(T0), undefined);
      await store.save(state(T0 + 60_000), read); // the other run

      await expect(store.save(state(T0 + 120_000), read)).rejects.toBeInstanceOf(CursorConflictError);
      expect((await store.load()).state).toEqual(state(T0 + 60_000));
    });

    it('refuses a first write when another run created the cursor in the meantime', async () => {
      await store.save(state(T0), undefined);

      await expect(store.save(state(T0 + 60_000), undefined)).rejects.toBeInstanceOf(CursorConflictError);
    });

    it('lets exactly one of two concurrent runs commit', async () => {
      const version = await store.save(state(T0), undefined);

      const results = await Promise.allSettled([
        store.save(state(T0 + 60_000), version),
        store.save(state(T0 + 120_000), version),
      ]);

      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.reason).toBeInstanceOf(CursorConflictError);
    });

    it.each([
      ['not JSON', '{"version":1,'],
      ['JSON of another shape', '{"version":1,"cursors":{"shop/access":{"doneBeforeMs":"soon"}}}'],
    ])('refuses a stored cursor that is %s, naming the object to delete', async (_name, body) => {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: LOG_CURSOR_KEY, Body: body }));

      const error = await store.load().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CursorStateError);
      expect((error as Error).message).toContain(`s3://${bucket}/${LOG_CURSOR_KEY}`);
      expect((error as Error).message).toMatch(/delete it/);
    });

    it('reports a bucket it cannot reach as a store error with the cause', async () => {
      const missing = new S3LogCursorStore(client, { bucket: 'no-such-bucket', key: LOG_CURSOR_KEY });

      const error = await missing.load().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CursorStoreError);
      expect((error as Error).message).toMatch(
        /s3:\/\/no-such-bucket\/state\/log-watch-cursor\.json: NoSuchBucket/,
      );
      expect((error as Error).cause).toBeDefined();
    });
  },
);

describe('S3LogCursorStore answers of real S3 that moto does not give', () => {
  // Mocked only while this block runs: the wire tests above talk to moto with the real client.
  let s3: AwsClientStub<S3Client>;
  beforeAll(() => {
    s3 = mockClient(S3Client);
  });
  afterAll(() => s3.restore());
  beforeEach(() => s3.reset());

  it('treats 409 ConditionalRequestConflict (a concurrent conditional write) as a lost race', async () => {
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({
        name: 'ConditionalRequestConflict',
        $fault: 'client',
        $metadata: { httpStatusCode: 409 },
        message: 'A conflicting conditional operation is currently in progress against this resource.',
      }),
    );
    const store = new S3LogCursorStore(new S3Client({ region: 'us-east-1' }), { bucket: 'b', key: 'k' });

    await expect(store.save(state(T0), '"etag"')).rejects.toBeInstanceOf(CursorConflictError);
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ IfMatch: '"etag"' });
  });

  it('sends If-None-Match: * for the first write and If-Match with the read ETag afterwards', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"new"' });
    const store = new S3LogCursorStore(new S3Client({ region: 'us-east-1' }), { bucket: 'b', key: 'k' });

    await store.save(state(T0), undefined);
    await store.save(state(T0), '"old"');

    const inputs = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(inputs[0]).toMatchObject({ IfNoneMatch: '*' });
    expect(inputs[0]).not.toHaveProperty('IfMatch');
    expect(inputs[1]).toMatchObject({ IfMatch: '"old"' });
    expect(inputs[1]).not.toHaveProperty('IfNoneMatch');
  });

  it('reports AccessDenied on a write as a store error, not as a lost race', async () => {
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'Access Denied',
      }),
    );
    const store = new S3LogCursorStore(new S3Client({ region: 'us-east-1' }), { bucket: 'b', key: 'k' });

    await expect(store.save(state(T0), undefined)).rejects.toThrow(CursorStoreError);
  });

  const accessDenied = () =>
    new S3ServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: 'Access Denied',
    });

  it('reads a first-run 403 (S3 hides a missing key from a caller it will not list to) as no cursor yet', async () => {
    s3.on(GetObjectCommand).rejects(accessDenied());
    s3.on(PutObjectCommand).resolves({ ETag: '"first"' });
    const store = new S3LogCursorStore(new S3Client({ region: 'us-east-1' }), { bucket: 'b', key: 'k' });

    expect(await store.load()).toEqual({});
    expect(await store.save(state(T0), undefined)).toBe('"first"');
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ IfNoneMatch: '*' });
  });

  it('fails loudly when a read was denied and the conditional first write finds the cursor there', async () => {
    s3.on(GetObjectCommand).rejects(accessDenied());
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({
        name: 'PreconditionFailed',
        $fault: 'client',
        $metadata: { httpStatusCode: 412 },
        message: 'At least one of the pre-conditions you specified did not hold',
      }),
    );
    const store = new S3LogCursorStore(new S3Client({ region: 'us-east-1' }), { bucket: 'b', key: 'k' });

    expect(await store.load()).toEqual({});
    const failure = store.save(state(T0), undefined);
    await expect(failure).rejects.toBeInstanceOf(CursorStoreError);
    await expect(failure).rejects.toThrow(/s3:GetObject/);
  });
});
