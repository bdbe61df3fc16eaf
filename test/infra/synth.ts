/**
 * Synthesizes the gatewatch stack in-process, as `cdk synth` does (same cdk.json context, same example
 * configuration), for the infrastructure tests and for the workflow tests that must run exactly the
 * state machine definition that is deployed.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { GatewatchStack, type GatewatchStackProps } from '../../lib/gatewatch-stack.ts';
import { loadConfigFile } from '../../lib/load-config.ts';
import { repoPath } from '../../lib/paths.ts';
import { WORKFLOW_TASK_NAMES, WORKFLOW_TASKS, type WorkflowTaskName } from '../../lib/workflow/definition.ts';

/** The configuration `npx cdk synth` uses by default. */
export const EXAMPLE_CONFIG_PATH = repoPath('gatewatch.example.yaml');

export function exampleConfig(): GatewatchConfig {
  return loadConfigFile(EXAMPLE_CONFIG_PATH);
}

/** cdk.json's context: the feature flags and gatewatch settings `cdk synth` runs with. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(repoPath('cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export interface SynthOptions {
  /** Run esbuild for every Lambda (slow); otherwise assets are placeholders. @default false */
  bundle?: boolean;
  config?: GatewatchConfig;
  props?: Partial<Omit<GatewatchStackProps, 'config'>>;
  /** More app context (e.g. `@aws-cdk/core:stackResourceLimit`). */
  context?: Record<string, unknown>;
}

/** The app and stack, not yet synthesized: add to them, then synthesize. */
export function buildStack(options: SynthOptions = {}): { app: App; stack: GatewatchStack } {
  const app = new App({
    context: {
      ...cdkJsonContext(),
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
  const stack = new GatewatchStack(app, 'Gatewatch', {
    config: options.config ?? exampleConfig(),
    ...options.props,
  });
  return { app, stack };
}

export function synthesizeStack(options: SynthOptions = {}): {
  app: App;
  stack: GatewatchStack;
  template: Template;
} {
  const { app, stack } = buildStack(options);
  return { app, stack, template: Template.fromStack(stack) };
}

/** A Lambda ARN for a Task, shaped like the real ones, for runners that bind Tasks by ARN. */
export function taskFunctionArn(task: WorkflowTaskName): string {
  return `arn:aws:lambda:us-east-1:123456789012:function:gatewatch-${WORKFLOW_TASKS[task].step}`;
}

/** Thrown when the template does not hold the state machine in the expected shape. */
export class SynthesizedDefinitionError extends Error {
  override name = 'SynthesizedDefinitionError';
}

/**
 * The state machine definition exactly as synthesized into the template (`DefinitionString`, joined if
 * CloudFormation would join it), with its `${<Task>FunctionArn}` placeholders left in, and the
 * substitution map: placeholder → a Lambda ARN for that Task ({@link taskFunctionArn}). Each
 * substitution is checked to point at the Lambda the stack built for that Task.
 */
export function synthesizedDefinition(): {
  definition: Record<string, unknown>;
  substitutions: Record<string, string>;
} {
  const { template } = synthesizeStack();
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  if (machines.length !== 1)
    throw new SynthesizedDefinitionError(`expected one state machine, found ${machines.length}`);
  const properties = (machines[0] as { Properties: Record<string, unknown> }).Properties;
  const definition = JSON.parse(joinDefinition(properties.DefinitionString)) as Record<string, unknown>;

  const functions = template.findResources('AWS::Lambda::Function');
  const raw = (properties.DefinitionSubstitutions ?? {}) as Record<string, unknown>;
  const substitutions: Record<string, string> = {};
  for (const [placeholder, value] of Object.entries(raw)) {
    const task = WORKFLOW_TASK_NAMES.find((t) => `${t}FunctionArn` === placeholder);
    const logicalId = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
    const fn =
      logicalId === undefined
        ? undefined
        : (functions[logicalId] as { Properties?: { Description?: string } });
    if (!task || fn?.Properties?.Description !== `gatewatch workflow task ${task}`) {
      throw new SynthesizedDefinitionError(`substitution ${placeholder} does not point at its Task's Lambda`);
    }
    substitutions[placeholder] = taskFunctionArn(task);
  }
  return { definition, substitutions };
}

function joinDefinition(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] } | undefined)?.['Fn::Join'];
  if (join?.[1].every((part) => typeof part === 'string')) return join[1].join(join[0]);
  throw new SynthesizedDefinitionError(
    'DefinitionString holds CloudFormation intrinsics beyond the substitutions',
  );
}
