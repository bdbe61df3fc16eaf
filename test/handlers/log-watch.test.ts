import {
  CloudWatchLogsClient,
  type FilteredLogEvent,
  FilterLogEventsCommand,
  type FilterLogEventsCommandInput,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EmfDocument } from '../../lambdas/core/metrics/emf.ts';
import {
  type LogWatchOutcome,
  LogWatchReadError,
  LogWatchStateSchema,
} from '../../lambdas/core/metrics/log-watch.ts';
import { LAMBDA_ENV, LOG_CURSOR_KEY } from '../../lib/workflow/lambda-wiring.ts';
import { lambdaContext, REPORT_BUCKET, setStackEnvironment } from './support.ts';

const ACCESS_GROUP = '/gatewatch/shop/nginx-access';
const ERROR_GROUP = '/gatewatch/shop/nginx-error';
const MINUTE = 60_000;
const T0 = Date.parse('2026-11-24T05:00:00Z');
/** Events per FilterLogEvents page in the fake (the real service pages at 10,000 events or 1 MB). */
const PAGE = 2;

function accessLine(at: number, status: number): string {
  const time = new Date(at)
    .toISOString()
    .replace('.000Z', '+00:00')
    .replace(/\.\d{3}Z$/, '+00:00');
  return `gw1\t${time}\t${status}\t0.003\t10.0.1.7:8080\t${status}\t0.001\t0.002\t0.003\tid${at}\t10.0.0.9\t"GET /cart HTTP/1.1"\t120\t"-"\t"curl/8.5.0"\tshop.example.com`;
}

function refusedLine(at: number): string {
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${stamp} [error] 2211#2211: *91 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.9, server: shop.example.com, request: "GET /cart HTTP/1.1", upstream: "http://10.0.1.7:8080/cart", host: "shop.example.com"`;
}

/** The log groups as the fake CloudWatch Logs serves them. */
const groups = new Map<string, FilteredLogEvent[]>();

function ship(group: string, timestampMs: number, message: string): void {
  const events = groups.get(group) ?? [];
  events.push({
    timestamp: timestampMs,
    message,
    ingestionTime: timestampMs + 3_000,
    logStreamName: 'i-0123456789abcdef0',
  });
  events.sort((a, b) => a.timestamp! - b.timestamp!);
  groups.set(group, events);
}

/** FilterLogEvents: startTime and endTime inclusive, pages of PAGE events, an opaque token. */
function filterLogEvents(input: FilterLogEventsCommandInput) {
  if (!groups.has(input.logGroupName!)) {
    throw new ResourceNotFoundException({
      message: 'The specified log group does not exist.',
      $metadata: {},
    });
  }
  const matching = groups
    .get(input.logGroupName!)!
    .filter((e) => e.timestamp! >= input.startTime! && e.timestamp! <= input.endTime!);
  const offset = input.nextToken ? Number(input.nextToken.replace('page-', '')) : 0;
  const end = offset + PAGE;
  return {
    events: matching.slice(offset, end),
    ...(end < matching.length ? { nextToken: `page-${end}` } : {}),
    $metadata: {},
  };
}

/** The report bucket's cursor object, with S3's conditional-write answers. */
const objects = new Map<string, { body: string; etag: string }>();
let etags = 0;
/** When set, another invocation writes the cursor just before the next write of this one. */
let anotherRunWritesFirst = false;

function putObject(input: PutObjectCommandInput) {
  const key = `${input.Bucket}/${input.Key}`;
  if (anotherRunWritesFirst && objects.has(key)) {
    anotherRunWritesFirst = false;
    objects.set(key, { body: objects.get(key)!.body, etag: `"etag-${++etags}"` });
  }
  const existing = objects.get(key);
  if (
    (input.IfNoneMatch === '*' && existing) ||
    (input.IfMatch !== undefined && existing?.etag !== input.IfMatch)
  ) {
    throw new S3ServiceException({
      name: 'PreconditionFailed',
      $fault: 'client',
      $metadata: { httpStatusCode: 412 },
      message: 'At least one of the pre-conditions you specified did not hold',
    });
  }
  const etag = `"etag-${++etags}"`;
  objects.set(key, { body: String(input.Body), etag });
  return { ETag: etag };
}

function getObject(input: { Bucket?: string; Key?: string }) {
  const object = objects.get(`${input.Bucket}/${input.Key}`);
  if (!object) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
  return { Body: { transformToString: async () => object.body }, ETag: object.etag };
}

