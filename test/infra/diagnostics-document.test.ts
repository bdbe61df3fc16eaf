import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildDiagnosticsEnvironment,
  DIAGNOSTICS_ENVIRONMENT,
  SCRIPT_RELATIVE_PATH,
} from '../../lambdas/core/diagnostics/params.ts';
import {
  DiagnosticsDocument,
  DiagnosticsDocumentPropsError,
  documentContent,
  quoteScript,
  upToPattern,
} from '../../lib/constructs/diagnostics-document.ts';
import { repoPath } from '../../lib/paths.ts';

const SCRIPT = readFileSync(repoPath(SCRIPT_RELATIVE_PATH), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'gw-document-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Content = {
  parameters: Record<string, { allowedPattern?: string; allowedValues?: string[]; default?: string }>;
  mainSteps: { inputs: { runCommand: string[] } }[];
};

/**
 * Runs a document's commands the way the SSM agent's aws:runShellScript does: written one per line to
 * `_script.sh` and started as `sh -c <file>`, with each ENV_VAR parameter as `SSM_<name>` and nothing
 * else from this process's environment.
 */
function runLikeTheAgent(content: Content, ssmEnv: Record<string, string>) {
  const file = join(work, `_script-${Math.random().toString(16).slice(2)}.sh`);
  writeFileSync(file, `${content.mainSteps[0]!.inputs.runCommand.join('\n')}\n`);
  chmodSync(file, 0o755);
  return spawnSync('sh', ['-c', file], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...ssmEnv },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const parameters = DIAGNOSTICS_ENVIRONMENT;

describe('the diagnostics Command document', () => {
  const content = documentContent(SCRIPT, parameters, 600) as Content;

  it('runs the real diagnostics script with the values SSM hands over as SSM_* variables', () => {
    const result = runLikeTheAgent(content, { SSM_interpolationCheck: 'ENV_VAR', SSM_GW_CHECKS: 'disk' });

    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^@@GATEWATCH [0-9a-f]+ START /);
    expect(result.stdout).toMatch(/@@GATEWATCH [0-9a-f]+ BEGIN name=disk\n/);
    expect(result.stdout).toMatch(/@@GATEWATCH [0-9a-f]+ DONE checks=1\n$/);
  });

  it('refuses to run on an agent that does not pass parameters as environment variables', () => {
    const result = runLikeTheAgent(content, { SSM_GW_CHECKS: 'disk' });

    expect(result.status).toBe(64);
    expect(result.stderr).toContain('update it to 3.3.2746.0 or later');
    expect(result.stdout).not.toContain('@@GATEWATCH');
  });

  it('hands values to the script as data: nothing in a value is evaluated, empty means unset', () => {
    const probe = [
      '#!/usr/bin/env bash',
      `printf 'name=%s\\n' "$GW_SERVICE_NAME"`,
      `printf 'ports=%s\\n' "\${GW_PORTS-unset}"`,
      `printf 'literal=%s\\n' '{{.State.Pid}} it'"'"'s'`,
    ].join('\n');
    const probeContent = documentContent(probe, parameters, 60) as Content;

    const result = runLikeTheAgent(probeContent, {
      SSM_interpolationCheck: 'ENV_VAR',
      SSM_GW_SERVICE_NAME: 'node $(touch pwned) `id`; rm -rf /',
      SSM_GW_PORTS: '',
    });

    expect(result.stdout).toBe(
      "name=node $(touch pwned) `id`; rm -rf /\nports=unset\nliteral={{.State.Pid}} it's\n",
    );
  });

  it('lets SSM accept every value the diagnosis sends and nothing the script would refuse', () => {
    const env = buildDiagnosticsEnvironment({
      checks: ['listen', 'service', 'nginx-test', 'disk'],
      nginxBin: '/usr/sbin/nginx',
      nginxConf: '/etc/nginx/nginx.conf',
      nginxPrefix: '/etc/nginx/',
      serviceKind: 'systemd',
      serviceName: 'shop-api.service',
      ports: [3000, 8080],
      sinceMinutes: 20,
    });
    for (const [name, value] of Object.entries(env)) {
      const declared = content.parameters[name]!;
      const accepted = declared.allowedPattern
        ? new RegExp(declared.allowedPattern).test(value)
        : (declared.allowedValues ?? []).includes(value);
      expect(accepted, `${name}=${value}`).toBe(true);
    }
    const checks = new RegExp(content.parameters.GW_CHECKS!.allowedPattern!);
    expect(checks.test('disk;reboot')).toBe(false);
    expect(checks.test('')).toBe(true); // the default: not set
  });

  it('declares each parameter’s default as a value its own constraint accepts', () => {
    for (const [name, declared] of Object.entries(content.parameters)) {
      const value = declared.default ?? '';
      const accepted = declared.allowedPattern
        ? new RegExp(declared.allowedPattern).test(value)
        : (declared.allowedValues ?? []).includes(value);
      expect(accepted, name).toBe(true);
    }
  });
});

