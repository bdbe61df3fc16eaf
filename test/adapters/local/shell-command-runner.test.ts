import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  ScriptLaunchError,
  ShellCommandRunner,
  UnsupportedHostError,
} from '../../../lambdas/adapters/local/shell-command-runner.ts';
import { interpretHostFacts } from '../../../lambdas/core/diagnostics/host-facts.ts';
import {
  buildDiagnosticsEnvironment,
  type DiagnosticsParams,
  DiagnosticsParamsError,
} from '../../../lambdas/core/diagnostics/params.ts';
import { parseDiagnosticsOutput } from '../../../lambdas/core/diagnostics/parse.ts';
import type { DiagnosticsRequest } from '../../../lambdas/ports.ts';
import {
  alive,
  cleanupLasting,
  cleanupScenario,
  pathWithout,
  tempDir,
} from '../../fixtures/diagnostics/scenario.ts';

afterEach(() => cleanupScenario());
afterAll(() => cleanupLasting());

function request(params: DiagnosticsParams, overrides: Partial<DiagnosticsRequest> = {}): DiagnosticsRequest {
  const env = buildDiagnosticsEnvironment(params);
  return { host: 'local', checks: [...params.checks], params: env, timeoutSeconds: 30, ...overrides };
}

/** A stand-in script that proves whether it ran by writing a file. */
function markerScript(body: string): { scriptPath: string; marker: string } {
  const dir = tempDir();
  const marker = join(dir, 'ran');
  const scriptPath = join(dir, 'script.sh');
  writeFileSync(scriptPath, `touch ${marker}\n${body}\n`);
  return { scriptPath, marker };
}

describe('ShellCommandRunner', () => {
  it('runs the diagnostics script on this machine and returns its framed output', async () => {
    const result = await new ShellCommandRunner().runDiagnostics(request({ checks: ['memory', 'disk'] }));
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, stderr: '' });
    const facts = interpretHostFacts(parseDiagnosticsOutput(result.stdout));
    expect(facts.checks.map((c) => [c.name, c.status])).toEqual([
      ['memory', 'ok'],
      ['disk', 'ok'],
    ]);
    expect(facts.memory?.totalBytes).toBeGreaterThan(0);
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('refuses any host but "local" before running anything', async () => {
    const { scriptPath, marker } = markerScript('exit 0');
    const runner = new ShellCommandRunner({ scriptPath });
    await expect(
      runner.runDiagnostics(request({ checks: ['memory'] }, { host: 'i-0123456789abcdef0' })),
    ).rejects.toThrow(UnsupportedHostError);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ['an unknown variable', { GW_CHECKS: 'memory', LD_PRELOAD: '/tmp/evil.so' }, ['memory']],
    ['a command in a value', { GW_CHECKS: 'memory', GW_NGINX_CONF: '/etc/nginx/$(id).conf' }, ['memory']],
    ['an unknown check', { GW_CHECKS: 'memory' }, ['memory', 'reboot']],
  ])('refuses %s before running anything', async (_what, params, checks) => {
    const { scriptPath, marker } = markerScript('exit 0');
    const runner = new ShellCommandRunner({ scriptPath });
    await expect(runner.runDiagnostics({ host: 'local', checks, params, timeoutSeconds: 5 })).rejects.toThrow(
      DiagnosticsParamsError,
    );
    expect(existsSync(marker)).toBe(false);
  });

  it('hands the script only PATH, LANG, LC_ALL, HOME and the GW_* variables', async () => {
    process.env.GW_TEST_LEAK = 'from-the-parent';
    process.env.AWS_SECRET_ACCESS_KEY_FOR_TEST = 'do-not-pass';
    try {
      const { scriptPath } = markerScript('env');
      const result = await new ShellCommandRunner({ scriptPath, path: '/usr/bin:/bin' }).runDiagnostics(
        request({ checks: ['memory'], sinceMinutes: 30 }),
      );
      const names = result.stdout
        .split('\n')
        .filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l))
        .map((l) => l.slice(0, l.indexOf('=')))
        .filter((n) => !['PWD', 'SHLVL', '_'].includes(n)); // set by bash itself
      expect(names.sort()).toEqual(
        [
          'GW_CHECKS',
          'GW_CHECK_TIMEOUT',
          'GW_NGINX_BIN',
          'GW_OUTPUT_CAP',
          'GW_SINCE_MINUTES',
          'HOME',
          'LANG',
          'LC_ALL',
          'PATH',
        ].sort(),
      );
      expect(result.stdout).toContain('PATH=/usr/bin:/bin\n');
      expect(result.stdout).toContain('GW_SINCE_MINUTES=30\n');
    } finally {
      delete process.env.GW_TEST_LEAK;
      delete process.env.AWS_SECRET_ACCESS_KEY_FOR_TEST;
    }
  });

  it('returns a non-zero exit as a result, with what the script printed', async () => {
    const { scriptPath } = markerScript("echo partial; echo 'something went wrong' >&2; exit 3");
    const result = await new ShellCommandRunner({ scriptPath }).runDiagnostics(
      request({ checks: ['memory'] }),
    );
    expect(result).toMatchObject({
      exitCode: 3,
      stdout: 'partial\n',
      stderr: 'something went wrong\n',
      timedOut: false,
    });
  });

  it('stops the script at the overall timeout, ends every process it started, and keeps the output so far', async () => {
    const pidFile = join(tempDir(), 'df.pid');
    const path = pathWithout([], { df: `echo $$ > ${pidFile}; exec sleep 60` });
    const result = await new ShellCommandRunner({ path }).runDiagnostics(
      request({ checks: ['memory', 'disk', 'fds'], checkTimeoutSeconds: 60 }, { timeoutSeconds: 1 }),
    );
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    const run = parseDiagnosticsOutput(result.stdout, { expectedChecks: ['memory', 'disk', 'fds'] });
    expect(run.checks.map((c) => [c.name, c.status])).toEqual([
      ['memory', 'ok'],
      ['disk', 'error'],
      ['fds', 'error'],
    ]);
    expect(run.checks[1]!.output).toBe('#gw section blocks');
    // The hung `df` ran under `timeout` in a process group of its own: it is gone too.
    expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('keeps at most maxOutputBytes of stdout', async () => {
    const { scriptPath } = markerScript('head -c 100000 /dev/zero | tr "\\0" "x"');
    const result = await new ShellCommandRunner({ scriptPath, maxOutputBytes: 1000 }).runDiagnostics(
      request({ checks: ['memory'] }),
    );
    expect(result.stdout).toBe('x'.repeat(1000));
    expect(result.exitCode).toBe(0);
  });

  it('throws ScriptLaunchError when bash cannot be started', async () => {
    const runner = new ShellCommandRunner({ bash: '/nonexistent/bash' });
    await expect(runner.runDiagnostics(request({ checks: ['memory'] }))).rejects.toThrow(ScriptLaunchError);
  });
});
