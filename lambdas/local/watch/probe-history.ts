/**
 * Records every probe result of `gatewatch watch` in the durable probe history (see
 * `adapters/local/probe-history-files.ts`): results are counted per target and minute, and a minute is
 * appended once the next one starts (and at stop), so the history costs one short line per target and
 * minute whatever the probe interval.
 */
import type { ProbeHistoryFiles } from '../../adapters/local/probe-history-files.ts';
import { isoSeconds } from '../../core/diagnosis/incident-id.ts';
import type { ProbeMinute } from '../../core/incident/availability.ts';

export class ProbeHistoryRecorder {
  readonly #files: ProbeHistoryFiles;
  readonly #warn: (message: string) => void;
  readonly #open = new Map<string, { minuteMs: number; ok: number; failed: number }>();
  #writing: Promise<void> = Promise.resolve();

  constructor(files: ProbeHistoryFiles, warn: (message: string) => void) {
    this.#files = files;
    this.#warn = warn;
  }

  record(results: readonly { target: string; ok: boolean }[], atMs: number): void {
    const minuteMs = Math.floor(atMs / 60_000) * 60_000;
    for (const result of results) {
      const open = this.#open.get(result.target);
      if (open !== undefined && open.minuteMs !== minuteMs) this.#write(result.target, [minuteOf(open)]);
      const current =
        open !== undefined && open.minuteMs === minuteMs ? open : { minuteMs, ok: 0, failed: 0 };
      if (result.ok) current.ok++;
      else current.failed++;
      this.#open.set(result.target, current);
    }
  }

  /** Appends every minute still open (at stop) and waits for all writes. */
  async flush(): Promise<void> {
    for (const [target, open] of this.#open) this.#write(target, [minuteOf(open)]);
    this.#open.clear();
    await this.#writing;
  }

  #write(target: string, minutes: ProbeMinute[]): void {
    this.#writing = this.#writing.then(() =>
      this.#files.append(target, minutes).catch((error: unknown) => {
        this.#warn(
          `probe history of ${target} not written: ${error instanceof Error ? error.message : String(error)}`,
        );
      }),
    );
  }
}

function minuteOf(open: { minuteMs: number; ok: number; failed: number }): ProbeMinute {
  return { minute: isoSeconds(new Date(open.minuteMs)), ok: open.ok, failed: open.failed };
}
