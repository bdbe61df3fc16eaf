import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emfDocument } from '../../../lambdas/core/metrics/emf.ts';
import {
  LogCountsSchema,
  type LogEvent,
  MINUTE_MS,
  minuteCounter,
} from '../../../lambdas/core/metrics/log-minutes.ts';
import type { MetricRecord } from '../../../lambdas/core/metrics/records.ts';
import { parseAccessLogLine, TrafficAggregator } from '../../../lambdas/core/nginx/access-log.ts';
import { ErrorLogCollector, parseErrorLogLine } from '../../../lambdas/core/nginx/error-log.ts';
import { repoPath } from '../../../lib/paths.ts';

function fixtureLines(name: string): string[] {
  return readFileSync(repoPath(`test/fixtures/nginx/${name}`), 'latin1')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/** Each line as the CloudWatch agent ships it: one event, timestamped from the line (timestamp_format). */
function accessEvents(lines: string[]): LogEvent[] {
  return lines.map((line) => {
    const timestampMs = parseAccessLogLine(line)!.timeMs;
    return { timestampMs, message: line, ingestionMs: timestampMs + 4_000 };
  });
}

function errorEvents(lines: string[]): LogEvent[] {
  return lines.map((line) => ({ timestampMs: parseErrorLogLine(line).epochMs, message: line }));
}

/** The whole minutes spanning `events`. */
function rangeOf(events: LogEvent[]): { fromMs: number; toMs: number } {
  const times = events.map((e) => e.timestampMs);
  const fromMs = Math.floor(Math.min(...times) / MINUTE_MS) * MINUTE_MS;
  const toMs = (Math.floor(Math.max(...times) / MINUTE_MS) + 1) * MINUTE_MS;
  return { fromMs, toMs };
}

function metric(records: MetricRecord[], name: string, dimensions: Record<string, string>, atMs?: number) {
  return records
    .filter(
      (r) =>
        (atMs === undefined || r.atMs === atMs) &&
        JSON.stringify(r.dimensions) === JSON.stringify(dimensions),
    )
    .flatMap((r) => r.metrics.filter((m) => m.name === name).map((m) => m.value));
}

describe('access-log minutes', () => {
  it.each(['real-access.gatewatch.log', 'real-access.combined.log', 'real-netns-access.gatewatch.log'])(
    'counts %s per minute exactly as the report’s traffic aggregator does',
    (fixture) => {
      const events = accessEvents(fixtureLines(fixture));
      const range = rangeOf(events);
      // Every peer on its own (the fixtures have more than the default 20 per minute).
      const counter = minuteCounter('access', range, undefined, { maxUpstreams: 1000 });
      for (const event of events) counter.add(event);
      const records = counter.records('shop');

      const aggregator = new TrafficAggregator({ fromMs: range.fromMs, toMs: range.toMs });
      aggregator.push(new TextEncoder().encode(`${fixtureLines(fixture).join('\n')}\n`));
      const traffic = aggregator.end();

      expect(traffic.perMinute.length).toBeGreaterThan(0);
      for (const minute of traffic.perMinute) {
        const at = Date.parse(minute.minute);
        const shop = { Target: 'shop' };
        expect(metric(records, 'Requests', shop, at), minute.minute).toEqual([minute.requests]);
        expect(metric(records, 'Status5xx', shop, at)).toEqual([minute.status5xx]);
        expect(metric(records, 'Status502', shop, at)).toEqual([minute.status502]);
        expect(metric(records, 'Status504', shop, at)).toEqual([minute.status504]);
        // The alarmed share is a window's ratio of sums (`error-rate.ts`), never a per-minute percentage.
        expect(metric(records, 'Status5xxPercent', shop, at)).toEqual([]);
      }
      // Per upstream: every attempt against its own peer, as the aggregator's byUpstream counts them.
      for (const [peer, upstream] of Object.entries(traffic.byUpstream)) {
        const dims = { Target: 'shop', Upstream: peer };
        const sum = (name: string) => metric(records, name, dims).reduce((a, b) => a + b, 0);
        expect(sum('Requests'), peer).toBe(upstream.requests);
        expect(sum('Status5xx'), peer).toBe(upstream.failures);
        expect(sum('Status502'), peer).toBe(upstream.byStatus['502'] ?? 0);
        expect(sum('Status504'), peer).toBe(upstream.byStatus['504'] ?? 0);
      }
      for (const record of records) expect(() => emfDocument(record)).not.toThrow();
    },
  );

  it('publishes zero traffic for a quiet minute, and no per-minute percentage at all', () => {
    const from = Date.parse('2026-11-24T06:00:00Z');
    const counter = minuteCounter('access', { fromMs: from, toMs: from + 3 * MINUTE_MS });
    const line =
      'gw1\t2026-11-24T06:01:24+00:00\t504\t60.001\t10.0.1.7:8080\t504\t0.001\t-\t60.000\tid1\t10.0.0.9\t"GET /slow HTTP/1.1"\t167\t"-"\t"curl/8"\tshop.example.com';
    counter.add({ timestampMs: from + MINUTE_MS + 24_000, message: line });

    const records = counter.records('shop');

    expect(
      records.filter((r) => JSON.stringify(r.dimensions) === '{"Target":"shop"}').map((r) => r.atMs),
    ).toEqual([from, from + MINUTE_MS, from + 2 * MINUTE_MS]);
    expect(metric(records, 'Requests', { Target: 'shop' })).toEqual([0, 1, 0]);
    expect(metric(records, 'Status504', { Target: 'shop' })).toEqual([0, 1, 0]);
    expect(metric(records, 'Status5xxPercent', { Target: 'shop' })).toEqual([]);
    expect(metric(records, 'Status504', { Target: 'shop', Upstream: '10.0.1.7:8080' })).toEqual([1]);
  });

  it('buckets by the event’s CloudWatch timestamp, so a minute is published by exactly one range', () => {
    const from = Date.parse('2026-11-24T06:01:00Z');
    const counter = minuteCounter('access', { fromMs: from, toMs: from + MINUTE_MS });
    const line = fixtureLines('real-access.gatewatch.log')[0]!; // written at 06:01:24 by nginx
    counter.add({ timestampMs: from + 59_999, message: line });
    counter.add({ timestampMs: from + MINUTE_MS, message: line }); // the next range's

    const counts = counter.toJSON();
    expect(counts.outsideRange).toBe(1);
    expect(metric(counter.records('shop'), 'Requests', { Target: 'shop' })).toEqual([1]);
  });

  it('counts a line of neither format as malformed, and says so on the minute', () => {
    const from = Date.parse('2026-11-24T06:01:00Z');
    const counter = minuteCounter('access', { fromMs: from, toMs: from + MINUTE_MS });
    counter.add({ timestampMs: from + 1, message: 'not an access log line' });
    counter.add({ timestampMs: from + 2, message: fixtureLines('real-access.combined.log')[0]! });

    const [record] = counter.records('shop');
    expect(record!.properties).toEqual({ malformedLines: 1 });
    expect(metric([record!], 'Requests', { Target: 'shop' })).toEqual([1]);
    expect(counter.toJSON()).toMatchObject({ lines: 2, malformed: 1, events: 2 });
  });

  it('publishes the busiest upstreams and sums the rest as (other), so the metric count stays bounded', () => {
    const from = Date.parse('2026-11-24T06:00:00Z');
    const counter = minuteCounter('access', { fromMs: from, toMs: from + MINUTE_MS }, undefined, {
      maxUpstreams: 2,
    });
    const peers = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80'];
    peers.forEach((peer, index) => {
      for (let n = 0; n <= index; n++) {
        counter.add({
          timestampMs: from + 1_000,
          message: `gw1\t2026-11-24T06:00:01+00:00\t502\t0.001\t${peer}\t502\t-\t-\t0.000\tid\t10.0.0.9\t"GET / HTTP/1.1"\t1\t"-"\t"ua"\th`,
        });
      }
    });

    const upstreams = counter
      .records('shop')
      .filter((r) => r.dimensions.Upstream !== undefined)
      .map((r) => [r.dimensions.Upstream, r.metrics.find((m) => m.name === 'Requests')!.value]);

    expect(upstreams).toEqual([
      ['10.0.0.4:80', 4],
      ['10.0.0.3:80', 3],
      ['(other)', 3],
    ]);
  });

  it('gives the same records whether a range is read in one go or page by page with the counts persisted between', () => {
    const events = accessEvents([
      ...fixtureLines('real-access.gatewatch.log'),
      ...fixtureLines('real-netns-access.gatewatch.log'),
    ]);
    const range = rangeOf(events);
    const whole = minuteCounter('access', range);
    for (const event of events) whole.add(event);
    const expected = whole.records('shop');

    fc.assert(
      fc.property(fc.array(fc.nat(events.length), { maxLength: 6 }), (cuts) => {
        const bounds = [0, ...[...cuts].sort((a, b) => a - b), events.length];
        let saved: unknown;
        for (let i = 0; i + 1 < bounds.length; i++) {
          // The counts go through JSON and the schema, as they do through the cursor object.
          const restored =
            saved === undefined ? undefined : LogCountsSchema.parse(JSON.parse(JSON.stringify(saved)));
          const counter = minuteCounter('access', range, restored);
          for (const event of events.slice(bounds[i], bounds[i + 1])) counter.add(event);
          saved = counter.toJSON();
        }
        const final = minuteCounter('access', range, LogCountsSchema.parse(saved));
        expect(final.records('shop')).toEqual(expected);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses persisted counts of the other log kind', () => {
    const range = { fromMs: 0, toMs: MINUTE_MS };
    const errorCounts = minuteCounter('error', range).toJSON();
    expect(() => minuteCounter('access', range, errorCounts)).toThrow(/error log, not access/);
  });

  it('refuses a range that is not whole minutes', () => {
    expect(() => minuteCounter('access', { fromMs: 1, toMs: MINUTE_MS })).toThrow(RangeError);
    expect(() => minuteCounter('error', { fromMs: MINUTE_MS, toMs: MINUTE_MS })).toThrow(RangeError);
  });
});

describe('error-log minutes', () => {
  it.each(['real-error.log', 'real-netns-error.log', 'public-reports.error.log'])(
    'counts the upstream failures of %s per kind as the error-log collector groups them',
    (fixture) => {
      const lines = fixtureLines(fixture);
      const events = errorEvents(lines.filter((line) => /^\d{4}\/\d{2}\/\d{2} /.test(line)));
      const range = rangeOf(events);
      const counter = minuteCounter('error', range);
      for (const event of events) counter.add(event);
      const records = counter.records('shop');

      const collector = new ErrorLogCollector({ fromMs: range.fromMs, toMs: range.toMs, maxKept: 10_000 });
      for (const line of lines) collector.push(line);
      const byKind = new Map<string, number>();
      for (const group of collector.summary().groups)
        byKind.set(group.kind, (byKind.get(group.kind) ?? 0) + group.count);

      expect(byKind.size).toBeGreaterThan(0);
      const published = new Map<string, number>();
      for (const record of records) {
        expect(Object.keys(record.dimensions).sort()).toEqual(['Kind', 'Target']);
        expect(record.metrics.map((m) => m.name)).toEqual(['UpstreamErrors']);
        const kind = record.dimensions.Kind!;
        published.set(kind, (published.get(kind) ?? 0) + record.metrics[0]!.value);
        expect(() => emfDocument(record)).not.toThrow();
      }
      expect(published).toEqual(byKind);
    },
  );

  it('names the peers of a failure kind as a property, not as a dimension', () => {
    const from = Date.parse('2026-11-24T06:01:00Z');
    const counter = minuteCounter('error', { fromMs: from, toMs: from + MINUTE_MS });
    const refused = fixtureLines('real-error.log').find((line) =>
      line.includes('(111: Connection refused)'),
    )!;
    counter.add({ timestampMs: from + 24_000, message: `${refused}\n${refused}` });

    expect(counter.records('shop')).toEqual([
      {
        atMs: from,
        dimensions: { Target: 'shop', Kind: 'refused' },
        metrics: [{ name: 'UpstreamErrors', unit: 'Count', value: 2 }],
        properties: { peers: { '127.0.0.1:41935': 2 } },
      },
    ]);
  });

  it('publishes nothing for a minute without upstream failures, and counts unreadable lines', () => {
    const from = Date.parse('2026-11-24T06:01:00Z');
    const counter = minuteCounter('error', { fromMs: from, toMs: from + MINUTE_MS });
    const notUpstream = fixtureLines('real-error.log').find((line) => line.includes('open()'))!;
    counter.add({ timestampMs: from + 1, message: notUpstream });
    counter.add({ timestampMs: from + 2, message: 'garbage that is no nginx line' });

    expect(counter.records('shop')).toEqual([]);
    expect(counter.toJSON()).toMatchObject({ lines: 2, malformed: 1 });
  });
});
