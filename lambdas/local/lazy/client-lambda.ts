// Stands in for @aws-sdk/client-lambda inside aws-local-stepfunctions when the CLI runs (see
// ../lazy-engine-deps.ts): the engine imports the Lambda client at load time, but the local runner binds
// every Task to a local handler, so the real module (and the AWS SDK core under it) is loaded only if a
// client is ever constructed.
import { createRequire } from 'node:module';

type Real = typeof import('@aws-sdk/client-lambda');
const require = createRequire(import.meta.url);
let real: Real | undefined;
const load = (): Real => {
  real ??= require('@aws-sdk/client-lambda') as Real;
  return real;
};

export class LambdaClient {
  constructor(...args: ConstructorParameters<Real['LambdaClient']>) {
    // biome-ignore lint/correctness/noConstructorReturn: the real client is the instance
    return new (load().LambdaClient)(...args);
  }
}

export class InvokeCommand {
  constructor(...args: ConstructorParameters<Real['InvokeCommand']>) {
    // biome-ignore lint/correctness/noConstructorReturn: the real command is the instance
    return new (load().InvokeCommand)(...args);
  }
}
