/**
 * Approvals in AWS. The AwaitApproval Lambda (invoked with `.waitForTaskToken`) keeps the task token in
 * the report bucket (`state/approvals/<incidentId>.json`, with the proposed action and the expiry) and
 * returns: the state machine waits. `gatewatch approve --aws` ({@link StepFunctionsApprovalResponder})
 * reads it, refuses an expired or mismatched approval, claims it once (an `…answered` marker created
 * with `If-None-Match: *`: a second answer loses) and answers Step Functions with SendTaskSuccess
 * (approved) or SendTaskFailure (rejected). Expiry without an answer: the state's TimeoutSeconds ends
 * the wait as States.Timeout, and nothing runs.
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import type { ApprovalAnswer, ApprovalGate, ApprovalRequest } from '../../ports.ts';

const INCIDENT_ID = /^[a-z0-9][a-z0-9-]{0,62}-\d{8}T\d{6}Z-[0-9a-f]{4,16}$/;

export const PendingApprovalSchema = z.object({
  incidentId: z.string().regex(INCIDENT_ID),
  target: z.string(),
  action: z.string(),
  command: z.string(),
  expiresAt: z.string(),
  taskToken: z.string().min(1),
});
export type PendingApproval = z.infer<typeof PendingApprovalSchema>;

/** Nothing waits for this incident, it expired, it was answered, or the action differs. */
export class ApprovalRefusedError extends Error {
  override name = 'ApprovalRefusedError';
}

export function approvalKey(prefix: string, incidentId: string, suffix = ''): string {
  if (!INCIDENT_ID.test(incidentId))
    throw new ApprovalRefusedError(`${JSON.stringify(incidentId)} is not an incident id`);
  return `${prefix}${incidentId}${suffix}.json`;
}

export class S3ApprovalGate implements ApprovalGate {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(s3: S3Client, options: { bucket: string; prefix: string }) {
    this.#s3 = s3;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix;
  }

  async request(request: ApprovalRequest): Promise<{ status: 'pending' }> {
    if (request.taskToken === undefined)
      throw new ApprovalRefusedError('an AWS approval needs the task token');
    const pending: PendingApproval = PendingApprovalSchema.parse({
      ...request,
      taskToken: request.taskToken,
    });
    await this.#s3.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: approvalKey(this.#prefix, request.incidentId),
        Body: JSON.stringify(pending),
        ContentType: 'application/json',
      }),
    );
    return { status: 'pending' };
  }
}

export class StepFunctionsApprovalResponder {
  readonly #s3: S3Client;
  readonly #sfn: SFNClient;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(s3: S3Client, sfn: SFNClient, options: { bucket: string; prefix: string }) {
    this.#s3 = s3;
    this.#sfn = sfn;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix;
  }

  /** Answers the approval once. Throws {@link ApprovalRefusedError} when it may not be answered. */
  async answer(request: {
    incidentId: string;
    by: string;
    reject: boolean;
    action?: string;
    now?: Date;
  }): Promise<{ pending: PendingApproval; answer: ApprovalAnswer }> {
    const pending = await this.#pending(request.incidentId);
    const now = request.now ?? new Date();
    if (now.getTime() >= Date.parse(pending.expiresAt)) {
      throw new ApprovalRefusedError(
        `the approval for ${request.incidentId} expired at ${pending.expiresAt}: nothing will run`,
      );
    }
    if (request.action !== undefined && request.action !== pending.action) {
      throw new ApprovalRefusedError(
        `${request.incidentId} proposes ${pending.action}, not ${request.action}`,
      );
    }
    const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      await this.#s3.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: approvalKey(this.#prefix, request.incidentId, '.answered'),
          Body: JSON.stringify({ by: request.by, at, reject: request.reject }),
          IfNoneMatch: '*',
        }),
      );
    } catch (error) {
      if (
        (error as { name?: string }).name === 'PreconditionFailed' ||
        (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412
      ) {
        throw new ApprovalRefusedError(`the approval for ${request.incidentId} was already answered`, {
          cause: error,
        });
      }
      throw error;
    }
    if (request.reject) {
      await this.#sfn.send(
        new SendTaskFailureCommand({
          taskToken: pending.taskToken,
          error: 'RemediationRejected',
          cause: `rejected by ${request.by} at ${at}`,
        }),
      );
      return { pending, answer: { status: 'rejected', by: request.by, at } };
    }
    const answer: ApprovalAnswer = { status: 'approved', by: request.by, at, action: pending.action };
    await this.#sfn.send(
      new SendTaskSuccessCommand({ taskToken: pending.taskToken, output: JSON.stringify(answer) }),
    );
    return { pending, answer };
  }

  async #pending(incidentId: string): Promise<PendingApproval> {
    let text: string | undefined;
    try {
      const response = await this.#s3.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: approvalKey(this.#prefix, incidentId) }),
      );
      text = await response.Body?.transformToString('utf-8');
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') {
        throw new ApprovalRefusedError(`no approval is pending for ${incidentId}`, { cause: error });
      }
      throw error;
    }
    return PendingApprovalSchema.parse(JSON.parse(text ?? '{}'));
  }
}
