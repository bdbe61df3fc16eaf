import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import {
  localTaskArn,
  localTaskHandlers,
  MissingLocalHandlerError,
  taskStateNames,
} from '../../lambdas/local/workflow-runner.ts';
import type { StepDeps } from '../../lambdas/steps/deps.ts';
import {
  buildDiagnosisDefinition,
  DIAGNOSTICS_MAX_POLLS,
  substituteTaskArns,
  WORKFLOW_TASK_NAMES,
} from '../../lib/workflow/definition.ts';

type State = Record<string, unknown>;

function allStates(definition: Record<string, unknown>): [string, State][] {
  const out: [string, State][] = [];
  const visit = (states: Record<string, State>) => {
    for (const [name, state] of Object.entries(states)) {
      out.push([name, state]);
      const processor = state.ItemProcessor as { States: Record<string, State> } | undefined;
      if (processor) visit(processor.States);
    }
  };
  visit(definition.States as Record<string, State>);
  return out;
}

describe('the diagnosis workflow definition', () => {
  const definition = buildDiagnosisDefinition();
  const tasks = allStates(definition).filter(([, s]) => s.Type === 'Task');

  // The local runner skips validation at run time (issue 9: it cost a large share of a diagnosis's CPU);
  // this is where the definition it runs is validated, by the same engine's validator.
  it('passes the ASL validator of the engine that runs it locally', () => {
    const local = substituteTaskArns(buildDiagnosisDefinition(), localTaskArn);
    expect(() => new StateMachine(local as never)).not.toThrow();
    expect(() => new StateMachine({ StartAt: 'Nowhere', States: {} } as never)).toThrow(/invalid/);
  });

  it('has exactly the Tasks the step table binds', () => {
    expect(tasks.map(([name]) => name).sort()).toEqual([...WORKFLOW_TASK_NAMES].sort());
    expect(taskStateNames(definition).sort()).toEqual([...WORKFLOW_TASK_NAMES].sort());
  });

  it('gives every Task an explicit timeout, a retry policy for throttling and a catch-all', () => {
    for (const [name, state] of tasks) {
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      const retry = state.Retry as { ErrorEquals: string[] }[];
      expect(
        retry.flatMap((r) => r.ErrorEquals),
        name,
      ).toContain('Lambda.TooManyRequestsException');
      const catches = state.Catch as { ErrorEquals: string[] }[];
      expect(
        catches.flatMap((c) => c.ErrorEquals),
        name,
      ).toContain('States.ALL');
    }
  });

  it('bounds the diagnostics poll loop', () => {
    const choice = allStates(definition).find(([name]) => name === 'DiagnosticsFinished')?.[1];
    expect(JSON.stringify(choice)).toContain(`"NumericLessThan":${DIAGNOSTICS_MAX_POLLS}`);
    expect((choice as { Default: string }).Default).toBe('HostTimedOut');
  });

  it('leaves no placeholder once Task ARNs are substituted', () => {
    const text = JSON.stringify(substituteTaskArns(definition, localTaskArn));
    expect(text).not.toContain('${');
    for (const name of WORKFLOW_TASK_NAMES) expect(text).toContain(localTaskArn(name));
  });

  it('refuses to run a definition with a Task that has no local handler', () => {
    const extra = structuredClone(definition) as { States: Record<string, State> };
    extra.States.Rogue = { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:1:function:x', End: true };
    expect(() => localTaskHandlers(extra, {} as StepDeps)).toThrow(MissingLocalHandlerError);
  });
});
