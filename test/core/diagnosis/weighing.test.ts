/**
 * How the classifier weighs evidence in time and identity (issue 8): host facts that do not fit the
 * failures stay context, unreadable logs are never `healthy`, nginx's own failures are causes, what fails
 * now outranks what stopped. Every case carries noise a real host has: an unrelated OOM kill of a `node`
 * and a `python3`, a 100% full unrelated tmpfs, stale failures, a second healthy upstream.
 */

import { describe, expect, it } from 'vitest';
import type { UpstreamConfig } from '../../../lambdas/core/config.ts';
import { classify } from '../../../lambdas/core/diagnosis/classify.ts';
import type { DiagnosisEvidence } from '../../../lambdas/core/diagnosis/evidence.ts';
import type { HostFacts, OomKill, ServiceFacts } from '../../../lambdas/core/diagnostics/host-facts.ts';
import { parseNginxDump } from '../../../lambdas/core/nginx/config.ts';
import type { LogCoverage } from '../../../lambdas/core/nginx/coverage.ts';
import { ErrorLogCollector } from '../../../lambdas/core/nginx/error-log.ts';
import type { TrafficSummary } from '../../../lambdas/core/types.ts';

const WINDOW = { from: '2026-12-06T20:05:00Z', to: '2026-12-06T20:25:00Z' };

/** Error-log lines as nginx 1.22 writes them, at a given time (`HH:MM:SS`, UTC). */
const at = (time: string) => `2026/12/06 ${time}`;
const LINE = {
  refused: (time: string, port = 3000) =>
    `${at(time)} [error] 41#41: *7 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: shop, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:${port}/", host: "shop"`,
  readTimeout: (time: string, port = 3000) =>
    `${at(time)} [error] 41#41: *9 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: shop, request: "GET /slow HTTP/1.1", upstream: "http://127.0.0.1:${port}/slow", host: "shop"`,
  reset: (time: string) =>
    `${at(time)} [error] 41#41: *12 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 127.0.0.1, server: shop, request: "POST /api/order HTTP/1.1", upstream: "http://127.0.0.1:3000/api/order", host: "shop"`,
  workerConnections: (time: string) =>
    `${at(time)} [alert] 41#41: *1030 1024 worker_connections are not enough while connecting to upstream, client: 127.0.0.1, server: shop, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:3000/", host: "shop"`,
  tempPermission: (time: string) =>
    `${at(time)} [crit] 41#41: *9 open() "/var/lib/nginx/proxy/1/00/0000000001" failed (13: Permission denied) while reading upstream, client: 127.0.0.1, server: shop, request: "GET /big HTTP/1.1", upstream: "http://127.0.0.1:3000/big", host: "shop"`,
  tempNoSpace: (time: string) =>
    `${at(time)} [crit] 41#41: *9 pwrite() "/var/lib/nginx/proxy/2/00/0000000002" failed (28: No space left on device) while reading upstream, client: 127.0.0.1, server: shop, request: "GET /big HTTP/1.1", upstream: "http://127.0.0.1:3000/big", host: "shop"`,
  tcpPermission: (time: string) =>
    `${at(time)} [crit] 41#41: *3 connect() to 127.0.0.1:3000 failed (13: Permission denied) while connecting to upstream, client: 127.0.0.1, server: shop, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:3000/", host: "shop"`,
};

/** The host's stale, unrelated OOM kills (like `.ci/noisy-host` makes them). */
const NOISE_KILLS: OomKill[] = [
  {
    line: '2026-12-06T20:08:01,419746+00:00 Memory cgroup out of memory: Killed process 21370 (node) total-vm:754964kB, anon-rss:32000kB, file-rss:33536kB, shmem-rss:0kB, UID:0 pgtables:436kB oom_score_adj:0',
    pid: 21370,
    process: 'node',
    at: '2026-12-06T20:08:01Z',
    cgroup: '/gatewatch-noise-3011',
    limitCgroup: '/gatewatch-noise-3011',
    uid: 0,
  },
  {
    line: '2026-12-01T09:00:00,100000+00:00 Memory cgroup out of memory: Killed process 3022 (python3) total-vm:42264kB, anon-rss:32512kB, file-rss:6612kB, shmem-rss:0kB, UID:0 pgtables:116kB oom_score_adj:0',
    pid: 3022,
    process: 'python3',
    at: '2026-12-01T09:00:00Z',
    cgroup: '/gatewatch-noise-3011',
    limitCgroup: '/gatewatch-noise-3011',
    uid: 0,
  },
];

const NOISE_DISK = { mount: '/mnt/gatewatch-noise-full', usePercent: 100, availBytes: 0 };

function errorLog(lines: string[]): DiagnosisEvidence['errorLog'] {
  const collector = new ErrorLogCollector({ fromMs: Date.parse(WINDOW.from), toMs: Date.parse(WINDOW.to) });
  for (const line of lines) collector.push(line);
  return collector.summary();
}