function cursor() {
  const object = objects.get(`${REPORT_BUCKET}/${LOG_CURSOR_KEY}`);
  return object ? LogWatchStateSchema.parse(JSON.parse(object.body)) : undefined;
}

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<LogWatchOutcome>;

/** One scheduled invocation at `atMs`: its outcome (or error) and the EMF documents it wrote. */
async function invokeAt(handler: Handler, atMs: number) {
  vi.setSystemTime(atMs);
  let stdout = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    const result = await handler(
      { 'detail-type': 'Scheduled Event', source: 'aws.events' },
      lambdaContext(),
    ).then(
      (outcome) => ({ outcome, error: undefined }),
      (error: unknown) => ({ outcome: undefined, error }),
    );
    const documents = stdout
      .split('\n')
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line) as EmfDocument);
    return { ...result, documents };
  } finally {
    write.mockRestore();
  }
}

/** The value of `metric` in each document for exactly `dimensions`, by minute. */
function values(
  documents: EmfDocument[],
  metric: string,
  dimensions: Record<string, string>,
): Map<number, number> {
  const names = JSON.stringify([Object.keys(dimensions).sort()]);
  const found = new Map<number, number>();
  for (const d of documents) {
    const directive = d._aws.CloudWatchMetrics[0]!;
    if (JSON.stringify(directive.Dimensions) !== names) continue;
    if (!Object.entries(dimensions).every(([k, v]) => d[k] === v)) continue;
    if (!directive.Metrics.some((m) => m.Name === metric)) continue;
    expect(
      found.has(d._aws.Timestamp),
      `${metric} published twice for ${new Date(d._aws.Timestamp).toISOString()}`,
    ).toBe(false);
    found.set(d._aws.Timestamp, d[metric] as number);
  }
  return found;
}

const SHOP = { Target: 'shop' };

