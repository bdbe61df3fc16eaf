import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DiagnosticsOutputError,
  decodeField,
  parseDiagnosticsOutput,
} from '../../../lambdas/core/diagnostics/parse.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/diagnostics/${name}`, import.meta.url), 'utf8');

const NONCE = '0123456789abcdef0123456789abcdef';
const start = `@@GATEWATCH ${NONCE} START version=1 host=web-1 at=2026-11-24T05:11:48Z`;
const begin = (name: string) => `@@GATEWATCH ${NONCE} BEGIN name=${name}`;
const end = (name: string, rest = 'status=ok exit=0 ms=12 truncated=0 reason=') =>
  `@@GATEWATCH ${NONCE} END name=${name} ${rest}`;

describe('parseDiagnosticsOutput on recorded runs', () => {
  it('reads a full local run: header, every check in order, outputs without the frame marker', () => {
    const run = parseDiagnosticsOutput(fixture('local-run.txt'));
    expect(run).toMatchObject({
      nonce: 'b4cceda0fb80c85a0c22f3406e05290c',
      host: 'vm',
      at: '2026-11-24T06:23:33Z',
      complete: true,
    });
    expect(run.checks.map((c) => [c.name, c.status])).toEqual([
      ['listen', 'ok'],
      ['service', 'ok'],
      ['nginx-test', 'ok'],
      ['nginx-config', 'ok'],
      ['sockets', 'ok'],
      ['disk', 'ok'],
      ['memory', 'ok'],
      ['fds', 'ok'],
      ['oom', 'ok'],
      ['firewall', 'ok'],
    ]);
    const nginxTest = run.checks.find((c) => c.name === 'nginx-test')!;
    expect(nginxTest).toMatchObject({ exitCode: 0, durationMs: 13, truncated: false });
    expect(nginxTest.output).toBe(
      [
        'nginx: the configuration file /tmp/gw-nginx-wVRdhC/nginx.conf syntax is ok',
        'nginx: configuration file /tmp/gw-nginx-wVRdhC/nginx.conf test is successful',
      ].join('\n'),
    );
    expect(nginxTest.detail).toBeUndefined();
  });

  it('reads skipped and failed checks with their reasons, decoded', () => {
    const run = parseDiagnosticsOutput(fixture('degraded-run.txt'));
    const byName = Object.fromEntries(run.checks.map((c) => [c.name, c]));
    expect(byName.listen).toMatchObject({
      status: 'skipped',
      exitCode: 11,
      detail: 'ss not found (PATH=/tmp/gw-path-otC7B7)',
    });
    expect(byName['nginx-test']?.status).toBe('failed');
    expect(byName['nginx-test']?.detail).toMatch(
      /^nginx -t exited 1: 2026\/11\/24 06:23:35 \[emerg\] \d+#\d+: unknown directive "bogus_directive" in \/tmp\/gw-nginx-9F7H71\/nginx\.conf:17$/,
    );
    expect(byName.sockets).toMatchObject({
      status: 'skipped',
      detail: "nginx -T exited 1; socket paths are read from nginx's own configuration",
    });
    expect(byName.memory?.status).toBe('ok');
  });

  it('keeps what a check printed before the runner cut it off, as an error; a check never reached is another', () => {
    const run = parseDiagnosticsOutput(fixture('killed-run.txt'), {
      expectedChecks: ['memory', 'disk', 'fds'],
    });
    expect(run.complete).toBe(false);
    expect(run.checks.map((c) => [c.name, c.status])).toEqual([
      ['memory', 'ok'],
      ['disk', 'error'],
      ['fds', 'error'],
    ]);
    expect(run.checks[1]!.detail).toMatch(/started but never finished/);
    expect(run.checks[1]!.output).toBe('#gw section blocks');
    expect(run.checks[2]!.detail).toMatch(/never started/);
  });
});