function facts(partial: Partial<HostFacts> = {}): HostFacts {
  return {
    host: 'local',
    checks: [{ name: 'oom', status: 'ok', durationMs: 3, output: '', truncated: false }],
    listeners: [],
    sockets: [],
    disks: [{ mount: '/', usePercent: 40, availBytes: 50e9 }, NOISE_DISK],
    memory: { totalBytes: 8e9, availableBytes: 4e9, swapTotalBytes: 0, swapFreeBytes: 0 },
    oomKills: NOISE_KILLS,
    nginxTest: { ok: true, output: 'nginx: configuration file /etc/nginx/nginx.conf test is successful' },
    ...partial,
  };
}

function service(partial: Partial<ServiceFacts> = {}): ServiceFacts {
  return {
    kind: 'process',
    name: 'node server.js',
    running: false,
    pids: [],
    recentLog: [],
    listening: [],
    ...partial,
  };
}

function traffic(partial: Partial<TrafficSummary> = {}): TrafficSummary {
  return {
    requests: 0,
    status5xx: 0,
    byStatus: {},
    byUpstream: {},
    format: 'gatewatch',
    malformed: 0,
    perMinute: [],
    samples: [],
    ...partial,
  };
}

function evidence(
  lines: string[],
  options: {
    facts?: HostFacts;
    upstreams?: UpstreamConfig[];
    nginxDump?: string;
    extra?: Partial<DiagnosisEvidence>;
  } = {},
): DiagnosisEvidence {
  const e: DiagnosisEvidence = {
    target: { name: 'shop', upstreams: options.upstreams ?? [] },
    window: WINDOW,
    logsOnly: false,
    errorLogSource: '/var/log/nginx/error.log',
    errorLog: errorLog(lines),
    hosts: [{ host: 'local', status: 'done', facts: options.facts ?? facts() }],
    stepFailures: [],
    ...options.extra,
  };
  if (options.nginxDump) e.nginxConfig = parseNginxDump(options.nginxDump);
  return e;
}

const repeat = (n: number, make: (time: string) => string, start = '20:20') =>
  Array.from({ length: n }, (_, i) => make(`${start}:${String(10 + i).padStart(2, '0')}`));

const NODE_HINT: UpstreamConfig[] = [{ address: '127.0.0.1:3000', service: { process: 'node server.js' } }];