describe('log-watch Lambda', () => {
  let logs: AwsClientStub<CloudWatchLogsClient>;
  let s3: AwsClientStub<S3Client>;
  let handler: Handler;

  beforeAll(async () => {
    setStackEnvironment();
    process.env[LAMBDA_ENV.logCursorBucket] = REPORT_BUCKET;
    process.env[LAMBDA_ENV.logCursorKey] = LOG_CURSOR_KEY;
    logs = mockClient(CloudWatchLogsClient);
    s3 = mockClient(S3Client);
    ({ handler } = (await import('../../lambdas/handlers/log-watch.ts')) as unknown as { handler: Handler });
  });
  afterAll(() => {
    logs.restore();
    s3.restore();
  });

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    groups.clear();
    objects.clear();
    logs.reset();
    s3.reset();
    logs.on(FilterLogEventsCommand).callsFake(filterLogEvents);
    s3.on(PutObjectCommand).callsFake(putObject);
    s3.on(GetObjectCommand).callsFake(getObject);
    groups.set(ACCESS_GROUP, []);
    groups.set(ERROR_GROUP, []);
    anotherRunWritesFirst = false;
  });
  afterEach(() => vi.useRealTimers());

  it('reads the settled minute through pages, publishes it as EMF and persists the cursor', async () => {
    for (const [second, status] of [
      [3, 200],
      [9, 502],
      [15, 504],
      [40, 200],
      [41, 200],
    ] as const) {
      ship(ACCESS_GROUP, T0 + second * 1000, accessLine(T0 + second * 1000, status));
    }
    ship(ERROR_GROUP, T0 + 9_000, refusedLine(T0 + 9_000));

    const { outcome, documents } = await invokeAt(handler, T0 + 2 * MINUTE + 10_000);

    expect(outcome?.status).toBe('committed');
    expect(outcome?.logs.find((l) => l.key === 'shop/access')?.pages).toBe(3);
    expect(values(documents, 'Requests', SHOP)).toEqual(new Map([[T0, 5]]));
    expect(values(documents, 'Status5xx', SHOP)).toEqual(new Map([[T0, 2]]));
    expect(values(documents, 'Status502', SHOP)).toEqual(new Map([[T0, 1]]));
    expect(values(documents, 'Status504', SHOP)).toEqual(new Map([[T0, 1]]));
    expect(values(documents, 'Status5xxPercent', SHOP)).toEqual(new Map([[T0, 40]]));
    expect(values(documents, 'Requests', { Target: 'shop', Upstream: '10.0.1.7:8080' })).toEqual(
      new Map([[T0, 5]]),
    );
    expect(values(documents, 'UpstreamErrors', { Target: 'shop', Kind: 'refused' })).toEqual(
      new Map([[T0, 1]]),
    );
    const percent = documents.find((d) => d.Status5xxPercent !== undefined)!;
    expect(percent._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'Gatewatch',
      Dimensions: [['Target']],
    });
    expect(cursor()?.cursors).toEqual({
      'shop/access': { doneBeforeMs: T0 + MINUTE },
      'shop/error': { doneBeforeMs: T0 + MINUTE },
    });
    const reads = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(reads.every((r) => r.startTime === T0 && r.endTime === T0 + MINUTE - 1)).toBe(true);
  });

  it('neither re-counts nor skips on the next invocations, and bounds the work of each', async () => {
    const shipped = new Map<number, number>();
    const traffic = (minute: number, count: number) => {
      for (let i = 0; i < count; i++) {
        const at = T0 + minute * MINUTE + 500 + i * 250;
        ship(ACCESS_GROUP, at, accessLine(at, i % 4 === 0 ? 502 : 200));
      }
      shipped.set(T0 + minute * MINUTE, count);
    };
    traffic(0, 3);
    traffic(1, 4);
    // 05:02 is busy: 120 events are 60 pages, more than one invocation may read (50 over both logs).
    traffic(2, 120);
    const published = new Map<number, number>();
    const collect = (documents: EmfDocument[]) => {
      for (const [minute, n] of values(documents, 'Requests', SHOP)) {
        expect(published.has(minute), `minute ${new Date(minute).toISOString()} published twice`).toBe(false);
        published.set(minute, n);
      }
    };

    const first = await invokeAt(handler, T0 + 2 * MINUTE + 5_000);
    collect(first.documents);
    const second = await invokeAt(handler, T0 + 3 * MINUTE + 5_000);
    collect(second.documents);
    expect(values(second.documents, 'Requests', SHOP)).toEqual(new Map([[T0 + MINUTE, 4]]));

    const callsBefore = logs.commandCalls(FilterLogEventsCommand).length;
    const third = await invokeAt(handler, T0 + 4 * MINUTE + 5_000);
    collect(third.documents);
    const callsInThird = logs.commandCalls(FilterLogEventsCommand).length - callsBefore;
    expect(callsInThird).toBeLessThanOrEqual(50);
    expect(values(third.documents, 'Requests', SHOP).has(T0 + 2 * MINUTE)).toBe(false);
    expect(third.outcome?.logs.find((l) => l.key === 'shop/access')?.pending).toMatchObject({
      from: '2026-11-24T05:02:00.000Z',
      to: '2026-11-24T05:03:00.000Z',
    });
    expect(cursor()?.cursors['shop/access']?.pending?.nextToken).toMatch(/^page-/);

    // Later invocations in the same minute continue the busy range where the token left it.
    let invocations = 0;
    let behind: LogWatchOutcome['logs'][number] | undefined;
    do {
      const next = await invokeAt(handler, T0 + 4 * MINUTE + 20_000 + invocations * 1_000);
      collect(next.documents);
      behind = next.outcome?.logs.find((l) => l.key === 'shop/access');
      invocations++;
    } while (behind?.pending !== undefined && invocations < 5);

    expect(behind).toMatchObject({ behindMinutes: 0 });
    expect(behind?.pending).toBeUndefined();
    expect(published).toEqual(shipped);
    expect(cursor()?.cursors['shop/access']).toEqual({ doneBeforeMs: T0 + 3 * MINUTE });
  });

  it('publishes the access log and fails the invocation when the error log group does not exist', async () => {
    groups.delete(ERROR_GROUP);
    ship(ACCESS_GROUP, T0 + 1_000, accessLine(T0 + 1_000, 502));

    const { error, documents } = await invokeAt(handler, T0 + 2 * MINUTE);

    expect(error).toBeInstanceOf(LogWatchReadError);
    expect((error as Error).message).toContain(ERROR_GROUP);
    expect(values(documents, 'Status502', SHOP)).toEqual(new Map([[T0, 1]]));
    expect(cursor()?.cursors['shop/access']).toEqual({ doneBeforeMs: T0 + MINUTE });
  });

  it('publishes nothing when another invocation committed the cursor while it was reading', async () => {
    ship(ACCESS_GROUP, T0 + 1_000, accessLine(T0 + 1_000, 200));
    await invokeAt(handler, T0 + 90_000);
    ship(ACCESS_GROUP, T0 + MINUTE + 1_000, accessLine(T0 + MINUTE + 1_000, 200));
    anotherRunWritesFirst = true;

    const { outcome, documents } = await invokeAt(handler, T0 + 3 * MINUTE);

    expect(outcome?.status).toBe('superseded');
    expect(documents).toEqual([]);
  });
});
