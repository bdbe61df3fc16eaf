import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { GATEWATCH_FIELDS, GATEWATCH_LOG_FORMAT } from '../../../lambdas/core/nginx/access-log.ts';

const ASSET = fileURLToPath(
  new URL('../../../lambdas/assets/nginx/gatewatch-log-format.conf', import.meta.url),
);
const NGINX = '/usr/sbin/nginx';

describe('the gatewatch log_format', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('ships as the same directive in the include file', () => {
    const directives = readFileSync(ASSET, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
    expect(directives).toEqual([GATEWATCH_LOG_FORMAT]);
  });

  it('starts with the gw1 marker and lists the fields in the order the parser reads them', () => {
    const format = /'(.*)'/.exec(GATEWATCH_LOG_FORMAT)![1]!;
    const fields = format.split('\\t');
    expect(fields[0]).toBe('gw1');
    expect(fields.slice(1).map((f) => f.replaceAll('"', '').replace(/^\$/, ''))).toEqual([
      ...GATEWATCH_FIELDS,
    ]);
  });

  it('is accepted by a real nginx (nginx -t) with a configuration that includes the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-logformat-'));
    dirs.push(dir);
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        `pid ${dir}/nginx.pid;`,
        `error_log ${dir}/error.log;`,
        'events {}',
        'http {',
        `  include ${ASSET};`,
        `  access_log ${dir}/access.log gatewatch;`,
        '  server { listen 127.0.0.1:1; }',
        '}',
        '',
      ].join('\n'),
    );
    const result = spawnSync(
      NGINX,
      ['-t', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
      {
        encoding: 'utf8',
      },
    );
    expect(result.error).toBeUndefined();
    expect(result.stderr).toContain('syntax is ok');
    expect(result.stderr).toContain('test is successful');
    expect(result.status).toBe(0);
  });

  it('is rejected by nginx when the file is broken, so the check above can fail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-logformat-'));
    dirs.push(dir);
    const broken = join(dir, 'broken.conf');
    writeFileSync(broken, GATEWATCH_LOG_FORMAT.replace('$upstream_status', '$upstream_statuz'));
    writeFileSync(
      join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid;\nevents {}\nhttp {\n  include ${broken};\n  access_log ${dir}/access.log gatewatch;\n}\n`,
    );
    const result = spawnSync(
      NGINX,
      ['-t', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
      {
        encoding: 'utf8',
      },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('upstream_statuz');
  });
});