describe('time and identity: host facts that do not fit the failures are context, never the verdict', () => {
  it.each([
    ['no service hint', [] as UpstreamConfig[]],
    ['a process hint with the same command name as the stale kill', NODE_HINT],
  ])(
    'keeps upstream-down when the only OOM kill is a node killed 12 minutes before the first refusal (%s)',
    (_, upstreams) => {
      const result = classify(
        evidence(repeat(5, LINE.refused), {
          upstreams,
          facts: facts(upstreams.length ? { service: service() } : {}),
        }),
      );
      expect(result.verdict.rootCause).toBe('upstream-down');
      const context = result.findings.find((f) => f.category === 'resource-memory-oom');
      expect(context?.severity).toBe('info');
      expect(context?.title).toContain('pid 21370 (node) at 20:08, 12 minutes before the first refusal');
      expect(context?.title).toMatch(/before the window/);
      expect(result.verdict.summary).not.toMatch(/OOM/);
    },
  );

  it('blames the OOM killer for a kill of the hinted command 20 seconds before the first refusal, and keeps the stale kills as context', () => {
    const kill: OomKill = {
      line: '2026-12-06T20:19:50,000001+00:00 Out of memory: Killed process 4242 (node) total-vm:2048000kB, anon-rss:1900000kB, UID:1000',
      pid: 4242,
      process: 'node',
      at: '2026-12-06T20:19:50Z',
      uid: 1000,
    };
    const result = classify(
      evidence(repeat(5, LINE.refused), {
        upstreams: NODE_HINT,
        facts: facts({ service: service(), oomKills: [...NOISE_KILLS, kill] }),
      }),
    );
    expect(result.verdict).toMatchObject({ rootCause: 'resource-memory-oom', upstream: '127.0.0.1:3000' });
    expect(result.verdict.summary).toContain('Killed process 4242');
    expect(
      result.findings.find((f) => f.severity === 'info' && f.category === 'resource-memory-oom')?.title,
    ).toContain('pid 21370');
  });

  it('names a kill of the hinted command 4 minutes before the first refusal as possible, without making it the verdict', () => {
    const kill: OomKill = {
      line: '2026-12-06T20:16:10,000001+00:00 Out of memory: Killed process 4242 (node) total-vm:2048000kB',
      pid: 4242,
      process: 'node',
      at: '2026-12-06T20:16:10Z',
    };
    const result = classify(
      evidence(repeat(5, LINE.refused), {
        upstreams: NODE_HINT,
        facts: facts({ service: service(), oomKills: [...NOISE_KILLS, kill] }),
      }),
    );
    expect(result.verdict.rootCause).toBe('upstream-down');
    expect(result.verdict.confidence).toBeLessThanOrEqual(0.75);
    expect(result.verdict.summary).toContain(
      "Possibly related: an OOM kill of pid 4242 (node) at 20:16, 4 minutes before the first refusal, with the upstream's command name",
    );
  });

  describe('a kill known by nothing but its time must fall between the upstream answering and failing', () => {
    // A fresh kill of some `node` 10 s before the first refusal, no service hint: only the access log can
    // tell whether the upstream was alive to be killed.
    const fresh: OomKill = {
      line: '2026-12-06T20:20:00,000001+00:00 Memory cgroup out of memory: Killed process 5151 (MainThread) total-vm:1315264kB',
      pid: 5151,
      process: 'MainThread',
      at: '2026-12-06T20:20:00Z',
      cgroup: '/somebody-else',
    };
    const answered = (firstAnsweredAt?: string, lastAnsweredAt?: string) =>
      traffic({
        requests: 10,
        byUpstream: {
          '127.0.0.1:3000': {
            requests: 10,
            failures: 5,
            byStatus: { '200': 5, '502': 5 },
            ...(firstAnsweredAt ? { firstAnsweredAt } : {}),
            ...(lastAnsweredAt ? { lastAnsweredAt } : {}),
          },
        },
      });
    const diagnose = (extra: Partial<DiagnosisEvidence>, lines = repeat(5, LINE.refused)) =>
      classify(evidence(lines, { facts: facts({ oomKills: [...NOISE_KILLS, fresh] }), extra }));

    it('blames the kill when the upstream answered before it and never after', () => {
      const result = diagnose({ traffic: answered('2026-12-06T20:19:00Z', '2026-12-06T20:19:55Z') });
      expect(result.verdict.rootCause).toBe('resource-memory-oom');
      expect(result.verdict.confidence).toBeLessThan(0.8);
    });

    it("allows the kernel's clock to run seconds behind nginx's (the answers logged 3 s after the kill)", () => {
      const result = diagnose({ traffic: answered('2026-12-06T20:20:03Z', '2026-12-06T20:20:03Z') });
      expect(result.verdict.rootCause).toBe('resource-memory-oom');
    });

    it.each([
      ['the upstream never answered in the window', answered(), 'the upstream never answered in the window'],
      [
        'the upstream still answered after the kill',
        answered('2026-12-06T20:19:00Z', '2026-12-06T20:20:40Z'),
        'the upstream still answered after it (last at 20:20)',
      ],
    ])('keeps upstream-down and says why when %s', (_, summary, why) => {
      const result = diagnose({ traffic: summary });
      expect(result.verdict.rootCause).toBe('upstream-down');
      const context = result.findings.find(
        (f) => f.category === 'resource-memory-oom' && f.severity === 'info',
      );
      expect(context?.title).toContain(`pid 5151 (MainThread) at 20:20, 10 seconds before the first refusal`);
      expect(context?.title).toContain(why);
    });

    it('keeps upstream-down for a kill after the first refusal (nginx had already lost the upstream)', () => {
      const result = diagnose({ traffic: answered('2026-12-06T20:19:00Z', '2026-12-06T20:19:30Z') }, [
        ...repeat(3, LINE.refused, '20:19'),
        ...repeat(3, LINE.refused),
      ]);
      expect(result.verdict.rootCause).toBe('upstream-down');
      expect(result.findings.map((f) => f.title).join('\n')).toContain('it came after the first refusal');
    });

    it('weighs by time alone when the access log names no upstreams (combined format)', () => {
      const result = diagnose({ traffic: traffic({ requests: 10, format: 'combined' }) });
      expect(result.verdict.rootCause).toBe('resource-memory-oom');
    });
  });

  it('blames the OOM killer for a kill in the systemd unit’s cgroup minutes before the first refusal, not for one in another cgroup', () => {
    const unitKill: OomKill = {
      line: '2026-12-06T20:12:00,000001+00:00 Out of memory: Killed process 777 (python3) total-vm:1kB',
      pid: 777,
      process: 'python3',
      at: '2026-12-06T20:12:00Z',
      cgroup: '/system.slice/shop-api.service',
    };
    const upstreams: UpstreamConfig[] = [
      { address: '127.0.0.1:3000', service: { systemd: 'shop-api.service' } },
    ];
    const svc = service({ kind: 'systemd', name: 'shop-api.service', state: 'failed' });
    const killed = classify(
      evidence(repeat(3, LINE.refused), {
        upstreams,
        facts: facts({ service: svc, oomKills: [...NOISE_KILLS, unitKill] }),
      }),
    );
    expect(killed.verdict.rootCause).toBe('resource-memory-oom');
    const other = classify(
      evidence(repeat(3, LINE.refused), {
        upstreams,
        facts: facts({ service: svc, oomKills: [{ ...unitKill, cgroup: '/system.slice/cron.service' }] }),
      }),
    );
    expect(other.verdict.rootCause).toBe('upstream-down');
    expect(other.findings.some((f) => f.title.includes("not the upstream's process"))).toBe(true);
  });

  it('keeps a timeout a timeout on a host with stale OOM kills, and says the OOM killer does not fit', () => {
    const result = classify(evidence(repeat(4, LINE.readTimeout)));
    expect(result.verdict.rootCause).toBe('upstream-timeout');
    expect(result.ruledOut.join('\n')).toContain('no kill fits the failures in time and identity');
  });

  it('reports an unrelated 100% full tmpfs as context, never as critical or in the next steps', () => {
    const result = classify(evidence(repeat(3, LINE.refused)));
    expect(result.verdict.rootCause).toBe('upstream-down');
    const disk = result.findings.find((f) => f.category === 'resource-disk-full');
    expect(disk).toMatchObject({ severity: 'info' });
    expect(disk?.title).toContain('/mnt/gatewatch-noise-full');
    expect(result.nextSteps.join('\n')).not.toContain('/mnt/gatewatch-noise-full');
    expect(result.ruledOut.join('\n')).toContain('every filesystem nginx or the upstream writes to');
  });

  it('still reports a full filesystem nginx writes its logs to as critical', () => {
    const result = classify(
      evidence(repeat(3, LINE.refused), {
        facts: facts({ disks: [{ mount: '/var', usePercent: 99, availBytes: 1e6 }, NOISE_DISK] }),
      }),
    );
    expect(result.findings.find((f) => f.title.startsWith('/var '))?.severity).toBe('critical');
  });

  it('tells one story when the service died of a full data disk: disk full, so the service died, so nginx is refused', () => {
    const result = classify(
      evidence(repeat(5, LINE.refused), {
        upstreams: NODE_HINT,
        facts: facts({
          disks: [
            { mount: '/', usePercent: 40, availBytes: 5e10 },
            { mount: '/data', usePercent: 100, availBytes: 0 },
            NOISE_DISK,
          ],
          service: service({
            recentLog: ["Error: ENOSPC: no space left on device, write '/data/orders/2026-12-06.jsonl'"],
          }),
        }),
      }),
    );
    expect(result.verdict.rootCause).toBe('resource-disk-full');
    expect(result.verdict.summary).toMatch(
      /\/data is full .*so the service "node server.js" died.*so nginx's connections to 127\.0\.0\.1:3000 are refused/,
    );
    expect(result.nextSteps[0]).toContain('Free space on /data first');
  });
});

