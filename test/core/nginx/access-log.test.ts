import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AccessLogScanner,
  MAX_LINE_BYTES,
  parseAccessLogLine,
  TrafficAggregator,
} from '../../../lambdas/core/nginx/access-log.ts';
import { REDACTED } from '../../../lambdas/core/redact.ts';
import { fixtureBytes, fixtureLines, linesWith, lineWith } from './fixtures.ts';

const GW = 'real-access.gatewatch.log';
const COMBINED = 'real-access.combined.log';
const NETNS_GW = 'real-netns-access.gatewatch.log';
const NETNS_COMBINED = 'real-netns-access.combined.log';
const PUBLIC = 'public-reports.access.log';
const ALL_TIME = { fromMs: 0, toMs: Date.UTC(2100, 0, 1) };
const encoder = new TextEncoder();

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

function aggregate(
  chunks: Uint8Array[],
  options: Partial<ConstructorParameters<typeof TrafficAggregator>[0]> = {},
) {
  const aggregator = new TrafficAggregator({ ...ALL_TIME, ...options });
  for (const chunk of chunks) aggregator.push(chunk);
  const summary = aggregator.end();
  return { summary, stats: aggregator.stats() };
}

/** The peer nginx used for a request path, read from the gatewatch fixture. */
function peerOf(path: string): string {
  return parseAccessLogLine(lineWith(GW, `"GET ${path}`))!.upstreams[0]!.peer;
}

