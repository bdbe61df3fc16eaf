/** Reading the Lambda's environment: every missing variable is a deployment defect, named as such. */

/** The Lambda was deployed without a variable it needs (or with an unusable value). */
export class LambdaEnvironmentError extends Error {
  override name = 'LambdaEnvironmentError';
}

export type Environment = Readonly<Record<string, string | undefined>>;

export function requireEnv(env: Environment, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new LambdaEnvironmentError(`${name} is not set: deploy the function with the gatewatch stack`);
  }
  return value;
}
