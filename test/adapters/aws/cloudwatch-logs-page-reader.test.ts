import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  FilterLogEventsCommand,
  InvalidParameterException,
  PutLogEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LogReadError } from '../../../lambdas/adapters/aws/cloudwatch-logs-log-source.ts';
import { CloudWatchLogsPageReader } from '../../../lambdas/adapters/aws/cloudwatch-logs-page-reader.ts';
import { PageTokenExpiredError } from '../../../lambdas/core/metrics/log-watch.ts';
import { motoAvailable, motoClientConfig, motoSkipReason, startMoto } from '../../support/moto.ts';

const MINUTE = 60_000;

describe.skipIf(!motoAvailable)(
  `CloudWatchLogsPageReader over the CloudWatch Logs wire protocol (moto_server) ${motoSkipReason}`,
  () => {
    let moto: Awaited<ReturnType<typeof startMoto>>;
    let client: CloudWatchLogsClient;
    const group = '/gatewatch/shop/nginx-access';
    // moto drops events older than 14 days: use the current minute grid.
    const from = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;

    beforeAll(async () => {
      moto = await startMoto();
      client = new CloudWatchLogsClient(motoClientConfig(moto.endpoint));
      await client.send(new CreateLogGroupCommand({ logGroupName: group }));
      for (const stream of ['i-0aaa', 'i-0bbb']) {
        await client.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
        await client.send(
          new PutLogEventsCommand({
            logGroupName: group,
            logStreamName: stream,
            logEvents: [
              { timestamp: from - 1, message: `${stream} before the range` },
              ...Array.from({ length: 5 }, (_, i) => ({
                timestamp: from + i * 1000,
                message: `${stream} line ${i}`,
              })),
              { timestamp: from + MINUTE - 1, message: `${stream} last millisecond` },
              { timestamp: from + MINUTE, message: `${stream} next range` },
            ],
          }),
        );
      }
    });

    afterAll(async () => {
      client?.destroy();
      await moto?.stop();
    });

    it('pages through [from, to) of every stream of the group, with the token, keeping timestamps', async () => {
      const reader = new CloudWatchLogsPageReader(client, { pageSize: 4 });
      const messages: string[] = [];
      let nextToken: string | undefined;
      let pages = 0;
      do {
        const page = await reader.readPage({ log: group, fromMs: from, toMs: from + MINUTE, nextToken });
        pages++;
        for (const event of page.events) {
          expect(event.timestampMs).toBeGreaterThanOrEqual(from);
          expect(event.timestampMs).toBeLessThan(from + MINUTE);
          expect(event.ingestionMs).toEqual(expect.any(Number));
          messages.push(event.message);
        }
        nextToken = page.nextToken;
      } while (nextToken !== undefined && pages < 10);

      expect(pages).toBeGreaterThan(1);
      expect(messages.sort()).toEqual(
        ['i-0aaa', 'i-0bbb']
          .flatMap((s) => [...Array.from({ length: 5 }, (_, i) => `${s} line ${i}`), `${s} last millisecond`])
          .sort(),
      );
    });

    it('reads one stream of the group when the log is spelled <group>:<stream>', async () => {
      const reader = new CloudWatchLogsPageReader(client);
      const page = await reader.readPage({ log: `${group}:i-0bbb`, fromMs: from, toMs: from + MINUTE });

      expect(page.nextToken).toBeUndefined();
      expect(page.events.map((e) => e.message)).toHaveLength(6);
      expect(page.events.every((e) => e.message.startsWith('i-0bbb'))).toBe(true);
    });

    it('reports a log group that does not exist as a read error naming it', async () => {
      const reader = new CloudWatchLogsPageReader(client);
      const error = await reader
        .readPage({ log: '/gatewatch/nope', fromMs: from, toMs: from + MINUTE })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(LogReadError);
      expect((error as Error).message).toMatch(/\/gatewatch\/nope: ResourceNotFoundException/);
    });
  },
);

describe('CloudWatchLogsPageReader with the answers of the real service', () => {
  // Mocked only while this block runs: the wire tests above talk to moto with the real client.
  let logs: AwsClientStub<CloudWatchLogsClient>;
  beforeAll(() => {
    logs = mockClient(CloudWatchLogsClient);
  });
  afterAll(() => logs.restore());
  beforeEach(() => logs.reset());

  it('asks for an inclusive endTime one millisecond before the range’s end', async () => {
    logs.on(FilterLogEventsCommand).resolves({ events: [], nextToken: 'next' });
    const reader = new CloudWatchLogsPageReader(new CloudWatchLogsClient({ region: 'us-east-1' }));

    const page = await reader.readPage({ log: '/g', fromMs: 60_000, toMs: 120_000, nextToken: 'prev' });

    expect(page).toEqual({ events: [], nextToken: 'next' });
    expect(logs.commandCalls(FilterLogEventsCommand)[0]!.args[0].input).toEqual({
      logGroupName: '/g',
      startTime: 60_000,
      endTime: 119_999,
      limit: 10_000,
      nextToken: 'prev',
    });
  });

  it('turns a refused continuation token into PageTokenExpiredError, so the range is read again', async () => {
    logs
      .on(FilterLogEventsCommand)
      .rejects(
        new InvalidParameterException({ message: 'The specified nextToken is invalid.', $metadata: {} }),
      );
    const reader = new CloudWatchLogsPageReader(new CloudWatchLogsClient({ region: 'us-east-1' }));

    await expect(
      reader.readPage({ log: '/g', fromMs: 0, toMs: 60_000, nextToken: 'old' }),
    ).rejects.toBeInstanceOf(PageTokenExpiredError);
    // Without a token, the same answer is a plain read error.
    await expect(reader.readPage({ log: '/g', fromMs: 0, toMs: 60_000 })).rejects.toBeInstanceOf(
      LogReadError,
    );
  });

  it('keeps the SDK error as the cause of a read error', async () => {
    const cause = new ResourceNotFoundException({
      message: 'The specified log group does not exist.',
      $metadata: {},
    });
    logs.on(FilterLogEventsCommand).rejects(cause);
    const reader = new CloudWatchLogsPageReader(new CloudWatchLogsClient({ region: 'us-east-1' }));

    const error = await reader.readPage({ log: '/g', fromMs: 0, toMs: 60_000 }).catch((e: unknown) => e);
    expect((error as Error).cause).toBe(cause);
  });
});