/** A log's coverage as the log sources report it, with the counts a test does not care about. */
function cov(
  partial: Pick<LogCoverage, 'state' | 'lines' | 'unreadable' | 'samples'> & { error?: string },
): LogCoverage {
  return { source: '', truncated: 0, inWindow: 0, ...partial };
}

describe('coverage: never healthy on evidence that could not be read', () => {
  it('answers insufficient-evidence when the error log is missing and there is no access log', () => {
    const e = evidence([]);
    delete e.errorLog;
    e.coverage = {
      errorLog: cov({ state: 'missing', lines: 0, unreadable: 0, samples: [], error: 'ENOENT' }),
    };
    const result = classify(e);
    expect(result.verdict.rootCause).toBe('insufficient-evidence');
    expect(result.verdict.summary).toContain('/var/log/nginx/error.log) is missing');
  });

  it('is not healthy when every error-log line is unreadable, and diagnoses from an access log full of 502s', () => {
    const e = evidence([], {
      extra: {
        accessLogSource: '/var/log/nginx/access.log',
        traffic: traffic({
          requests: 30,
          status5xx: 25,
          byStatus: { '200': 5, '502': 25 },
          byUpstream: {
            '127.0.0.1:3000': {
              requests: 30,
              failures: 25,
              byStatus: { '200': 5, '502': 25 },
              firstAnsweredAt: '2026-12-06T20:19:00Z',
              lastAnsweredAt: '2026-12-06T20:19:30Z',
            },
          },
          samples: ['GET / -> 502 (upstream 127.0.0.1:3000: 502)'],
        }),
        coverage: {
          errorLog: cov({
            state: 'unreadable',
            lines: 40,
            unreadable: 40,
            samples: ['2026-12-06T20:20:01.123456789Z stderr F ????'],
          }),
          accessLog: cov({ state: 'read', lines: 30, unreadable: 0, samples: [] }),
        },
      },
    });
    const result = classify(e);
    expect(result.verdict.rootCause).not.toBe('healthy');
    expect(result.verdict.upstream).toBe('127.0.0.1:3000');
    expect(result.verdict.confidence).toBeLessThan(0.5);
    expect(result.findings.some((f) => f.title.includes('none of the 40 lines of the error log'))).toBe(true);
  });

  describe('the error log is missing, the access log names an upstream that never answered', () => {
    const missingErrorLog = (hostFacts: HostFacts) => {
      const e = evidence([], {
        facts: hostFacts,
        extra: {
          accessLogSource: '/var/log/nginx/access.log',
          traffic: traffic({
            requests: 6,
            status5xx: 6,
            byStatus: { '502': 6 },
            byUpstream: { '127.0.0.1:3000': { requests: 6, failures: 6, byStatus: { '502': 6 } } },
            samples: ['GET / -> 502 (upstream 127.0.0.1:3000: 502)'],
          }),
        },
      });
      delete e.errorLog;
      e.coverage = {
        errorLog: cov({ state: 'missing', lines: 0, unreadable: 0, samples: [], error: 'ENOENT' }),
        accessLog: cov({ state: 'read', lines: 6, unreadable: 0, samples: [] }),
      };
      return classify(e);
    };

    it('answers upstream-down, with less confidence, when nothing listens on its address', () => {
      const result = missingErrorLog(facts());
      expect(result.verdict).toMatchObject({ rootCause: 'upstream-down', upstream: '127.0.0.1:3000' });
      expect(result.verdict.confidence).toBeLessThanOrEqual(0.6);
      expect(result.verdict.summary).toContain('The error log could not be read');
      expect(result.findings[0]!.evidence.map((e) => e.source)).toContain('ss -tlnp (local)');
    });

    it('does not guess when something listens there now', () => {
      const listening = facts({
        listeners: [
          { proto: 'tcp', address: '127.0.0.1:3000', port: 3000, pids: [4242], processes: ['node'] },
        ],
      });
      expect(missingErrorLog(listening).verdict.rootCause).toBe('unknown');
    });
  });

  it('is not healthy when the error log has no failure but the access log could not be read', () => {
    const result = classify(
      evidence([], {
        extra: {
          accessLogSource: '/var/log/nginx/access.log',
          coverage: {
            errorLog: cov({ state: 'empty', lines: 0, unreadable: 0, samples: [] }),
            accessLog: cov({ state: 'unreadable', lines: 0, unreadable: 0, samples: [], error: 'EACCES' }),
          },
        },
      }),
    );
    expect(result.verdict.rootCause).toBe('insufficient-evidence');
  });

  it('does not call a window with no line in either log healthy', () => {
    const result = classify(
      evidence([], { extra: { accessLogSource: '/var/log/nginx/access.log', traffic: traffic() } }),
    );
    expect(result.verdict.rootCause).toBe('insufficient-evidence');
    expect(result.verdict.summary).toContain('No data for the window');
  });

  it('lowers the confidence of healthy when part of the lines could not be read, and shows a sample', () => {
    const result = classify(
      evidence([], {
        extra: {
          coverage: {
            errorLog: cov({ state: 'read', lines: 100, unreadable: 50, samples: ['web-1 | garbage'] }),
          },
        },
      }),
    );
    expect(result.verdict.rootCause).toBe('healthy');
    expect(result.verdict.confidence).toBeLessThan(0.9);
    expect(result.findings.find((f) => f.category === 'insufficient-evidence')?.evidence[0]?.excerpt).toBe(
      'web-1 | garbage',
    );
  });

  it('calls the upstream that answered 502 itself upstream-error-response', () => {
    const result = classify(
      evidence([], {
        extra: {
          accessLogSource: '/var/log/nginx/access.log',
          traffic: traffic({
            requests: 10,
            status5xx: 4,
            byStatus: { '200': 6, '502': 4 },
            byUpstream: { '127.0.0.1:3000': { requests: 10, failures: 4, byStatus: { '200': 6, '502': 4 } } },
          }),
        },
      }),
    );
    expect(result.verdict).toMatchObject({
      rootCause: 'upstream-error-response',
      upstream: '127.0.0.1:3000',
    });
  });
});

