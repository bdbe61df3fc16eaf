/**
 * The log watcher's cursor as one JSON object in S3 (the stack's report bucket, key
 * `state/log-watch-cursor.json`). S3 rather than a parameter or a table: no new resource in the stack, a
 * grant on exactly one key, no size limit as targets are added (SSM standard parameters stop at 4 KB),
 * and conditional writes — `If-Match` on the ETag read, `If-None-Match: *` for the first write — give the
 * compare-and-swap that keeps two overlapping runs from both publishing.
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CursorConflictError,
  CursorStateError,
  type LogCursorStore,
  type LogWatchState,
  parseLogWatchState,
  type StoredLogWatchState,
} from '../../core/metrics/log-watch.ts';

/** S3 refused or failed a read or write of the cursor; `cause` holds the SDK error. */
export class CursorStoreError extends Error {
  override name = 'CursorStoreError';
}

export interface S3LogCursorStoreOptions {
  bucket: string;
  key: string;
}

/** HTTP statuses S3 answers a lost conditional write with. */
const CONFLICT_STATUS = new Set([
  // PreconditionFailed: the ETag changed, or the object appeared (If-None-Match: *)
  412,
  // ConditionalRequestConflict: a concurrent conditional write to the same key is in progress
  409,
  // NoSuchKey on If-Match: the object was deleted since it was read
  404,
]);

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export class S3LogCursorStore implements LogCursorStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #key: string;
  /** The last load got AccessDenied and went on as if there were no cursor (see {@link load}). */
  #readDenied = false;

  constructor(client: S3Client, options: S3LogCursorStoreOptions) {
    this.#client = client;
    this.#bucket = options.bucket;
    this.#key = options.key;
  }

  /** `s3://bucket/key`, for messages. */
  get location(): string {
    return `s3://${this.#bucket}/${this.#key}`;
  }

  async load(): Promise<StoredLogWatchState> {
    let text: string;
    let version: string | undefined;
    try {
      const response = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key }),
      );
      text = (await response.Body?.transformToString('utf-8')) ?? '';
      version = response.ETag;
    } catch (error) {
      this.#readDenied = false;
      if (error instanceof NoSuchKey || (error as Error | undefined)?.name === 'NoSuchKey') return {};
      // S3 answers a missing key with 403 instead of 404 unless the caller may list it, and whether a
      // prefix-conditioned s3:ListBucket counts is not documented. So 403 is read as "no cursor yet";
      // the first save is conditional (If-None-Match: *), and if the object does exist after all, that
      // save fails loudly below instead of being taken for a lost race.
      if (httpStatus(error) === 403) {
        this.#readDenied = true;
        return {};
      }
      throw new CursorStoreError(`could not read the cursor ${this.location}: ${describe(error)}`, {
        cause: error,
      });
    }
    if (version === undefined) {
      throw new CursorStoreError(`S3 returned the cursor ${this.location} without an ETag`);
    }
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new CursorStateError(
        `${this.location} is not JSON; delete it to start again from the current minute`,
        { cause: error },
      );
    }
    return { state: parseLogWatchState(document, this.location), version };
  }

  async save(state: LogWatchState, expectedVersion: string | undefined): Promise<string> {
    try {
      const response = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key,
          Body: JSON.stringify(state),
          ContentType: 'application/json',
          ...(expectedVersion === undefined ? { IfNoneMatch: '*' } : { IfMatch: expectedVersion }),
        }),
      );
      if (response.ETag === undefined) {
        throw new CursorStoreError(`S3 stored the cursor ${this.location} without returning an ETag`);
      }
      return response.ETag;
    } catch (error) {
      if (error instanceof CursorStoreError) throw error;
      const status = httpStatus(error);
      if (this.#readDenied && expectedVersion === undefined && status === 412) {
        throw new CursorStoreError(
          `S3 denied reading the cursor ${this.location} (AccessDenied), yet it exists: the role needs s3:GetObject on it`,
          { cause: error },
        );
      }
      if (status !== undefined && CONFLICT_STATUS.has(status)) {
        throw new CursorConflictError(
          `the cursor ${this.location} changed since it was read (${describe(error)}): another run committed first`,
          { cause: error },
        );
      }
      throw new CursorStoreError(`could not write the cursor ${this.location}: ${describe(error)}`, {
        cause: error,
      });
    }
  }
}
