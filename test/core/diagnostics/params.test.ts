import { describe, expect, it } from 'vitest';
import {
  buildDiagnosticsEnvironment,
  DIAGNOSTIC_CHECKS,
  DIAGNOSTICS_ENVIRONMENT,
  type DiagnosticsParams,
  DiagnosticsParamsError,
  ENVIRONMENT_NAMES,
  PATTERN_SOURCES,
  PATTERNS,
  parseDiagnosticsEnvironment,
  worstCaseSeconds,
} from '../../../lambdas/core/diagnostics/params.ts';
import { HOSTILE_TEXT } from '../../fixtures/diagnostics/hostile-values.ts';

const base: DiagnosticsParams = { checks: ['listen'] };

function errorOf(fn: () => unknown): DiagnosticsParamsError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DiagnosticsParamsError) return error;
    throw error;
  }
  throw new Error('expected a DiagnosticsParamsError');
}

describe('buildDiagnosticsEnvironment', () => {
  it('writes the defaults out and leaves absent optional parameters unset', () => {
    expect(buildDiagnosticsEnvironment(base)).toEqual({
      GW_CHECKS: 'listen',
      GW_NGINX_BIN: 'nginx',
      GW_SINCE_MINUTES: '15',
      GW_CHECK_TIMEOUT: '10',
      GW_OUTPUT_CAP: '65536',
    });
  });

  it('turns every parameter into its GW_* variable, without duplicate checks or ports', () => {
    const env = buildDiagnosticsEnvironment({
      checks: ['listen', 'service', 'listen'],
      nginxBin: '/usr/sbin/nginx',
      nginxConf: '/etc/nginx/nginx.conf',
      nginxPrefix: '/etc/nginx/',
      serviceKind: 'process',
      serviceName: 'node server.js --port=3000',
      ports: [3000, 8080, 3000],
      sinceMinutes: 30,
      checkTimeoutSeconds: 5,
      outputCapBytes: 2048,
    });
    expect(env).toEqual({
      GW_CHECKS: 'listen,service',
      GW_NGINX_BIN: '/usr/sbin/nginx',
      GW_NGINX_CONF: '/etc/nginx/nginx.conf',
      GW_NGINX_PREFIX: '/etc/nginx/',
      GW_SERVICE_KIND: 'process',
      GW_SERVICE_NAME: 'node server.js --port=3000',
      GW_PORTS: '3000,8080',
      GW_SINCE_MINUTES: '30',
      GW_CHECK_TIMEOUT: '5',
      GW_OUTPUT_CAP: '2048',
    });
  });

  const textFields: { field: keyof DiagnosticsParams; params: (v: string) => DiagnosticsParams }[] = [
    { field: 'nginxBin', params: (v) => ({ ...base, nginxBin: v }) },
    { field: 'nginxBin', params: (v) => ({ ...base, nginxBin: `/usr/sbin/${v}` }) },
    { field: 'nginxConf', params: (v) => ({ ...base, nginxConf: `/etc/nginx/${v}` }) },
    { field: 'nginxPrefix', params: (v) => ({ ...base, nginxPrefix: `/srv/${v}` }) },
    { field: 'serviceName', params: (v) => ({ ...base, serviceKind: 'systemd', serviceName: v }) },
    { field: 'serviceName', params: (v) => ({ ...base, serviceKind: 'docker', serviceName: v }) },
    { field: 'serviceName', params: (v) => ({ ...base, serviceKind: 'pm2', serviceName: v }) },
  ];
  for (const { field, params } of textFields) {
    for (const value of HOSTILE_TEXT) {
      it(`rejects ${JSON.stringify(value)} in ${field} (${JSON.stringify(params(value)[field])})`, () => {
        const error = errorOf(() => buildDiagnosticsEnvironment(params(value)));
        expect(error.field).toBe(field);
        expect(error.variable).toBe(ENVIRONMENT_NAMES[field]);
        expect(error.message).toContain(ENVIRONMENT_NAMES[field]);
      });
    }
  }

  // The process fragment is only ever a literal pgrep match string: `..` and `/` in it carry no path meaning.
  for (const value of HOSTILE_TEXT.filter((v) => v !== '../../etc/passwd')) {
    it(`rejects ${JSON.stringify(value)} as a process command-line fragment`, () => {
      const error = errorOf(() =>
        buildDiagnosticsEnvironment({ ...base, serviceKind: 'process', serviceName: value }),
      );
      expect(error.field).toBe('serviceName');
    });
  }

  it('accepts ../ inside a process fragment, where it is matched literally and never opened as a path', () => {
    expect(
      buildDiagnosticsEnvironment({ ...base, serviceKind: 'process', serviceName: 'node ../app/server.js' })
        .GW_SERVICE_NAME,
    ).toBe('node ../app/server.js');
  });

  it.each([
    ['/etc/nginx/../../bin/sh'],
    ['/etc/./nginx.conf'],
    ['/etc//nginx.conf'],
    ['etc/nginx.conf'],
    ['/etc/nginx/..'],
    [`/${'a'.repeat(4096)}`],
  ])('rejects the path %s for nginxConf', (path) => {
    expect(errorOf(() => buildDiagnosticsEnvironment({ ...base, nginxConf: path })).field).toBe('nginxConf');
  });

  it('accepts hidden directories and a trailing slash on the prefix', () => {
    const env = buildDiagnosticsEnvironment({
      ...base,
      nginxConf: '/home/app/.nginx/nginx.conf',
      nginxPrefix: '/opt/nginx/',
    });
    expect(env.GW_NGINX_CONF).toBe('/home/app/.nginx/nginx.conf');
    expect(env.GW_NGINX_PREFIX).toBe('/opt/nginx/');
  });

  it.each([
    ['checks', { checks: [] }],
    ['checks.0', { checks: ['listen;id'] }],
    ['ports.0', { checks: ['listen'], ports: [0] }],
    ['ports.0', { checks: ['listen'], ports: [65536] }],
    ['ports.0', { checks: ['listen'], ports: [3.5] }],
    ['sinceMinutes', { checks: ['listen'], sinceMinutes: 10_081 }],
    ['checkTimeoutSeconds', { checks: ['listen'], checkTimeoutSeconds: 0 }],
    ['checkTimeoutSeconds', { checks: ['listen'], checkTimeoutSeconds: 61 }],
    ['outputCapBytes', { checks: ['listen'], outputCapBytes: 1023 }],
    ['outputCapBytes', { checks: ['listen'], outputCapBytes: 1_048_577 }],
    ['serviceName', { checks: ['listen'], serviceKind: 'systemd' }],
    ['serviceKind', { checks: ['listen'], serviceName: 'shop.service' }],
    ['serviceName', { checks: ['listen'], serviceKind: 'docker', serviceName: '-shop' }],
  ])('names %s when it is out of range or incomplete', (field, params) => {
    expect(errorOf(() => buildDiagnosticsEnvironment(params as DiagnosticsParams)).field).toBe(field);
  });

  it('names an unknown extra field instead of passing it on', () => {
    const params = { ...base, LD_PRELOAD: '/tmp/x.so' } as DiagnosticsParams;
    expect(errorOf(() => buildDiagnosticsEnvironment(params)).message).toMatch(/LD_PRELOAD/);
  });
});

