import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../../lambdas/core/metrics/log-minutes.ts';
import {
  CursorConflictError,
  type LogCursorStore,
  type LogPage,
  type LogPageReader,
  type LogPageRequest,
  type LogWatchDeps,
  type LogWatchOptions,
  LogWatchReadError,
  type LogWatchState,
  LogWatchStateSchema,
  PageTokenExpiredError,
  parseLogWatchState,
  runLogWatch,
  type StoredLogWatchState,
  type WatchedLog,
  watchedLogs,
} from '../../../lambdas/core/metrics/log-watch.ts';
import type { MetricRecord } from '../../../lambdas/core/metrics/records.ts';
import { exampleConfig } from '../../infra/synth.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-24T05:00:00Z');

const ACCESS: WatchedLog = {
  key: 'shop/access',
  target: 'shop',
  kind: 'access',
  log: '/gatewatch/shop/nginx-access',
};
const ERROR: WatchedLog = {
  key: 'shop/error',
  target: 'shop',
  kind: 'error',
  log: '/gatewatch/shop/nginx-error',
};

/** An access-log line in gatewatch's format with `status` (its own time does not matter: events are bucketed by timestamp). */
function accessLine(status: number): string {
  return `gw1\t2026-11-24T05:00:00+00:00\t${status}\t0.002\t10.0.1.7:8080\t${status}\t0.001\t0.002\t0.002\tid\t10.0.0.9\t"GET / HTTP/1.1"\t12\t"-"\t"curl/8"\tshop.example.com`;
}

const REFUSED =
  '2026/11/24 05:00:00 [error] 11155#11155: *6 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.9, server: shop, request: "GET / HTTP/1.1", upstream: "http://10.0.1.7:8080/", host: "shop.example.com"';

/**
 * CloudWatch Logs as FilterLogEvents shows it: events of a group in timestamp order, visible once ingested,
 * paged with opaque tokens that can be made to expire.
 */
class FakeLogGroups implements LogPageReader {
  readonly groups = new Map<string, LogEvent[]>();
  readonly calls: LogPageRequest[] = [];
  readonly expired = new Set<string>();
  readonly failing = new Map<string, Error>();
  pageSize = 3;
  now = 0;
  #tokens = 0;

  put(log: string, events: LogEvent[]): void {
    const list = [...(this.groups.get(log) ?? []), ...events];
    list.sort((a, b) => a.timestampMs - b.timestampMs);
    this.groups.set(log, list);
  }

  async readPage(request: LogPageRequest): Promise<LogPage> {
    this.calls.push(request);
    await new Promise((resolve) => setImmediate(resolve));
    const failure = this.failing.get(request.log);
    if (failure) throw failure;
    if (request.nextToken !== undefined && this.expired.has(request.nextToken)) {
      throw new PageTokenExpiredError('The specified nextToken is invalid.');
    }
    const matching = (this.groups.get(request.log) ?? []).filter(
      (e) =>
        e.timestampMs >= request.fromMs && e.timestampMs < request.toMs && (e.ingestionMs ?? 0) <= this.now,
    );
    const offset = request.nextToken === undefined ? 0 : Number(request.nextToken.split('@')[0]);
    const events = matching.slice(offset, offset + this.pageSize);
    const end = offset + this.pageSize;
    return end < matching.length ? { events, nextToken: `${end}@${++this.#tokens}` } : { events };
  }
}

/** The cursor object with S3's conditional-write rules (version = ETag). */
class MemoryCursorStore implements LogCursorStore {
  stored: { body: string; version: string } | undefined;
  writes = 0;
  #versions = 0;

  async load(): Promise<StoredLogWatchState> {
    await new Promise((resolve) => setImmediate(resolve));
    if (!this.stored) return {};
    return {
      state: parseLogWatchState(JSON.parse(this.stored.body), 'memory'),
      version: this.stored.version,
    };
  }

  async save(state: LogWatchState, expectedVersion: string | undefined): Promise<string> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.stored?.version !== expectedVersion) throw new CursorConflictError('changed since read');
    this.writes++;
    this.stored = { body: JSON.stringify(state), version: `"v${++this.#versions}"` };
    return this.stored.version;
  }

  get state(): LogWatchState | undefined {
    return this.stored ? LogWatchStateSchema.parse(JSON.parse(this.stored.body)) : undefined;
  }
}

