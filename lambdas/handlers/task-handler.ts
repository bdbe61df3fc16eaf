/**
 * The one shape of every workflow Task Lambda: build the AWS adapters its Task is wired to (once per
 * cold start), run the step the definition names with the event as input, return its output. Typed
 * errors propagate: the state machine's Retry/Catch match their names.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { WORKFLOW_TASKS, type WorkflowTaskName } from '../../lib/workflow/definition.ts';
import {
  type CapabilitiesOf,
  TASK_CAPABILITIES,
  type TaskCapability,
} from '../../lib/workflow/lambda-wiring.ts';
import type { DiagnosticsDispatcher, LogSource, Notifier, ReportStore } from '../ports.ts';
import { STEPS, type StepDeps } from '../steps/index.ts';
import { createObservability, observed } from './observability.ts';
import { awsLogLocations, awsNginxHost } from './wiring/aws-targets.ts';
import { configFromEnvironment } from './wiring/config.ts';
import type { Environment } from './wiring/environment.ts';

/** A step used a port its Lambda is not wired to (and has no permission for). */
export class PortNotWiredError extends Error {
  override name = 'PortNotWiredError';
}

interface PortOf {
  logs: LogSource;
  store: ReportStore;
  'diagnostics-send': DiagnosticsDispatcher;
  'diagnostics-collect': DiagnosticsDispatcher;
  notifier: Notifier;
  network: NonNullable<StepDeps['network']>;
  approvals: NonNullable<StepDeps['remediation']>;
  remediation: NonNullable<StepDeps['remediation']>;
}

/** Exactly one adapter factory per capability the Task is wired to. */
export type PortFactories<T extends WorkflowTaskName> = {
  [C in CapabilitiesOf<T>]: (env: Environment) => PortOf[C];
};

const DEPS_KEY: Record<
  TaskCapability,
  'logs' | 'store' | 'dispatcher' | 'notifier' | 'network' | 'remediation'
> = {
  logs: 'logs',
  store: 'store',
  'diagnostics-send': 'dispatcher',
  'diagnostics-collect': 'dispatcher',
  notifier: 'notifier',
  network: 'network',
  approvals: 'remediation',
  remediation: 'remediation',
};

/** Builds the deps of one Task's Lambda; ports it is not wired to fail loudly if a step reaches them. */
export function awsStepDeps<T extends WorkflowTaskName>(
  task: T,
  factories: PortFactories<T>,
  env: Environment,
): StepDeps {
  const deps: StepDeps = {
    config: configFromEnvironment(env),
    logs: notWired<LogSource>('logs', task),
    dispatcher: notWired<DiagnosticsDispatcher>('dispatcher', task),
    store: notWired<ReportStore>('store', task),
    notifier: notWired<Notifier>('notifier', task),
    clock: { now: () => new Date() },
    logLocations: awsLogLocations,
    nginxHost: awsNginxHost,
    // EC2 hosts run on UTC unless told otherwise; a target on another zone sets nginx.utcOffset.
    defaultUtcOffsetMinutes: 0,
    world: 'aws',
  };
  const wired = deps as unknown as Record<string, unknown>;
  for (const capability of TASK_CAPABILITIES[task] as readonly CapabilitiesOf<T>[]) {
    wired[DEPS_KEY[capability]] = (factories[capability] as (env: Environment) => unknown)(env);
  }
  return deps;
}

function notWired<T extends object>(port: string, task: WorkflowTaskName): T {
  return new Proxy({} as T, {
    get(_target, property) {
      // Not a thenable: awaiting the proxy itself must not look like a call.
      if (property === 'then' || typeof property === 'symbol') return undefined;
      return () => {
        throw new PortNotWiredError(
          `${task} used ${port}.${String(property)}, but its Lambda is not wired to ${port}: add it to TASK_CAPABILITIES`,
        );
      };
    },
  });
}

/** The Lambda handler of one workflow Task. */
export function taskHandler<T extends WorkflowTaskName>(task: T, factories: PortFactories<T>) {
  const step = WORKFLOW_TASKS[task].step;
  const observability = createObservability(`gatewatch-${step}`);
  let deps: StepDeps | undefined;
  return observed(observability, async (event: unknown, context): Promise<unknown> => {
    deps ??= awsStepDeps(task, factories, process.env);
    try {
      const output = await STEPS[step](event, {
        ...deps,
        ...(typeof context?.getRemainingTimeInMillis === 'function'
          ? { timeLeftMs: () => context.getRemainingTimeInMillis() }
          : {}),
      });
      observability.metrics.addMetric('TaskSucceeded', MetricUnit.Count, 1);
      return output;
    } catch (error) {
      observability.metrics.addMetric('TaskFailed', MetricUnit.Count, 1);
      observability.logger.error(`${task} failed`, error as Error);
      throw error;
    }
  });
}