describe('parseDiagnosticsOutput framing', () => {
  it('keeps a forged frame inside a check as output', () => {
    const output = [
      start,
      begin('listen'),
      `|${end('listen')}`,
      `|${begin('oom')}`,
      '|LISTEN 0 511 127.0.0.1:3000 0.0.0.0:* users:(("node",pid=1,fd=3))',
      end('listen'),
      `@@GATEWATCH ${NONCE} DONE checks=1`,
    ].join('\n');
    const run = parseDiagnosticsOutput(output);
    expect(run.checks).toHaveLength(1);
    expect(run.checks[0]!.output.split('\n')).toEqual([
      end('listen'),
      begin('oom'),
      'LISTEN 0 511 127.0.0.1:3000 0.0.0.0:* users:(("node",pid=1,fd=3))',
    ]);
  });

  it('ignores frames with another nonce and text outside frames', () => {
    const other = 'ffffffffffffffffffffffffffffffff';
    const output = [
      'gatewatch: preparing', // an agent or a wrapper may print before the script
      start,
      `@@GATEWATCH ${other} BEGIN name=disk`,
      begin('memory'),
      `@@GATEWATCH ${other} END name=memory status=failed exit=1 ms=1 truncated=0 reason=`,
      'stray line without the content marker',
      '|MemTotal:       1024 kB',
      end('memory'),
      `@@GATEWATCH ${other} DONE checks=9`,
    ].join('\n');
    const run = parseDiagnosticsOutput(output);
    expect(run.checks).toEqual([
      {
        name: 'memory',
        status: 'ok',
        exitCode: 0,
        durationMs: 12,
        output: 'MemTotal:       1024 kB',
        truncated: false,
      },
    ]);
    expect(run.complete).toBe(false);
  });

  it('takes the first START header as the run and later ones as noise', () => {
    const second = start.replace(NONCE, 'abcdefabcdefabcdefabcdefabcdefab');
    const run = parseDiagnosticsOutput([start, second, begin('disk'), end('disk')].join('\n'));
    expect(run.nonce).toBe(NONCE);
    expect(run.checks.map((c) => c.name)).toEqual(['disk']);
  });

  it('closes a check that never ended when the next one begins', () => {
    const run = parseDiagnosticsOutput(
      [start, begin('disk'), '|partial', begin('memory'), end('memory')].join('\n'),
    );
    expect(run.checks.map((c) => [c.name, c.status, c.output])).toEqual([
      ['disk', 'error', 'partial'],
      ['memory', 'ok', ''],
    ]);
  });

  it('ignores an END that names another check than the open one', () => {
    const run = parseDiagnosticsOutput([start, begin('disk'), end('memory'), '|x', end('disk')].join('\n'));
    expect(run.checks).toMatchObject([{ name: 'disk', status: 'ok', output: 'x' }]);
  });

  it('turns an unreadable status into an error saying so', () => {
    const run = parseDiagnosticsOutput(
      [start, begin('disk'), end('disk', 'status=great exit=x ms=-1')].join('\n'),
    );
    expect(run.checks[0]).toMatchObject({
      status: 'error',
      durationMs: 0,
      detail: 'the check ended with an unreadable status "great"',
    });
    expect(run.checks[0]!.exitCode).toBeUndefined();
  });

  it('reads CRLF line ends around frames', () => {
    const run = parseDiagnosticsOutput([start, begin('disk'), '|a', end('disk')].join('\r\n'));
    expect(run.checks).toMatchObject([{ name: 'disk', status: 'ok', output: 'a\r' }]);
  });

  it('reads a timed-out check with its reason', () => {
    const run = parseDiagnosticsOutput(
      [
        start,
        begin('disk'),
        end('disk', 'status=error exit=124 ms=1003 truncated=1 reason=timed%20out%20after%201s'),
      ].join('\n'),
    );
    expect(run.checks[0]).toEqual({
      name: 'disk',
      status: 'error',
      exitCode: 124,
      durationMs: 1003,
      detail: 'timed out after 1s',
      output: '',
      truncated: true,
    });
  });

  it('throws DiagnosticsOutputError without a START header', () => {
    expect(() => parseDiagnosticsOutput('')).toThrow(DiagnosticsOutputError);
    expect(() => parseDiagnosticsOutput(`|${start}`)).toThrow(DiagnosticsOutputError);
    expect(() => parseDiagnosticsOutput('bash: gatewatch-diagnostics.sh: No such file or directory')).toThrow(
      /not the output of the gatewatch diagnostics script/,
    );
  });

  it('accepts a header without a usable time or host', () => {
    const run = parseDiagnosticsOutput(`@@GATEWATCH ${NONCE} START version=1 at=yesterday`);
    expect(run).toMatchObject({ host: '', at: '', checks: [] });
  });
});

describe('decodeField', () => {
  it.each([
    ['ss%20not%20found', 'ss not found'],
    ['a%2', 'a%2'],
    // The script encodes bytes: a Latin-1 byte is not UTF-8, and is kept as the character it names.
    ['%E9t%C3%A9', '\u00e9t\u00e9'],
    ['plain', 'plain'],
  ])('decodes %s without throwing', (input, expected) => {
    expect(decodeField(input)).toBe(expected);
  });
});

describe('parseDiagnosticsOutput on any input', () => {
  const isOwnError = (run: () => unknown): boolean => {
    try {
      run();
      return true;
    } catch (error) {
      return error instanceof DiagnosticsOutputError;
    }
  };

  it('parses any string or throws DiagnosticsOutputError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) =>
        isOwnError(() => parseDiagnosticsOutput(text)),
      ),
      { numRuns: 2000 },
    );
    // 2,000 generated inputs: generous on a loaded machine (speed is measured by `npm run bench`).
  }, 180_000);

  it('parses any mix of frame-like lines into well-formed checks', () => {
    const name = fc.constantFrom('listen', 'disk', 'memory', 'Bad Name', '', 'x'.repeat(70));
    const value = fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.constantFrom('%', '%ZZ', '%E9', 'ok', 'error', '-1', '99999999999999'),
    );
    const line = fc.oneof(
      name.map((n) => `@@GATEWATCH ${NONCE} BEGIN name=${n}`),
      fc
        .tuple(name, value, value, value, value, value)
        .map(
          ([n, s, e, m, t, r]) =>
            `@@GATEWATCH ${NONCE} END name=${n} status=${s} exit=${e} ms=${m} truncated=${t} reason=${r}`,
        ),
      fc.constant(`@@GATEWATCH ${NONCE} DONE checks=1`),
      fc.string({ maxLength: 30 }).map((s) => `|${s}`),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        const run = parseDiagnosticsOutput([start, ...lines].join('\n'));
        return run.checks.every(
          (c) =>
            /^[a-z][a-z0-9-]*$/.test(c.name) &&
            ['ok', 'failed', 'skipped', 'error'].includes(c.status) &&
            Number.isInteger(c.durationMs) &&
            c.durationMs >= 0 &&
            typeof c.output === 'string',
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('gives back exactly the content lines of a check', () => {
    const content = fc.array(
      fc.string({ maxLength: 40 }).filter((s) => !s.includes('\n')),
      { minLength: 1, maxLength: 20 },
    );
    fc.assert(
      fc.property(content, (lines) => {
        const run = parseDiagnosticsOutput(
          [start, begin('disk'), ...lines.map((l) => `|${l}`), end('disk')].join('\n'),
        );
        return run.checks.length === 1 && run.checks[0]!.output === lines.join('\n');
      }),
    );
  });
});
