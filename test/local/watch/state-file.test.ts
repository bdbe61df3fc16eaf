import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  defaultStatePath,
  emptyState,
  loadWatchState,
  saveWatchState,
  type WatchState,
  WatchStateError,
} from '../../../lambdas/local/watch/state-file.ts';
import { openShopIncident } from '../../support/incidents.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatewatch-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const withOpenIncident = (): WatchState => ({
  ...emptyState(),
  savedAt: '2026-11-24T06:00:09.000Z',
  alarms: {
    'shop-probe-failed': { state: 'ALARM', since: '2026-11-24T06:00:05.000Z', reason: '2 out of the last 3' },
  },
  incidents: {
    active: [openShopIncident()],
    recent: [],
    lastResolvedAt: {},
    heldUntil: {},
  },
  tailers: {
    '/var/log/nginx/access.log': { dev: 2049, ino: 1234, offset: 5678, head: '64:0123456789abcdef' },
  },
  traffic: {
    '/var/log/nginx/access.log': [
      { minuteMs: Date.parse('2026-11-24T06:00:00Z'), requests: 9, status5xx: 4, status502: 4, status504: 0 },
    ],
  },
  failingSince: { shop: Date.parse('2026-11-24T06:00:03.120Z') },
});

describe('the watch state file', () => {
  it('lives under the reports folder by default', () => {
    expect(defaultStatePath('/srv/incidents')).toBe('/srv/incidents/.gatewatch-state.json');
  });

  it('reads back exactly what was saved, open incident included', async () => {
    const path = join(dir, '.gatewatch-state.json');
    await saveWatchState(path, withOpenIncident());
    expect(await loadWatchState(path)).toEqual(withOpenIncident());
  });

  it('is a fresh start when there is no file yet', async () => {
    expect(await loadWatchState(join(dir, 'none.json'))).toBeUndefined();
  });

  it('replaces the old state in one rename and leaves no temp file behind', async () => {
    const path = join(dir, '.gatewatch-state.json');
    await saveWatchState(path, emptyState());
    await saveWatchState(path, withOpenIncident());
    expect(await readdir(dir)).toEqual(['.gatewatch-state.json']);
    expect(JSON.parse(await readFile(path, 'utf8')).incidents.active).toHaveLength(1);
  });

  it('sets a file that is not valid state aside, keeps it, and says where', async () => {
    const path = join(dir, '.gatewatch-state.json');
    await writeFile(path, '{"version": 1, "incidents": "oops"');
    const error = await loadWatchState(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WatchStateError);
    expect((error as Error).message).toMatch(/is not usable \(it is not JSON\); it was moved to .*corrupt-/);
    const names = await readdir(dir);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^\.gatewatch-state\.json\.corrupt-/);
  });

  it('names the field when the JSON is not the state shape', async () => {
    const path = join(dir, '.gatewatch-state.json');
    const state = withOpenIncident() as unknown as { incidents: { active: { diagnosis: string }[] } };
    state.incidents.active[0]!.diagnosis = 'maybe';
    await writeFile(path, JSON.stringify(state));
    await expect(loadWatchState(path)).rejects.toThrow(/incidents\.active\.0\.diagnosis/);
  });
});