describe("nginx's own failures are causes", () => {
  it('names an HTTP/2 stream the upstream reset with an error code below 0.8: the code says what, not why', () => {
    const rejected = (time: string) =>
      `${at(time)} [error] 41#41: *5 upstream rejected request with error 2 while reading response header from upstream, client: 127.0.0.1, server: shop, request: "POST /svc.Orders/Get HTTP/2.0", upstream: "grpc://127.0.0.1:50051", host: "shop"`;
    const result = classify(evidence(repeat(3, rejected)));
    expect(result.verdict).toMatchObject({
      rootCause: 'upstream-error-response',
      upstream: '127.0.0.1:50051',
    });
    expect(result.verdict.confidence).toBeLessThan(0.8);
    expect(result.verdict.summary).toContain('2 internal error');
  });

  it.each([
    [
      'worker_connections exhausted',
      LINE.workerConnections,
      'nginx-worker-connections',
      /worker_connections/,
    ],
    ["EACCES on nginx's proxy_temp file", LINE.tempPermission, 'nginx-file-permission', /not SELinux/],
    ["ENOSPC on nginx's proxy_temp file", LINE.tempNoSpace, 'resource-disk-full', /no space left/],
  ])('classifies %s', (_, make, rootCause, summary) => {
    const result = classify(evidence(repeat(5, make)));
    expect(result.verdict.rootCause).toBe(rootCause);
    expect(result.verdict.summary).toMatch(summary);
  });

  it('still reads (13: Permission denied) on a connect() to a TCP upstream as host-policy-denied', () => {
    expect(classify(evidence(repeat(3, LINE.tcpPermission))).verdict.rootCause).toBe('host-policy-denied');
  });
});

