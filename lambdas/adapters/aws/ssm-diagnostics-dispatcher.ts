/**
 * `DiagnosticsDispatcher` on SSM Run Command: `send` starts gatewatch's own Command document on one
 * instance with the validated `GW_*` parameters; `collect` polls the invocation.
 *
 * Three things SSM does that the workflow must not trip over:
 * - right after SendCommand, GetCommandInvocation answers `InvocationDoesNotExist` until the invocation
 *   is registered: that is `pending`, unless the command itself already ended (never delivered);
 * - GetCommandInvocation returns only the first 24,000 characters of stdout (8,000 of stderr): longer
 *   output is read from the command's S3 output, which the document writes under `outputPrefix`;
 * - a script that exits non-zero or hits its execution timeout still produced evidence: it is returned
 *   as `failed` with its `result`, and the step decides what the output is worth.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  InvocationDoesNotExist,
  ListCommandsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { COMMAND_OUTPUT_PREFIX, DIAGNOSTICS_DOCUMENT } from '../../../lib/workflow/lambda-wiring.ts';
import type {
  CommandResult,
  DiagnosticsDispatcher,
  DiagnosticsPoll,
  DiagnosticsRequest,
} from '../../ports.ts';

/** The host is not something SSM can run a command on (`local`, a malformed id). */
export class UnsupportedHostError extends Error {
  override name = 'UnsupportedHostError';
}

/** SSM refused the command or the poll; `cause` holds the SDK error. */
export class DiagnosticsDispatchError extends Error {
  override name = 'DiagnosticsDispatchError';
}

export interface SsmDiagnosticsDispatcherOptions {
  /** Name (or ARN) of gatewatch's Command document. */
  documentName: string;
  /** Bucket the document's output goes to (the full output, beyond what GetCommandInvocation returns). */
  outputBucket: string;
  /** Key prefix of the command output; ends with `/`. @default COMMAND_OUTPUT_PREFIX ('ssm-output/') */
  outputPrefix?: string;
  /** Seconds SSM waits for the instance to pick the command up. @default 60 */
  deliveryTimeoutSeconds?: number;
}

/** GetCommandInvocation's content limits: longer output is cut to exactly these lengths. */
export const INLINE_STDOUT_LIMIT = 24_000;
export const INLINE_STDERR_LIMIT = 8_000;

// EC2 instances and hybrid managed nodes.
const MANAGED_INSTANCE = /^(i|mi)-[0-9a-f]{8,17}$/;
const PENDING = new Set(['Pending', 'InProgress', 'Delayed']);
const COMMAND_ENDED = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut', 'Cancelling']);

export class SsmDiagnosticsDispatcher implements DiagnosticsDispatcher {
  readonly #ssm: SSMClient;
  readonly #s3: S3Client;
  readonly #documentName: string;
  readonly #outputBucket: string;
  readonly #outputPrefix: string;
  readonly #deliveryTimeoutSeconds: number;

  constructor(ssm: SSMClient, s3: S3Client, options: SsmDiagnosticsDispatcherOptions) {
    this.#ssm = ssm;
    this.#s3 = s3;
    this.#documentName = options.documentName;
    this.#outputBucket = options.outputBucket;
    this.#outputPrefix = options.outputPrefix ?? COMMAND_OUTPUT_PREFIX;
    this.#deliveryTimeoutSeconds = options.deliveryTimeoutSeconds ?? 60;
  }

