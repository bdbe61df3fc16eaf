import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeHistoryFiles } from '../../../lambdas/adapters/local/probe-history-files.ts';
import { ProbeHistoryRecorder } from '../../../lambdas/local/watch/probe-history.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatewatch-history-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the probe history of the watch loop', () => {
  it('appends one line per target and minute, durable across a restart, and reads back the window', async () => {
    const files = new ProbeHistoryFiles(dir);
    const warnings: string[] = [];
    const recorder = new ProbeHistoryRecorder(files, (m) => warnings.push(m));
    const t0 = Date.parse('2026-12-06T23:58:00Z');
    recorder.record(
      [
        { target: 'shop', ok: true },
        { target: 'blog', ok: false },
      ],
      t0,
    );
    recorder.record([{ target: 'shop', ok: false }], t0 + 30_000);
    recorder.record([{ target: 'shop', ok: true }], t0 + 60_000); // closes 23:58
    recorder.record([{ target: 'shop', ok: true }], t0 + 120_000); // next day's file after the flush
    await recorder.flush();
    // A second process (a restart) in the same minute adds to it; counts are additive.
    const again = new ProbeHistoryRecorder(files, (m) => warnings.push(m));
    again.record([{ target: 'shop', ok: false }], t0 + 125_000);
    await again.flush();
    // A torn line left by a crash mid-append is skipped.
    await appendFile(join(dir, 'history', 'shop', '2026-12-07.jsonl'), '{"minute":"2026-12-07T00:01');

    expect(warnings).toEqual([]);
    expect(await readFile(join(dir, 'history', 'shop', '2026-12-06.jsonl'), 'utf8')).toBe(
      '{"minute":"2026-12-06T23:58:00Z","ok":1,"failed":1}\n{"minute":"2026-12-06T23:59:00Z","ok":1,"failed":0}\n',
    );
    const minutes = await files.minutes(
      'shop',
      new Date('2026-12-06T00:00:00Z'),
      new Date('2026-12-07T01:00:00Z'),
    );
    expect(minutes.reduce((n, m) => n + m.ok, 0)).toBe(3);
    expect(minutes.reduce((n, m) => n + m.failed, 0)).toBe(2);
    expect(
      await files.minutes('blog', new Date('2026-12-06T00:00:00Z'), new Date('2026-12-07T01:00:00Z')),
    ).toEqual([{ minute: '2026-12-06T23:58:00Z', ok: 0, failed: 1 }]);
    expect(
      await files.minutes('none', new Date('2026-12-06T00:00:00Z'), new Date('2026-12-07T01:00:00Z')),
    ).toEqual([]);
  });

  it('refuses a target name that is not a folder name', async () => {
    await expect(new ProbeHistoryFiles(dir).append('../x', [])).rejects.toThrow(/not a safe folder name/);
  });
});