describe('what fails now, per upstream', () => {
  it('lets a live timeout win over refusals that stopped 15 minutes earlier, reported as stopped', () => {
    const lines = [...repeat(40, LINE.refused, '20:06'), ...repeat(4, LINE.readTimeout, '20:22')];
    const result = classify(
      evidence(lines, {
        extra: {
          traffic: traffic({
            requests: 100,
            status5xx: 44,
            lastAt: '2026-12-06T20:24:00Z',
            byUpstream: {
              '127.0.0.1:3000': { requests: 100, failures: 44, byStatus: { '200': 56, '502': 40, '504': 4 } },
            },
          }),
        },
      }),
    );
    expect(result.verdict.rootCause).toBe('upstream-timeout');
    const stopped = result.findings.find((f) => f.title.startsWith('Stopped'));
    expect(stopped?.category).toBe('upstream-down');
    expect(stopped?.title).toContain('recovered');
  });

  it('lets timeouts that began after a burst of refusals of the same upstream win, though the refusals were more', () => {
    const lines = [...repeat(8, LINE.refused, '20:20'), ...repeat(3, LINE.readTimeout, '20:21')];
    const result = classify(evidence(lines));
    expect(result.verdict.rootCause).toBe('upstream-timeout');
    expect(result.findings.some((f) => f.title.startsWith('Stopped') && f.category === 'upstream-down')).toBe(
      true,
    );
  });

  it('gives a second failing upstream its own finding and next steps, the headline to the one failing most', () => {
    const lines = [
      ...repeat(10, LINE.refused, '20:20'),
      ...repeat(3, (t) => LINE.readTimeout(t, 4000), '20:20'),
    ];
    const result = classify(evidence(lines));
    expect(result.verdict).toMatchObject({ rootCause: 'upstream-down', upstream: '127.0.0.1:3000' });
    expect(result.verdict.summary).toContain('Also failing now: 127.0.0.1:4000 (upstream-timeout');
    expect(
      result.findings.some((f) => f.category === 'upstream-timeout' && f.title.includes('127.0.0.1:4000')),
    ).toBe(true);
    expect(result.nextSteps.some((s) => s.startsWith('For 127.0.0.1:4000:'))).toBe(true);
  });
  it('says no client saw an error when one server of a pool refused and every request got 200', () => {
    const result = classify(
      evidence(repeat(3, LINE.refused), {
        extra: {
          traffic: traffic({
            requests: 30,
            byStatus: { '200': 30 },
            byUpstream: {
              '127.0.0.1:3000': { requests: 3, failures: 3, byStatus: { '502': 3 } },
              '127.0.0.1:3001': { requests: 30, failures: 0, byStatus: { '200': 30 } },
            },
          }),
        },
      }),
    );
    expect(result.verdict).toMatchObject({ rootCause: 'upstream-down', upstream: '127.0.0.1:3000' });
    expect(result.verdict.confidence).toBeLessThanOrEqual(0.6);
    expect(result.verdict.summary).toContain('No client saw an error: 0 of 30 requests');
  });

  describe('a failure class whose upstream came back is reported as recovered, not as the verdict', () => {
    const refusedThenBack = (
      upstream: Partial<TrafficSummary['byUpstream'][string]>,
      laterErrorLines: string[] = [],
    ) =>
      classify(
        evidence([...repeat(3, LINE.refused, '20:20'), ...laterErrorLines], {
          upstreams: NODE_HINT,
          extra: {
            traffic: traffic({
              requests: 13,
              status5xx: 3,
              byStatus: { '200': 10, '502': 3 },
              lastAt: '2026-12-06T20:20:30Z',
              byUpstream: {
                '127.0.0.1:3000': {
                  requests: 13,
                  failures: 3,
                  byStatus: { '200': 10, '502': 3 },
                  lastFailedAt: '2026-12-06T20:20:12Z',
                  lastAnsweredAt: '2026-12-06T20:20:30Z',
                  okAfterLastFailure: 10,
                  okBetweenFailures: 0,
                  ...upstream,
                },
              },
            }),
          },
        }),
      );

    it('calls a contiguous outage followed by successes healthy, with the cause and its evidence as a finding', () => {
      const result = refusedThenBack({});
      expect(result.verdict.rootCause).toBe('healthy');
      expect(result.verdict.confidence).toBeLessThan(0.8);
      expect(result.verdict.summary).toMatch(
        /^Recovered: nothing fails now\. 127\.0\.0\.1:3000 failed with upstream-down \(3× between 20:20:10 and 20:20:12\) and 127\.0\.0\.1:3000 has answered 10 requests since/,
      );
      const recovered = result.findings.find((f) => f.title.startsWith('Recovered:'));
      expect(recovered).toMatchObject({ category: 'upstream-down', severity: 'warning' });
      expect(recovered!.evidence.length).toBeGreaterThan(0);
      expect(result.nextSteps[0]).toMatch(/^Nothing to repair now/);
    });

    it('keeps the verdict when successes came between the failures (intermittent, not recovered)', () => {
      expect(refusedThenBack({ okBetweenFailures: 4 }).verdict.rootCause).toBe('upstream-down');
    });

    it('keeps the verdict with fewer than three successes since, or none after the last failure', () => {
      expect(refusedThenBack({ okAfterLastFailure: 2 }).verdict.rootCause).toBe('upstream-down');
      expect(
        refusedThenBack({ lastAnsweredAt: '2026-12-06T20:20:12Z', okAfterLastFailure: 10 }).verdict.rootCause,
      ).toBe('upstream-down');
    });

    it('keeps the verdict when the error log failed after the last success (the access log lags)', () => {
      expect(refusedThenBack({}, [LINE.refused('20:20:40')]).verdict.rootCause).toBe('upstream-down');
    });
  });

  it('states the share of failing requests the error log explains, and lists the rest', () => {
    const result = classify(
      evidence(repeat(10, LINE.refused), {
        extra: {
          traffic: traffic({
            requests: 40,
            status5xx: 15,
            byStatus: { '200': 25, '502': 15 },
            byUpstream: {
              '127.0.0.1:3000': { requests: 20, failures: 10, byStatus: { '200': 10, '502': 10 } },
              '127.0.0.1:4000': { requests: 20, failures: 5, byStatus: { '200': 15, '502': 5 } },
            },
          }),
        },
      }),
    );
    const share = result.findings.find((f) => f.title.includes('failing requests'));
    expect(share?.title).toContain('67% of the 15 failing requests');
    expect(share?.title).toContain('127.0.0.1:3000 10 (upstream-down)');
    expect(share?.title).toContain('Not explained: 127.0.0.1:4000 5 with no matching error line');
  });
});

