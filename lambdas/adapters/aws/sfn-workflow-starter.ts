/**
 * Starts the diagnosis state machine. The execution name is the idempotency key: Step Functions keeps
 * names unique per state machine for 90 days, so a re-delivered alarm event (same name) is answered with
 * `ExecutionAlreadyExists` — or, for a running execution with the identical input, with that execution —
 * and both mean the episode is already being diagnosed.
 */
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { WorkflowStart, WorkflowStarter, WorkflowStartOutcome } from '../../ports.ts';

/** Step Functions refused to start the execution for a reason other than its name being taken. */
export class WorkflowStartError extends Error {
  override name = 'WorkflowStartError';
}

export interface StepFunctionsWorkflowStarterOptions {
  stateMachineArn: string;
}

export class StepFunctionsWorkflowStarter implements WorkflowStarter {
  readonly #client: SFNClient;
  readonly #stateMachineArn: string;

  constructor(client: SFNClient, options: StepFunctionsWorkflowStarterOptions) {
    this.#client = client;
    this.#stateMachineArn = options.stateMachineArn;
  }

  async start(start: WorkflowStart): Promise<WorkflowStartOutcome> {
    try {
      const response = await this.#client.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name: start.name,
          input: JSON.stringify(start.input),
        }),
      );
      return { status: 'started', executionArn: response.executionArn ?? this.executionArn(start.name) };
    } catch (error) {
      if (
        error instanceof ExecutionAlreadyExists ||
        (error as { name?: string }).name === 'ExecutionAlreadyExists'
      ) {
        return { status: 'already-started', executionArn: this.executionArn(start.name) };
      }
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new WorkflowStartError(`could not start execution ${start.name}: ${detail}`, { cause: error });
    }
  }

  /** `arn:aws:states:…:stateMachine:Name` → `arn:aws:states:…:execution:Name:<execution>`. */
  executionArn(name: string): string {
    return `${this.#stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  }
}
