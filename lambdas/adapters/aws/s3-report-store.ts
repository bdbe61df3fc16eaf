/**
 * `ReportStore` on an S3 bucket: an incident's objects live under `<prefix><incidentId>/…`
 * (`incidents/shop-20261124T051148Z-3f2a/report.html`), each with the content type its reader needs so
 * that the S3 console and pre-signed links open the HTML report as a page, not as a download.
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ConditionalReportStore } from '../../ports.ts';

/** A key that would escape the incident prefix or is not a plain relative path. */
export class InvalidReportKeyError extends Error {
  override name = 'InvalidReportKeyError';
}

/** S3 refused or failed a read or write; `cause` holds the SDK error. */
export class ReportStoreError extends Error {
  override name = 'ReportStoreError';
}

export interface S3ReportStoreOptions {
  bucket: string;
  /** Prepended to every key; ends with `/`. @default 'incidents/' */
  prefix?: string;
}

const TEXT_TYPES = /^(text\/[a-z0-9.+-]+|application\/(json|xml|[a-z0-9.+-]+\+json))$/i;

/**
 * Text bodies are stored as UTF-8 and say so: without `charset` a browser may guess another encoding
 * and mangle quoted log lines.
 */
export function withCharset(contentType: string): string {
  const trimmed = contentType.trim();
  if (/;\s*charset=/i.test(trimmed)) return trimmed;
  return TEXT_TYPES.test(trimmed) ? `${trimmed}; charset=utf-8` : trimmed;
}

export class S3ReportStore implements ConditionalReportStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(client: S3Client, options: S3ReportStoreOptions) {
    this.#client = client;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? 'incidents/';
  }

  async put(key: string, body: string | Uint8Array, contentType: string): Promise<string> {
    const objectKey = this.#objectKey(key);
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: objectKey,
          Body: body,
          ContentType: withCharset(contentType),
        }),
      );
    } catch (error) {
      throw new ReportStoreError(`could not write s3://${this.#bucket}/${objectKey}: ${messageOf(error)}`, {
        cause: error,
      });
    }
    return this.locate(key);
  }

  async get(key: string): Promise<string | undefined> {
    const objectKey = this.#objectKey(key);
    try {
      const response = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: objectKey }),
      );
      // The body is a stream; it is read to the end here (evidence objects are at most a few MiB).
      return (await response.Body?.transformToString('utf-8')) ?? '';
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw new ReportStoreError(`could not read s3://${this.#bucket}/${objectKey}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async read(key: string): Promise<{ body: string; version: string } | undefined> {
    const objectKey = this.#objectKey(key);
    try {
      const response = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: objectKey }),
      );
      const body = (await response.Body?.transformToString('utf-8')) ?? '';
      if (response.ETag === undefined)
        throw new ReportStoreError(
          `s3://${this.#bucket}/${objectKey} has no ETag; cannot write it conditionally`,
        );
      return { body, version: response.ETag };
    } catch (error) {
      if (error instanceof ReportStoreError) throw error;
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw new ReportStoreError(`could not read s3://${this.#bucket}/${objectKey}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * S3 conditional write: `If-Match: <ETag>` to replace what was read, `If-None-Match: *` to create. A
   * 412 (Precondition Failed) or 409 (ConditionalRequestConflict, a concurrent conditional write) means
   * another writer got there first: false, nothing written.
   */
  async putIf(key: string, body: string, contentType: string, expected: string | null): Promise<boolean> {
    const objectKey = this.#objectKey(key);
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: objectKey,
          Body: body,
          ContentType: withCharset(contentType),
          ...(expected === null ? { IfNoneMatch: '*' } : { IfMatch: expected }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new ReportStoreError(`could not write s3://${this.#bucket}/${objectKey}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  locate(key: string): string {
    return `s3://${this.#bucket}/${this.#objectKey(key)}`;
  }

  #objectKey(key: string): string {
    if (key === '' || key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.')) {
      throw new InvalidReportKeyError(`report key "${key}" must be a relative path without . or .. segments`);
    }
    return `${this.#prefix}${key}`;
  }
}

function isConditionFailure(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return (
    status === 412 ||
    status === 409 ||
    e.name === 'PreconditionFailed' ||
    e.name === 'ConditionalRequestConflict' ||
    e.Code === 'PreconditionFailed'
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
