/**
 * What `watch` keeps across restarts, in one JSON file under the reports folder
 * (`<reports.dir>/.gatewatch-state.json` by default): alarm states, the incident book, tail positions
 * and the minutes of the access and error logs not yet published. Written atomically (temp file, fsync, rename), so a crash
 * leaves either the previous state or the new one, never half of one.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { TailPosition } from '../../adapters/local/file-tailer.ts';
import type { AlarmStatus } from '../../core/alarm/evaluator.ts';
import { emptyBook, type IncidentBook } from '../../core/incident/lifecycle.ts';
import { LogCountsSchema } from '../../core/metrics/log-minutes.ts';
import type { MinuteCounts } from './minute-traffic.ts';
import type { LogMinute } from './upstream-minutes.ts';

/** The state file exists but cannot be used; it is set aside, not overwritten. */
export class WatchStateError extends Error {
  override name = 'WatchStateError';
}

/** The state file's name under the reports folder (a dot file: not an incident folder). */
export const STATE_FILE_NAME = '.gatewatch-state.json';
/** Bumped when the shape changes incompatibly; an older file is then set aside. */
export const STATE_VERSION = 1;

/** Everything `watch` needs to carry on after a restart. */
export interface WatchState {
  version: typeof STATE_VERSION;
  savedAt: string;
  alarms: Record<string, AlarmStatus>;
  incidents: IncidentBook;
  /** Per access- and error-log path: where to resume reading. */
  tailers: Record<string, TailPosition>;
  /** Per access-log path: minutes read and not yet published as Status5xxPercent. */
  traffic: Record<string, MinuteCounts[]>;
  /**
   * Per access- and error-log path: per-upstream minutes read and not yet shown. Absent in files
   * written before it existed (they load with none).
   */
  upstreamMinutes?: Record<string, LogMinute[]>;
  /** Per target: when its current run of failing probes began (epoch ms). */
  failingSince: Record<string, number>;
}

const iso = z.string().min(1);
const SubjectSchema = z.object({ kind: z.enum(['target', 'prober']), name: z.string().min(1) });
const NotificationSchema = z.object({
  event: z.enum(['open', 'resolve']),
  channel: z.string(),
  status: z.enum(['sent', 'failed', 'silenced', 'skipped']),
  attempts: z.number().int(),
  at: iso,
  error: z.string().optional(),
  detail: z.string().optional(),
});
const RecordSchema = z.object({
  key: z.string().min(1),
  subject: SubjectSchema,
  openedAt: iso,
  alarmIds: z.array(z.string()),
  trigger: z.object({ kind: z.enum(['manual', 'alarm', 'probe']), detail: z.string() }),
  window: z.object({ from: iso, to: iso }),
  diagnosis: z.enum(['pending', 'done', 'failed']),
  report: z
    .object({
      incidentId: z.string(),
      location: z.string(),
      rootCause: z.string(),
      upstream: z.string().optional(),
      confidence: z.number(),
      summary: z.string(),
      notifications: z.array(NotificationSchema).optional(),
    })
    .optional(),
  diagnosisError: z.string().optional(),
  resolvedAt: iso.optional(),
  durationSeconds: z.number().optional(),
  notifications: z.array(NotificationSchema).optional(),
});

const StateSchema = z.object({
  version: z.literal(STATE_VERSION),
  savedAt: iso,
  alarms: z.record(
    z.string(),
    z.object({ state: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']), since: iso, reason: z.string() }),
  ),
  incidents: z.object({
    active: z.array(RecordSchema),
    recent: z.array(RecordSchema),
    lastResolvedAt: z.record(z.string(), iso),
    heldUntil: z.record(z.string(), iso),
  }),
  tailers: z.record(
    z.string(),
    z.object({
      dev: z.number(),
      ino: z.number(),
      offset: z.number().int().min(0),
      head: z.string().optional(),
    }),
  ),
  traffic: z.record(
    z.string(),
    z.array(
      z.object({
        minuteMs: z.number(),
        requests: z.number(),
        status5xx: z.number(),
        status502: z.number(),
        status504: z.number(),
      }),
    ),
  ),
  upstreamMinutes: z
    .record(z.string(), z.array(z.object({ minuteMs: z.number(), counts: LogCountsSchema })))
    .optional(),
  failingSince: z.record(z.string(), z.number()),
});

/** The state of a first start. */
export function emptyState(): WatchState {
  return {
    version: STATE_VERSION,
    savedAt: new Date(0).toISOString(),
    alarms: {},
    incidents: emptyBook(),
    tailers: {},
    traffic: {},
    upstreamMinutes: {},
    failingSince: {},
  };
}

/** The default state path for a reports folder. */
export function defaultStatePath(reportsDir: string): string {
  return join(reportsDir, STATE_FILE_NAME);
}

/**
 * Reads the state; a missing file is a fresh start. A file that is not valid state is renamed to
 * `<path>.corrupt-<time>` (kept for a person to look at) and the error says so; the caller decides
 * whether to start fresh.
 */
export async function loadWatchState(path: string): Promise<WatchState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WatchStateError(`cannot read the watch state ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw await setAside(path, 'it is not JSON', error);
  }
  const result = StateSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw await setAside(path, `${issue?.path.join('.') || '(top level)'}: ${issue?.message}`, result.error);
  }
  return result.data as WatchState;
}

async function setAside(path: string, why: string, cause: unknown): Promise<WatchStateError> {
  const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '')}`;
  await rename(path, aside).catch(() => undefined);
  return new WatchStateError(`the watch state ${path} is not usable (${why}); it was moved to ${aside}`, {
    cause,
  });
}

/** Writes the state atomically: a temp file in the same folder, flushed to disk, renamed over the old one. */
export async function saveWatchState(path: string, state: WatchState): Promise<void> {
  const temporary = join(dirname(path), `.${process.pid}.${Date.now()}.state.tmp`);
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
