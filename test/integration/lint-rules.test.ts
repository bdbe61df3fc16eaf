// Each lint rule on real configurations: every fixture is checked and dumped by the real nginx
// (`nginx -T -p DIR -c FILE`), so a rule is tested on what nginx itself accepts and prints, with a
// configuration that must be flagged and one that must not.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appServerSettings } from '../../lambdas/core/lint/app-settings.ts';
import {
  findingsExplaining,
  type LintInput,
  type LintRuleId,
  lintExplanations,
  lintNginx,
} from '../../lambdas/core/lint/lint.ts';
import { parseNginxDump } from '../../lambdas/core/nginx/config.ts';

const work = mkdtempSync(join(tmpdir(), 'gatewatch-lint-rules-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let serial = 0;
/** The http-block snippet wrapped into a whole configuration, checked and dumped by the real nginx. */
function nginxDump(http: string): string {
  serial += 1;
  const dir = join(work, String(serial));
  const file = join(dir, 'nginx.conf');
  spawnSync('mkdir', ['-p', join(dir, 'logs')]);
  writeFileSync(
    file,
    `pid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\nevents {}\nhttp {\n  access_log off;\n${http}\n}\n`,
  );
  const run = spawnSync('nginx', ['-T', '-p', dir, '-c', file], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}

function rulesFor(http: string, extra: Omit<LintInput, 'config'> = {}): LintRuleId[] {
  return lintNginx({ config: parseNginxDump(nginxDump(http)), ...extra }).map((f) => f.rule);
}

const NODE_APP = { '127.0.0.1:3001': appServerSettings(['node', 'server.js'])! };
const GUNICORN_120 = { '127.0.0.1:3001': appServerSettings(['gunicorn', 'app:app', '--timeout', '120'])! };

const server = (body: string) => `  server {\n    listen 127.0.0.1:18080;\n${body}\n  }`;
const keepaliveUpstream = (extra = '') =>
  `  upstream app {\n    server 127.0.0.1:3001;\n    server 127.0.0.1:3002;\n    keepalive 8;\n${extra}  }`;
const http11 = '      proxy_http_version 1.1;\n      proxy_set_header Connection "";\n';

interface Case {
  rule: LintRuleId;
  flagged: string;
  clean: string;
  input?: Omit<LintInput, 'config'>;
}

const CASES: Case[] = [
  {
    rule: 'keepalive-race',
    flagged: `${keepaliveUpstream()}\n${server(`    location / {\n      proxy_pass http://app;\n${http11}    }`)}`,
    clean: `${keepaliveUpstream('    keepalive_timeout 4s;\n')}\n${server(`    location / {\n      proxy_pass http://app;\n${http11}    }`)}`,
    input: { apps: NODE_APP },
  },
  {
    rule: 'keepalive-ineffective',
    flagged: `${keepaliveUpstream('    keepalive_timeout 4s;\n')}\n${server('    location / {\n      proxy_pass http://app;\n    }')}`,
    clean: `${keepaliveUpstream('    keepalive_timeout 4s;\n')}\n${server(`    location / {\n      proxy_pass http://app;\n${http11}    }`)}`,
  },
  {
    rule: 'read-timeout-below-app',
    flagged: server(
      '    location / {\n      proxy_pass http://127.0.0.1:3001;\n      proxy_read_timeout 60s;\n    }',
    ),
    clean: server(
      '    location / {\n      proxy_pass http://127.0.0.1:3001;\n      proxy_read_timeout 150s;\n    }',
    ),
    input: { apps: GUNICORN_120 },
  },
  {
    rule: 'read-timeout-below-observed',
    flagged: server(
      '    location / {\n      proxy_pass http://127.0.0.1:3001;\n      proxy_read_timeout 10s;\n    }',
    ),
    clean: server(
      '    location / {\n      proxy_pass http://127.0.0.1:3001;\n      proxy_read_timeout 60s;\n    }',
    ),
    input: { maxResponseSeconds: { '127.0.0.1:3001': 9.2 } },
  },
  {
    rule: 'variable-pass-without-resolver',
    flagged: server('    location / {\n      proxy_pass http://$arg_backend:3001;\n    }'),
    clean: `  resolver 127.0.0.53 valid=30s;\n${server('    location / {\n      proxy_pass http://$arg_backend:3001;\n    }')}`,
  },
  {
    rule: 'localhost-in-pass',
    flagged: server('    location / {\n      proxy_pass http://localhost:3001;\n    }'),
    clean: server('    location / {\n      proxy_pass http://127.0.0.1:3001;\n    }'),
  },
  {
    rule: 'single-server-no-failover',
    flagged: `  upstream app {\n    server 127.0.0.1:3001;\n  }\n${server('    location / {\n      proxy_pass http://app;\n    }')}`,
    clean: `  upstream app {\n    server 127.0.0.1:3001;\n    server 127.0.0.1:3009 backup;\n  }\n${server('    location / {\n      proxy_pass http://app;\n    }')}`,
  },
  {
    rule: 'next-upstream-non-idempotent',
    flagged: server(
      '    location / {\n      proxy_pass http://127.0.0.1:3001;\n      proxy_next_upstream error timeout non_idempotent;\n    }',
    ),
    clean: server(
      '    location / {\n      proxy_pass http://127.0.0.1:3001;\n      proxy_next_upstream error timeout;\n    }',
    ),
  },
  {
    rule: 'buffer-below-observed-headers',
    flagged: server('    location / {\n      proxy_pass http://127.0.0.1:3001;\n    }'),
    clean: server('    location / {\n      proxy_pass http://127.0.0.1:3002;\n    }'),
    input: { tooBigHeader: ['127.0.0.1:3001'] },
  },
];

describe('gatewatch lint rules on configurations the real nginx accepts', () => {
  it('has a flagged and a clean fixture for every rule', () => {
    expect(new Set(CASES.map((c) => c.rule)).size).toBe(9);
  });

  it.each(CASES)('$rule: flags the fixture that has it', ({ rule, flagged, input }) => {
    expect(rulesFor(flagged, input)).toContain(rule);
  });

  it.each(CASES)('$rule: stays silent on the fixture that does not', ({ rule, clean, input }) => {
    expect(rulesFor(clean, input)).not.toContain(rule);
  });

  it('quotes the directive with the file and line nginx -T shows, and gives the fix', () => {
    const dump = nginxDump(
      server(
        '    location / {\n      proxy_pass http://127.0.0.1:3001;\n      proxy_read_timeout 60s;\n    }',
      ),
    );
    const [finding] = lintNginx({ config: parseNginxDump(dump), apps: GUNICORN_120 });
    expect(finding?.rule).toBe('read-timeout-below-app');
    expect(finding?.file).toMatch(/nginx\.conf$/);
    expect(finding?.line).toBe(10);
    expect(finding?.evidence[0]).toMatch(/^proxy_read_timeout 60s \(.*nginx\.conf:10\)$/);
    expect(finding?.fix).toContain('proxy_read_timeout');
    expect(finding?.fix).toContain('120');
  });

  it("does not flag a read timeout against an application's default timeout (Node's 300 s, gunicorn's 30 s)", () => {
    const http = server(
      '    location / {\n      proxy_pass http://127.0.0.1:3001;\n      proxy_read_timeout 20s;\n    }',
    );
    expect(rulesFor(http, { apps: NODE_APP })).not.toContain('read-timeout-below-app');
    expect(
      rulesFor(http, { apps: { '127.0.0.1:3001': appServerSettings(['gunicorn', 'app:app'])! } }),
    ).not.toContain('read-timeout-below-app');
  });

  it('names the keep-alive race with both timeouts and the setting to change', () => {
    const config = parseNginxDump(
      nginxDump(
        `${keepaliveUpstream()}\n${server(`    location / {\n      proxy_pass http://app;\n${http11}    }`)}`,
      ),
    );
    const race = lintNginx({ config, apps: NODE_APP }).find((f) => f.rule === 'keepalive-race');
    expect(race?.severity).toBe('error');
    expect(race?.title).toContain('60 s');
    expect(race?.title).toContain('5 s');
    expect(race?.fix).toContain('keepalive_timeout 4s;');
  });

  it('at incident time quotes only the findings that explain the verdict, for its upstream', () => {
    const config = parseNginxDump(
      nginxDump(
        `${keepaliveUpstream()}\n${server(`    location / {\n      proxy_pass http://app;\n${http11}      proxy_read_timeout 1s;\n    }`)}`,
      ),
    );
    const all = lintNginx({ config, apps: NODE_APP, maxResponseSeconds: { '127.0.0.1:3002': 0.95 } });
    expect(
      findingsExplaining(all, { rootCause: 'upstream-closed-early', upstream: '127.0.0.1:3001' }).map(
        (f) => f.rule,
      ),
    ).toEqual(['keepalive-race']);
    expect(
      findingsExplaining(all, { rootCause: 'upstream-timeout', upstream: '127.0.0.1:3002' }).map(
        (f) => f.rule,
      ),
    ).toEqual(['read-timeout-below-observed']);
    expect(findingsExplaining(all, { rootCause: 'upstream-timeout', upstream: '127.0.0.1:3001' })).toEqual(
      [],
    );
    const { findings, nextSteps } = lintExplanations(
      config,
      { traffic: { byUpstream: { '127.0.0.1:3002': { maxResponseTime: 0.95 } } } },
      { rootCause: 'upstream-timeout', upstream: '127.0.0.1:3002' },
    );
    expect(findings[0]?.title).toMatch(/^This setting made it likely: /);
    expect(findings[0]?.category).toBe('upstream-timeout');
    expect(nextSteps[0]).toContain('proxy_read_timeout');
    expect(lintExplanations(config, {}, { rootCause: 'healthy' }).findings).toEqual([]);
  });
});