describe('quoteScript', () => {
  it('yields one shell word that the shell turns back into the exact text, with no {{ or }} in it', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !s.includes('\0')),
        (text) => {
          const quoted = quoteScript(text);
          const echoed = spawnSync('sh', ['-c', `printf '%s' ${quoted}`], { encoding: 'utf8' }).stdout;
          return echoed === text && !quoted.includes('{{') && !quoted.includes('}}');
        },
      ),
      { numRuns: 60 },
    );
  });

  it.each(['{{{', '}}}}', "'{{'}}'", "a'b"])('round-trips %s', (text) => {
    expect(spawnSync('sh', ['-c', `printf '%s' ${quoteScript(text)}`], { encoding: 'utf8' }).stdout).toBe(
      text,
    );
  });
});

describe('upToPattern', () => {
  it.each([1, 9, 10, 60, 99, 100, 600, 3600])('matches exactly 1..%i', (max) => {
    const pattern = new RegExp(upToPattern(max));
    for (let n = 0; n <= max + 150; n++) expect(pattern.test(String(n)), String(n)).toBe(n >= 1 && n <= max);
    expect(pattern.test('01')).toBe(false);
  });
});

describe('DiagnosticsDocument props', () => {
  const scriptPath = join(work, 'script.sh');
  writeFileSync(scriptPath, '#!/usr/bin/env bash\necho ok\n');
  const build = (overrides: Partial<ConstructorParameters<typeof DiagnosticsDocument>[2]>) => {
    const stack = new Stack(new App(), 'Test');
    return new DiagnosticsDocument(stack, 'Document', {
      scriptPath,
      parameters,
      instanceTag: { key: 'gatewatch', value: 'enabled' },
      outputBucket: new s3.Bucket(stack, 'Bucket'),
      outputPrefix: 'ssm-output/',
      ...overrides,
    });
  };

  it.each([
    [
      'an unanchored pattern',
      { name: 'GW_X', description: 'x', allowedPattern: /[a-z]+/ },
      /must be anchored/,
    ],
    ['a pattern with flags', { name: 'GW_X', description: 'x', allowedPattern: /^[a-z]+$/i }, /no flags/],
    [
      'a pattern that admits a quote',
      { name: 'GW_X', description: 'x', allowedPattern: /^.+$/ },
      /accepts "'"|accepts "\\n"/,
    ],
    [
      'no constraint at all',
      { name: 'GW_X', description: 'x' },
      /exactly one of allowedPattern and allowedValues/,
    ],
    ['a name outside GW_*', { name: 'PATH', description: 'x', allowedValues: ['a'] }, /GW_<UPPER_CASE>/],
  ])('refuses %s', (_what, parameter, message) => {
    expect(() => build({ parameters: [parameter] })).toThrow(message);
    expect(() => build({ parameters: [parameter] })).toThrow(DiagnosticsDocumentPropsError);
  });

  it('refuses a script that would make the document larger than SSM allows', () => {
    const big = join(work, 'big.sh');
    writeFileSync(big, `#!/usr/bin/env bash\n${'echo padding-padding-padding\n'.repeat(3000)}`);
    expect(() => build({ scriptPath: big })).toThrow(/SSM allows 65536/);
  });
});
