import { readFileSync } from 'node:fs';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchLogsLogSource } from '../../../lambdas/adapters/aws/cloudwatch-logs-log-source.ts';
import { LogUnavailableError } from '../../../lambdas/core/nginx/coverage.ts';
import { readErrorLogLine } from '../../../lambdas/core/nginx/error-log.ts';
import { motoAvailable, motoClientConfig, startMoto } from '../../support/moto.ts';

// Lines written by a real nginx (see test/fixtures/nginx/make-fixtures.ts), as the CloudWatch agent ships them.
const ERROR_LINES = readFileSync(new URL('../../fixtures/nginx/real-error.log', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line !== '');

async function collect(source: AsyncIterable<Uint8Array>): Promise<{ chunks: number; lines: string[] }> {
  const decoder = new TextDecoder();
  let text = '';
  let chunks = 0;
  for await (const chunk of source) {
    chunks++;
    text += decoder.decode(chunk, { stream: true });
  }
  text += decoder.decode();
  return { chunks, lines: text.split('\n').filter((line) => line !== '') };
}

describe.skipIf(!motoAvailable)(
  'CloudWatchLogsLogSource over the CloudWatch Logs protocol (moto_server)',
  () => {
    let moto: Awaited<ReturnType<typeof startMoto>>;
    let client: CloudWatchLogsClient;
    const group = '/gatewatch/shop/nginx-error';
    const base = Date.parse('2026-11-24T06:00:00Z');
    // Ten real lines spread over two streams (two nginx hosts), one second apart, alternating streams.
    const shipped = ERROR_LINES.slice(0, 10).map((message, i) => ({
      message,
      timestamp: base + i * 1000,
      stream: i % 2 === 0 ? 'i-0aaa1111/error.log' : 'i-0bbb2222/error.log',
    }));

    beforeAll(async () => {
      moto = await startMoto();
      client = new CloudWatchLogsClient(motoClientConfig(moto.endpoint));
      await client.send(new CreateLogGroupCommand({ logGroupName: group }));
      for (const stream of new Set(shipped.map((s) => s.stream))) {
        await client.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
        await client.send(
          new PutLogEventsCommand({
            logGroupName: group,
            logStreamName: stream,
            logEvents: shipped
              .filter((s) => s.stream === stream)
              .map(({ message, timestamp }) => ({ message, timestamp })),
          }),
        );
      }
    });

    afterAll(async () => {
      client?.destroy();
      await moto?.stop();
    });

    it('pages through FilterLogEvents and yields the group’s lines in time order across streams', async () => {
      const source = new CloudWatchLogsLogSource(client, { pageSize: 3 });

      const { chunks, lines } = await collect(
        source.chunks({ log: group, fromMs: base, toMs: base + 60_000 }),
      );

      expect(chunks).toBe(4); // 3 + 3 + 3 + 1 events
      expect(lines).toEqual(shipped.map((s) => s.message));
    });

    it('reads only the window', async () => {
      const source = new CloudWatchLogsLogSource(client, { pageSize: 2 });

      const { lines } = await collect(source.chunks({ log: group, fromMs: base + 3000, toMs: base + 6000 }));

      expect(lines).toEqual(shipped.slice(3, 7).map((s) => s.message));
    });

    it('reads one stream with GetLogEvents when the log is named <group>:<stream>', async () => {
      const source = new CloudWatchLogsLogSource(client, { pageSize: 2 });

      const { chunks, lines } = await collect(
        source.chunks({ log: `${group}:i-0bbb2222/error.log`, fromMs: base, toMs: base + 60_000 }),
      );

      expect(lines).toEqual(shipped.filter((s) => s.stream === 'i-0bbb2222/error.log').map((s) => s.message));
      expect(chunks).toBe(3); // 2 + 2 + 1 events
    });

    it('stamps each line with its event time when asked, which the error-log reader takes off again', async () => {
      const source = new CloudWatchLogsLogSource(client, { pageSize: 4 });

      const { lines } = await collect(
        source.chunks({ log: group, fromMs: base, toMs: base + 60_000, stampLines: true }),
      );

      expect(lines).toEqual(shipped.map((s) => `${new Date(s.timestamp).toISOString()} ${s.message}`));
      expect(lines.map((l) => readErrorLogLine(l).entry)).toEqual(
        shipped.map((s) => readErrorLogLine(s.message).entry),
      );
    });

    it('yields nothing for a window without events', async () => {
      const source = new CloudWatchLogsLogSource(client);

      const { chunks } = await collect(source.chunks({ log: group, fromMs: base - 60_000, toMs: base - 1 }));

      expect(chunks).toBe(0);
    });

    it('stops with LogReadError when the window holds more pages than allowed', async () => {
      const source = new CloudWatchLogsLogSource(client, { pageSize: 1, maxPages: 3 });

      await expect(collect(source.chunks({ log: group, fromMs: base, toMs: base + 60_000 }))).rejects.toThrow(
        /more than 3 pages/,
      );
    });

    it('says the log is missing, names the log group and keeps the SDK error when the group does not exist', async () => {
      const source = new CloudWatchLogsLogSource(client);

      const error = await collect(
        source.chunks({ log: '/gatewatch/nope', fromMs: base, toMs: base + 1 }),
      ).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(LogUnavailableError);
      expect((error as LogUnavailableError).reason).toBe('missing');
      expect((error as Error).message).toContain('/gatewatch/nope');
      expect(((error as Error).cause as Error).name).toBe('ResourceNotFoundException');
    });
  },
);

describe('CloudWatchLogsLogSource access errors', () => {
  it('says the log is unreadable when CloudWatch Logs denies the read', async () => {
    const denied = Object.assign(new Error('not authorized to perform: logs:FilterLogEvents'), {
      name: 'AccessDeniedException',
    });
    const client = { send: async () => Promise.reject(denied) } as unknown as CloudWatchLogsClient;
    const error = await collect(
      new CloudWatchLogsLogSource(client).chunks({ log: '/gatewatch/shop', fromMs: 0, toMs: 1 }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogUnavailableError);
    expect((error as LogUnavailableError).reason).toBe('unreadable');
    expect(String((error as Error).message)).toContain('/gatewatch/shop');
  });
});
