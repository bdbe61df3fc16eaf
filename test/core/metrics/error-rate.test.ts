import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alarmDefinitionsFor } from '../../../lambdas/core/alarm/definitions.ts';
import { evaluateAlarm } from '../../../lambdas/core/alarm/evaluate.ts';
import {
  type MinuteStatusCount,
  publishedShares,
  status5xxShare,
} from '../../../lambdas/core/metrics/error-rate.ts';

const M = 60_000;
const T0 = Date.parse('2026-12-06T10:00:00Z');
const window = { minutes: 5, minRequests: 20 };

describe('status5xxShare', () => {
  it('is the ratio of sums over the window: one failed request in a quiet minute among busy ones does not fire', () => {
    // Four busy minutes without errors, one quiet minute whose only request failed.
    const minutes: MinuteStatusCount[] = [
      ...[0, 1, 2, 3].map((i) => ({ minuteMs: T0 + i * M, requests: 1000, status5xx: 0 })),
      { minuteMs: T0 + 4 * M, requests: 1, status5xx: 1 },
    ];
    const share = status5xxShare(minutes, T0 + 4 * M, window)!;
    expect(share).toBeCloseTo(100 / 4001, 6);
    // The old rule — the average of per-minute percentages — would have said 20 %, above a 5 % threshold.
    const averageOfPercents =
      minutes.map((m) => (100 * m.status5xx) / m.requests).reduce((a, b) => a + b) / 5;
    expect(averageOfPercents).toBe(20);
  });

  it('gives no sample while the window holds fewer requests than the guard, whatever failed', () => {
    const minutes = [{ minuteMs: T0, requests: 19, status5xx: 19 }];
    expect(status5xxShare(minutes, T0, window)).toBeUndefined();
    expect(status5xxShare([{ minuteMs: T0, requests: 20, status5xx: 19 }], T0, window)).toBe(95);
  });

  it('counts only the minutes of the window ending with the sample’s minute', () => {
    const minutes = [
      { minuteMs: T0 - M, requests: 100, status5xx: 100 }, // before the window
      { minuteMs: T0 + 4 * M, requests: 100, status5xx: 10 },
      { minuteMs: T0 + 5 * M, requests: 100, status5xx: 100 }, // after it
    ];
    expect(status5xxShare(minutes, T0 + 4 * M, window)).toBe(10);
  });
});

describe('publishedShares (what AWS publishes: errors only)', () => {
  it('publishes nothing for a healthy target, so its metric costs nothing', () => {
    const minutes = Array.from({ length: 10 }, (_, i) => ({
      minuteMs: T0 + i * M,
      requests: 500,
      status5xx: 0,
    }));
    expect(publishedShares(minutes, T0 + 5 * M, T0 + 9 * M, window)).toEqual([]);
  });

  it('alarms exactly as publishing every minute would, for any traffic (1 of 1, missing not breaching)', () => {
    const [definition] = alarmDefinitionsFor(
      { name: 'shop', alarm: { errorRate: { percent: 5, minutes: 5, minRequests: 20 } } },
      { probeIntervalSeconds: 60 },
    );
    const minute = fc.record({
      requests: fc.integer({ min: 0, max: 200 }),
      status5xx: fc.integer({ min: 0, max: 30 }),
    });
    fc.assert(
      fc.property(fc.array(minute, { minLength: 30, maxLength: 30 }), (traffic) => {
        const minutes = traffic.map((t, i) => ({
          minuteMs: T0 + i * M,
          requests: Math.max(t.requests, t.status5xx),
          status5xx: t.status5xx,
        }));
        // Each run publishes its newest minute, as the Lambda does.
        const sparse = minutes.flatMap((m) =>
          publishedShares(minutes, m.minuteMs, m.minuteMs, definition!.window!).map((p) => ({
            periodStart: p.minuteMs,
            value: p.share,
          })),
        );
        const dense = minutes.flatMap((m) => {
          const share = status5xxShare(minutes, m.minuteMs, definition!.window!);
          return share === undefined ? [] : [{ periodStart: m.minuteMs, value: share }];
        });
        for (let now = T0 + M; now <= T0 + 30 * M; now += M) {
          const a = evaluateAlarm(definition!, sparse, now, 'OK');
          const b = evaluateAlarm(definition!, dense, now, 'OK');
          if (a !== b) return false;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it('publishes nothing for a window with too few requests after a breach, as every-minute publishing does', () => {
    // fast-check found it (seed 1463171298): 1 failed request of 20 (5 %) breaches, then the window
    // falls under minRequests: no share, so no datapoint (a 0 there would end the ALARM early).
    const counts = [8, 7, 1, 1, 3].map((requests, i) => ({
      minuteMs: T0 + (16 + i) * M,
      requests,
      status5xx: i === 3 ? 1 : 0,
    }));
    const at = (minute: number) => T0 + minute * M;
    expect(publishedShares(counts, at(20), at(22), window)).toEqual([{ minuteMs: at(20), share: 5 }]);
  });
});
