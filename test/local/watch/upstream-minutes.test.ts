// The per-upstream minutes of `watch`, through the watcher's own tailing path: lines a real nginx 1.22.1
// wrote (test/fixtures/nginx/real-access.gatewatch.log and real-error.log, made by make-fixtures.ts, all
// within 06:01 UTC) are appended to temp files the watcher tails, on a fake clock.
import { appendFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../lambdas/core/config.ts';
import { classifyUpstreamFailure, parseErrorLogLine } from '../../../lambdas/core/nginx/error-log.ts';
import { upstreamLine } from '../../../lambdas/local/watch/status-view.ts';
import type { UpstreamMinuteSummary } from '../../../lambdas/local/watch/upstream-minutes.ts';
import { Watcher } from '../../../lambdas/local/watch/watcher.ts';

const FIXTURES = new URL('../../fixtures/nginx/', import.meta.url);
const MINUTE = Date.parse('2026-11-24T06:01:00Z');

async function fixtureLines(name: string): Promise<string[]> {
  return (await readFile(new URL(name, FIXTURES), 'latin1')).split('\n').filter((line) => line !== '');
}

/**
 * The expected per-peer counts, read straight off the log's tab-separated fields: `$upstream_addr` (5th)
 * and `$upstream_status` (6th), one entry per attempt (`, ` between tries, ` : ` between upstream groups).
 */
function expectedUpstreams(lines: string[]): Record<string, Record<string, number>> {
  const peers: Record<string, Record<string, number>> = {};
  for (const line of lines) {
    const fields = line.split('\t');
    if (fields[4] === '-') continue;
    const addresses = fields[4]!.split(/, | : /);
    const statuses = fields[5]!.split(/, | : /);
    addresses.forEach((peer, k) => {
      const status = Number(statuses[k]);
      peers[peer] ??= { requests: 0, status5xx: 0, status502: 0, status504: 0 };
      const counts = peers[peer]!;
      counts.requests!++;
      if (status >= 500 && status <= 599) counts.status5xx!++;
      if (status === 502) counts.status502!++;
      if (status === 504) counts.status504!++;
    });
  }
  return peers;
}

/** Upstream failures per kind, one line at a time with the diagnosis's classifier. */
function expectedErrorKinds(lines: string[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const line of lines) {
    const failure = classifyUpstreamFailure(parseErrorLogLine(line, { utcOffsetMinutes: 0 }));
    if (failure !== undefined) kinds[failure.kind] = (kinds[failure.kind] ?? 0) + 1;
  }
  return kinds;
}

function kindCounts(minute: UpstreamMinuteSummary): Record<string, number> {
  return Object.fromEntries(Object.entries(minute.errors).map(([kind, { count }]) => [kind, count]));
}

let dir: string;
let accessLog: string;
let errorLog: string;
let nowMs: number;
const watchers: Watcher[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatewatch-upstream-minutes-'));
  accessLog = join(dir, 'access.log');
  errorLog = join(dir, 'error.log');
  await writeFile(accessLog, '');
  await writeFile(errorLog, '');
  nowMs = MINUTE + 100;
});

afterEach(async () => {
  for (const watcher of watchers.splice(0)) await watcher.stop({ force: true });
  await rm(dir, { recursive: true, force: true });
});

async function startWatcher(): Promise<Watcher> {
  const watcher = await Watcher.create({
    config: validateConfig({
      // Counting, not alarming: the real fixture's 5xx share would open an incident within a minute
      // (1-minute error-rate evaluation) and write into the folder the test removes.
      targets: [
        {
          name: 'shop',
          nginx: { accessLog, errorLog, utcOffset: '+00:00' },
          alarm: { errorRate: { percent: 5, minutes: 5, minRequests: 1_000_000 } },
        },
      ],
      reports: { dir: join(dir, 'incidents') },
    }),
    deps: { now: () => nowMs },
  });
  watchers.push(watcher);
  return watcher;
}

async function tick(watcher: Watcher): Promise<void> {
  await watcher.tick(Math.floor(nowMs / watcher.intervalMs) * watcher.intervalMs);
}

