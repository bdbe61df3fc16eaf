import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidReportKeyError,
  ReportStoreError,
  S3ReportStore,
  withCharset,
} from '../../../lambdas/adapters/aws/s3-report-store.ts';
import { motoAvailable, motoClientConfig, startMoto } from '../../support/moto.ts';

describe('withCharset', () => {
  it.each([
    ['application/json', 'application/json; charset=utf-8'],
    ['text/markdown', 'text/markdown; charset=utf-8'],
    ['text/html; charset=utf-8', 'text/html; charset=utf-8'],
    ['application/octet-stream', 'application/octet-stream'],
  ])('stores %s as %s', (given, stored) => {
    expect(withCharset(given)).toBe(stored);
  });
});

describe.skipIf(!motoAvailable)('S3ReportStore over the S3 wire protocol (moto_server)', () => {
  let moto: Awaited<ReturnType<typeof startMoto>>;
  let client: S3Client;
  let store: S3ReportStore;
  const bucket = 'gatewatch-reports-test';

  beforeAll(async () => {
    moto = await startMoto();
    client = new S3Client(motoClientConfig(moto.endpoint));
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    store = new S3ReportStore(client, { bucket });
  });

  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  it.each([
    ['report.json', '{"schemaVersion":1}', 'application/json', 'application/json; charset=utf-8'],
    ['report.md', '# upstream-down\n', 'text/markdown; charset=utf-8', 'text/markdown; charset=utf-8'],
    [
      'report.html',
      '<!doctype html><title>x</title>',
      'text/html; charset=utf-8',
      'text/html; charset=utf-8',
    ],
  ])(
    'writes incidents/<id>/%s with the content type a browser needs',
    async (name, body, given, expected) => {
      const location = await store.put(`shop-20261124T051148Z-3f2a/${name}`, body, given);

      const key = `incidents/shop-20261124T051148Z-3f2a/${name}`;
      expect(location).toBe(`s3://${bucket}/${key}`);
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(head.ContentType).toBe(expected);
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(await object.Body?.transformToString()).toBe(body);
    },
  );

  it('reads back what it wrote, including multi-byte characters', async () => {
    const text = 'upstream "127.0.0.1:3000" — ünïcode ✓ 🚦\n';
    await store.put('shop-1/evidence/nginx.json', text, 'application/json');
    expect(await store.get('shop-1/evidence/nginx.json')).toBe(text);
  });

  it('streams a multi-megabyte body to the end without splitting a character', async () => {
    // 3-byte and 4-byte UTF-8 characters guarantee some network chunks end mid-character.
    const line =
      '2026/11/24 06:01:24 [error] 11155#11155: *6 connect() failed (111: Connection refused) — ✓🚦\n';
    const big = line.repeat(Math.ceil((6 * 1024 * 1024) / line.length));
    await store.put('shop-2/evidence/host-i-0abc1234.json', big, 'application/json');

    const read = await store.get('shop-2/evidence/host-i-0abc1234.json');

    expect(read?.length).toBe(big.length);
    expect(read === big).toBe(true);
  });

  it('answers undefined for a key that was never written', async () => {
    expect(await store.get('shop-3/report.json')).toBeUndefined();
  });

  it('refuses keys that would leave the incident prefix', async () => {
    await expect(store.put('../secrets.json', '{}', 'application/json')).rejects.toBeInstanceOf(
      InvalidReportKeyError,
    );
    expect(() => store.locate('/etc/passwd')).toThrow(InvalidReportKeyError);
  });

  it('names the object and keeps the S3 error as cause when the bucket does not exist', async () => {
    const missing = new S3ReportStore(client, { bucket: 'no-such-gatewatch-bucket' });

    const error = await missing.put('shop-4/report.json', '{}', 'application/json').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ReportStoreError);
    expect((error as Error).message).toContain('s3://no-such-gatewatch-bucket/incidents/shop-4/report.json');
    expect(((error as Error).cause as Error).name).toBe('NoSuchBucket');
  });
});
