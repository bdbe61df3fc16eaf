import { SFNClient } from '@aws-sdk/client-sfn';
import { LAMBDA_ENV } from '../../../lib/workflow/lambda-wiring.ts';
import { StepFunctionsWorkflowStarter } from '../../adapters/aws/sfn-workflow-starter.ts';
import type { WorkflowStarter } from '../../ports.ts';
import { type Environment, requireEnv } from './environment.ts';

/** The stack's diagnosis state machine. */
export function workflowStarterFromEnvironment(env: Environment): WorkflowStarter {
  return new StepFunctionsWorkflowStarter(new SFNClient({}), {
    stateMachineArn: requireEnv(env, LAMBDA_ENV.stateMachineArn),
  });
}
