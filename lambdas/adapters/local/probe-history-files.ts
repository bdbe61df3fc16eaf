/**
 * The probe history as files: `<reports.dir>/history/<target>/<YYYY-MM-DD>.jsonl`, one line per target and
 * minute (`{"minute":"…","ok":2,"failed":0}`), appended by `gatewatch watch` and read for the incident
 * index's availability and error budget. Append-only, one small file per day: a crash loses at most the
 * minute in progress, and a torn last line is skipped when read.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type ProbeMinute,
  parseProbeMinutes,
  probeMinuteLine,
  windowDays,
} from '../../core/incident/availability.ts';

/** A target name that cannot be a folder name (config validation makes this unreachable; this guards it). */
export class UnsafeHistoryNameError extends Error {
  override name = 'UnsafeHistoryNameError';
}

const SAFE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class ProbeHistoryFiles {
  readonly dir: string;

  constructor(reportsDir: string) {
    this.dir = join(resolve(reportsDir), 'history');
  }

  #folder(target: string): string {
    if (!SAFE_NAME.test(target))
      throw new UnsafeHistoryNameError(`target "${target}" is not a safe folder name`);
    return join(this.dir, target);
  }

  async append(target: string, minutes: readonly ProbeMinute[]): Promise<void> {
    const byDay = new Map<string, string>();
    for (const m of minutes)
      byDay.set(m.minute.slice(0, 10), (byDay.get(m.minute.slice(0, 10)) ?? '') + probeMinuteLine(m));
    const folder = this.#folder(target);
    await mkdir(folder, { recursive: true });
    for (const [day, lines] of byDay) await appendFile(join(folder, `${day}.jsonl`), lines, 'utf8');
  }

  async minutes(target: string, from: Date, to: Date): Promise<ProbeMinute[]> {
    const folder = this.#folder(target);
    const days = windowDays(to, Math.ceil((to.getTime() - from.getTime()) / 86_400_000));
    const out: ProbeMinute[] = [];
    for (const day of days) {
      let text: string;
      try {
        text = await readFile(join(folder, `${day}.jsonl`), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      out.push(...parseProbeMinutes(text));
    }
    return out.filter((m) => {
      const at = Date.parse(m.minute);
      return at >= from.getTime() && at <= to.getTime();
    });
  }
}