interface Harness {
  reader: FakeLogGroups;
  store: MemoryCursorStore;
  published: MetricRecord[][];
  run(
    atMs: number,
    options?: LogWatchOptions,
    logs?: WatchedLog[],
    remainingMs?: number,
  ): ReturnType<typeof runLogWatch>;
}

function harness(): Harness {
  const reader = new FakeLogGroups();
  const store = new MemoryCursorStore();
  const published: MetricRecord[][] = [];
  return {
    reader,
    store,
    published,
    run(atMs, options = {}, logs = [ACCESS, ERROR], remainingMs = 40_000) {
      reader.now = atMs;
      const deps: LogWatchDeps = {
        reader,
        cursors: store,
        nowMs: () => atMs,
        remainingMs: () => remainingMs,
        publish: (records) => published.push(records),
      };
      return runLogWatch(deps, logs, options);
    },
  };
}

/** Sum of a metric over everything published, per minute, for one dimension set. */
function perMinute(
  published: MetricRecord[][],
  name: string,
  dimensions: Record<string, string>,
): Map<number, number> {
  const sums = new Map<number, number>();
  for (const record of published.flat()) {
    if (JSON.stringify(record.dimensions) !== JSON.stringify(dimensions)) continue;
    for (const metric of record.metrics) {
      if (metric.name === name) sums.set(record.atMs, (sums.get(record.atMs) ?? 0) + metric.value);
    }
  }
  return sums;
}

/** How many records each minute got for a dimension set: a minute published twice shows 2. */
function publications(published: MetricRecord[][], dimensions: Record<string, string>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const record of published.flat()) {
    if (JSON.stringify(record.dimensions) === JSON.stringify(dimensions)) {
      counts.set(record.atMs, (counts.get(record.atMs) ?? 0) + 1);
    }
  }
  return counts;
}

function traffic(minute: number, statuses: number[], ingestDelayMs = 3_000): LogEvent[] {
  return statuses.map((status, i) => {
    const timestampMs = T0 + minute * MINUTE + 1_000 + i * 100;
    return { timestampMs, message: accessLine(status), ingestionMs: timestampMs + ingestDelayMs };
  });
}

const SHOP = { Target: 'shop' };

describe('watchedLogs', () => {
  it('follows the access and the error log group of every target that has them', () => {
    expect(watchedLogs(exampleConfig().targets)).toEqual([ACCESS, ERROR]);
    expect(
      watchedLogs([
        { name: 'api', aws: { logGroups: { error: '/api/error:i-0abc/error.log' } } },
        { name: 'local-only' },
      ]),
    ).toEqual([{ key: 'api/error', target: 'api', kind: 'error', log: '/api/error:i-0abc/error.log' }]);
  });
});

