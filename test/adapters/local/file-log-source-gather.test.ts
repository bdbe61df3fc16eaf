/**
 * The gather step over real files: what it could read of each log (coverage) and the UTC offset it read
 * the error log with — an error log in +05:30, -08:00 or UTC on a host whose own zone says otherwise.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lambdas/core/config.ts';
import { localDeps } from '../../../lambdas/local/local-deps.ts';
import { gatherNginxEvidence, type NginxEvidence } from '../../../lambdas/steps/gather-nginx-evidence.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gw-logs-gather-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NOW = Date.parse('2026-12-06T20:30:00Z');
const FROM = NOW - 15 * 60_000;

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
/** nginx's error-log time for a UTC instant in a zone `offset` minutes from UTC. */
function errorTime(ms: number, offset: number): string {
  const d = new Date(ms + offset * 60_000);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
/** `$time_local` for a UTC instant in a zone. */
function accessTime(ms: number, offset: number): string {
  const d = new Date(ms + offset * 60_000);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${pad(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}
const refused = (ms: number, offset: number, n: number) =>
  `${errorTime(ms, offset)} [error] 31#31: *${n} connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.9, server: shop, request: "GET /cart HTTP/1.1", upstream: "http://127.0.0.1:3000/cart", host: "shop"`;
const access = (ms: number, offset: number, status: number) =>
  `10.0.0.9 - - [${accessTime(ms, offset)}] "GET /cart HTTP/1.1" ${status} 157 "-" "curl/8.5.0"`;

interface Case {
  error?: string;
  access?: string;
  utcOffset?: string;
  errorMtimeMs?: number;
  hostOffset?: number;
}

async function gather(name: string, c: Case): Promise<NginxEvidence> {
  const errorLog = join(dir, `${name}.error.log`);
  const accessLog = join(dir, `${name}.access.log`);
  if (c.error !== undefined) writeFileSync(errorLog, c.error);
  if (c.access !== undefined) writeFileSync(accessLog, c.access);
  if (c.error !== undefined && c.errorMtimeMs !== undefined) {
    utimesSync(errorLog, new Date(c.errorMtimeMs), new Date(c.errorMtimeMs));
  }
  const nginx = [`    errorLog: ${errorLog}`, `    accessLog: ${accessLog}`];
  if (c.utcOffset !== undefined) nginx.push(`    utcOffset: "${c.utcOffset}"`);
  const config = parseConfig(
    [
      'targets:',
      '  - name: shop',
      '    probe: { url: "http://127.0.0.1:1/health" }',
      '    nginx:',
      ...nginx.map((l) => `  ${l}`),
      `reports: { dir: ${join(dir, 'reports')} }`,
    ].join('\n'),
  );
  const deps = { ...localDeps(config, { notify: 'silent' }), defaultUtcOffsetMinutes: c.hostOffset ?? 0 };
  const ref = await gatherNginxEvidence(
    {
      incidentId: `shop-20261206T203000Z-${name.length.toString(16).padStart(4, '0')}${Math.floor(
        Math.random() * 0xffff,
      )
        .toString(16)
        .padStart(4, '0')}`,
      target: 'shop',
      openedAt: new Date(NOW).toISOString(),
      window: { from: new Date(FROM).toISOString(), to: new Date(NOW).toISOString() },
      trigger: { kind: 'manual', detail: 'test' },
      logsOnly: true,
    },
    deps,
  );
  return JSON.parse((await deps.store.get(ref.key))!) as NginxEvidence;
}

/** Five refusals in the window (the last at NOW - 60 s), written in `offset`. */
const errorLines = (offset: number) =>
  `${[5, 4, 3, 2, 1].map((m, i) => refused(NOW - m * 60_000, offset, i + 1)).join('\n')}\n`;
const accessLines = (offset: number) =>
  `${[5, 4, 3, 2, 1].map((m) => access(NOW - m * 60_000, offset, 502)).join('\n')}\n`;

describe('gather: the error log in another time zone', () => {
  it.each([
    ['+05:30', 330],
    ['-08:00', -480],
    ['UTC', 0],
  ])(
    "reads an error log in %s by the access log's zone when no utcOffset is configured",
    async (_zone, offset) => {
      const evidence = await gather(`zone-access${offset}`, {
        error: errorLines(offset),
        access: accessLines(offset),
      });
      expect(evidence.errorLog.upstreamFailures).toBe(5);
      expect(evidence.errorLog.afterWindow).toBe(0);
      expect(evidence.coverage.errorLogUtcOffset).toMatchObject({ minutes: offset, basis: 'access-log' });
    },
  );

  it.each([
    ['+05:30', 330],
    ['-08:00', -480],
  ])("without an access log, settles %s from the file's modification time", async (_zone, offset) => {
    const evidence = await gather(`zone-mtime${offset}`, {
      error: errorLines(offset),
      errorMtimeMs: NOW - 60_000 + 400,
    });
    expect(evidence.errorLog.upstreamFailures).toBe(5);
    expect(evidence.coverage.errorLogUtcOffset).toMatchObject({ minutes: offset, basis: 'file-mtime' });
    expect(evidence.coverage.accessLog?.state).toBe('missing');
  });

  it("keeps the host's offset for a copied log whose mtime says nothing about its last line", async () => {
    const evidence = await gather('zone-copied', {
      error: errorLines(0),
      errorMtimeMs: NOW + 7 * 60_000 + 13_000,
    });
    expect(evidence.coverage.errorLogUtcOffset).toMatchObject({ minutes: 0, basis: 'host-default' });
    expect(evidence.errorLog.upstreamFailures).toBe(5);
  });

  it('settles the offset from a docker timestamp before each line when nothing else tells', async () => {
    const lines = [5, 4, 3, 2, 1].map(
      (m, i) => `${new Date(NOW - m * 60_000 + 250).toISOString()} ${refused(NOW - m * 60_000, 330, i + 1)}`,
    );
    const evidence = await gather('zone-prefix', {
      error: `${lines.join('\n')}\n`,
      errorMtimeMs: NOW - 3 * 3_600_000,
    });
    expect(evidence.errorLog.upstreamFailures).toBe(5);
    expect(evidence.coverage.errorLogUtcOffset).toMatchObject({ minutes: 330, basis: 'prefix' });
    expect(evidence.coverage.errorLog.prefixed).toEqual({ timestamp: 5 });
  });

  it('keeps a configured offset and says when the logs disagree with it', async () => {
    const evidence = await gather('zone-configured', {
      error: errorLines(330),
      access: accessLines(330),
      utcOffset: '+00:00',
    });
    expect(evidence.coverage.errorLogUtcOffset).toMatchObject({ minutes: 0, basis: 'configured' });
    expect(evidence.coverage.errorLogUtcOffset.detail).toContain('+05:30');
  });
});

describe('gather: coverage of each log', () => {
  it('says the error log is missing and still reads the access log full of 502s', async () => {
    const evidence = await gather('missing-error', { access: accessLines(0) });
    expect(evidence.coverage.errorLog).toMatchObject({ state: 'missing', lines: 0 });
    expect(evidence.errorLogError).toMatch(/does not exist/);
    expect(evidence.coverage.accessLog).toMatchObject({ state: 'read', lines: 5, inWindow: 5 });
    expect(evidence.traffic?.byStatus).toEqual({ '502': 5 });
  });

  it('says an error log of random bytes has no readable lines, with samples', async () => {
    const noise = `${Array.from({ length: 40 }, (_, i) => `\u0001\u0002${'z'.repeat(i)} token=hunter2 random bytes`).join('\n')}\n`;
    const evidence = await gather('noise-error', { error: noise, access: accessLines(0) });
    expect(evidence.coverage.errorLog).toMatchObject({
      state: 'no-readable-lines',
      lines: 40,
      unreadable: 40,
    });
    expect(evidence.coverage.errorLog.samples).toHaveLength(3);
    expect(evidence.coverage.errorLog.samples.join('')).not.toContain('hunter2');
  });

  it('says an empty error log is empty', async () => {
    const evidence = await gather('empty-error', { error: '', access: accessLines(0) });
    expect(evidence.coverage.errorLog.state).toBe('empty');
  });

  it('reads compose-prefixed lines on both logs instead of dropping them', async () => {
    const prefix = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((l) => `nginx-1  | ${l}`)
        .join('\n');
    const evidence = await gather('compose', {
      error: `${prefix(errorLines(0))}\n`,
      access: `${prefix(accessLines(0))}\n`,
    });
    expect(evidence.errorLog.upstreamFailures).toBe(5);
    expect(evidence.coverage.errorLog).toMatchObject({
      state: 'read',
      unreadable: 0,
      prefixed: { compose: 5 },
    });
    expect(evidence.coverage.accessLog).toMatchObject({
      state: 'read',
      unreadable: 0,
      prefixed: { compose: 5 },
    });
    expect(evidence.traffic?.status5xx).toBe(5);
  });

  it('counts a 1 MB single line as unreadable (truncated) and reads the lines around it', async () => {
    const error = `${refused(NOW - 120_000, 0, 1)}\n${'A'.repeat(1 << 20)}\n${refused(NOW - 60_000, 0, 2)}\n`;
    const evidence = await gather('long-line', { error, access: accessLines(0) });
    expect(evidence.errorLog.upstreamFailures).toBe(2);
    expect(evidence.coverage.errorLog).toMatchObject({
      state: 'read',
      unreadable: 1,
      truncated: 1,
      lines: 3,
    });
    expect(evidence.coverage.errorLog.samples[0]).toMatch(/^A{200}… \(line of 1048576 bytes/);
  });
});