describe('patterns', () => {
  it('accepts exactly the numbers of each range, without leading zeros', () => {
    const ranges: [RegExp, number, number][] = [
      [PATTERNS.sinceMinutes, 1, 10_080],
      [PATTERNS.checkTimeout, 1, 60],
      [PATTERNS.outputCap, 1024, 1_048_576],
    ];
    for (const [pattern, min, max] of ranges) {
      const wrong: number[] = [];
      for (let n = 0; n <= max + 10_000; n++) {
        if (pattern.test(String(n)) !== (n >= min && n <= max)) wrong.push(n);
      }
      expect(wrong, pattern.source).toEqual([]);
      expect(pattern.test(`0${min}`)).toBe(false);
    }
  });

  it('accepts every port from 1 to 65535 and nothing else', () => {
    const wrong: number[] = [];
    for (let n = 0; n <= 70_000; n++)
      if (PATTERNS.ports.test(String(n)) !== (n >= 1 && n <= 65_535)) wrong.push(n);
    expect(wrong).toEqual([]);
    expect(PATTERNS.ports.test('80,443,3000')).toBe(true);
    expect(PATTERNS.ports.test(Array.from({ length: 65 }, (_, i) => i + 1).join(','))).toBe(false);
    expect(PATTERNS.ports.test('80,')).toBe(false);
  });

  it('has no pattern that accepts a quote, $, ;, a backtick or a newline', () => {
    for (const [name, pattern] of Object.entries(PATTERNS)) {
      for (const bad of ["'", '"', '$(id)', ';', '`', '\n', 'a\nb', '\\']) {
        expect(pattern.test(bad), `${name} accepts ${JSON.stringify(bad)}`).toBe(false);
        expect(pattern.test(`/usr/${bad}`), `${name} accepts /usr/${JSON.stringify(bad)}`).toBe(false);
      }
    }
  });

  it('writes every pattern anchored, without flags, backslashes or non-capturing groups (POSIX ERE reads it alike)', () => {
    for (const [name, source] of Object.entries(PATTERN_SOURCES)) {
      expect(source, name).toMatch(/^\^.*\$$/);
      expect(source, name).not.toMatch(/\\|\(\?/);
    }
  });

  it('accepts every check name in a comma list and nothing else', () => {
    expect(PATTERNS.checks.test(DIAGNOSTIC_CHECKS.join(','))).toBe(true);
    expect(PATTERNS.checks.test('listen,,disk')).toBe(false);
    expect(PATTERNS.checks.test('listen,../x')).toBe(false);
  });

  it('describes one SSM parameter per GW_* variable', () => {
    expect(DIAGNOSTICS_ENVIRONMENT.map((v) => v.name).sort()).toEqual(
      Object.values(ENVIRONMENT_NAMES).sort(),
    );
    for (const variable of DIAGNOSTICS_ENVIRONMENT) {
      expect(
        (variable.allowedPattern === undefined) !== (variable.allowedValues === undefined),
        variable.name,
      ).toBe(true);
    }
  });
});

describe('parseDiagnosticsEnvironment', () => {
  it('reads back what buildDiagnosticsEnvironment wrote', () => {
    const params: DiagnosticsParams = {
      checks: ['service', 'fds'],
      nginxConf: '/etc/nginx/nginx.conf',
      serviceKind: 'pm2',
      serviceName: 'shop-api',
      ports: [3000, 3001],
      sinceMinutes: 60,
    };
    const env = buildDiagnosticsEnvironment(params);
    expect(buildDiagnosticsEnvironment(parseDiagnosticsEnvironment(env))).toEqual(env);
  });

  it('refuses a variable that is not one of the script parameters', () => {
    const error = errorOf(() =>
      parseDiagnosticsEnvironment({ GW_CHECKS: 'listen', LD_PRELOAD: '/tmp/evil.so' }),
    );
    expect(error.field).toBe('LD_PRELOAD');
  });

  it('refuses text where a number goes', () => {
    expect(errorOf(() => parseDiagnosticsEnvironment({ GW_CHECKS: 'listen', GW_PORTS: '80;id' })).field).toBe(
      'ports',
    );
  });

  it('takes the check list from the request over GW_CHECKS', () => {
    expect(parseDiagnosticsEnvironment({ GW_CHECKS: 'listen' }, ['disk']).checks).toEqual(['disk']);
    expect(errorOf(() => parseDiagnosticsEnvironment({}, ['disk', 'reboot'])).field).toBe('checks');
  });
});

describe('worstCaseSeconds', () => {
  it('allows every check its limit and the grace before KILL', () => {
    expect(worstCaseSeconds({ checks: ['listen', 'disk', 'listen'], checkTimeoutSeconds: 5 })).toBe(
      2 * (5 + 2) + 5,
    );
  });
});
