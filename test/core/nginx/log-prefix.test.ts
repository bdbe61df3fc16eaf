import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAccessLogLine, TrafficAggregator } from '../../../lambdas/core/nginx/access-log.ts';
import {
  ErrorLogCollector,
  ErrorLogParseError,
  parseErrorLogLine,
  readErrorLogLine,
} from '../../../lambdas/core/nginx/error-log.ts';
import { stripLogPrefix } from '../../../lambdas/core/nginx/log-prefix.ts';
import { fixtureLines, lineWith } from './fixtures.ts';

const ERROR_LINE = lineWith('real-error.log', 'GET /fault/refused');
const COMBINED = fixtureLines('real-access.combined.log').find((l) => l.includes('" 502 '))!;
const GATEWATCH = fixtureLines('real-access.gatewatch.log').find((l) => /\t502\t/.test(l))!;

/** How each runtime or shipper writes a line `l`, as they write it. */
const PREFIXES: [string, (l: string) => string][] = [
  ['docker logs --timestamps', (l) => `2026-11-24T06:01:24.123456789Z ${l}`],
  ['docker compose', (l) => `web-1  | ${l}`],
  ['docker compose --timestamps', (l) => `nginx-1  | 2026-11-24T06:01:24.123456789Z ${l}`],
  ['kubectl logs --prefix', (l) => `[pod/web-7d9c6b7f5-x2x7q/nginx] ${l}`],
  ['syslog (RFC 3164)', (l) => `Nov 24 06:01:24 web01 nginx[1234]: ${l}`],
  ['syslog with a single-digit day', (l) => `Dec  6 20:08:01 web01 nginx: ${l}`],
  ['syslog with a priority', (l) => `<163>Nov 24 06:01:24 web01 nginx[1234]: ${l}`],
  ['RFC 5424', (l) => `<163>1 2026-11-24T06:01:24.003Z web01 nginx 1234 - - ${l}`],
  [
    'RFC 5424 with structured data',
    (l) => `<163>1 2026-11-24T06:01:24Z web01 nginx 1234 ID47 [ex@1 a="b\\]"] ${l}`,
  ],
  ['journalctl -o short-iso', (l) => `2026-11-24T06:01:24+0000 web01 nginx[1234]: ${l}`],
  ['s6 / TAI64N', (l) => `@400000006942ff0e1cbf6d34 ${l}`],
  ["s6-log's ISO 8601 time (T), no zone", (l) => `2026-11-24 06:01:24.676384500  ${l}`],
  ['CloudWatch Logs export (space)', (l) => `2026-11-24T06:01:24.123Z ${l}`],
  ['CloudWatch Logs export (tab)', (l) => `2026-11-24T06:01:24.123Z\t${l}`],
  [
    'docker json-file',
    (l) => `${JSON.stringify({ log: `${l}\n`, stream: 'stderr', time: '2026-11-24T06:01:24.123456789Z' })}`,
  ],
];

