// Stands in for @aws-sdk/credential-providers inside aws-local-stepfunctions (see ../lazy-engine-deps.ts).
import { createRequire } from 'node:module';

type Real = typeof import('@aws-sdk/credential-providers');
const require = createRequire(import.meta.url);

export function fromCognitoIdentityPool(
  ...args: Parameters<Real['fromCognitoIdentityPool']>
): ReturnType<Real['fromCognitoIdentityPool']> {
  return (require('@aws-sdk/credential-providers') as Real).fromCognitoIdentityPool(...args);
}