describe('an access log without $upstream_status (combined)', () => {
  const dump = (errorLog: string) => `# configuration file /etc/nginx/nginx.conf:
${errorLog}
events {}
http {
    server {
        listen 80;
        location / { proxy_pass http://127.0.0.1:3000; }
    }
}
`;
  const combined502s = (errorLog: string) =>
    classify(
      evidence([], {
        nginxDump: dump(errorLog),
        extra: {
          traffic: traffic({
            requests: 4,
            status5xx: 4,
            byStatus: { '502': 4 },
            format: 'combined',
            samples: ['127.0.0.1 - - [06/Dec/2026:20:20:10 +0000] "GET / HTTP/1.1" 502 5 "-" "curl/8"'],
          }),
        },
      }),
    );

  it('reads 502s that nginx did not log as errors as the upstream’s own answers', () => {
    const result = combined502s('error_log /var/log/nginx/error.log;');
    expect(result.verdict).toMatchObject({
      rootCause: 'upstream-error-response',
      upstream: '127.0.0.1:3000',
    });
    expect(result.verdict.confidence).toBeLessThan(0.8);
  });

  it('says nothing of the kind when the error_log level hides upstream errors (crit)', () => {
    expect(combined502s('error_log /var/log/nginx/error.log crit;').verdict.rootCause).toBe('unknown');
  });
});