describe('stripLogPrefix', () => {
  it.each(PREFIXES)('reads an error-log line behind %s exactly as without it', (_name, wrap) => {
    const plain = parseErrorLogLine(ERROR_LINE);
    const read = readErrorLogLine(wrap(ERROR_LINE));
    expect(read.entry).toEqual(plain);
    expect(read.prefix?.kinds.length).toBeGreaterThan(0);
  });

  it.each(PREFIXES)('reads a combined access-log line behind %s exactly as without it', (_name, wrap) => {
    expect(parseAccessLogLine(wrap(COMBINED))).toEqual(parseAccessLogLine(COMBINED));
    expect(parseAccessLogLine(COMBINED)?.status).toBe(502);
  });

  it.each(PREFIXES)('reads a gatewatch access-log line behind %s exactly as without it', (_name, wrap) => {
    expect(parseAccessLogLine(wrap(GATEWATCH))).toEqual(parseAccessLogLine(GATEWATCH));
    expect(parseAccessLogLine(GATEWATCH)?.status).toBe(502);
  });

  it('takes the UTC time of a zoned prefix (docker, RFC 5424, json-file, TAI64N)', () => {
    const utc = Date.parse('2026-11-24T06:01:24.123Z');
    expect(stripLogPrefix(`2026-11-24T06:01:24.123456789Z x`, () => false).atMs).toBe(utc);
    expect(stripLogPrefix(`2026-11-24T11:31:24.123+05:30 x`, () => false).atMs).toBe(utc);
    expect(stripLogPrefix(`<1>1 2026-11-23T22:01:24.123-08:00 h a 1 - - x`, () => false).atMs).toBe(utc);
    const tai = stripLogPrefix(
      `@${(2n ** 62n + 10n + BigInt(utc / 1000 - 0.123)).toString(16)}0754d4c0 x`,
      () => false,
    );
    expect(tai.kinds).toEqual(['tai64n']);
    expect(tai.atMs).toBe(utc);
    // syslog carries no year or zone, s6-log's ISO time no zone: no time from them
    expect(stripLogPrefix('Nov 24 06:01:24 h nginx: x', () => false).atMs).toBeUndefined();
    const s6 = stripLogPrefix('2026-11-24 06:01:24.676384500  x', () => false);
    expect(s6).toEqual({ line: 'x', kinds: ['timestamp'] });
    // a zoneless time without s6's nine-digit fraction is not taken for a prefix
    expect(stripLogPrefix('2026-11-24 06:01:24 x', () => false).kinds).toEqual([]);
  });

  it('never touches a line that already is an nginx line, and leaves unknown text alone', () => {
    expect(stripLogPrefix(ERROR_LINE, (l) => l === ERROR_LINE)).toEqual({ line: ERROR_LINE, kinds: [] });
    expect(stripLogPrefix('hello world', () => false)).toEqual({ line: 'hello world', kinds: [] });
    expect(stripLogPrefix('{"log": 1}', () => false).kinds).toEqual([]);
  });

  it('any text either reads as an error-log line or throws ErrorLogParseError, prefixed or not', () => {
    const prefix = fc.constantFrom(...PREFIXES.map(([, wrap]) => wrap), (l: string) => l);
    fc.assert(
      fc.property(prefix, fc.string({ maxLength: 300 }), (wrap, text) => {
        try {
          parseErrorLogLine(wrap(text));
        } catch (error) {
          expect(error).toBeInstanceOf(ErrorLogParseError);
        }
        expect(() => parseAccessLogLine(wrap(text))).not.toThrow();
      }),
    );
  });

  it('a known prefix before a valid line parses as the valid line (both logs, any valid line)', () => {
    const times = fc.date({ min: new Date('1971-01-01'), max: new Date('2100-01-01'), noInvalidDate: true });
    fc.assert(
      fc.property(
        fc.constantFrom(...PREFIXES.map(([, wrap]) => wrap)),
        times,
        fc.integer({ min: 1, max: 99999 }),
        fc.stringMatching(/^[a-z() :0-9]{1,40}$/),
        (wrap, at, pid, message) => {
          const iso = at.toISOString();
          const errorLine = `${iso.slice(0, 10).replaceAll('-', '/')} ${iso.slice(11, 19)} [error] ${pid}#${pid}: *3 ${message}`;
          expect(parseErrorLogLine(wrap(errorLine))).toEqual(parseErrorLogLine(errorLine));
          const access = `gw1\t${iso.slice(0, 19)}+00:00\t502\t0.001\t127.0.0.1:${pid}\t-\t-\t-\t-\tid\t127.0.0.1\t"GET /${message.replaceAll(' ', '')} HTTP/1.1"\t0\t"-"\t"ua"\tlocalhost`;
          expect(parseAccessLogLine(wrap(access))).toEqual(parseAccessLogLine(access));
          expect(parseAccessLogLine(access)).toBeDefined();
        },
      ),
    );
  });
});

describe('reading prefixed logs', () => {
  it('counts a docker-compose error log as read lines, not malformed ones, with the prefixes by kind', () => {
    const collector = new ErrorLogCollector({ fromMs: 0, toMs: Date.parse('2100-01-01') });
    const lines = fixtureLines('real-error.log');
    for (const line of lines) collector.push(`nginx-1  | ${line}`);
    const summary = collector.summary();
    expect(summary.malformed).toBe(0);
    expect(summary.upstreamFailures).toBeGreaterThan(0);
    expect(summary.prefixed).toEqual({ compose: lines.length });
  });

  it('counts unreadable lines and keeps a few redacted, cut-short samples', () => {
    const collector = new ErrorLogCollector({ fromMs: 0, toMs: Date.parse('2100-01-01') });
    collector.push(ERROR_LINE);
    collector.push('\u0000\u0001garbage https://user:hunter2@x/ token=abc');
    collector.push('x'.repeat(5000));
    for (let i = 0; i < 10; i++) collector.push(`junk ${i}`);
    const summary = collector.summary();
    expect(summary.malformed).toBe(12);
    expect(summary.unreadableSamples).toHaveLength(3);
    expect(summary.unreadableSamples?.[0]).toContain('\\x00\\x01garbage');
    expect(summary.unreadableSamples?.join('\n')).not.toContain('hunter2');
    expect(summary.unreadableSamples?.join('\n')).not.toContain('abc');
    expect(summary.unreadableSamples?.[1]?.length).toBeLessThanOrEqual(201);
  });

  it('reads an access log of kubectl-prefixed lines as traffic and counts unreadable ones with samples', () => {
    const aggregator = new TrafficAggregator({ fromMs: 0, toMs: Date.parse('2100-01-01') });
    const lines = fixtureLines('real-access.gatewatch.log');
    const text = `${lines.map((l) => `[pod/web-1/nginx] ${l}`).join('\n')}\nnot a line password=s3cret\n`;
    aggregator.push(new TextEncoder().encode(text));
    const traffic = aggregator.end();
    expect(traffic.requests).toBe(lines.length);
    expect(traffic.malformed).toBe(1);
    const stats = aggregator.stats();
    expect(stats.prefixed).toEqual({ kubectl: lines.length });
    expect(stats.unreadableSamples).toEqual(['not a line password=[REDACTED]']);
  });
});
