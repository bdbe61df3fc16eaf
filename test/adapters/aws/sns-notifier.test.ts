import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fitMessage,
  MAX_MESSAGE_BYTES,
  NotificationError,
  SnsNotifier,
} from '../../../lambdas/adapters/aws/sns-notifier.ts';
import { motoAvailable, motoClientConfig, startMoto } from '../../support/moto.ts';

describe('fitMessage', () => {
  it('leaves a message SNS accepts unchanged', () => {
    expect(fitMessage('shop: upstream-down')).toBe('shop: upstream-down');
  });

  it('cuts an oversized message at a character boundary and says so', () => {
    const message = fitMessage('ü'.repeat(200_000));
    expect(new TextEncoder().encode(message).length).toBeLessThan(256 * 1024);
    expect(message).toMatch(/ü\n\n\[message truncated: 400000 bytes; the report has everything\]$/);
    expect(message.startsWith('ü'.repeat(MAX_MESSAGE_BYTES / 2 - 1))).toBe(true);
  });
});

describe.skipIf(!motoAvailable)(
  'SnsNotifier over the SNS protocol (moto_server delivering to an HTTP subscriber)',
  () => {
    let moto: Awaited<ReturnType<typeof startMoto>>;
    let client: SNSClient;
    let subscriber: Server;
    let topicArn: string;
    const received: { Type?: string; Subject?: string; Message?: string }[] = [];

    beforeAll(async () => {
      moto = await startMoto();
      client = new SNSClient(motoClientConfig(moto.endpoint));
      subscriber = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => {
          body += chunk.toString('utf8');
        });
        request.on('end', () => {
          received.push(JSON.parse(body) as (typeof received)[number]);
          response.end();
        });
      });
      await new Promise<void>((resolve) => subscriber.listen(0, '127.0.0.1', resolve));
      const { port } = subscriber.address() as AddressInfo;
      topicArn = (await client.send(new CreateTopicCommand({ Name: 'gatewatch-notifications' }))).TopicArn!;
      await client.send(
        new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: `http://127.0.0.1:${port}/` }),
      );
    });

    afterAll(async () => {
      client?.destroy();
      await new Promise((resolve) => subscriber?.close(resolve));
      await moto?.stop();
    });

    it('publishes the verdict with a subject SNS accepts, whatever the upstream name holds', async () => {
      const notifier = new SnsNotifier(client, { topicArn });
      const text =
        'shop: upstream-down (127.0.0.1:3000), confidence 0.9\n\nEvidence: connect() failed (111: Connection refused)';

      await notifier.notify({ subject: `[gatewatch] shop: upstream-down\n${'x'.repeat(200)}`, text });

      const notification = received.filter((r) => r.Type === 'Notification').at(-1);
      expect(notification?.Message).toBe(text);
      expect(notification?.Subject?.length).toBeLessThan(100);
      expect(notification?.Subject).toMatch(/^\[gatewatch\] shop: upstream-down x+\.\.\.$/);
    });

    it('names the topic and keeps the SDK error when publishing fails', async () => {
      const notifier = new SnsNotifier(client, { topicArn: `${topicArn}-missing` });

      const error = await notifier.notify({ subject: 's', text: 't' }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(NotificationError);
      expect((error as Error).message).toContain(`${topicArn}-missing`);
      expect((error as Error).cause).toBeInstanceOf(Error);
    });
  },
);