describe('parseAccessLogLine on lines from a real nginx', () => {
  it('reads a gatewatch line: time, status, request time, upstream attempt and the request', () => {
    const line = lineWith(GW, '"GET /ok HTTP/1.1"');
    const parsed = parseAccessLogLine(line)!;
    const fields = line.split('\t');
    expect(parsed.format).toBe('gatewatch');
    expect(parsed.timeMs).toBe(Date.parse(fields[1]!));
    expect(parsed.status).toBe(200);
    expect(parsed.requestTimeMs).toBe(Math.round(Number(fields[3]) * 1000));
    expect(parsed.upstreams).toEqual([
      {
        peer: fields[4],
        status: 200,
        connectMs: Math.round(Number(fields[6]) * 1000),
        headerMs: Math.round(Number(fields[7]) * 1000),
        responseMs: Math.round(Number(fields[8]) * 1000),
      },
    ]);
    expect(parsed.request).toBe('GET /ok HTTP/1.1');
    expect(parsed.userAgent).toBe('curl/7.88.1');
    expect(parsed.requestId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('sees nginx write a tab inside a header as \\x09, so a raw tab only ever separates fields', () => {
    const line = lineWith(GW, '/ok?session=');
    expect(line.split('\t')).toHaveLength(16);
    expect(parseAccessLogLine(line)!.userAgent).toBe(
      'tab\\x09here \\x22quoted\\x22 \\xC3\\xBCn\\xC3\\xAFcode',
    );
  });

  it("tells nginx's own 502 (no header time) from the upstream answering 502 itself", () => {
    const refused = parseAccessLogLine(lineWith(GW, '/fault/refused'))!;
    expect(refused.upstreams[0]).toEqual({ peer: expect.any(String), status: 502, responseMs: 0 });
    const app = parseAccessLogLine(lineWith(GW, '/fault/app-502'))!;
    expect(app.upstreams[0]!.status).toBe(502);
    expect(app.upstreams[0]!.headerMs).toBeGreaterThanOrEqual(0);
  });

  it('reads a retry list: one attempt per server, each with its own status and times', () => {
    const line = linesWith(GW, '/fault/retry').find((l) => l.includes(', '))!;
    const parsed = parseAccessLogLine(line)!;
    const [dead, ok] = line.split('\t')[4]!.split(', ');
    expect(parsed.upstreams.map((u) => [u.peer, u.status, u.connectMs])).toEqual([
      [dead, 502, undefined],
      [ok, 200, expect.any(Number)],
    ]);
    expect(parsed.status).toBe(200);
  });

  it('reads an internal redirect (" : ") as two attempts', () => {
    const parsed = parseAccessLogLine(lineWith(GW, '/fault/redirect'))!;
    expect(parsed.upstreams.map((u) => u.status)).toEqual([502, 200]);
    expect(parsed.upstreams[0]!.peer).not.toBe(parsed.upstreams[1]!.peer);
  });

  it('reads "-" as no upstream, unix sockets, group names and HTTP/0.9 status 009', () => {
    expect(parseAccessLogLine(lineWith(GW, '/static/missing.css'))!.upstreams).toEqual([]);
    // socket() failed for lack of descriptors: nginx logs an empty $upstream_addr
    const noFd = lineWith(NETNS_GW, '\t500\t0.000\t\t-\t');
    expect(parseAccessLogLine(noFd)).toMatchObject({ status: 500, upstreams: [] });
    expect(parseAccessLogLine(lineWith(GW, '/fault/dns-nxdomain'))!.upstreams).toEqual([]);
    expect(peerOf('/fault/unix-missing')).toMatch(/^unix:\/tmp\/.+\/sock\/missing\.sock$/);
    const noLive = linesWith(GW, '/fault/all-down').map((l) => parseAccessLogLine(l)!);
    expect(noLive[0]!.upstreams.map((u) => u.status)).toEqual([502, 502]);
    expect(noLive.at(-1)!.upstreams).toEqual([{ peer: 'alldown', status: 502, responseMs: 0 }]);
    expect(parseAccessLogLine(lineWith(GW, '/fault/garbage'))!.status).toBe(9);
  });

  it('reads the combined line of every request as its gatewatch line', () => {
    for (const [gwFile, combinedFile] of [
      [GW, COMBINED],
      [NETNS_GW, NETNS_COMBINED],
    ] as const) {
      const gw = fixtureLines(gwFile).map((l) => parseAccessLogLine(l)!);
      const combined = fixtureLines(combinedFile).map((l) => parseAccessLogLine(l)!);
      expect(combined).toHaveLength(gw.length);
      combined.forEach((c, i) => {
        expect(c.format).toBe('combined');
        expect([c.timeMs, c.status, c.request, c.userAgent]).toEqual([
          gw[i]!.timeMs,
          gw[i]!.status,
          gw[i]!.request,
          gw[i]!.userAgent,
        ]);
        expect(c.upstreams).toEqual([]);
        expect(c.requestTimeMs).toBeUndefined();
      });
    }
  });

  it('reads the +0530 of the namespace instance', () => {
    const line = fixtureLines(NETNS_COMBINED)[0]!;
    expect(line).toContain(' +0530]');
    const local = /\[(\d+)\/(\w+)\/(\d+):(\d+):(\d+):(\d+) /.exec(line)!;
    const utc = Date.UTC(
      Number(local[3]),
      10,
      Number(local[1]),
      Number(local[4]),
      Number(local[5]),
      Number(local[6]),
    );
    expect(parseAccessLogLine(line)!.timeMs).toBe(utc - 330 * 60_000);
  });

  it('reads combined lines with more fields after the user agent, as quoted in public reports', () => {
    const lines = fixtureLines(PUBLIC);
    const docker = parseAccessLogLine(lines[0]!)!;
    expect(docker).toMatchObject({ format: 'combined', status: 502, request: 'GET / HTTP/1.1' });
    expect(docker.timeMs).toBe(Date.UTC(2024, 10, 3, 6, 9, 29));
    expect(parseAccessLogLine(lines[2]!)).toMatchObject({
      status: 502,
      timeMs: Date.UTC(2020, 4, 7, 3, 15, 12),
    });
  });

  it.each([
    ['an error-log line', fixtureLines('real-error.log')[0]!],
    ['a gatewatch line cut in half', lineWith(GW, '/fault/retry').slice(0, 90)],
    ['a gatewatch line cut before the host', lineWith(GW, '/ok').replace(/\t[^\t]*$/, '')],
    ['a gatewatch line with a word for a status', lineWith(GW, '/ok').replace('\t200\t', '\tOK\t')],
    ['a gatewatch line with a bad retry list', lineWith(GW, '/fault/retry').replace('502, 200', '502,, 200')],
    ['a combined line without its user agent', fixtureLines(COMBINED)[0]!.replace(/ "curl\/7\.88\.1"$/, '')],
    ['a combined line dated 31 November', fixtureLines(COMBINED)[0]!.replace(/\[\d\d\/Nov/, '[31/Nov')],
    ['JSON', '{"time":"2026-11-24T06:00:04Z","status":502}'],
  ])('recognises %s as neither format', (_name, line) => {
    expect(parseAccessLogLine(line)).toBeUndefined();
  });
});

describe('TrafficAggregator', () => {
  it('sums a real gatewatch log: requests, 5xx, statuses and one chart bucket per minute', () => {
    const lines = fixtureLines(GW);
    const statuses = lines.map((l) => l.split('\t')[2]!);
    const { summary, stats } = aggregate([fixtureBytes(GW)]);
    expect(summary.format).toBe('gatewatch');
    expect(summary.requests).toBe(lines.length);
    expect(summary.status5xx).toBe(statuses.filter((s) => s.startsWith('5')).length);
    expect(summary.byStatus['009']).toBe(statuses.filter((s) => s === '009').length);
    expect(summary.byStatus['502']).toBe(statuses.filter((s) => s === '502').length);
    expect(summary.malformed).toBe(0);
    expect(summary.perMinute.reduce((n, m) => n + m.requests, 0)).toBe(summary.requests);
    expect(summary.perMinute.reduce((n, m) => n + m.status502, 0)).toBe(summary.byStatus['502']);
    for (const m of summary.perMinute) expect(m.minute).toMatch(/T\d\d:\d\d:00Z$/);
    expect(summary.firstAt).toBe(
      new Date(Date.parse(lines[0]!.split('\t')[1]!)).toISOString().replace('.000Z', 'Z'),
    );
    expect(stats).toMatchObject({ lines: lines.length, gatewatch: lines.length, combined: 0, malformed: 0 });
  });

  it('shows a 502/504 the upstream itself answered, which nginx never writes to the error log', () => {
    const { summary, stats } = aggregate([fixtureBytes(GW)]);
    const app502 = peerOf('/fault/app-502');
    const app504 = peerOf('/fault/app-504');
    expect(summary.byUpstream[app502]).toMatchObject({ requests: 1, failures: 1, byStatus: { '502': 1 } });
    expect(summary.byUpstream[app504]).toMatchObject({ requests: 1, failures: 1, byStatus: { '504': 1 } });
    expect(stats.upstreamAnswered5xx[app502]).toBe(1);
    expect(stats.upstreamAnswered5xx[app504]).toBe(1);
    // nginx's own 502 after a refused connect carries no header time
    expect(stats.upstreamAnswered5xx[peerOf('/fault/refused')]).toBeUndefined();
  });

  it('records an upstream’s last failure and its successes after it and between its failures', () => {
    const line = (second: number, status: number) =>
      [
        'gw1',
        `2026-12-06T20:20:${String(second).padStart(2, '0')}+00:00`,
        String(status),
        '0.002',
        '127.0.0.1:3000',
        String(status),
        status >= 500 ? '-' : '0.000',
        status >= 500 ? '-' : '0.001',
        status >= 500 ? '0.000' : '0.001',
        `r${second}`,
        '127.0.0.1',
        '"GET / HTTP/1.1"',
        '0',
        '"-"',
        '"curl/8"',
        'shop.example.com',
      ].join('\t');
    const bytes = (statuses: number[]) =>
      new TextEncoder().encode(`${statuses.map((status, i) => line(i + 1, status)).join('\n')}\n`);

    const outage = aggregate([bytes([200, 502, 502, 502, 200, 200, 200])]).summary.byUpstream[
      '127.0.0.1:3000'
    ];
    expect(outage).toMatchObject({
      lastFailedAt: '2026-12-06T20:20:04Z',
      okAfterLastFailure: 3,
      okBetweenFailures: 0,
      lastAnsweredAt: '2026-12-06T20:20:07Z',
    });
    const intermittent = aggregate([bytes([502, 200, 502, 200, 200])]).summary.byUpstream['127.0.0.1:3000'];
    expect(intermittent).toMatchObject({ okAfterLastFailure: 2, okBetweenFailures: 1 });
    const never = aggregate([bytes([200, 200])]).summary.byUpstream['127.0.0.1:3000'];
    expect(never?.lastFailedAt).toBeUndefined();
    expect(never?.okAfterLastFailure).toBeUndefined();
  });

  it('keeps its own copy of each upstream address: a reader that refills one buffer changes no attribution', () => {
    const line = (peer: string, path: string) =>
      `gw1\t2026-12-06T20:20:01+00:00\t200\t0.002\t${peer}\t200\t0.000\t0.001\t0.001\tr\t127.0.0.1\t"GET ${path} HTTP/1.1"\t0\t"-"\t"-"\tshop\n`;
    // As the file reader does: one buffer, refilled for every chunk. The same upstream stands at another
    // offset in each chunk; more chunks than the scanner interns spellings (4,096).
    const buffer = Buffer.alloc(16_384);
    const aggregator = new TrafficAggregator(ALL_TIME);
    const chunks = 5000;
    for (let i = 0; i < chunks; i++) {
      const text = line('10.0.0.9:3000', `/${'a'.repeat(i)}`) + line('10.0.0.1:3000', '/');
      const n = buffer.write(text, 'latin1');
      aggregator.push(buffer.subarray(0, n));
    }
    const { byUpstream } = aggregator.end();
    expect(Object.keys(byUpstream).sort()).toEqual(['10.0.0.1:3000', '10.0.0.9:3000']);
    expect(byUpstream['10.0.0.1:3000']?.requests).toBe(chunks);
  });

  it('records when each upstream answered (a status of its own), not when nginx wrote 502 for it', () => {
    const lines = fixtureLines(GW);
    const { summary } = aggregate([fixtureBytes(GW)]);
    const iso = (l: string) => new Date(Date.parse(l.split('\t')[1]!)).toISOString().replace('.000Z', 'Z');
    const ok = peerOf('/ok');
    const answeredByOk = lines.filter((l) => {
      const f = l.split('\t');
      return f[4] === ok && /^[1-4]\d\d$/.test(f[5]!);
    });
    expect(answeredByOk.length).toBeGreaterThan(0);
    expect(summary.byUpstream[ok]).toMatchObject({
      firstAnsweredAt: iso(answeredByOk[0]!),
      lastAnsweredAt: iso(answeredByOk.at(-1)!),
    });
    // A refused upstream never answered: nginx wrote the 502 alone.
    const refused = summary.byUpstream[peerOf('/fault/refused')]!;
    expect(refused.failures).toBeGreaterThan(0);
    expect(refused.firstAnsweredAt).toBeUndefined();
    expect(refused.lastAnsweredAt).toBeUndefined();
    // An upstream that answered 502 itself was alive then.
    expect(summary.byUpstream[peerOf('/fault/app-502')]!.lastAnsweredAt).toBeDefined();
  });

  it('counts every attempt of a retry list against its own peer with its own status', () => {
    const retries = linesWith(GW, '/fault/retry').map((l) => parseAccessLogLine(l)!);
    const { summary } = aggregate([fixtureBytes(GW)]);
    const dead = retries.find((r) => r.upstreams.length === 2)!.upstreams[0]!.peer;
    const ok = retries[0]!.upstreams.at(-1)!.peer;
    const deadAttempts = retries.filter((r) => r.upstreams.length === 2).length;
    // the dead port also served /fault/refused and the first attempt of /fault/redirect
    const deadElsewhere =
      linesWith(GW, `\t${dead}`).length -
      retries.filter((r) => r.upstreams.some((u) => u.peer === dead)).length;
    expect(summary.byUpstream[dead]!.byStatus['502']).toBe(deadAttempts + deadElsewhere);
    expect(summary.byUpstream[ok]!.byStatus['200']).toBeGreaterThanOrEqual(retries.length);
    expect(summary.byUpstream.alldown).toMatchObject({ failures: 2, byStatus: { '502': 2 } });
  });

  it('keeps the newest failing requests as redacted samples, newest last', () => {
    const { summary } = aggregate([fixtureBytes(GW)]);
    expect(summary.samples).toHaveLength(5);
    expect(summary.samples.at(-1)).toContain('"POST /fault/send-reset HTTP/1.1"');
    const all = aggregate([fixtureBytes(GW)], { maxSamples: 100 }).summary.samples;
    expect(all).toHaveLength(summary.status5xx);
    expect(all.slice(-5)).toEqual(summary.samples);
    const refused = all.find((s) => s.includes('/fault/refused'))!;
    expect(refused).toContain(`token=${REDACTED}`);
    expect(refused).not.toContain('abc123');
    expect(refused).toMatch(
      / 502 "GET \/fault\/refused\?token=\[REDACTED\] HTTP\/1\.1" upstream=127\.0\.0\.1:\d+ upstream_status=502 /,
    );
    expect(aggregate([fixtureBytes(GW)], { maxSamples: 0 }).summary.samples).toEqual([]);
  });

  it('counts only the lines inside the window', () => {
    const lines = fixtureLines(GW);
    const times = lines.map((l) => Date.parse(l.split('\t')[1]!));
    const from = times[Math.floor(times.length / 3)]!;
    const to = times[Math.floor((2 * times.length) / 3)]!;
    const { summary, stats } = aggregate([fixtureBytes(GW)], { fromMs: from, toMs: to });
    const inside = times.filter((t) => t >= from && t <= to).length;
    expect(summary.requests).toBe(inside);
    expect(stats.outsideWindow).toBe(lines.length - inside);
    expect(Date.parse(summary.firstAt!)).toBeGreaterThanOrEqual(from);
  });

  it('reports the format most lines had and counts other lines as malformed', () => {
    const text = `${fixtureLines(COMBINED).join('\n')}\n${fixtureLines(GW).slice(0, 3).join('\n')}\nnot a log line\n\n`;
    const { summary, stats } = aggregate([bytes(text)]);
    expect(summary.format).toBe('combined');
    expect(summary.malformed).toBe(1);
    expect(stats).toMatchObject({ gatewatch: 3, malformed: 1, lines: fixtureLines(COMBINED).length + 4 });
    expect(aggregate([bytes('nothing\nhere\n')]).summary.format).toBe('unknown');
  });

  it('reads a combined log: statuses, minutes and samples, without upstreams', () => {
    const { summary } = aggregate([fixtureBytes(NETNS_COMBINED)]);
    expect(summary.format).toBe('combined');
    expect(summary.byUpstream).toEqual({});
    expect(summary.byStatus['500']).toBe(linesWith(NETNS_COMBINED, '" 500 ').length);
    expect(summary.samples.at(-1)).toMatch(
      /^\d\d\/Nov\/2026:\d\d:\d\d:\d\d \+0530 50\d "GET \/fault\/slow HTTP\/1\.1" user_agent="curl\/7\.88\.1"$/,
    );
  });

  it('reads CRLF line ends and a last line without a newline', () => {
    const lines = fixtureLines(GW);
    const crlf = aggregate([bytes(lines.join('\r\n'))]);
    const lf = aggregate([bytes(`${lines.join('\n')}\n`)]);
    expect(crlf).toEqual(lf);
  });

  it('counts a line longer than MAX_LINE_BYTES as malformed, whole or split', () => {
    const long = `${lineWith(GW, '/ok')}${'x'.repeat(MAX_LINE_BYTES)}\n`;
    const text = bytes(`${long}${lineWith(GW, '/fault/refused')}\n`);
    const whole = aggregate([text]);
    const split = aggregate([text.subarray(0, 1000), text.subarray(1000, 40_000), text.subarray(40_000)]);
    expect(whole.summary).toMatchObject({ requests: 1, malformed: 1 });
    expect(split).toEqual(whole);
  });

  it('never throws, whatever bytes it is given', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (chunks) => {
        const { summary, stats } = aggregate(chunks);
        expect(stats.lines).toBe(stats.gatewatch + stats.combined + stats.malformed);
        expect(summary.requests + stats.outsideWindow).toBe(stats.gatewatch + stats.combined);
      }),
      { numRuns: 500 },
    );
  });

  it('gives the same summary however the log is split into chunks', () => {
    const real = [
      ...fixtureLines(GW),
      ...fixtureLines(COMBINED),
      ...fixtureLines(NETNS_GW),
      ...fixtureLines(PUBLIC),
    ];
    const line = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...real) },
      { weight: 1, arbitrary: fc.string() },
      // a real line with some of its bytes changed
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.constantFrom(...real),
            fc.nat(),
            fc.constantFrom('\t', '"', ' ', ',', '-', '0', ':', '\r'),
          )
          .map(([l, at, c]) => l.slice(0, at % (l.length + 1)) + c + l.slice((at % (l.length + 1)) + 1)),
      },
    );
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 40 }),
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.integer({ min: 0, max: 2 ** 41 }),
        fc.integer({ min: 0, max: 2 ** 41 }),
        (lines, eol, cuts, a, b) => {
          const text = bytes(lines.join(eol));
          const window = {
            fromMs: Math.min(a, b) + Date.UTC(2000, 0, 1),
            toMs: Math.max(a, b) + Date.UTC(2000, 0, 1),
          };
          const whole = aggregate([text], window);
          const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((x, y) => x - y);
          const chunks: Uint8Array[] = [];
          let start = 0;
          for (const cut of [...at, text.length]) {
            chunks.push(text.slice(start, cut));
            start = cut;
          }
          expect(aggregate(chunks, window)).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('AccessLogScanner', () => {
  it('hands each record to the callback with the line bytes still readable', () => {
    const seen: string[] = [];
    const scanner = new AccessLogScanner((r) =>
      seen.push(`${r.status} ${r.requestLine()} ${r.line().length}`),
    );
    const lines = fixtureLines(GW).slice(0, 5);
    const text = bytes(`${lines.join('\n')}\n`);
    scanner.push(text.subarray(0, 50));
    scanner.push(text.subarray(50));
    scanner.end();
    expect(seen).toEqual(
      lines.map(
        (l) => `${l.split('\t')[2]!.replace(/^0+/, '')} ${l.split('\t')[11]!.slice(1, -1)} ${l.length}`,
      ),
    );
    expect(scanner.counts).toMatchObject({ lines: 5, gatewatch: 5, combined: 0, malformed: 0, truncated: 0 });
    expect(scanner.counts.unreadableSamples).toEqual([]);
  });
});
