import { describe, expect, it } from 'vitest';
import { classify } from '../../../lambdas/core/diagnosis/classify.ts';
import type { DiagnosisEvidence } from '../../../lambdas/core/diagnosis/evidence.ts';
import type { HostFacts } from '../../../lambdas/core/diagnostics/host-facts.ts';
import { parseNginxDump } from '../../../lambdas/core/nginx/config.ts';
import type { FailureGroup } from '../../../lambdas/core/nginx/error-log.ts';
import { classifyUpstreamFailure, parseErrorLogLine } from '../../../lambdas/core/nginx/error-log.ts';
import type { UpstreamFailure } from '../../../lambdas/core/types.ts';

// Lines as nginx 1.22 writes them (see test/fixtures/nginx for the recorded originals).
const LINES = {
  refused:
    '2026/11/24 05:11:48 [error] 41#41: *7 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: shop, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:3000/", host: "shop"',
  readTimeout:
    '2026/11/24 05:11:48 [error] 41#41: *9 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: shop, request: "GET /slow HTTP/1.1", upstream: "http://127.0.0.1:3000/slow", host: "shop"',
  connectTimeout:
    '2026/11/24 05:11:48 [error] 41#41: *9 upstream timed out (110: Connection timed out) while connecting to upstream, client: 127.0.0.1, server: shop, request: "GET / HTTP/1.1", upstream: "http://10.0.2.15:3000/", host: "shop"',
  noLive:
    '2026/11/24 05:11:49 [error] 41#41: *8 no live upstreams while connecting to upstream, client: 127.0.0.1, server: shop, request: "GET / HTTP/1.1", upstream: "http://backend/", host: "shop"',
} as const;

function failure(line: string): UpstreamFailure {
  const classified = classifyUpstreamFailure(parseErrorLogLine(line));
  if (!classified) throw new Error(`not an upstream failure: ${line}`);
  return classified;
}

function group(line: string, count = 3): FailureGroup {
  const f = failure(line);
  return {
    peer: f.peer,
    kind: f.kind,
    rootCause: f.rootCause,
    count,
    firstAt: f.entry.at,
    lastAt: f.entry.at,
    example: f,
  };
}

function facts(partial: Partial<HostFacts> = {}): HostFacts {
  return {
    host: 'local',
    checks: [{ name: 'oom', status: 'ok', durationMs: 3, output: '', truncated: false }],
    listeners: [],
    sockets: [],
    disks: [{ mount: '/', usePercent: 40, availBytes: 50e9 }],
    memory: { totalBytes: 8e9, availableBytes: 4e9, swapTotalBytes: 0, swapFreeBytes: 0 },
    oomKills: [],
    nginxTest: { ok: true, output: 'nginx: configuration file /etc/nginx/nginx.conf test is successful' },
    ...partial,
  };
}

function evidence(partial: Partial<DiagnosisEvidence> & { groups?: FailureGroup[] } = {}): DiagnosisEvidence {
  const { groups = [], ...rest } = partial;
  return {
    target: { name: 'shop', upstreams: [] },
    window: { from: '2026-11-24T05:00:00Z', to: '2026-11-24T05:15:00Z' },
    logsOnly: false,
    errorLogSource: '/var/log/nginx/error.log',
    errorLog: {
      linesRead: 10,
      malformed: 0,
      inWindow: 10,
      outsideWindow: 0,
      failures: groups.map((g) => g.example),
      groups,
      symptoms: [],
    } as DiagnosisEvidence['errorLog'] & object,
    hosts: [],
    stepFailures: [],
    ...rest,
  };
}

