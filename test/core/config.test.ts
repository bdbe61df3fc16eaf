import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lambdas/core/config.ts';

function problemsOf(yaml: string): string[] {
  try {
    parseConfig(yaml, 'test.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

const minimal = `
targets:
  - name: shop
    nginx:
      errorLog: /var/log/nginx/error.log
`;

describe('gatewatch.yaml validation', () => {
  it('accepts the minimal form and fills the documented defaults', () => {
    const config = parseConfig(minimal);
    expect(config.targets[0]?.upstreams).toEqual([]);
    expect(config.targets[0]?.alarm).toEqual({
      failedProbes: { datapoints: 2, evaluationPeriods: 3 },
      errorRate: { percent: 5, minutes: 5 },
    });
    expect(config.reports.dir).toBe('./incidents');
    expect(config.notify.email).toEqual([]);
  });

  it('accepts JSON as well as YAML', () => {
    const config = parseConfig(
      JSON.stringify({ targets: [{ name: 'api', nginx: { errorLog: '/tmp/e.log' } }] }),
    );
    expect(config.targets[0]?.name).toBe('api');
  });

  it.each([
    [
      'a target name with capitals',
      minimal.replace('name: shop', 'name: Shop'),
      'targets[0].name: must be lower-case letters, digits and dashes',
    ],
    [
      'a missing error log',
      'targets:\n  - name: shop\n    nginx: {}\n',
      'targets[0].nginx.errorLog: is required',
    ],
    [
      'a relative nginx.conf path',
      `${minimal}      conf: nginx.conf\n`,
      'targets[0].nginx.conf: must be an absolute path without spaces, quotes or ./.. segments, e.g. /etc/nginx/nginx.conf',
    ],
    [
      'a prefix that climbs out with ..',
      `${minimal}      prefix: /etc/nginx/../../root\n`,
      'targets[0].nginx.prefix: must be an absolute path without spaces, quotes or ./.. segments',
    ],
    [
      'an upstream address without a port',
      `${minimal}    upstreams:\n      - address: 127.0.0.1\n`,
      'targets[0].upstreams[0].address: must be host:port or unix:/path',
    ],
    [
      'a service hint with shell characters',
      `${minimal}    upstreams:\n      - address: 127.0.0.1:3000\n        service: { systemd: "app; rm -rf /" }\n`,
      'targets[0].upstreams[0].service',
    ],
    [
      'an unknown field (a typo)',
      minimal.replace('errorLog', 'errorlog: /x\n      errorLog'),
      'targets[0].nginx.errorlog: unknown field; remove it or check its spelling',
    ],
    [
      'M of N with M > N',
      `${minimal}    alarm:\n      failedProbes: { datapoints: 4, evaluationPeriods: 3 }\n`,
      'targets[0].alarm.failedProbes: datapoints must not exceed evaluationPeriods (M of N)',
    ],
    [
      'an e-mail address that is not one',
      `${minimal}notify:\n  email: [oncall]\n`,
      'notify.email[0]: must be an e-mail address like oncall@example.com',
    ],
    [
      'two targets with one name',
      `${minimal}  - name: shop\n    nginx:\n      errorLog: /x.log\n`,
      'targets[1].name: duplicates targets[0].name',
    ],
    ['no targets at all', 'targets: []\n', 'targets: add at least one target'],
    ['a document that is a list', '- a\n- b\n', '(top level): must be a mapping'],
    ['YAML that does not parse', 'targets: [\n', 'not valid YAML'],
  ])('rejects %s, naming the field and the fix', (_case, yaml, expected) => {
    const problems = problemsOf(yaml);
    expect(
      problems.some((p) => p.includes(expected)),
      `problems were:\n${problems.join('\n')}`,
    ).toBe(true);
  });

  it('reports every problem at once, not only the first', () => {
    const problems = problemsOf('targets:\n  - name: BAD\n    nginx: { conf: relative }\n');
    expect(problems.length).toBeGreaterThanOrEqual(3);
  });
});