  async send(request: DiagnosticsRequest): Promise<{ commandId: string }> {
    const instanceId = managedInstance(request.host);
    const parameters: Record<string, string[]> = {
      [DIAGNOSTICS_DOCUMENT.executionTimeoutParameter]: [
        String(Math.max(1, Math.round(request.timeoutSeconds))),
      ],
      [DIAGNOSTICS_DOCUMENT.interpolationCheckParameter]: [DIAGNOSTICS_DOCUMENT.interpolationCheckValue],
    };
    for (const [name, value] of Object.entries(request.params)) parameters[name] = [value];
    try {
      const response = await this.#ssm.send(
        new SendCommandCommand({
          DocumentName: this.#documentName,
          DocumentVersion: '$LATEST',
          InstanceIds: [instanceId],
          Parameters: parameters,
          TimeoutSeconds: Math.max(30, this.#deliveryTimeoutSeconds),
          OutputS3BucketName: this.#outputBucket,
          OutputS3KeyPrefix: this.#outputPrefix.replace(/\/$/, ''),
          Comment: 'gatewatch diagnostics',
        }),
      );
      const commandId = response.Command?.CommandId;
      if (!commandId) throw new Error('SendCommand answered without a CommandId');
      return { commandId };
    } catch (error) {
      throw new DiagnosticsDispatchError(
        `could not send the diagnostics to ${instanceId}: ${describe(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async collect(request: { host: string; commandId: string }): Promise<DiagnosticsPoll> {
    const instanceId = managedInstance(request.host);
    let invocation: GetCommandInvocationCommandOutput;
    try {
      invocation = await this.#ssm.send(
        new GetCommandInvocationCommand({ CommandId: request.commandId, InstanceId: instanceId }),
      );
    } catch (error) {
      if (isInvocationMissing(error)) return this.#beforeInvocation(request.commandId, instanceId);
      throw new DiagnosticsDispatchError(
        `could not poll command ${request.commandId} on ${instanceId}: ${describe(error)}`,
        { cause: error },
      );
    }

    const status = invocation.Status ?? 'Pending';
    if (PENDING.has(status)) return { status: 'pending' };
    const ran = invocation.ResponseCode !== undefined && invocation.ResponseCode >= 0;
    const details = invocation.StatusDetails ?? status;
    if (status === 'Success') return { status: 'done', result: await this.#result(invocation, instanceId) };
    if (ran && (status === 'Failed' || details === 'ExecutionTimedOut')) {
      return {
        status: 'failed',
        reason: `the diagnostics script ended with ${details} (exit ${invocation.ResponseCode})`,
        result: await this.#result(invocation, instanceId),
      };
    }
    return { status: 'failed', reason: `SSM reports ${status} (${details}) for ${instanceId}` };
  }

  /** InvocationDoesNotExist: not registered yet (pending), or the command ended without reaching the host. */
  async #beforeInvocation(commandId: string, instanceId: string): Promise<DiagnosticsPoll> {
    let commandStatus: string | undefined;
    try {
      const listed = await this.#ssm.send(new ListCommandsCommand({ CommandId: commandId }));
      commandStatus = listed.Commands?.[0]?.Status;
    } catch {
      // ListCommands is eventually consistent too: not finding the command yet is no answer.
      return { status: 'pending' };
    }
    if (commandStatus !== undefined && COMMAND_ENDED.has(commandStatus)) {
      return {
        status: 'failed',
        reason: `command ${commandId} ended (${commandStatus}) without reaching ${instanceId}: is the SSM agent running and the instance tagged for gatewatch?`,
      };
    }
    return { status: 'pending' };
  }

  async #result(invocation: GetCommandInvocationCommandOutput, instanceId: string): Promise<CommandResult> {
    const started = Date.parse(invocation.ExecutionStartDateTime ?? '');
    const ended = Date.parse(invocation.ExecutionEndDateTime ?? '');
    const notes: string[] = [];
    const stdout = await this.#full(
      invocation.StandardOutputContent ?? '',
      INLINE_STDOUT_LIMIT,
      invocation.StandardOutputUrl,
      invocation.CommandId ?? '',
      instanceId,
      'stdout',
      notes,
    );
    const stderr = await this.#full(
      invocation.StandardErrorContent ?? '',
      INLINE_STDERR_LIMIT,
      invocation.StandardErrorUrl,
      invocation.CommandId ?? '',
      instanceId,
      'stderr',
      notes,
    );
    return {
      exitCode:
        invocation.ResponseCode === undefined || invocation.ResponseCode < 0 ? null : invocation.ResponseCode,
      stdout,
      stderr:
        notes.length === 0
          ? stderr
          : `${stderr}${stderr.endsWith('\n') || stderr === '' ? '' : '\n'}${notes.join('\n')}\n`,
      timedOut: invocation.StatusDetails === 'ExecutionTimedOut',
      durationMs: Number.isFinite(started) && Number.isFinite(ended) ? Math.max(0, ended - started) : 0,
    };
  }

  /** The inline content, or the whole stream from S3 when SSM cut it at its limit. */
  async #full(
    inline: string,
    limit: number,
    url: string | undefined,
    commandId: string,
    instanceId: string,
    stream: 'stdout' | 'stderr',
    notes: string[],
  ): Promise<string> {
    if (inline.length < limit) return inline;
    const key = this.outputKey(commandId, instanceId, stream, url);
    try {
      const object = await this.#s3.send(new GetObjectCommand({ Bucket: this.#outputBucket, Key: key }));
      return (await object.Body?.transformToString('utf-8')) ?? inline;
    } catch (error) {
      // The first 24,000 characters are still evidence: keep them and say what is missing.
      notes.push(
        `gatewatch: ${stream} was cut at ${limit} characters and s3://${this.#outputBucket}/${key} could not be read (${describe(error)})`,
      );
      return inline;
    }
  }

  /**
   * Where SSM put a stream of the command's output: taken from the URL SSM reports when it names a key
   * under our prefix, else SSM's documented layout `<prefix>/<commandId>/<instanceId>/awsrunShellScript/<step>/<stream>`.
   */
  outputKey(commandId: string, instanceId: string, stream: 'stdout' | 'stderr', url?: string): string {
    const marker = `${this.#outputPrefix}${commandId}/`;
    if (url) {
      try {
        const path = decodeURIComponent(new URL(url).pathname);
        const at = path.indexOf(marker);
        if (at !== -1) return path.slice(at);
      } catch {
        // An unparsable URL falls back to the documented layout below.
      }
    }
    return `${marker}${instanceId}/awsrunShellScript/${DIAGNOSTICS_DOCUMENT.stepName}/${stream}`;
  }
}

function managedInstance(host: string): string {
  if (!MANAGED_INSTANCE.test(host)) {
    throw new UnsupportedHostError(
      `"${host}" is not an EC2 instance or managed node id; in AWS every diagnosed host must be one (i-0abc…)`,
    );
  }
  return host;
}

function isInvocationMissing(error: unknown): boolean {
  return (
    error instanceof InvocationDoesNotExist || (error as { name?: string }).name === 'InvocationDoesNotExist'
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
