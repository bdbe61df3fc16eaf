/**
 * `RemediationLedger` in the report bucket, shared by concurrent executions: locks are objects created
 * with `If-None-Match: *` (S3 conditional writes: exactly one creator wins) holding their expiry, and the
 * ledger is one JSON object changed only under the `ledger` lock. A lock past its expiry is taken over.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { LedgerEntry } from '../../core/remediation/guardrails.ts';
import type { RemediationLedger } from '../../ports.ts';

export class S3RemediationLedger implements RemediationLedger {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #pollMs: number;

  constructor(s3: S3Client, options: { bucket: string; prefix: string; pollMs?: number }) {
    this.#s3 = s3;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix;
    this.#pollMs = options.pollMs ?? 500;
  }

  async entries(): Promise<LedgerEntry[]> {
    const text = await this.#get(`${this.#prefix}ledger.json`);
    if (text === undefined) return [];
    const parsed = JSON.parse(text) as { entries?: LedgerEntry[] };
    return Array.isArray(parsed.entries) ? parsed.entries : [];
  }

  async update<T>(change: (entries: LedgerEntry[]) => { entries: LedgerEntry[]; result: T }): Promise<T> {
    const locked = await this.withLock('ledger', { ttlMs: 30_000, waitMs: 30_000 }, async () => {
      const { entries, result } = change(await this.entries());
      await this.#s3.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: `${this.#prefix}ledger.json`,
          Body: JSON.stringify({ version: 1, entries }),
          ContentType: 'application/json',
        }),
      );
      return result;
    });
    if (!locked.acquired) throw new Error('the remediation ledger stayed locked for 30 s');
    return locked.value;
  }

  async withLock<T>(
    name: string,
    options: { ttlMs: number; waitMs: number },
    work: () => Promise<T>,
  ): Promise<{ acquired: true; value: T } | { acquired: false; holder?: string }> {
    const key = `${this.#prefix}locks/${name.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      try {
        await this.#s3.send(
          new PutObjectCommand({
            Bucket: this.#bucket,
            Key: key,
            Body: JSON.stringify({ expiresAt: new Date(Date.now() + options.ttlMs).toISOString() }),
            IfNoneMatch: '*',
          }),
        );
        break;
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status !== 412 && status !== 409 && (error as { name?: string }).name !== 'PreconditionFailed')
          throw error;
      }
      const held = await this.#get(key);
      const expiresAt =
        held === undefined ? undefined : (JSON.parse(held) as { expiresAt?: string }).expiresAt;
      if (expiresAt !== undefined && Date.parse(expiresAt) < Date.now()) {
        await this.#s3.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
        continue;
      }
      if (Date.now() >= deadline) return { acquired: false, holder: 'another execution' };
      await new Promise((resolve) => setTimeout(resolve, this.#pollMs));
    }
    try {
      return { acquired: true, value: await work() };
    } finally {
      await this.#s3.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    }
  }

  async #get(key: string): Promise<string | undefined> {
    try {
      const response = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      return await response.Body?.transformToString('utf-8');
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }
}
