/**
 * Secrets of the Notify Lambda: SSM Parameter Store SecureStrings and Secrets Manager secrets, read at run
 * time by name or ARN (the template holds only the names; the role may read exactly those). Values are
 * kept for the life of the execution environment, so a burst of notifications reads each secret once.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { SecretRef } from '../../core/notify-config.ts';
import type { SecretResolver } from '../../ports.ts';

/** The secret could not be read (missing, no permission, not a string). `cause` holds the SDK error. */
export class SecretReadError extends Error {
  override name = 'SecretReadError';
}

export class AwsSecretResolver implements SecretResolver {
  readonly #ssm: SSMClient;
  readonly #secrets: SecretsManagerClient;
  readonly #cache = new Map<string, Promise<string>>();

  constructor(ssm: SSMClient, secrets: SecretsManagerClient) {
    this.#ssm = ssm;
    this.#secrets = secrets;
  }

  resolve(ref: SecretRef): Promise<string> {
    const key = JSON.stringify(ref);
    let value = this.#cache.get(key);
    if (value === undefined) {
      value = this.#read(ref);
      // A failed read is not cached: the next attempt (the retry) reads again.
      value.catch(() => this.#cache.delete(key));
      this.#cache.set(key, value);
    }
    return value;
  }

  async #read(ref: SecretRef): Promise<string> {
    if ('env' in ref)
      throw new SecretReadError(
        `{ env: ${ref.env} } is for the local pipeline; in AWS name an SSM parameter or a Secrets Manager secret`,
      );
    try {
      if ('ssmParameter' in ref) {
        const out = await this.#ssm.send(
          new GetParameterCommand({ Name: ref.ssmParameter, WithDecryption: true }),
        );
        const text = out.Parameter?.Value;
        if (text === undefined || text === '')
          throw new SecretReadError(`SSM parameter ${ref.ssmParameter} is empty`);
        return text;
      }
      const out = await this.#secrets.send(new GetSecretValueCommand({ SecretId: ref.secretsManager }));
      if (out.SecretString === undefined || out.SecretString === '')
        throw new SecretReadError(`secret ${ref.secretsManager} has no string value`);
      return out.SecretString;
    } catch (error) {
      if (error instanceof SecretReadError) throw error;
      const what =
        'ssmParameter' in ref ? `SSM parameter ${ref.ssmParameter}` : `secret ${ref.secretsManager}`;
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new SecretReadError(`could not read ${what}: ${detail}`, { cause: error });
    }
  }
}
