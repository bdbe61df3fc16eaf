/**
 * Runs the deployed diagnosis workflow definition on this machine with `aws-local-stepfunctions`: every
 * Task state is bound, by name, to the same step the Lambda runs. A Task without a local handler would
 * fall through to a real AWS call; {@link localTaskHandlers} refuses to build such a runner.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import {
  buildDiagnosisDefinition,
  DIAGNOSTICS_WAIT_STATE,
  substituteTaskArns,
  WORKFLOW_TASKS,
  type WorkflowTaskName,
} from '../../lib/workflow/definition.ts';
import type { WorkflowInput } from '../steps/contracts.ts';
import { STEPS, type StepDeps } from '../steps/index.ts';

/** The local handler table does not cover every Task of the definition. */
export class MissingLocalHandlerError extends Error {
  override name = 'MissingLocalHandlerError';
}

type LocalHandler = (input: unknown) => Promise<unknown>;
type EngineHandlers = NonNullable<
  NonNullable<Parameters<StateMachine['run']>[1]>['overrides']
>['taskResourceLocalHandlers'];

/** Local ARNs: never callable, so an unbound Task fails loudly instead of reaching AWS. */
export function localTaskArn(task: WorkflowTaskName): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:gatewatch-local-${task}`;
}

/** Every Task state name in a definition, nested Map and Parallel states included. */
export function taskStateNames(definition: unknown): string[] {
  const names: string[] = [];
  const visit = (states: unknown) => {
    for (const [name, state] of Object.entries((states ?? {}) as Record<string, Record<string, unknown>>)) {
      if (state.Type === 'Task') names.push(name);
      const processor = (state.ItemProcessor ?? state.Iterator) as { States?: unknown } | undefined;
      if (processor?.States) visit(processor.States);
      for (const branch of (state.Branches ?? []) as { States?: unknown }[]) visit(branch.States);
    }
  };
  visit((definition as { States?: unknown }).States);
  return names;
}

export function localTaskHandlers(
  definition: unknown,
  deps: StepDeps,
  overrides: Partial<Record<string, LocalHandler>> = {},
): Record<string, LocalHandler> {
  const handlers: Record<string, LocalHandler> = {};
  for (const name of taskStateNames(definition)) {
    const override = overrides[name];
    const task = WORKFLOW_TASKS[name as WorkflowTaskName];
    if (override) handlers[name] = override;
    else if (task) handlers[name] = (input) => STEPS[task.step](input, deps);
    else throw new MissingLocalHandlerError(`Task state "${name}" has no local handler`);
  }
  return handlers;
}

export interface RunOptions {
  /** The definition to run; by default the one the stack deploys. Tests pass the synthesized one. */
  definition?: Record<string, unknown>;
  /** Replace a Task's step (tests: a hung step, a failing host). */
  overrides?: Partial<Record<string, LocalHandler>>;
  /** Milliseconds for the poll Wait state; 0 locally, where results are ready at once. */
  pollWaitMs?: number;
  /** Validate the definition with asl-validator before running it. @default false (the tests validate it) */
  validate?: boolean;
  /** Receives the execution's event log (every state entered and exited, with its data): tests measure it. */
  onEvents?: (events: ReturnType<StateMachine['run']>['eventLogs']) => void;
}

/** The final state of one execution: the report reference and what each step left. */
export interface WorkflowOutcome {
  report?: {
    key: string;
    location: string;
    rootCause: string;
    upstream?: string;
    summary: string;
    degraded: boolean;
  };
  [key: string]: unknown;
}

export async function runDiagnosisWorkflow(
  input: WorkflowInput,
  deps: StepDeps,
  options: RunOptions = {},
): Promise<WorkflowOutcome> {
  const definition = options.definition ?? substituteTaskArns(buildDiagnosisDefinition(), localTaskArn);
  // The definition is validated by the test suite (test/workflow/definition.test.ts) with the engine's
  // own validator; validating it again on every run compiled asl-validator's JSON schemas with ajv,
  // a large share of a diagnosis's CPU (issue 9). `validate: true` restores it.
  const machine = new StateMachine(definition as never, {
    validationOptions: { noValidate: !(options.validate ?? false) },
  });
  // Step outputs are plain JSON by contract (contracts.ts); the engine's JSONValue type cannot see that.
  const handlers = localTaskHandlers(definition, deps, options.overrides) as unknown as EngineHandlers;
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      waitTimeOverrides: { [DIAGNOSTICS_WAIT_STATE]: options.pollWaitMs ?? 0 },
    },
  });
  options.onEvents?.(execution.eventLogs);
  return (await execution.result) as WorkflowOutcome;
}
