/**
 * `RemediationLedger` in the report bucket, shared by concurrent executions: locks are objects created
 * with `If-None-Match: *` and then replaced with `If-Match: <ETag>` (S3 conditional writes: exactly one
 * writer wins) holding their expiry, and the ledger is one JSON object changed only under the `ledger`
 * lock. A released lock, or one past its expiry, is taken over; nothing is ever deleted.
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
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
    const held = () => JSON.stringify({ expiresAt: new Date(Date.now() + options.ttlMs).toISOString() });
    let etag: string | undefined;
    for (;;) {
      // Created the first time (If-None-Match: *); afterwards taken over, when released or expired, by
      // replacing exactly the version read (If-Match). Two contenders never both win, and nothing is
      // ever deleted from the bucket.
      const current = await this.#read(key);
      if (current === undefined) etag = await this.#putIf(key, held(), { IfNoneMatch: '*' });
      else if (current.free) etag = await this.#putIf(key, held(), { IfMatch: current.etag });
      if (etag !== undefined) break;
      if (Date.now() >= deadline) return { acquired: false, holder: 'another execution' };
      await new Promise((resolve) => setTimeout(resolve, this.#pollMs));
    }
    try {
      return { acquired: true, value: await work() };
    } finally {
      // Released only if still ours: a holder that overran its expiry does not free its successor's lock.
      await this.#putIf(key, JSON.stringify({ releasedAt: new Date().toISOString() }), { IfMatch: etag });
    }
  }

  /** The lock object with its ETag, and whether it may be taken (released, or past its expiry). */
  async #read(key: string): Promise<{ etag: string; free: boolean } | undefined> {
    try {
      const response = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      const text = (await response.Body?.transformToString('utf-8')) ?? '';
      let expiresAt: string | undefined;
      try {
        expiresAt = (JSON.parse(text) as { expiresAt?: string }).expiresAt;
      } catch {
        expiresAt = undefined;
      }
      const free = expiresAt === undefined || !(Date.parse(expiresAt) >= Date.now());
      return { etag: response.ETag ?? '', free };
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /** A conditional write: its new ETag, or undefined when another writer got there first (412/409). */
  async #putIf(
    key: string,
    body: string,
    condition: { IfNoneMatch: '*' } | { IfMatch: string },
  ): Promise<string | undefined> {
    try {
      const response = await this.#s3.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          ...condition,
        }),
      );
      return response.ETag ?? '';
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const named = (error as { name?: string }).name;
      if (
        status === 412 ||
        status === 409 ||
        named === 'PreconditionFailed' ||
        named === 'ConditionalRequestConflict'
      )
        return undefined;
      throw error;
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