describe('classify', () => {
  it('calls a window without upstream failures healthy', () => {
    const result = classify(evidence({ hosts: [{ host: 'local', status: 'done', facts: facts() }] }));
    expect(result.verdict.rootCause).toBe('healthy');
    expect(result.ruledOut).toContain('nginx configuration: `nginx -t` passes');
  });

  it('classifies connection refused with no listener and a stopped service as upstream-down', () => {
    const result = classify(
      evidence({
        groups: [group(LINES.refused)],
        target: {
          name: 'shop',
          upstreams: [{ address: '127.0.0.1:3000', service: { systemd: 'shop-api.service' } }],
        },
        hosts: [
          {
            host: 'local',
            status: 'done',
            facts: facts({
              service: {
                kind: 'systemd',
                name: 'shop-api.service',
                running: false,
                pids: [],
                state: 'failed',
                recentLog: [],
                listening: [],
              },
            }),
          },
        ],
      }),
    );
    expect(result.verdict).toMatchObject({
      rootCause: 'upstream-down',
      upstream: '127.0.0.1:3000',
      confidence: 0.95,
    });
    expect(result.nextSteps.join('\n')).toContain('systemctl restart shop-api.service');
    expect(result.findings[0]?.evidence[0]?.excerpt).toContain('(111: Connection refused)');
  });

  it('names upstream-wrong-address when the service listens on another port', () => {
    const result = classify(
      evidence({
        groups: [group(LINES.refused)],
        target: {
          name: 'shop',
          upstreams: [{ address: '127.0.0.1:3000', service: { process: 'node server.js' } }],
        },
        hosts: [
          {
            host: 'local',
            status: 'done',
            facts: facts({
              listeners: [
                { proto: 'tcp', address: '127.0.0.1:3001', port: 3001, pids: [77], processes: ['node'] },
              ],
              service: {
                kind: 'process',
                name: 'node server.js',
                running: true,
                pids: [77],
                recentLog: [],
                listening: ['127.0.0.1:3001'],
              },
            }),
          },
        ],
      }),
    );
    expect(result.verdict.rootCause).toBe('upstream-wrong-address');
    expect(result.verdict.summary).toContain('127.0.0.1:3001');
  });

  it('says the upstream came back when something listens on the refused address now', () => {
    const result = classify(
      evidence({
        groups: [group(LINES.refused)],
        hosts: [
          {
            host: 'local',
            status: 'done',
            facts: facts({
              listeners: [
                { proto: 'tcp', address: '0.0.0.0:3000', port: 3000, pids: [9], processes: ['node'] },
              ],
            }),
          },
        ],
      }),
    );
    expect(result.verdict.rootCause).toBe('upstream-down');
    expect(result.verdict.confidence).toBeLessThan(0.7);
    expect(result.verdict.summary).toMatch(/has come back/);
  });

  it('blames the OOM killer when it killed the upstream service', () => {
    const result = classify(
      evidence({
        groups: [group(LINES.refused)],
        target: {
          name: 'shop',
          upstreams: [{ address: '127.0.0.1:3000', service: { process: 'node server.js' } }],
        },
        hosts: [
          {
            host: 'local',
            status: 'done',
            facts: facts({
              service: {
                kind: 'process',
                name: 'node server.js',
                running: false,
                pids: [],
                recentLog: [],
                listening: [],
              },
              oomKills: [
                {
                  line: '[Mon Nov 24 05:11:40 2026] Out of memory: Killed process 4242 (node) total-vm:2048000kB',
                  process: 'node',
                  pid: 4242,
                  at: '2026-11-24T05:11:40Z',
                },
              ],
            }),
          },
        ],
      }),
    );
    expect(result.verdict.rootCause).toBe('resource-memory-oom');
    expect(result.verdict.upstream).toBe('127.0.0.1:3000');
  });

  it('quotes the effective proxy_read_timeout for an upstream-timeout', () => {
    const dump = `# configuration file /etc/nginx/nginx.conf:
events {}
http {
    server {
        listen 80;
        location / {
            proxy_pass http://127.0.0.1:3000;
            proxy_read_timeout 2s;
        }
    }
}
`;
    const result = classify(
      evidence({ groups: [group(LINES.readTimeout)], nginxConfig: parseNginxDump(dump) }),
    );
    expect(result.verdict.rootCause).toBe('upstream-timeout');
    expect(result.verdict.summary).toContain('proxy_read_timeout 2s');
    expect(result.verdict.summary).toContain('/etc/nginx/nginx.conf:7');
  });

  it('refines a connect timeout into the host firewall rule that drops it', () => {
    const result = classify(
      evidence({
        groups: [group(LINES.connectTimeout)],
        network: {
          status: 'checked',
          blockedBy: [
            {
              kind: 'host-firewall',
              id: 'host',
              direction: 'inbound on 10.0.2.15',
              rule: '-A INPUT -p tcp -m tcp --dport 3000 -j DROP',
              fix: 'iptables -D INPUT -p tcp -m tcp --dport 3000 -j DROP',
            },
          ],
          ruledOut: [],
        },
      }),
    );
    expect(result.verdict.rootCause).toBe('network-blocked-host-firewall');
    expect(result.nextSteps).toContain('iptables -D INPUT -p tcp -m tcp --dport 3000 -j DROP');
  });

  it('keeps upstream-connect-timeout and says the path was not checked when nothing explains it', () => {
    const result = classify(
      evidence({
        groups: [group(LINES.connectTimeout)],
        network: { status: 'skipped', reason: 'no EC2 snapshot', blockedBy: [], ruledOut: [] },
      }),
    );
    expect(result.verdict.rootCause).toBe('upstream-connect-timeout');
    expect(result.nextSteps.join('\n')).toContain('gatewatch network');
  });

  it('names the cause behind no live upstreams through the connection number', () => {
    const cause = failure(LINES.refused);
    const symptom = failure(LINES.noLive);
    const result = classify(
      evidence({
        groups: [group(LINES.noLive, 5), group(LINES.refused, 2)],
        errorLog: {
          linesRead: 7,
          malformed: 0,
          inWindow: 7,
          outsideWindow: 0,
          failures: [cause, symptom],
          groups: [group(LINES.noLive, 5), group(LINES.refused, 2)],
          symptoms: [{ symptom, group: 'backend', causes: [cause] }],
        } as unknown as DiagnosisEvidence['errorLog'],
      }),
    );
    expect(result.verdict.rootCause).toBe('upstream-down');
    expect(result.verdict.summary).toContain('"backend"');
    expect(result.findings.some((f) => f.category === 'no-live-upstreams')).toBe(true);
  });

  it('reports nginx-config-invalid when only nginx -t fails', () => {
    const result = classify(
      evidence({
        hosts: [
          {
            host: 'local',
            status: 'done',
            facts: facts({
              nginxTest: {
                ok: false,
                output:
                  'nginx: [emerg] unknown directive "proxy_pas" in /etc/nginx/conf.d/shop.conf:14\nnginx: configuration file /etc/nginx/nginx.conf test failed',
              },
            }),
          },
        ],
      }),
    );
    expect(result.verdict.rootCause).toBe('nginx-config-invalid');
    expect(result.findings[0]?.evidence[0]?.excerpt).toContain('unknown directive "proxy_pas"');
    expect(result.ruledOut.join('\n')).not.toContain('nginx -t` passes');
  });

  it('points at the upstream when it answered 502 itself and nginx logged nothing', () => {
    const result = classify(
      evidence({
        traffic: {
          requests: 10,
          status5xx: 4,
          byStatus: { '200': 6, '502': 4 },
          byUpstream: { '127.0.0.1:3000': { requests: 10, failures: 4, byStatus: { '200': 6, '502': 4 } } },
          format: 'gatewatch',
          malformed: 0,
          perMinute: [],
          samples: ['GET /pay -> 502 (upstream 127.0.0.1:3000: 502)'],
        },
      }),
    );
    expect(result.verdict.rootCause).toBe('upstream-error-response');
    expect(result.verdict.upstream).toBe('127.0.0.1:3000');
    expect(result.verdict.summary).toContain('itself answered');
  });

  it('reports a nearly full disk and a failed step as findings without hiding the verdict', () => {
    const result = classify(
      evidence({
        groups: [group(LINES.refused)],
        hosts: [
          {
            host: 'local',
            status: 'done',
            facts: facts({ disks: [{ mount: '/var', usePercent: 99, availBytes: 1e6 }] }),
          },
        ],
        stepFailures: [
          { step: 'CheckNetworkPath', error: 'AccessDenied', cause: 'ec2:DescribeSecurityGroups denied' },
        ],
      }),
    );
    expect(result.verdict.rootCause).toBe('upstream-down');
    expect(
      result.findings.some((f) => f.category === 'resource-disk-full' && f.severity === 'critical'),
    ).toBe(true);
    expect(result.findings.some((f) => f.title.includes('CheckNetworkPath'))).toBe(true);
  });

  it('is deterministic: the same evidence gives the same classification', () => {
    const input = evidence({ groups: [group(LINES.refused), group(LINES.readTimeout, 1)] });
    expect(classify(input)).toEqual(classify(structuredClone(input)));
  });
});
