/**
 * The configuration a gatewatch Lambda runs with: the `gatewatch.yaml` that `cdk deploy` validated,
 * delivered as compact JSON in `GATEWATCH_CONFIG`, or — when it is too large for Lambda's 4 KB of
 * environment — compiled into the bundle by esbuild `define` of that same `process.env.GATEWATCH_CONFIG`
 * expression (see `lib/constructs/gatewatch-function.ts`). Validated again here: defaults are
 * idempotent and a hand-edited variable is caught at the first invocation.
 */
import { LAMBDA_ENV } from '../../../lib/workflow/lambda-wiring.ts';
import { type GatewatchConfig, validateConfig } from '../../core/config.ts';
import { type Environment, LambdaEnvironmentError } from './environment.ts';

// Spelled out (not `process.env[name]`): esbuild's `define` replaces exactly this expression.
const BUNDLED_CONFIG: string | undefined = process.env.GATEWATCH_CONFIG;

export function configFromEnvironment(
  env: Environment,
  bundled: string | undefined = BUNDLED_CONFIG,
): GatewatchConfig {
  const text = env[LAMBDA_ENV.config] || bundled;
  if (!text) {
    throw new LambdaEnvironmentError(
      `${LAMBDA_ENV.config} is not set: deploy the function with the gatewatch stack`,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new LambdaEnvironmentError(`${LAMBDA_ENV.config} is not JSON: redeploy the stack`, {
      cause: error,
    });
  }
  return validateConfig(document, LAMBDA_ENV.config);
}
