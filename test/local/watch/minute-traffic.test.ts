// The access-log lines are the real ones nginx 1.22.1 wrote on the build machine
// (test/fixtures/nginx/real-access.*.log, see test/fixtures/nginx/make-fixtures.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TrafficAggregator } from '../../../lambdas/core/nginx/access-log.ts';
import { MinuteTraffic, status5xxPercent } from '../../../lambdas/local/watch/minute-traffic.ts';

function fixtureLines(name: string): string[] {
  const text = readFileSync(new URL(`../../fixtures/nginx/${name}`, import.meta.url), 'latin1');
  return text.split('\n').filter((line) => line !== '');
}

/** A real gatewatch-format line moved to another time (the `$time_iso8601` field). */
function at(line: string, iso: string): string {
  const fields = line.split('\t');
  fields[1] = iso;
  return fields.join('\t');
}

const END_OF_TIME = Date.parse('2100-01-01T00:00:00Z');

describe('per-minute access-log traffic for the error-rate alarm', () => {
  for (const name of ['real-access.gatewatch.log', 'real-access.combined.log']) {
    it(`counts requests, 5xx, 502 and 504 per minute as the diagnosis does (${name})`, () => {
      const lines = fixtureLines(name);
      const traffic = new MinuteTraffic();
      for (const line of lines) traffic.addLine(line);
      const published = traffic.takeComplete(END_OF_TIME);

      const aggregator = new TrafficAggregator({ fromMs: 0, toMs: END_OF_TIME });
      aggregator.push(Buffer.from(`${lines.join('\n')}\n`, 'latin1'));
      const expected = aggregator.end().perMinute;

      expect(published.length).toBeGreaterThan(0);
      expect(
        published.map((m) => ({
          minute: new Date(m.minuteMs).toISOString().replace('.000Z', 'Z'),
          requests: m.requests,
          status5xx: m.status5xx,
          status502: m.status502,
          status504: m.status504,
        })),
      ).toEqual(expected);
      expect(published.some((m) => m.status502 > 0 && m.status504 > 0)).toBe(true);
    });
  }

  it('publishes a minute once, after it is over and the grace for late lines has passed', () => {
    const [line] = fixtureLines('real-access.gatewatch.log');
    const traffic = new MinuteTraffic({ graceMs: 5000 });
    traffic.addLine(at(line!, '2026-11-24T06:01:30+00:00'));
    traffic.addLine(at(line!, '2026-11-24T06:02:10+00:00'));
    expect(traffic.takeComplete(Date.parse('2026-11-24T06:02:04Z'))).toEqual([]);
    const first = traffic.takeComplete(Date.parse('2026-11-24T06:02:05Z'));
    expect(first.map((m) => new Date(m.minuteMs).toISOString())).toEqual(['2026-11-24T06:01:00.000Z']);
    expect(traffic.takeComplete(Date.parse('2026-11-24T06:02:06Z'))).toEqual([]);
    expect(traffic.pending().map((m) => new Date(m.minuteMs).toISOString())).toEqual([
      '2026-11-24T06:02:00.000Z',
    ]);
  });

  it('counts a line for a minute already published as late instead of publishing that minute twice', () => {
    const [line] = fixtureLines('real-access.gatewatch.log');
    const traffic = new MinuteTraffic({ graceMs: 0 });
    traffic.addLine(at(line!, '2026-11-24T06:01:30+00:00'));
    traffic.takeComplete(Date.parse('2026-11-24T06:02:00Z'));
    traffic.addLine(at(line!, '2026-11-24T06:01:59+00:00'));
    expect(traffic.takeComplete(END_OF_TIME)).toEqual([]);
    expect(traffic.takeDropped()).toEqual({ late: 1, malformed: 0 });
  });

  it('resumes the minutes it was counting before a restart', () => {
    const [line] = fixtureLines('real-access.gatewatch.log');
    const before = new MinuteTraffic();
    before.addLine(at(line!, '2026-11-24T06:01:30+00:00'));
    const after = new MinuteTraffic({ pending: before.pending() });
    after.addLine(at(line!, '2026-11-24T06:01:40+00:00'));
    expect(after.takeComplete(END_OF_TIME).map((m) => m.requests)).toEqual([2]);
  });

  it('counts lines of no known format as malformed, not as requests', () => {
    const traffic = new MinuteTraffic();
    traffic.addLine('this is not an access log line');
    expect(traffic.takeComplete(END_OF_TIME)).toEqual([]);
    expect(traffic.takeDropped()).toEqual({ late: 0, malformed: 1 });
  });

  it('turns a minute into the 5xx share in percent, and no traffic into no datapoint', () => {
    expect(status5xxPercent({ minuteMs: 0, requests: 8, status5xx: 2, status502: 2, status504: 0 })).toBe(25);
    expect(status5xxPercent({ minuteMs: 0, requests: 0, status5xx: 0, status502: 0, status504: 0 })).toBe(
      undefined,
    );
  });
});
