/**
 * What the workflow tests share: the deployed state machine definition (synthesized, substitutions
 * applied as CloudFormation applies them), real nginx labs, the workflow input, step ports that record
 * what they were asked, an SSM whose "agent" runs the real diagnostics script on this machine, the
 * execution's event log, and a real SMTP server.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandInput,
  InvalidInstanceId,
  InvocationDoesNotExist,
  ListCommandsCommand,
  type ListCommandsCommandInput,
  SendCommandCommand,
  type SendCommandCommandInput,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { SMTPServer } from 'smtp-server';
import {
  INLINE_STDERR_LIMIT,
  INLINE_STDOUT_LIMIT,
} from '../../lambdas/adapters/aws/ssm-diagnostics-dispatcher.ts';
import { ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { formatIncidentId, isoSeconds } from '../../lambdas/core/diagnosis/incident-id.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { localDeps } from '../../lambdas/local/local-deps.ts';
import type { RunOptions } from '../../lambdas/local/workflow-runner.ts';
import type { CommandResult, Notification, Notifier } from '../../lambdas/ports.ts';
import { type WorkflowInput, WorkflowInputSchema } from '../../lambdas/steps/contracts.ts';
import type { StepDeps } from '../../lambdas/steps/deps.ts';
import { COMMAND_OUTPUT_PREFIX, DIAGNOSTICS_DOCUMENT } from '../../lib/workflow/lambda-wiring.ts';
import { synthesizedDefinition } from '../infra/synth.ts';

// ------------------------------------------------------------------------------------ the definition

/** A `${…}` placeholder survived the substitutions: CloudFormation would refuse the stack. */
export class UnsubstitutedPlaceholderError extends Error {
  override name = 'UnsubstitutedPlaceholderError';
}

/** A test asked the support code for something it does not have (a Task, an instance's behaviour). */
export class WorkflowTestSetupError extends Error {
  override name = 'WorkflowTestSetupError';
}

let deployed: Record<string, unknown> | undefined;

/**
 * The state machine definition exactly as CloudFormation would create it: the synthesized
 * `DefinitionString` with every `${key}` of `DefinitionSubstitutions` replaced. Synthesized once per file.
 */
export function deployedDefinition(): Record<string, unknown> {
  if (!deployed) {
    const { definition, substitutions } = synthesizedDefinition();
    let text = JSON.stringify(definition);
    for (const [key, value] of Object.entries(substitutions)) text = text.replaceAll(`\${${key}}`, value);
    const left = text.match(/\$\{[^}]*\}/g);
    if (left) throw new UnsubstitutedPlaceholderError(`no substitution for ${left.join(', ')}`);
    deployed = JSON.parse(text) as Record<string, unknown>;
  }
  return structuredClone(deployed);
}

/** The `TimeoutSeconds` the deployed definition gives a Task, wherever it is nested. */
export function deployedTaskTimeoutSeconds(task: string): number {
  let found: number | undefined;
  const visit = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      if (name === task && state.Type === 'Task') found = state.TimeoutSeconds as number;
      const processor = state.ItemProcessor as
        | { States: Record<string, Record<string, unknown>> }
        | undefined;
      if (processor) visit(processor.States);
    }
  };
  visit(deployedDefinition().States as Record<string, Record<string, unknown>>);
  if (found === undefined) throw new WorkflowTestSetupError(`no Task ${task} in the deployed definition`);
  return found;
}

// ------------------------------------------------------------------------------------ labs and input

/** Everything a test started, ended in reverse order by {@link Cleanup.run}. */
export class Cleanup {
  readonly #steps: (() => Promise<void> | void)[] = [];

  add(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }

  /** Runs every step, even after one fails, then throws the first failure. */
  async run(): Promise<void> {
    const failures: unknown[] = [];
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
  }
}

/** A real nginx on loopback with `server` as its server block, stopped (and its folder removed) by `cleanup`. */
export async function startLab(cleanup: Cleanup, server: string): Promise<NginxLab> {
  const lab = await NginxLab.start({ server });
  cleanup.add(() => lab.stop());
  return lab;
}

/** `count` requests through the lab's nginx, one after another; their status codes. */
export async function requests(lab: NginxLab, count: number, path = '/'): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push(await lab.get(path));
  return statuses;
}

/** A manual diagnosis over the last five minutes (what `gatewatch diagnose` sends); `lab` is the lab's target. */
export function workflowInput(target = 'lab', now = new Date()): WorkflowInput {
  return WorkflowInputSchema.parse({
    incidentId: formatIncidentId(target, now, randomBytes(2).toString('hex')),
    target,
    openedAt: isoSeconds(now),
    window: { from: isoSeconds(new Date(now.getTime() - 5 * 60_000)), to: isoSeconds(now) },
    trigger: { kind: 'manual', detail: 'workflow test' },
  });
}

