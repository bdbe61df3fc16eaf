/**
 * `RemediationRunner` through SSM Run Command with gatewatch's actions document: every `GW_*` value is
 * a document parameter (ENV_VAR interpolation; SSM checks each against the document's allowedPattern
 * before the agent sees it) and the script checks them again. The Remediate Lambda waits for the
 * result (bounded by the request's timeout): an action is short and its result decides what follows.
 */
import {
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { REMEDIATION_DOCUMENT } from '../../../lib/workflow/lambda-wiring.ts';
import { REMEDIATION_ENVIRONMENT, RemediationParamsError } from '../../core/remediation/params.ts';
import type { CommandResult, RemediationRunner } from '../../ports.ts';

const MANAGED_INSTANCE = /^(i|mi)-[0-9a-f]{8,17}$/;
const ENDED = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut']);

export class RemediationDispatchError extends Error {
  override name = 'RemediationDispatchError';
}

export class SsmRemediationRunner implements RemediationRunner {
  readonly #ssm: SSMClient;
  readonly #documentName: string;
  readonly #pollMs: number;

  constructor(ssm: SSMClient, options: { documentName: string; pollMs?: number }) {
    this.#ssm = ssm;
    this.#documentName = options.documentName;
    this.#pollMs = options.pollMs ?? 2000;
  }

  async run(request: {
    host: string;
    env: Record<string, string>;
    timeoutSeconds: number;
  }): Promise<CommandResult> {
    if (!MANAGED_INSTANCE.test(request.host)) {
      throw new RemediationDispatchError(
        `${JSON.stringify(request.host)} is not an EC2 instance or managed node id`,
      );
    }
    const known = new Set(REMEDIATION_ENVIRONMENT.map((v) => v.name));
    const parameters: Record<string, string[]> = {
      [REMEDIATION_DOCUMENT.executionTimeoutParameter]: [
        String(Math.max(1, Math.min(600, request.timeoutSeconds))),
      ],
      [REMEDIATION_DOCUMENT.interpolationCheckParameter]: [REMEDIATION_DOCUMENT.interpolationCheckValue],
    };
    for (const [name, value] of Object.entries(request.env)) {
      if (!known.has(name))
        throw new RemediationParamsError(`${name} is not a parameter of the actions document`);
      parameters[name] = [value];
    }
    const started = Date.now();
    const sent = await this.#ssm.send(
      new SendCommandCommand({
        DocumentName: this.#documentName,
        InstanceIds: [request.host],
        Parameters: parameters,
        TimeoutSeconds: 60,
        Comment: 'gatewatch remediation',
      }),
    );
    const commandId = sent.Command?.CommandId;
    if (!commandId) throw new RemediationDispatchError('SendCommand returned no command id');
    const deadline = started + (request.timeoutSeconds + 60) * 1000;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, this.#pollMs));
      try {
        const invocation = await this.#ssm.send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: request.host }),
        );
        if (invocation.Status && ENDED.has(invocation.Status)) {
          return {
            exitCode: invocation.ResponseCode ?? null,
            stdout: invocation.StandardOutputContent ?? '',
            stderr: invocation.StandardErrorContent ?? '',
            timedOut: invocation.Status === 'TimedOut',
            durationMs: Date.now() - started,
          };
        }
      } catch (error) {
        if (!(error instanceof InvocationDoesNotExist)) throw error;
      }
      if (Date.now() > deadline) {
        return {
          exitCode: null,
          stdout: '',
          stderr: 'no result from SSM in time',
          timedOut: true,
          durationMs: Date.now() - started,
        };
      }
    }
  }
}
