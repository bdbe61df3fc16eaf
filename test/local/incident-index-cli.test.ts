import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentIndexEntry } from '../../lambdas/core/incident/incident-index.ts';
import type { Report } from '../../lambdas/core/types.ts';
import { diagnosisPart, reportJsonText } from '../../lambdas/steps/evidence-bundle.ts';
import { visibleText } from '../core/report/html-check.ts';
import { runGatewatch } from '../support/cli.ts';

const gatewatch = (args: string[], env: Record<string, string> = {}) => runGatewatch(args, { env });

function nginxTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/-/g, '/').slice(0, 19);
}

let work: string;
let config: string;
let reports: string;
const ids: string[] = [];

async function diagnose(): Promise<Report> {
  // Incident ids and their order have one-second resolution: on a fast machine two diagnoses started in
  // the same second have no order (a known limit, see the README). Start each in a second of its own.
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
  const run = await gatewatch(['diagnose', '--config', config, '--logs-only', '--json', '--since', '30m']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Report;
}

async function index(args: string[] = []): Promise<IncidentIndexEntry[]> {
  const run = await gatewatch(['incidents', '--config', config, '--json', ...args]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as IncidentIndexEntry[];
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gatewatch-incidents-cli-'));
  reports = join(work, 'incidents');
  const errorLog = join(work, 'error.log');
  const now = Date.now();
  const lines = [0, 1, 2, 3].flatMap((i) => {
    const at = nginxTime(now - (120 - i * 10) * 1000);
    return [
      `${at} [error] 11155#11155: *${6 + i} connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: gatewatch.test, request: "GET /fault/refused?token=abc123 HTTP/1.1", upstream: "http://127.0.0.1:41935/fault/refused?token=abc123", host: "127.0.0.1:46661", referrer: "https://user:pa55word@shop.example/cart"`,
      // Noise: not an upstream failure.
      `${at} [error] 11155#11155: *${40 + i} open() "/srv/html/missing.css" failed (2: No such file or directory), client: 127.0.0.1, server: gatewatch.test, request: "GET /missing.css HTTP/1.1", host: "127.0.0.1:46661"`,
    ];
  });
  await writeFile(errorLog, `${lines.join('\n')}\n`);
  config = join(work, 'gatewatch.yaml');
  await writeFile(
    config,
    [
      'targets:',
      '  - name: shop',
      `    nginx: { errorLog: ${JSON.stringify(errorLog)}, utcOffset: "+00:00" }`,
      '    upstreams: [{ address: "127.0.0.1:41935" }]',
      '    slo: { availability: 99.5, windowDays: 7 }',
      'reports:',
      `  dir: ${JSON.stringify(reports)}`,
      '',
    ].join('\n'),
  );
  // Three diagnoses of the same failure: the third is the "3rd time in 7 days".
  for (let i = 0; i < 3; i++) ids.push((await diagnose()).incidentId);
}, 240_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('gatewatch incidents', () => {
  it('lists every incident newest first with the index.json contract fields, filtered by target and since', async () => {
    const entries = await index();
    expect(entries.map((e) => e.id)).toEqual([...ids].reverse());
    for (const e of entries) {
      expect(Object.keys(e)).toEqual(
        expect.arrayContaining([
          'id',
          'target',
          'upstream',
          'rootCause',
          'confidence',
          'openedAt',
          'resolvedAt',
          'durationSeconds',
          'summary',
          'reports',
          'recurrence',
          'ack',
          'notes',
          'resolvedBy',
        ]),
      );
      expect(e.rootCause).toBe('upstream-down');
      expect(e.upstream).toBe('127.0.0.1:41935');
      expect(e.reports.bundle).toBe(`${e.id}/bundle.json.gz`);
    }
    expect(await index(['--target', 'blog'])).toEqual([]);
    const afterLast = new Date(Date.parse(entries[0]!.openedAt) + 1000).toISOString();
    expect(await index(['--since', afterLast])).toEqual([]);
    expect((await index(['--since', '7d', '--target', 'shop'])).length).toBe(3);
    const table = await gatewatch(['incidents', '--config', config]);
    expect(table.code).toBe(0);
    for (const id of ids) expect(table.stdout).toContain(id);
    expect(table.stdout).toContain('upstream-down (×3)');
  }, 120_000);

  it('says "3rd time in 7 days" in the third report, links the earlier two, and groups them in the index', async () => {
    const third = JSON.parse(await readFile(join(reports, ids[2]!, 'report.json'), 'utf8')) as Report;
    expect(third.recurrence?.occurrence).toBe(3);
    expect(third.recurrence?.earlier.map((e) => e.incidentId)).toEqual([ids[1], ids[0]]);
    const html = await readFile(join(reports, ids[2]!, 'report.html'), 'utf8');
    expect(visibleText(html)).toContain('3rd time in 7 days');
    expect(html).toContain(`href="../${ids[0]}/report.html"`);
    const page = visibleText(await readFile(join(reports, 'index.html'), 'utf8'));
    expect(page).toContain('Recurring');
    expect(page).toContain('3 times');
    // The SLO of the configuration is on the page (no probe history yet: no availability number).
    expect(page).toContain('Availability');
  });

  it('rejects a malformed since, an unknown id and a non-id with exit 2 and a hint', async () => {
    const since = await gatewatch(['incidents', '--config', config, '--since', 'yesterday']);
    expect(since.code).toBe(2);
    const unknown = await gatewatch(['incidents', 'show', 'shop-20000101T000000Z-ffff', '--config', config]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('gatewatch incidents');
    const hostile = await gatewatch(['ack', '../../etc/passwd', '--config', config]);
    expect(hostile.code).toBe(2);
    expect(hostile.stderr).toContain('is not an incident id');
  }, 120_000);
});

describe('gatewatch ack, note, resolve', () => {
  it('record who did what and when in the report (json, md, html) and the index', async () => {
    const id = ids[0]!;
    const ack = await gatewatch(['ack', id, '--config', config], { USER: 'alice' });
    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.stdout).toContain('acknowledged by alice');
    const note = await gatewatch([
      'note',
      id,
      'pool',
      'drained;',
      'password=hunter2',
      '--by',
      'bob',
      '--config',
      config,
    ]);
    expect(note.code, note.stderr).toBe(0);
    const resolve = await gatewatch(['resolve', id, '--by', 'carol', '--config', config]);
    expect(resolve.code, resolve.stderr).toBe(0);
    expect(resolve.stdout).toContain('resolved by carol');

    const report = JSON.parse(await readFile(join(reports, id, 'report.json'), 'utf8')) as Report;
    expect(report.activity?.map((a) => [a.action, a.by])).toEqual([
      ['ack', 'alice'],
      ['note', 'bob'],
      ['resolve', 'carol'],
    ]);
    expect(report.activity?.[1]?.text).toBe('pool drained; password=[REDACTED]');
    expect(report.resolvedBy).toBe('carol');
    expect(report.resolvedAt).toBeDefined();
    expect(report.durationSeconds).toBeGreaterThanOrEqual(0);
    expect(await readFile(join(reports, id, 'report.md'), 'utf8')).toContain('resolved by hand by carol');
    expect(visibleText(await readFile(join(reports, id, 'report.html'), 'utf8'))).toContain(
      'acknowledged by alice',
    );

    const entry = (await index()).find((e) => e.id === id)!;
    expect(entry.ack?.by).toBe('alice');
    expect(entry.notes).toEqual([
      expect.objectContaining({ by: 'bob', text: 'pool drained; password=[REDACTED]' }),
    ]);
    expect(entry.resolvedBy).toBe('carol');
    expect(entry.resolvedAt).toBe(report.resolvedAt);
    expect(JSON.stringify(await index())).not.toContain('hunter2');

    const show = await gatewatch(['incidents', 'show', id, '--config', config]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('upstream-down');
    expect(show.stdout).toContain('by carol');
    expect(show.stdout).toContain('note by bob');
    expect(show.stdout).toContain('bundle.json.gz');
    const showJson = await gatewatch(['incidents', 'show', id, '--config', config, '--json']);
    expect(showJson.stdout).toBe(await readFile(join(reports, id, 'report.json'), 'utf8'));
  }, 180_000);

  it('acks by 6 processes at once all land in the reports and the index', async () => {
    const more: string[] = [];
    for (const e of await index()) more.push(e.id);
    // 6 concurrent writers over the 3 incidents, two per incident: every ack is kept.
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        gatewatch(['ack', more[i % more.length]!, '--by', `p${i}`, '--config', config]),
      ),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const acks = new Set<string>();
    for (const id of more) {
      const report = JSON.parse(await readFile(join(reports, id, 'report.json'), 'utf8')) as Report;
      for (const a of report.activity ?? []) if (a.action === 'ack') acks.add(a.by);
    }
    for (let i = 0; i < 6; i++) expect(acks).toContain(`p${i}`);
    expect((await index()).length).toBe(3);
  }, 240_000);
});

describe('gatewatch replay', () => {
  it('reproduces the report.json the diagnosis wrote, byte for byte, from the bundle alone', async () => {
    for (const id of ids) {
      const bundle = join(reports, id, 'bundle.json.gz');
      const run = await gatewatch(['replay', bundle, '--json']);
      expect(run.code, run.stderr).toBe(0);
      // The lifecycle (ack, note, resolve) came after the diagnosis; the rest is identical.
      const live = JSON.parse(await readFile(join(reports, id, 'report.json'), 'utf8')) as Report;
      expect(run.stdout).toBe(reportJsonText(diagnosisPart(live)));
    }
    const human = await gatewatch(['replay', join(reports, ids[2]!)]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('byte-identical');
    expect(human.stdout).toContain('upstream-down');
  }, 120_000);

  it('keeps no secret from the logs in the bundle', async () => {
    const text = gunzipSync(await readFile(join(reports, ids[0]!, 'bundle.json.gz'))).toString('utf8');
    expect(text).toContain('Connection refused');
    expect(text).not.toContain('abc123');
    expect(text).not.toContain('pa55word');
  });

  it('refuses a file that is not a bundle, and a missing one, with exit 2', async () => {
    const notBundle = await gatewatch(['replay', config]);
    expect(notBundle.code).toBe(2);
    expect(notBundle.stderr).toContain('not');
    const missing = await gatewatch(['replay', join(work, 'nope.json.gz')]);
    expect(missing.code).toBe(2);
  }, 60_000);
});
