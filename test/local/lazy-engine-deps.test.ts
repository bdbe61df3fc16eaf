// bin/gatewatch.mjs hands aws-local-stepfunctions lazy stand-ins for the AWS SDK and asl-validator. The
// engine must behave as before: validation, when asked for, still rejects a bad definition, and the
// real modules load on first use only. Run in a child Node, as the launcher runs them.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE24 = fileURLToPath(new URL('../../node_modules/node/bin/node', import.meta.url));

const SCRIPT = `
import { createRequire } from 'node:module';
const { registerLazyEngineDeps } = await import('./lambdas/local/lazy-engine-deps.ts');
registerLazyEngineDeps();
const require = createRequire(import.meta.url);
const loaded = (name) => Object.keys(require.cache).some((p) => p.includes('/node_modules/' + name + '/'));
const { StateMachine } = await import('aws-local-stepfunctions');
const out = { lambdaAtLoad: loaded('@aws-sdk/client-lambda'), validatorAtLoad: loaded('asl-validator') };
new StateMachine({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }, { validationOptions: { noValidate: true } });
out.validatorAfterNoValidate = loaded('asl-validator');
try { new StateMachine({ StartAt: 'Nowhere', States: {} }); out.invalid = 'accepted'; } catch (e) { out.invalid = String(e.message).slice(0, 60); }
const machine = new StateMachine({ StartAt: 'A', States: { A: { Type: 'Pass', Result: 7, End: true } } });
out.result = await machine.run({}).result;
out.validatorAfterValidate = loaded('asl-validator');
console.log(JSON.stringify(out));
`;

describe('lazy stand-ins for the workflow engine dependencies', () => {
  it('load the AWS SDK and the validator only when used, and validate as before', async () => {
    const { stdout } = await run(NODE24, ['--input-type=module', '-e', SCRIPT], { cwd: ROOT });
    const out = JSON.parse(stdout.trim().split('\n').pop()!);

    expect(out.lambdaAtLoad).toBe(false);
    expect(out.validatorAtLoad).toBe(false);
    expect(out.validatorAfterNoValidate).toBe(false);
    expect(out.invalid).toMatch(/invalid/);
    expect(out.result).toBe(7);
    expect(out.validatorAfterValidate).toBe(true);
  }, 60_000);
});
