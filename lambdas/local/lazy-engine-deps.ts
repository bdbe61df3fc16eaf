/**
 * Start-up time of the CLI (issue 9): aws-local-stepfunctions imports the AWS Lambda client, the AWS
 * credential providers and asl-validator (ajv) when it loads, although the local runner never calls
 * Lambda and skips validation. This resolve hook hands the engine lazy stand-ins (./lazy/) that load the
 * real module on first use, so behaviour is unchanged and a diagnosis does not pay for them. Only
 * imports made by aws-local-stepfunctions are redirected. Registered by bin/gatewatch.mjs before
 * anything else is loaded.
 */
import { registerHooks } from 'node:module';

const STAND_INS: Record<string, string> = {
  '@aws-sdk/client-lambda': new URL('./lazy/client-lambda.ts', import.meta.url).href,
  '@aws-sdk/credential-providers': new URL('./lazy/credential-providers.ts', import.meta.url).href,
  'asl-validator': new URL('./lazy/asl-validator.ts', import.meta.url).href,
};

export function registerLazyEngineDeps(): void {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const standIn = STAND_INS[specifier];
      if (standIn !== undefined && context.parentURL?.includes('/node_modules/aws-local-stepfunctions/')) {
        return { url: standIn, shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
}