describe('runLogWatch', () => {
  it('starts with the last settled minute, publishes it and remembers where it stopped', async () => {
    const h = harness();
    h.reader.put(ACCESS.log, [...traffic(0, [200, 502, 200, 504]), ...traffic(1, [200])]);
    h.reader.put(ERROR.log, [{ timestampMs: T0 + 2_000, message: REFUSED, ingestionMs: T0 + 5_000 }]);

    // 05:02:10: minutes before 05:01:10 are settled, so 05:00 is the last whole settled minute.
    const outcome = await h.run(T0 + 2 * MINUTE + 10_000);

    expect(outcome.status).toBe('committed');
    expect(perMinute(h.published, 'Requests', SHOP)).toEqual(new Map([[T0, 4]]));
    expect(perMinute(h.published, 'Status5xx', SHOP)).toEqual(new Map([[T0, 2]]));
    expect(perMinute(h.published, 'Status5xxPercent', SHOP)).toEqual(new Map([[T0, 50]]));
    expect(perMinute(h.published, 'UpstreamErrors', { Target: 'shop', Kind: 'refused' })).toEqual(
      new Map([[T0, 1]]),
    );
    expect(h.store.state?.cursors).toEqual({
      'shop/access': { doneBeforeMs: T0 + MINUTE },
      'shop/error': { doneBeforeMs: T0 + MINUTE },
    });
    expect(outcome.logs.map((l) => [l.key, l.doneBefore, l.behindMinutes])).toEqual([
      ['shop/access', '2026-11-24T05:01:00.000Z', 0],
      ['shop/error', '2026-11-24T05:01:00.000Z', 0],
    ]);
  });

  it('does not read a minute before it has settled, and reads it in the next run', async () => {
    const h = harness();
    h.reader.put(ACCESS.log, [...traffic(0, [200]), ...traffic(1, [500, 500])]);

    await h.run(T0 + 2 * MINUTE + 10_000, {}, [ACCESS]);
    expect(perMinute(h.published, 'Requests', SHOP).get(T0 + MINUTE)).toBeUndefined();

    await h.run(T0 + 3 * MINUTE + 5_000, {}, [ACCESS]);
    expect(perMinute(h.published, 'Requests', SHOP)).toEqual(
      new Map([
        [T0, 1],
        [T0 + MINUTE, 2],
      ]),
    );
  });

  it('neither re-counts nor skips across invocations: every minute published once, every event counted once', async () => {
    const h = harness();
    const all: LogEvent[] = [];
    for (let minute = 0; minute < 12; minute++)
      all.push(...traffic(minute, [200, 200, 503].slice(0, 1 + (minute % 3))));
    h.reader.put(ACCESS.log, all);

    // A first run at 05:01:30, then runs at uneven times: on time, late, twice in one minute, after a gap.
    for (const at of [1.5, 2.5, 3.1, 3.9, 4.2, 4.3, 7.8, 8.0, 13.4])
      await h.run(T0 + at * MINUTE, {}, [ACCESS]);

    const requests = new Map([...perMinute(h.published, 'Requests', SHOP)].filter(([, n]) => n > 0));
    const expected = new Map<number, number>();
    for (const event of all) {
      const minute = Math.floor(event.timestampMs / MINUTE) * MINUTE;
      if (minute >= T0 && minute < T0 + 12 * MINUTE) expected.set(minute, (expected.get(minute) ?? 0) + 1);
    }
    expect(requests).toEqual(expected);
    expect([...publications(h.published, SHOP).values()].every((n) => n === 1)).toBe(true);
  });

  it('stops after its page budget, keeps the range pending with its counts, and completes it next run', async () => {
    const h = harness();
    h.reader.pageSize = 2;
    h.reader.put(ACCESS.log, traffic(0, [200, 502, 200, 502, 200, 502, 200])); // 4 pages

    const first = await h.run(T0 + 2 * MINUTE, { maxPagesPerRun: 3 }, [ACCESS]);

    expect(h.reader.calls).toHaveLength(3);
    expect(h.published).toEqual([]); // a range is published whole
    expect(first.logs[0]).toMatchObject({ pages: 3, rangesCompleted: 0, pending: { pages: 3 } });
    const pending = h.store.state!.cursors['shop/access']!.pending!;
    expect(pending.counts).toMatchObject({ kind: 'access', events: 6 });

    const second = await h.run(T0 + 2 * MINUTE + 20_000, { maxPagesPerRun: 3 }, [ACCESS]);

    expect(h.reader.calls.at(-1)?.nextToken).toBe(pending.nextToken);
    expect(second.logs[0]).toMatchObject({ pages: 1, rangesCompleted: 1 });
    expect(perMinute(h.published, 'Requests', SHOP)).toEqual(new Map([[T0, 7]]));
    expect(perMinute(h.published, 'Status502', SHOP)).toEqual(new Map([[T0, 3]]));
    expect(h.store.state!.cursors['shop/access']).toEqual({ doneBeforeMs: T0 + MINUTE });
  });

  it('shares the page budget between the logs, so one busy log does not starve the others', async () => {
    const h = harness();
    h.reader.pageSize = 1;
    h.reader.put(
      ACCESS.log,
      traffic(
        0,
        Array.from({ length: 30 }, () => 200),
      ),
    );
    h.reader.put(ERROR.log, [{ timestampMs: T0 + 1_000, message: REFUSED, ingestionMs: T0 + 2_000 }]);

    const outcome = await h.run(T0 + 2 * MINUTE, { maxPagesPerRun: 10 });

    expect(outcome.logs.find((l) => l.key === 'shop/error')).toMatchObject({ rangesCompleted: 1 });
    expect(outcome.logs.reduce((sum, l) => sum + l.pages, 0)).toBeLessThanOrEqual(10);
    expect(perMinute(h.published, 'UpstreamErrors', { Target: 'shop', Kind: 'refused' })).toEqual(
      new Map([[T0, 1]]),
    );
  });

  it('gives every log at least a page a minute by default, however many targets there are', async () => {
    const h = harness();
    const logs = Array.from({ length: 60 }, (_, i) => ({
      ...ACCESS,
      key: `t${i}/access`,
      target: `t${i}`,
      log: `/t${i}`,
    }));
    for (const log of logs) h.reader.put(log.log, traffic(0, [200]));

    const outcome = await h.run(T0 + 2 * MINUTE, {}, logs);

    expect(outcome.logs.every((l) => l.rangesCompleted === 1 && l.behindMinutes === 0)).toBe(true);
  });

  it('reads no new page when the invocation is about to time out', async () => {
    const h = harness();
    h.reader.put(ACCESS.log, traffic(0, [200]));
    await h.run(T0 + 2 * MINUTE, { reserveMs: 10_000 }, [ACCESS], 9_000);

    expect(h.reader.calls).toEqual([]);
    expect(h.store.state!.cursors['shop/access']).toEqual({ doneBeforeMs: T0 });
  });

  it('reads a range again from its start when its continuation token has expired, counting it once', async () => {
    const h = harness();
    h.reader.pageSize = 2;
    h.reader.put(ACCESS.log, traffic(0, [500, 200, 200, 200, 200]));
    await h.run(T0 + 2 * MINUTE, { maxPagesPerRun: 1 }, [ACCESS]);
    h.reader.expired.add(h.store.state!.cursors['shop/access']!.pending!.nextToken);

    const outcome = await h.run(T0 + 3 * MINUTE, { maxPagesPerRun: 10 }, [ACCESS]);

    expect(outcome.logs[0]).toMatchObject({ restartedRanges: 1 });
    expect(perMinute(h.published, 'Requests', SHOP).get(T0)).toBe(5);
    expect(perMinute(h.published, 'Status5xx', SHOP).get(T0)).toBe(1);
  });

  it('publishes nothing when another run committed the cursor first', async () => {
    const h = harness();
    h.reader.put(ACCESS.log, [...traffic(0, [200, 500]), ...traffic(1, [200])]);
    await h.run(T0 + 90_000, {}, [ACCESS]);
    h.published.length = 0;

    const [a, b] = await Promise.all([
      h.run(T0 + 3 * MINUTE, {}, [ACCESS]),
      h.run(T0 + 3 * MINUTE, {}, [ACCESS]),
    ]);

    expect([a.status, b.status].sort()).toEqual(['committed', 'superseded']);
    expect(h.published).toHaveLength(1);
    expect(perMinute(h.published, 'Requests', SHOP)).toEqual(
      new Map([
        [T0, 2],
        [T0 + MINUTE, 1],
      ]),
    );
  });

  it('writes nothing when there is nothing new to read', async () => {
    const h = harness();
    await h.run(T0 + 2 * MINUTE, {}, [ACCESS]);
    const writes = h.store.writes;

    const outcome = await h.run(T0 + 2 * MINUTE + 30_000, {}, [ACCESS]);

    expect(outcome.status).toBe('unchanged');
    expect(h.store.writes).toBe(writes);
  });

  it('skips ahead, and says how far, when a log is further behind than the backlog limit', async () => {
    const h = harness();
    await h.run(T0 + 2 * MINUTE, {}, [ACCESS]);
    h.reader.put(ACCESS.log, traffic(170, [200]));

    const outcome = await h.run(T0 + 190 * MINUTE, { maxBacklogMinutes: 30, maxPagesPerRun: 100 }, [ACCESS]);

    expect(outcome.logs[0]).toMatchObject({ skippedMinutes: 158, behindMinutes: 0 });
    expect(perMinute(h.published, 'Requests', SHOP).get(T0 + 170 * MINUTE)).toBe(1);
    expect(perMinute(h.published, 'Requests', SHOP).has(T0 + 100 * MINUTE)).toBe(false);
  });

  it('publishes the logs it could read, keeps the failed one where it was, then reports the failure', async () => {
    const h = harness();
    h.reader.put(ACCESS.log, traffic(0, [200]));
    await h.run(T0 + 2 * MINUTE + 5_000);
    h.reader.put(ACCESS.log, traffic(1, [502]));
    h.reader.failing.set(
      ERROR.log,
      Object.assign(new Error('log group does not exist'), { name: 'ResourceNotFoundException' }),
    );

    const failure = await h.run(T0 + 3 * MINUTE + 5_000).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(LogWatchReadError);
    const error = failure as LogWatchReadError;
    expect(error.message).toMatch(
      /shop\/error \(\/gatewatch\/shop\/nginx-error\): ResourceNotFoundException/,
    );
    expect(error.outcome.status).toBe('committed');
    expect(perMinute(h.published, 'Status502', SHOP).get(T0 + MINUTE)).toBe(1);
    expect(h.store.state!.cursors['shop/error']).toEqual({ doneBeforeMs: T0 + MINUTE });
  });

  it('reports the largest ingestion delay it saw, to compare with the settle time', async () => {
    const h = harness();
    h.reader.put(ACCESS.log, [...traffic(0, [200], 2_000), ...traffic(0, [200], 47_000)]);

    const outcome = await h.run(T0 + 2 * MINUTE, {}, [ACCESS]);

    expect(outcome.logs[0]!.maxIngestionDelayMs).toBe(47_000);
  });

  it('forgets the cursors of logs no longer configured', async () => {
    const h = harness();
    await h.run(T0 + 2 * MINUTE);
    await h.run(T0 + 3 * MINUTE, {}, [ERROR]);

    expect(Object.keys(h.store.state!.cursors)).toEqual(['shop/error']);
  });

  it('counts every event exactly once, whatever the run times, page sizes and budgets', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ minute: fc.nat(19), second: fc.nat(59), status: fc.constantFrom(200, 404, 502, 504) }),
          {
            minLength: 1,
            maxLength: 80,
            size: 'large',
          },
        ),
        fc.array(fc.integer({ min: 5_000, max: 4 * MINUTE }), { minLength: 1, maxLength: 12, size: 'large' }),
        fc.record({
          pageSize: fc.integer({ min: 1, max: 5 }),
          maxPagesPerRun: fc.integer({ min: 1, max: 6 }),
          maxRangeMinutes: fc.integer({ min: 1, max: 5 }),
        }),
        async (generated, gaps, settings) => {
          const h = harness();
          h.reader.pageSize = settings.pageSize;
          const events = generated.map(({ minute, second, status }) => {
            const timestampMs = T0 + minute * MINUTE + second * 1000;
            return { timestampMs, message: accessLine(status), ingestionMs: timestampMs + 1_000 };
          });
          h.reader.put(ACCESS.log, events);
          const options = {
            maxPagesPerRun: settings.maxPagesPerRun,
            maxRangeMinutes: settings.maxRangeMinutes,
          };
          // The first run starts before the traffic (a new log starts at its last settled minute).
          let at = T0 - 30_000;
          await h.run(at, options, [ACCESS]);
          for (const gap of gaps) {
            at += gap;
            await h.run(at, options, [ACCESS]);
          }
          // Catch up with the end of the traffic, however the budget throttled it.
          at = Math.max(at, T0 + 21 * MINUTE + 10_000);
          for (let i = 0; i < 200 && (await h.run(at, options, [ACCESS])).logs[0]!.behindMinutes > 0; i++);
          await h.run(at, options, [ACCESS]);

          const expected = new Map<number, number>();
          for (const event of events) {
            const minute = Math.floor(event.timestampMs / MINUTE) * MINUTE;
            expected.set(minute, (expected.get(minute) ?? 0) + 1);
          }
          const requests = perMinute(h.published, 'Requests', SHOP);
          for (const [minute, n] of expected) expect(requests.get(minute) ?? 0).toBe(n);
          expect([...requests.values()].reduce((a, b) => a + b, 0)).toBe(events.length);
          expect([...publications(h.published, SHOP).values()].every((n) => n === 1)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('parseLogWatchState', () => {
  it.each([
    ['not an object', 'x'],
    ['another version', { version: 2, cursors: {} }],
    ['a cursor off the minute grid', { version: 1, cursors: { 'shop/access': { doneBeforeMs: T0 + 1 } } }],
    [
      'a pending range without a token',
      {
        version: 1,
        cursors: {
          'shop/access': {
            doneBeforeMs: T0,
            pending: { fromMs: T0, toMs: T0 + MINUTE, nextToken: '', pages: 1, counts: {} },
          },
        },
      },
    ],
  ])('refuses %s, saying how to recover', (_name, document) => {
    expect(() => parseLogWatchState(document, 's3://bucket/state/log-watch-cursor.json')).toThrow(
      /s3:\/\/bucket\/state\/log-watch-cursor\.json is not a gatewatch log-watch cursor .*delete it/,
    );
  });
});