/** Remembers every notification; the e-mail of the tests that do not need a real SMTP server. */
export class RecordingNotifier implements Notifier {
  readonly sent: Notification[] = [];

  async notify(notification: Notification): Promise<void> {
    this.sent.push(notification);
  }
}

/** The local world's ports for a lab config (files, a folder, this host's shell), with parts replaced. */
export function labDeps(config: GatewatchConfig, replaced: Partial<StepDeps> = {}): StepDeps {
  return { ...localDeps(config, { notify: 'silent' }), ...replaced };
}

/** Removes a folder after the test. */
export function removeAfter(cleanup: Cleanup, path: string): void {
  cleanup.add(() => rm(path, { recursive: true, force: true }));
}

// ------------------------------------------------------------------------------------ event log

/** The part of an aws-local-stepfunctions event the tests read. */
export interface ExecutionEvent {
  type: string;
  state?: { name: string; type: string; input: unknown; output?: unknown };
  index?: number;
  Error?: string;
  Cause?: unknown;
}

/** Collects an execution's event log while it runs: pass `onEvents` to the runner, await `done` after. */
export function eventRecorder(): {
  events: ExecutionEvent[];
  onEvents: NonNullable<RunOptions['onEvents']>;
  done: () => Promise<void>;
} {
  const events: ExecutionEvent[] = [];
  let drained: Promise<void> = Promise.resolve();
  return {
    events,
    onEvents: (log) => {
      drained = (async () => {
        for await (const event of log) events.push(event as unknown as ExecutionEvent);
      })();
    },
    done: () => drained,
  };
}

/** Bytes of a value as Step Functions counts state payloads: its JSON text, UTF-8. */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

// ------------------------------------------------------------------------------------ SSM

/** How one instance behaves towards SSM Run Command. */
export type InstanceBehaviour =
  /** The agent runs the real diagnostics script here; the invocation is unknown for the first `missingPolls` polls. */
  | { kind: 'runs-script'; missingPolls?: number }
  /** The command stays InProgress forever (a hung agent, a script that never returns). */
  | { kind: 'never-finishes' }
  /** SendCommand refuses the instance (no SSM agent, not managed, wrong tag). */
  | { kind: 'unreachable' };

export interface SentCommand {
  commandId: string;
  instanceId: string;
  parameters: Record<string, string[]>;
  /** OutputS3BucketName of the SendCommand. */
  bucket?: string;
  result?: Promise<CommandResult>;
}

export interface FakeSsmOptions {
  instances: Record<string, InstanceBehaviour>;
  /** Where the agent writes the command's full output, as the document's OutputS3BucketName asks. */
  s3?: S3Client;
  runner?: ShellCommandRunner;
}

/**
 * SSM Run Command behind an aws-sdk-client-mock stub, with its documented behaviour: SendCommand
 * registers the command, GetCommandInvocation answers InvocationDoesNotExist until the invocation is
 * registered, ListCommands shows the command Pending meanwhile, stdout is cut at 24,000 characters
 * (stderr at 8,000) and the whole output goes to S3 under `<prefix>/<commandId>/<instance>/awsrunShellScript/<step>/`.
 * Its agent runs the real diagnostics script on this machine with exactly the parameters that were sent.
 */
export class FakeSsm {
  readonly commands: SentCommand[] = [];
  /** GetCommandInvocation calls per instance. */
  readonly polls = new Map<string, number>();
  /** InvocationDoesNotExist answers given, per instance. */
  readonly missingAnswers = new Map<string, number>();
  readonly #options: FakeSsmOptions;
  readonly #runner: ShellCommandRunner;

  constructor(ssm: AwsClientStub<SSMClient>, options: FakeSsmOptions) {
    this.#options = options;
    this.#runner = options.runner ?? new ShellCommandRunner();
    ssm.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => this.#send(input));
    ssm
      .on(GetCommandInvocationCommand)
      .callsFake((input: GetCommandInvocationCommandInput) => this.#invocation(input));
    ssm.on(ListCommandsCommand).callsFake((input: ListCommandsCommandInput) => ({
      Commands: this.commands
        .filter((c) => c.commandId === input.CommandId)
        .map((c) => ({ CommandId: c.commandId, Status: 'Pending', InstanceIds: [c.instanceId] })),
    }));
  }

  #behaviour(instanceId: string): InstanceBehaviour {
    const behaviour = this.#options.instances[instanceId];
    if (!behaviour) throw new WorkflowTestSetupError(`FakeSsm: no behaviour for ${instanceId}`);
    return behaviour;
  }