function lastUpstreamMinute(watcher: Watcher): UpstreamMinuteSummary | undefined {
  return watcher.status().targets.find((t) => t.name === 'shop')?.lastUpstreamMinute;
}

describe('watch: per-minute counts per upstream from the tailed access and error logs', () => {
  it("shows the finished minute's answers per upstream peer and upstream failures per kind, as a real nginx logged them", async () => {
    const access = await fixtureLines('real-access.gatewatch.log');
    const errors = await fixtureLines('real-error.log');
    const watcher = await startWatcher();
    await tick(watcher); // opens both logs at their (empty) end

    await appendFile(accessLog, `${access.join('\n')}\n`, 'latin1');
    await appendFile(errorLog, `${errors.join('\n')}\n`, 'latin1');
    nowMs = MINUTE + 59_000;
    await tick(watcher);
    expect(lastUpstreamMinute(watcher)).toBeUndefined(); // 06:01 is not over yet

    nowMs = MINUTE + 60_000 + 5_000;
    await tick(watcher);
    const minute = lastUpstreamMinute(watcher)!;
    expect(minute.minuteMs).toBe(MINUTE);
    expect(minute.upstreams).toEqual(expectedUpstreams(access));
    // The refused upstream of the fixture run, tried alone and as the first of a retry.
    expect(minute.upstreams['127.0.0.1:41935']).toEqual({
      requests: 4,
      status5xx: 4,
      status502: 4,
      status504: 0,
    });
    // connect() refused: *6 and *73/*78/*83 on :41935, *68 on both servers of the all-down group.
    expect(minute.errors.refused).toEqual({
      count: 6,
      peers: { '127.0.0.1:41935': 4, '127.0.0.1:40479': 1, '127.0.0.1:43053': 1 },
    });
    expect(kindCounts(minute)).toEqual(expectedErrorKinds(errors));
    expect(minute.errors['read-timeout']?.peers['127.0.0.1:35189']).toBe(1);
    expect(minute.errors.tls?.count).toBe(4);
    expect(minute.errors.overloaded?.peers).toEqual({ 'unix:/tmp/gw-fixtures-lCKtA0/sock/full.sock': 7 });
    expect(upstreamLine(watcher.status().targets[0]!)).toContain(
      'refused 6 (127.0.0.1:40479, 127.0.0.1:41935',
    );
    // Status5xxPercent's own count of the same minute is unchanged by the upstream counting.
    expect(watcher.status().targets[0]!.lastMinute).toMatchObject({
      minuteMs: MINUTE,
      requests: access.length,
    });
  });

  it('counts a minute whole across a restart in the middle of it and a rotation of the error log', async () => {
    const access = await fixtureLines('real-access.gatewatch.log');
    const errors = await fixtureLines('real-error.log');
    const half = Math.floor(errors.length / 2);
    const first = await startWatcher();
    await tick(first);
    await appendFile(accessLog, `${access.slice(0, 20).join('\n')}\n`, 'latin1');
    await appendFile(errorLog, `${errors.slice(0, half).join('\n')}\n`, 'latin1');
    nowMs = MINUTE + 30_000;
    await tick(first);
    await first.stop();

    // Written while the watch was down, then logrotate renames the error log and nginx reopens a new one.
    await appendFile(accessLog, `${access.slice(20).join('\n')}\n`, 'latin1');
    await appendFile(errorLog, `${errors.slice(half, half + 5).join('\n')}\n`, 'latin1');
    await rename(errorLog, `${errorLog}.1`);
    await writeFile(errorLog, `${errors.slice(half + 5).join('\n')}\n`, 'latin1');

    const second = await startWatcher();
    nowMs = MINUTE + 65_000;
    await tick(second);
    const minute = lastUpstreamMinute(second)!;
    expect(minute.minuteMs).toBe(MINUTE);
    expect(minute.upstreams).toEqual(expectedUpstreams(access));
    expect(minute.errors.refused?.count).toBe(6);
    expect(minute.errors.tls?.count).toBe(4);
    expect(kindCounts(minute)).toEqual(expectedErrorKinds(errors));
  });
});
