import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { COMMAND_OUTPUT_PREFIX, LAMBDA_ENV } from '../../../lib/workflow/lambda-wiring.ts';
import { SsmDiagnosticsDispatcher } from '../../adapters/aws/ssm-diagnostics-dispatcher.ts';
import type { DiagnosticsDispatcher } from '../../ports.ts';
import { type Environment, requireEnv } from './environment.ts';

/** SSM Run Command with gatewatch's document; full output in the report bucket's command-output prefix. */
export function dispatcherFromEnvironment(env: Environment): DiagnosticsDispatcher {
  return new SsmDiagnosticsDispatcher(new SSMClient({}), new S3Client({}), {
    documentName: requireEnv(env, LAMBDA_ENV.diagnosticsDocument),
    outputBucket: requireEnv(env, LAMBDA_ENV.reportBucket),
    outputPrefix: env[LAMBDA_ENV.commandOutputPrefix] ?? COMMAND_OUTPUT_PREFIX,
  });
}
