/**
 * The configuration a gatewatch Lambda runs with: the `gatewatch.yaml` that `cdk deploy` validated,
 * shipped as `gatewatch-config.json` inside the function's code package (see `bundled-files.ts`) —
 * one mechanism for every Lambda and every size, the environment stays small. The handler source run
 * outside a bundle (tests) reads `GATEWATCH_CONFIG` instead. Validated again here: defaults are
 * idempotent and a hand-edited package is caught at the first invocation.
 */
import { BUNDLED_FILES, LAMBDA_ENV } from '../../../lib/workflow/lambda-wiring.ts';
import { type GatewatchConfig, validateConfig } from '../../core/config.ts';
import { bundledText } from './bundled-files.ts';
import { type Environment, LambdaEnvironmentError } from './environment.ts';

export function configFromEnvironment(env: Environment, delivery?: string): GatewatchConfig {
  const text = bundledText(BUNDLED_FILES.config, () => env[LAMBDA_ENV.config] || undefined, delivery);
  if (!text) {
    throw new LambdaEnvironmentError(
      `${LAMBDA_ENV.config} is not set: deploy the function with the gatewatch stack`,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new LambdaEnvironmentError(`the configuration is not JSON: redeploy the stack`, {
      cause: error,
    });
  }
  return validateConfig(document, LAMBDA_ENV.config);
}
