/**
 * `npx cdk synth` end to end, as CI and a user run it: the real CLI, the real esbuild bundling of every
 * Lambda, the cdk-nag packs as validation plugins, no AWS credentials and no network.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/paths.ts';
import { BUNDLED_FILES, LAMBDA_ENV } from '../../lib/workflow/lambda-wiring.ts';

/** This process's environment without anything that could let the CLI reach AWS. */
function offlineEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^AWS_|^CDK_DEFAULT_/.test(name)) env[name] = value;
  }
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_CONFIG_FILE: '/dev/null',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

type Template = {
  Resources: Record<
    string,
    { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }
  >;
};

describe('npx cdk synth', () => {
  const out = mkdtempSync(join(tmpdir(), 'gw-cdk-out-'));
  let result: ReturnType<typeof spawnSync>;
  let template: Template;

  beforeAll(() => {
    result = spawnSync('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', out], {
      cwd: REPO_ROOT,
      env: offlineEnvironment(),
      encoding: 'utf8',
      timeout: 300_000,
    });
    const file = join(out, 'Gatewatch.template.json');
    if (existsSync(file)) template = JSON.parse(readFileSync(file, 'utf8')) as Template;
  }, 320_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('synthesizes the stack from gatewatch.example.yaml without credentials, lookups or Docker', () => {
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(Object.values(template.Resources).map((r) => r.Type)).toEqual(
      expect.arrayContaining([
        'AWS::StepFunctions::StateMachine',
        'AWS::SSM::Document',
        'AWS::S3::Bucket',
        'AWS::SNS::Topic',
      ]),
    );
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { missing?: unknown[] };
    expect(manifest.missing ?? []).toEqual([]);
  });

  it('bundles every Lambda into one ESM file that loads without missing modules', () => {
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    // Seven workflow tasks, the starter, the prober and the log watcher.
    expect(functions).toHaveLength(10);
    for (const fn of functions) {
      const assetPath = fn.Metadata?.['aws:asset:path'];
      expect(assetPath).toBeDefined();
      const bundle = join(out, assetPath!, 'index.mjs');
      expect(existsSync(bundle), bundle).toBe(true);
      const loaded = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(bundle)}); if (typeof m.handler !== 'function') process.exit(3);`,
        ],
        {
          env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1' },
          encoding: 'utf8',
        },
      );
      expect(loaded.status, `${bundle}: ${loaded.stderr}`).toBe(0);
      // The configuration travels in the package, not in the environment (4 KB) nor on esbuild's command line.
      const shipped = JSON.parse(readFileSync(join(out, assetPath!, BUNDLED_FILES.config), 'utf8'));
      expect(shipped.targets.map((t: { name: string }) => t.name)).toEqual(['shop']);
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables).not.toHaveProperty(LAMBDA_ENV.config);
    }
  });
});
