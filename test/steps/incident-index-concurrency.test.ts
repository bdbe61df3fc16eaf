// Must show 3: 20 incidents opened and resolved concurrently, locally (a folder, lock + atomic rename) and
// against moto_server's S3 (If-Match / If-None-Match over the wire): 20 entries, none lost or duplicated.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ReportStore } from '../../lambdas/adapters/aws/s3-report-store.ts';
import { FolderReportStore } from '../../lambdas/adapters/local/folder-report-store.ts';
import { parseIndex } from '../../lambdas/core/incident/incident-index.ts';
import { withResolution } from '../../lambdas/core/incident/resolution.ts';
import type { Report } from '../../lambdas/core/types.ts';
import type { ConditionalReportStore } from '../../lambdas/ports.ts';
import { storeReportFiles } from '../../lambdas/steps/classify-and-report.ts';
import { INDEX_KEY, recordInIndex, updateReport } from '../../lambdas/steps/incident-record.ts';
import { loadReport } from '../core/report/fixtures.ts';
import { visibleText } from '../core/report/html-check.ts';
import { motoAvailable, motoClientConfig, motoSkipReason, startMoto } from '../support/moto.ts';

const COUNT = 20;

function incident(i: number): Report {
  const base = loadReport('upstream-down');
  const second = String(i).padStart(2, '0');
  return {
    ...base,
    incidentId: `shop-20261206T1000${second}Z-${(0xa000 + i).toString(16)}`,
    openedAt: `2026-12-06T10:00:${second}Z`,
    target: i % 2 === 0 ? 'shop' : 'blog',
  };
}

/** Opens and resolves 20 incidents at once, each the way the pipeline does: report, index, resolution. */
async function openAndResolveConcurrently(store: ConditionalReportStore): Promise<void> {
  const context = { now: () => new Date('2026-12-06T11:00:00Z') };
  await Promise.all(
    Array.from({ length: COUNT }, async (_, i) => {
      const report = incident(i);
      await storeReportFiles(report, store);
      await recordInIndex(store, report, context);
      await updateReport(
        store,
        report.incidentId,
        (r) => withResolution(r, '2026-12-06T10:30:00Z', 'test'),
        context,
      );
    }),
  );
}

async function expectTwentyResolvedEntries(store: ConditionalReportStore): Promise<void> {
  const index = parseIndex((await store.get(INDEX_KEY))!);
  const ids = index.incidents.map((e) => e.id);
  expect(ids).toHaveLength(COUNT);
  expect(new Set(ids).size).toBe(COUNT);
  expect(ids.sort()).toEqual(Array.from({ length: COUNT }, (_, i) => incident(i).incidentId).sort());
  for (const entry of index.incidents) {
    expect(entry.resolvedAt, entry.id).toBe('2026-12-06T10:30:00Z');
    const report = JSON.parse((await store.get(`${entry.id}/report.json`))!) as Report;
    expect(report.resolvedAt).toBe('2026-12-06T10:30:00Z');
  }
  // The page written last matches the index: every incident is on it, resolved.
  const page = visibleText((await store.get('index.html'))!);
  for (let i = 0; i < COUNT; i++) expect(page).toContain(incident(i).incidentId);
  expect(page).not.toMatch(/\bopen\b/);
}

describe('the incident index under concurrency, in a folder', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatewatch-index-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps all 20 incidents opened and resolved at once, none lost or duplicated', async () => {
    const store = new FolderReportStore(dir);
    await openAndResolveConcurrently(store);
    await expectTwentyResolvedEntries(store);
    // No lock or temporary file is left behind.
    expect((await readdir(dir)).filter((n) => n.endsWith('.lock') || n.endsWith('.tmp'))).toEqual([]);
  }, 120_000);

  it('refuses a write whose version is stale, and a create when the key exists', async () => {
    const store = new FolderReportStore(dir);
    expect(await store.putIf('cas/x.json', 'one', 'application/json', null)).toBe(true);
    expect(await store.putIf('cas/x.json', 'two', 'application/json', null)).toBe(false);
    const read = await store.read('cas/x.json');
    expect(await store.putIf('cas/x.json', 'two', 'application/json', read!.version)).toBe(true);
    expect(await store.putIf('cas/x.json', 'three', 'application/json', read!.version)).toBe(false);
    expect(await store.get('cas/x.json')).toBe('two');
  });
});

describe.skipIf(!motoAvailable)(
  `the incident index under concurrency, in S3 (moto_server) ${motoSkipReason}`,
  () => {
    let moto: Awaited<ReturnType<typeof startMoto>>;
    let client: S3Client;
    const bucket = 'gatewatch-index-concurrency';

    beforeAll(async () => {
      moto = await startMoto();
      client = new S3Client(motoClientConfig(moto.endpoint));
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    }, 60_000);
    afterAll(async () => {
      client?.destroy();
      await moto?.stop();
    });

    it('moto enforces If-Match and If-None-Match on PutObject (so the next test exercises them)', async () => {
      const store = new S3ReportStore(client, { bucket, prefix: 'probe/' });
      expect(await store.putIf('x.json', 'one', 'application/json', null)).toBe(true);
      expect(await store.putIf('x.json', 'two', 'application/json', null)).toBe(false);
      const read = await store.read('x.json');
      expect(await store.putIf('x.json', 'two', 'application/json', read!.version)).toBe(true);
      expect(await store.putIf('x.json', 'three', 'application/json', read!.version)).toBe(false);
      expect(await store.get('x.json')).toBe('two');
    });

    it('keeps all 20 incidents opened and resolved at once, none lost or duplicated', async () => {
      const store = new S3ReportStore(client, { bucket });
      await openAndResolveConcurrently(store);
      await expectTwentyResolvedEntries(store);
    }, 180_000);
  },
);
