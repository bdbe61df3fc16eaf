import { describe, expect, it } from 'vitest';
import {
  appServerSettings,
  phpFpmRequestTimeout,
  serverOf,
} from '../../../lambdas/core/lint/app-settings.ts';

describe('application server settings from a command line', () => {
  it.each([
    [['/usr/bin/node', 'server.js'], 'node'],
    [['node22', '--enable-source-maps', 'dist/main.js'], 'node'],
    [['/srv/venv/bin/python3', '/srv/venv/bin/gunicorn', 'app:app', '-b', '127.0.0.1:8000'], 'gunicorn'],
    [['gunicorn:', 'master', '[app:app]'], 'gunicorn'],
    [['/usr/bin/python3', '-m', 'uvicorn', 'main:app'], 'uvicorn'],
    [['uwsgi', '--ini', '/etc/uwsgi/app.ini'], 'uwsgi'],
    [['php-fpm:', 'master', 'process', '(/etc/php/8.2/fpm/php-fpm.conf)'], 'php-fpm'],
    [['/usr/sbin/nginx', '-g', 'daemon off;'], undefined],
    [['python3', 'app.py'], undefined],
  ])('recognises %j as %s', (argv, server) => {
    expect(serverOf(argv)).toBe(server);
  });

  it("takes gunicorn's --timeout and --keep-alive from the command line, in both spellings", () => {
    const settings = appServerSettings(['gunicorn', 'app:app', '--timeout', '120', '--keep-alive=75']);
    expect(settings?.requestTimeout).toEqual({
      seconds: 120,
      source: '--timeout 120 (command line)',
      isDefault: false,
    });
    expect(settings?.keepAlive).toEqual({
      seconds: 75,
      source: '--keep-alive 75 (command line)',
      isDefault: false,
    });
  });

  it("falls back to the server's documented defaults and says so", () => {
    const gunicorn = appServerSettings(['gunicorn', 'app:app']);
    expect(gunicorn?.keepAlive).toMatchObject({ seconds: 2, isDefault: true });
    expect(gunicorn?.requestTimeout).toMatchObject({ seconds: 30, isDefault: true });
    const node = appServerSettings(['node', 'server.js']);
    expect(node?.keepAlive).toMatchObject({ seconds: 5, isDefault: true });
    expect(node?.keepAlive?.source).toContain("node's default keep-alive timeout");
    expect(appServerSettings(['uvicorn', 'main:app', '--timeout-keep-alive', '30'])?.keepAlive?.seconds).toBe(
      30,
    );
  });

  it('ignores a flag without a usable number instead of inventing one', () => {
    const settings = appServerSettings(['gunicorn', 'app:app', '--timeout', 'soon', '--keep-alive']);
    expect(settings?.requestTimeout).toMatchObject({ seconds: 30, isDefault: true });
    expect(settings?.keepAlive).toMatchObject({ seconds: 2, isDefault: true });
  });

  it("reads php-fpm's request_terminate_timeout with its unit, and 0 as off", () => {
    expect(
      phpFpmRequestTimeout('[www]\nrequest_terminate_timeout = 2m\n', '/etc/php/pool.d/www.conf'),
    ).toEqual({
      seconds: 120,
      source: 'request_terminate_timeout = 2m (/etc/php/pool.d/www.conf)',
      isDefault: false,
    });
    expect(phpFpmRequestTimeout('request_terminate_timeout = 0\n', 'www.conf')).toBeUndefined();
    expect(phpFpmRequestTimeout(';request_terminate_timeout = 30\n', 'www.conf')).toBeUndefined();
  });
});
