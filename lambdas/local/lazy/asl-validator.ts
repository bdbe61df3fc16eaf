// Stands in for asl-validator inside aws-local-stepfunctions (see ../lazy-engine-deps.ts): the local
// runner skips validation (the tests validate the definition), so ajv and the ASL schemas load only if
// a run asks for validation.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export default function aslValidator(...args: unknown[]): unknown {
  const real = require('asl-validator') as { default?: (...a: unknown[]) => unknown } & ((
    ...a: unknown[]
  ) => unknown);
  return (real.default ?? real)(...args);
}
