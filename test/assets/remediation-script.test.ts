// The actions script as shipped, run with bash. systemd and docker are not available on this machine:
// their command construction is tested here in dry-run mode (the script prints exactly what it would run),
// and against a stand-in `systemctl`/`docker` on PATH that records its argv.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseRemediationOutput,
  REMEDIATION_PATTERN_SOURCES,
  REMEDIATION_SCRIPT_PATTERN_VARIABLES,
  REMEDIATION_SCRIPT_RELATIVE_PATH,
} from '../../lambdas/core/remediation/params.ts';
import { repoPath } from '../../lib/paths.ts';

const SCRIPT = repoPath(REMEDIATION_SCRIPT_RELATIVE_PATH);
let bin: string;

function run(env: Record<string, string>) {
  const result = spawnSync('bash', ['--noprofile', '--norc', SCRIPT], {
    env: { PATH: `${bin}:/usr/bin:/bin`, ...env },
    encoding: 'utf8',
  });
  return { status: result.status, ...parseRemediationOutput(result.stdout), stdout: result.stdout };
}

beforeAll(async () => {
  bin = await mkdtemp(join(tmpdir(), 'gatewatch-remediate-bin-'));
  // Stand-ins that record their arguments, one per line.
  for (const tool of ['systemctl', 'docker']) {
    await writeFile(
      join(bin, tool),
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "${bin}/${tool}.argv"\necho "${tool} done"\n`,
    );
    await chmod(join(bin, tool), 0o755);
  }
});
afterAll(async () => {
  await rm(bin, { recursive: true, force: true });
});

describe('gatewatch-remediate.sh', () => {
  it('holds exactly the patterns of lambdas/core/remediation/params.ts', () => {
    const text = readFileSync(SCRIPT, 'utf8');
    for (const [variable, name] of Object.entries(REMEDIATION_SCRIPT_PATTERN_VARIABLES)) {
      const match = new RegExp(`^readonly ${variable}='([^']*)'$`, 'm').exec(text);
      expect(match?.[1], variable).toBe(REMEDIATION_PATTERN_SOURCES[name]);
    }
  });

  it('builds the systemd and docker commands (dry run prints, runs nothing)', () => {
    const systemd = run({
      GW_ACTION: 'restart-service',
      GW_SERVICE_KIND: 'systemd',
      GW_SERVICE_NAME: 'shop-api.service',
      GW_DRY_RUN: '1',
    });
    expect(systemd).toMatchObject({
      outcome: 'dry-run',
      commands: ['systemctl restart -- shop-api.service'],
    });
    expect(existsSync(join(bin, 'systemctl.argv'))).toBe(false);
    const docker = run({
      GW_ACTION: 'restart-service',
      GW_SERVICE_KIND: 'docker',
      GW_SERVICE_NAME: 'shop',
      GW_DRY_RUN: '1',
    });
    expect(docker).toMatchObject({ outcome: 'dry-run', commands: ['docker restart shop'] });
  });

  it('passes the service name as one argument after the subcommand', async () => {
    expect(
      run({ GW_ACTION: 'restart-service', GW_SERVICE_KIND: 'systemd', GW_SERVICE_NAME: 'shop@1.service' }),
    ).toMatchObject({ outcome: 'ok', exitCode: 0 });
    expect((await readFile(join(bin, 'systemctl.argv'), 'utf8')).split('\n')).toEqual([
      'restart',
      '--',
      'shop@1.service',
      '',
    ]);
    expect(
      run({ GW_ACTION: 'restart-service', GW_SERVICE_KIND: 'docker', GW_SERVICE_NAME: 'shop' }).output,
    ).toBe('docker done');
    expect((await readFile(join(bin, 'docker.argv'), 'utf8')).split('\n')).toEqual(['restart', 'shop', '']);
  });

  it('refuses hostile values before anything runs (canary)', async () => {
    const canary = join(bin, 'CANARY');
    const hostile = [
      `x;touch ${canary}`,
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `a\ntouch ${canary}`,
      '-x',
    ];
    for (const name of hostile) {
      const result = run({ GW_ACTION: 'restart-service', GW_SERVICE_KIND: 'docker', GW_SERVICE_NAME: name });
      expect(result.outcome, name).toBe('refused');
      expect(result.commands).toEqual([]);
    }
    expect(run({ GW_ACTION: `reload-nginx;touch ${canary}` }).outcome).toBe('refused');
    expect(run({ GW_ACTION: 'reload-nginx', GW_NGINX_CONF: `/etc/nginx/$(touch ${canary})` }).outcome).toBe(
      'refused',
    );
    expect(run({ GW_ACTION: 'restart-service', GW_SERVICE_KIND: 'sh', GW_SERVICE_NAME: 'x' }).outcome).toBe(
      'refused',
    );
    expect(existsSync(canary)).toBe(false);
  });

  it('never reloads when nginx -t fails, and reloads when it passes', async () => {
    // A stand-in nginx that records each call and whose -t fails or passes on demand.
    const nginx = join(bin, 'nginx-standin');
    await writeFile(
      nginx,
      `#!/bin/sh\necho "$*" >> "${bin}/nginx.calls"\ncase "$*" in *-t*) exit $(cat "${bin}/nginx.t") ;; esac\n`,
    );
    await chmod(nginx, 0o755);
    await writeFile(join(bin, 'nginx.t'), '1');
    const refused = run({
      GW_ACTION: 'reload-nginx',
      GW_NGINX_BIN: nginx,
      GW_NGINX_CONF: '/etc/nginx/nginx.conf',
    });
    expect(refused).toMatchObject({ outcome: 'refused', exitCode: 1 });
    expect(refused.reason).toContain('nginx -t failed');
    expect(await readFile(join(bin, 'nginx.calls'), 'utf8')).toBe('-c /etc/nginx/nginx.conf -t\n');
    await writeFile(join(bin, 'nginx.t'), '0');
    await rm(join(bin, 'nginx.calls'));
    expect(
      run({ GW_ACTION: 'reload-nginx', GW_NGINX_BIN: nginx, GW_NGINX_CONF: '/etc/nginx/nginx.conf' }).outcome,
    ).toBe('ok');
    expect(await readFile(join(bin, 'nginx.calls'), 'utf8')).toBe(
      '-c /etc/nginx/nginx.conf -t\n-c /etc/nginx/nginx.conf -s reload\n',
    );
  });
});