  #send(input: SendCommandCommandInput) {
    const instanceId = input.InstanceIds?.[0] ?? '';
    if (this.#behaviour(instanceId).kind === 'unreachable') {
      throw new InvalidInstanceId({
        message: `Instances [[${instanceId}]] not in a valid state for account 123456789012`,
        $metadata: { httpStatusCode: 400 },
      });
    }
    const commandId = randomUUID();
    const parameters = (input.Parameters ?? {}) as Record<string, string[]>;
    const command: SentCommand = { commandId, instanceId, parameters };
    if (input.OutputS3BucketName) command.bucket = input.OutputS3BucketName;
    if (this.#behaviour(instanceId).kind === 'runs-script') {
      command.result = this.#runAgent(command, input);
      // An unawaited rejection would be reported apart from the test that caused it.
      command.result.catch(() => undefined);
    }
    this.commands.push(command);
    return { Command: { CommandId: commandId, Status: 'Pending', InstanceIds: [instanceId] } };
  }

  /** What the SSM agent does: exports each parameter as an environment variable and runs the script. */
  async #runAgent(command: SentCommand, input: SendCommandCommandInput): Promise<CommandResult> {
    const values = Object.fromEntries(
      Object.entries(command.parameters).map(([name, value]) => [name, value[0] ?? '']),
    );
    if (
      values[DIAGNOSTICS_DOCUMENT.interpolationCheckParameter] !==
      DIAGNOSTICS_DOCUMENT.interpolationCheckValue
    ) {
      throw new WorkflowTestSetupError('FakeSsm: the document requires interpolationCheck=ENV_VAR');
    }
    const gw = Object.fromEntries(Object.entries(values).filter(([name]) => name.startsWith('GW_')));
    const result = await this.#runner.runDiagnostics({
      host: 'local',
      checks: (gw.GW_CHECKS ?? '').split(','),
      params: gw,
      timeoutSeconds: Number(values[DIAGNOSTICS_DOCUMENT.executionTimeoutParameter] ?? 60),
    });
    if (this.#options.s3 && input.OutputS3BucketName) {
      const prefix = `${input.OutputS3KeyPrefix ?? COMMAND_OUTPUT_PREFIX.replace(/\/$/, '')}/${command.commandId}/${command.instanceId}/awsrunShellScript/${DIAGNOSTICS_DOCUMENT.stepName}`;
      for (const [stream, body] of [
        ['stdout', result.stdout],
        ['stderr', result.stderr],
      ] as const) {
        // The agent uploads a stream only when the script wrote to it.
        if (body === '') continue;
        await this.#options.s3.send(
          new PutObjectCommand({ Bucket: input.OutputS3BucketName, Key: `${prefix}/${stream}`, Body: body }),
        );
      }
    }
    return result;
  }

  async #invocation(input: GetCommandInvocationCommandInput) {
    const instanceId = input.InstanceId ?? '';
    const poll = (this.polls.get(instanceId) ?? 0) + 1;
    this.polls.set(instanceId, poll);
    const command = this.commands.find((c) => c.commandId === input.CommandId && c.instanceId === instanceId);
    const behaviour = this.#behaviour(instanceId);
    const missingPolls = behaviour.kind === 'runs-script' ? (behaviour.missingPolls ?? 1) : 0;
    if (!command || poll <= missingPolls) {
      this.missingAnswers.set(instanceId, (this.missingAnswers.get(instanceId) ?? 0) + 1);
      throw new InvocationDoesNotExist({ message: '', $metadata: { httpStatusCode: 400 } });
    }
    if (!command.result) {
      return { CommandId: command.commandId, InstanceId: instanceId, Status: 'InProgress', ResponseCode: -1 };
    }
    const started = new Date();
    const result = await command.result;
    const status = result.exitCode === 0 ? 'Success' : 'Failed';
    return {
      CommandId: command.commandId,
      InstanceId: instanceId,
      DocumentName: 'Gatewatch-Diagnostics',
      Status: status,
      StatusDetails: status,
      ResponseCode: result.exitCode ?? -1,
      ExecutionStartDateTime: started.toISOString(),
      ExecutionEndDateTime: new Date(started.getTime() + result.durationMs).toISOString(),
      StandardOutputContent: result.stdout.slice(0, INLINE_STDOUT_LIMIT),
      StandardErrorContent: result.stderr.slice(0, INLINE_STDERR_LIMIT),
      StandardOutputUrl: `https://s3.us-east-1.amazonaws.com/${command.bucket}/${COMMAND_OUTPUT_PREFIX}${command.commandId}/${instanceId}/awsrunShellScript/${DIAGNOSTICS_DOCUMENT.stepName}/stdout`,
    };
  }
}

// ------------------------------------------------------------------------------------ SMTP

export interface Mailbox {
  port: number;
  messages: { to: string[]; raw: string }[];
  close(): Promise<void>;
}

/** A real SMTP server on 127.0.0.1 that keeps every message it accepts. */
export async function startMailbox(): Promise<Mailbox> {
  const messages: Mailbox['messages'] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        messages.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The unfolded `Subject:` header of a raw message. */
export function subjectOf(raw: string): string {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n(?=[ \t])/g, '');
  return /^subject: (.*)$/im.exec(head)?.[1] ?? '';
}