describe('identity of listeners and addresses', () => {
  it('names an app on [::1]:P while nginx connects 127.0.0.1:P upstream-wrong-address, with the fix', () => {
    const result = classify(
      evidence(repeat(3, LINE.refused), {
        facts: facts({
          listeners: [{ proto: 'tcp', address: '[::1]:3000', port: 3000, pids: [4242], processes: ['node'] }],
        }),
      }),
    );
    expect(result.verdict.rootCause).toBe('upstream-wrong-address');
    expect(result.verdict.summary).toContain('[::1]:3000');
    expect(result.nextSteps.join('\n')).toContain("server.listen(3000, '127.0.0.1')");
  });

  const TWO_LOCATIONS = `# configuration file /etc/nginx/nginx.conf:
events {}
http {
    server {
        listen 80;
        location / { proxy_pass http://127.0.0.1:3001; }
        location /admin/ { proxy_pass http://127.0.0.1:4000; }
    }
}
`;

  it('finds a wrong proxy_pass port when the hint sits where the app listens, and does not ask for a hint', () => {
    const result = classify(
      evidence(
        repeat(3, (t) => LINE.refused(t, 3001)),
        {
          upstreams: NODE_HINT,
          nginxDump: TWO_LOCATIONS,
          facts: facts({
            listeners: [
              { proto: 'tcp', address: '127.0.0.1:3000', port: 3000, pids: [4242], processes: ['node'] },
            ],
            service: service({ running: true, pids: [4242], listening: ['127.0.0.1:3000'] }),
          }),
        },
      ),
    );
    expect(result.verdict).toMatchObject({ rootCause: 'upstream-wrong-address', upstream: '127.0.0.1:3001' });
    expect(result.nextSteps.join('\n')).toContain('/etc/nginx/nginx.conf:5 to 127.0.0.1:3000');
    expect(result.nextSteps.join('\n')).not.toContain('Add a `service` hint');
  });

  it('does not take a second healthy upstream nginx targets for the wrong address', () => {
    const result = classify(
      evidence(
        repeat(3, (t) => LINE.refused(t, 3001)),
        {
          upstreams: [{ address: '127.0.0.1:4000', service: { process: 'node admin.js' } }],
          nginxDump: TWO_LOCATIONS,
          facts: facts({
            listeners: [
              { proto: 'tcp', address: '127.0.0.1:4000', port: 4000, pids: [5000], processes: ['node'] },
            ],
          }),
        },
      ),
    );
    expect(result.verdict.rootCause).toBe('upstream-down');
  });
});

describe('linked causes and advice', () => {
  const KEEPALIVE = `# configuration file /etc/nginx/nginx.conf:
events {}
http {
    upstream app {
        server 127.0.0.1:3000;
        keepalive 16;
    }
    server {
        listen 80;
        location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
`;

  it('names a keep-alive race with the setting to change when resets meet a keepalive pool and no restart', () => {
    const result = classify(
      evidence(repeat(4, LINE.reset), {
        upstreams: NODE_HINT,
        nginxDump: KEEPALIVE,
        facts: facts({
          listeners: [
            { proto: 'tcp', address: '127.0.0.1:3000', port: 3000, pids: [4242], processes: ['node'] },
          ],
          service: service({ running: true, pids: [4242], restarts: 0, listening: ['127.0.0.1:3000'] }),
        }),
      }),
    );
    expect(result.verdict.rootCause).toBe('upstream-closed-early');
    expect(result.verdict.summary).toMatch(/keep-alive race/i);
    expect(result.verdict.summary).not.toContain('crashed, restarted or aborted');
    expect(result.nextSteps.join('\n')).toContain('keepAliveTimeout');
  });

  it('does not tell an app that pm2 already runs to use a process manager', () => {
    const result = classify(
      evidence(repeat(3, LINE.refused), {
        upstreams: NODE_HINT,
        facts: facts({
          service: service({ recentLog: ['PM2 | App [shop:0] exited with code [1] via signal [SIGINT]'] }),
        }),
      }),
    );
    expect(result.nextSteps.join('\n')).toContain('already runs under pm2');
    expect(result.nextSteps.join('\n')).not.toContain('under a process manager that restarts it');
  });
});

describe('nginx -t as a user other than root', () => {
  it('says the check could not run instead of calling the configuration invalid', () => {
    const result = classify(
      evidence([], {
        facts: facts({
          nginxTest: {
            ok: false,
            output: [
              'nginx: [alert] could not open error log file: open() "/var/log/nginx/error.log" failed (13: Permission denied)',
              '2026/12/06 20:24:00 [warn] 9#9: the "user" directive makes sense only if the master process runs with super-user privileges, ignored in /etc/nginx/nginx.conf:1',
              'nginx: [emerg] open() "/run/nginx.pid" failed (13: Permission denied)',
              'nginx: configuration file /etc/nginx/nginx.conf test failed',
            ].join('\n'),
          },
        }),
      }),
    );
    expect(result.verdict.rootCause).toBe('healthy');
    expect(result.findings.some((f) => f.title.includes('`nginx -t` could not run here'))).toBe(true);
    expect(result.ruledOut.join('\n')).not.toContain('`nginx -t` passes');
  });
});
