/** Secrets of the local pipeline: environment variables named in the configuration. */
import type { SecretRef } from '../../core/notify-config.ts';
import type { SecretResolver } from '../../ports.ts';

/** A secret the configuration names cannot be read here. */
export class SecretUnavailableError extends Error {
  override name = 'SecretUnavailableError';
}

export class EnvSecretResolver implements SecretResolver {
  readonly #env: Record<string, string | undefined>;

  constructor(env: Record<string, string | undefined> = process.env) {
    this.#env = env;
  }

  async resolve(ref: SecretRef): Promise<string> {
    if (!('env' in ref)) {
      const name =
        'ssmParameter' in ref ? `SSM parameter ${ref.ssmParameter}` : `secret ${ref.secretsManager}`;
      throw new SecretUnavailableError(
        `${name} is read by the Notify Lambda in AWS; locally, name an environment variable: { env: NAME }`,
      );
    }
    const value = this.#env[ref.env];
    if (value === undefined || value === '')
      throw new SecretUnavailableError(
        `environment variable ${ref.env} is not set (the configuration names it)`,
      );
    return value;
  }
}
