/**
 * Availability and error budget per target from the probe history: the watch loop appends one line per
 * target and minute (`{"minute":"…","ok":2,"failed":0}`) to a per-target, per-day file; this module adds
 * the minutes up over the SLO window.
 */

/** One minute of probes of one target. */
export interface ProbeMinute {
  /** ISO-8601 at :00, UTC. */
  minute: string;
  ok: number;
  failed: number;
}

export interface SloSettings {
  /** Target availability in percent, e.g. 99.9. */
  availability: number;
  windowDays: number;
}

export const DEFAULT_SLO: SloSettings = { availability: 99.9, windowDays: 30 };

export interface TargetAvailability {
  target: string;
  slo: SloSettings;
  probes: number;
  failed: number;
  /** Percent of probes that passed in the window; undefined without probes. */
  availability?: number;
  /** Share of the error budget left, in percent (negative when overspent); undefined without probes. */
  budgetRemaining?: number;
  /** First and last minute with probes in the window. */
  from?: string;
  to?: string;
}

/** A line of the history that is not a probe minute. */
export class ProbeHistoryFormatError extends Error {
  override name = 'ProbeHistoryFormatError';
}

export function probeMinuteLine(minute: ProbeMinute): string {
  return `${JSON.stringify({ minute: minute.minute, ok: minute.ok, failed: minute.failed })}\n`;
}

/** The minutes in a history file; a torn last line (the process died mid-append) is skipped, anything else throws. */
export function parseProbeMinutes(text: string): ProbeMinute[] {
  const lines = text.split('\n');
  const minutes: ProbeMinute[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const value = JSON.parse(line) as Partial<ProbeMinute>;
      if (
        typeof value.minute === 'string' &&
        Number.isInteger(value.ok) &&
        Number.isInteger(value.failed) &&
        !Number.isNaN(Date.parse(value.minute))
      ) {
        minutes.push({ minute: value.minute, ok: value.ok!, failed: value.failed! });
        return;
      }
    } catch {
      if (i === lines.length - 1) return;
    }
    throw new ProbeHistoryFormatError(`line ${i + 1} is not a probe minute: ${line.slice(0, 80)}`);
  });
  return minutes;
}

/** Availability of one target over the SLO window ending at `now`. */
export function availabilityOf(
  target: string,
  minutes: readonly ProbeMinute[],
  slo: SloSettings,
  now: Date,
): TargetAvailability {
  const from = now.getTime() - slo.windowDays * 86_400_000;
  const inWindow = minutes.filter((m) => {
    const at = Date.parse(m.minute);
    return at >= from && at <= now.getTime();
  });
  const probes = inWindow.reduce((n, m) => n + m.ok + m.failed, 0);
  const failed = inWindow.reduce((n, m) => n + m.failed, 0);
  const result: TargetAvailability = { target, slo, probes, failed };
  if (probes === 0) return result;
  const sorted = inWindow.map((m) => m.minute).sort();
  result.availability = ((probes - failed) / probes) * 100;
  const allowed = (1 - slo.availability / 100) * probes;
  result.budgetRemaining = allowed === 0 ? (failed === 0 ? 100 : -Infinity) : (1 - failed / allowed) * 100;
  result.from = sorted[0]!;
  result.to = sorted[sorted.length - 1]!;
  return result;
}

/** Days (`YYYY-MM-DD`, UTC) the window ending at `now` touches, oldest first: the history files to read. */
export function windowDays(now: Date, days: number): string[] {
  const out: string[] = [];
  for (let i = days; i >= 0; i--)
    out.push(new Date(now.getTime() - i * 86_400_000).toISOString().slice(0, 10));
  return out;
}
