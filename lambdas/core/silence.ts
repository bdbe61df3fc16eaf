/**
 * Silence (maintenance) windows: while one is active for a target, its incidents are still diagnosed and
 * reported, but nobody is notified. A window is fixed (`from`..`to`) or recurring: a five-field cron
 * expression in UTC (minute hour day-of-month month day-of-week) that starts it, and a duration.
 */

/** A cron expression gatewatch cannot read. */
export class CronFormatError extends Error {
  override name = 'CronFormatError';
}

interface Cron {
  minute: Set<number>;
  hour: Set<number>;
  dayOfMonth: Set<number>;
  month: Set<number>;
  dayOfWeek: Set<number>;
  /** Both day fields restricted: cron matches either (the classic rule). */
  eitherDay: boolean;
}

const FIELDS: [string, number, number][] = [
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['day of month', 1, 31],
  ['month', 1, 12],
  ['day of week', 0, 7],
];

function field(text: string, [name, min, max]: [string, number, number]): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(part);
    if (!match) throw new CronFormatError(`${name}: "${part}" is not a number, range, list or step`);
    const from = match[1] === '*' ? min : Number(match[2]);
    const to = match[1] === '*' ? max : match[3] !== undefined ? Number(match[3]) : match[4] ? max : from;
    const step = match[4] === undefined ? 1 : Number(match[4]);
    if (from < min || to > max || from > to || step < 1)
      throw new CronFormatError(`${name}: "${part}" is outside ${min}-${max}`);
    for (let value = from; value <= to; value += step) values.add(name === 'day of week' ? value % 7 : value);
  }
  return values;
}

/** Parses `m h dom mon dow` (numbers, `*`, ranges, lists, steps; Sunday is 0 or 7). */
export function parseCron(expression: string): Cron {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5)
    throw new CronFormatError(
      `"${expression}" needs five fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * 0"`,
    );
  const [minute, hour, dayOfMonth, month, dayOfWeek] = parts.map((part, i) => field(part, FIELDS[i]!));
  return {
    minute: minute!,
    hour: hour!,
    dayOfMonth: dayOfMonth!,
    month: month!,
    dayOfWeek: dayOfWeek!,
    eitherDay: parts[2] !== '*' && parts[4] !== '*',
  };
}

function matches(cron: Cron, ms: number): boolean {
  const date = new Date(ms);
  if (!cron.minute.has(date.getUTCMinutes()) || !cron.hour.has(date.getUTCHours())) return false;
  if (!cron.month.has(date.getUTCMonth() + 1)) return false;
  const dom = cron.dayOfMonth.has(date.getUTCDate());
  const dow = cron.dayOfWeek.has(date.getUTCDay());
  return cron.eitherDay ? dom || dow : dom && dow;
}

export type Silence =
  | { from: string; to: string; reason: string }
  | { cron: string; durationMinutes: number; reason: string };

/** The window that silences `atMs`, if any: a fixed one containing it, or a cron start within its duration. */
export function activeSilence(windows: readonly Silence[], atMs: number): Silence | undefined {
  for (const window of windows) {
    if ('from' in window) {
      if (Date.parse(window.from) <= atMs && atMs < Date.parse(window.to)) return window;
      continue;
    }
    const cron = parseCron(window.cron);
    const minute = Math.floor(atMs / 60_000) * 60_000;
    // The window is [start, start + duration): look back over the starts that could still be running.
    for (let back = 0; back < window.durationMinutes; back++) {
      if (matches(cron, minute - back * 60_000)) return window;
    }
  }
  return undefined;
}

/** `maintenance (cron 0 2 * * 0 for 120 min)` or `deploy (2026-12-06T10:00:00Z – …)`: for the report. */
export function describeSilence(window: Silence): string {
  return 'from' in window
    ? `${window.reason} (${window.from} – ${window.to})`
    : `${window.reason} (cron "${window.cron}" UTC, ${window.durationMinutes} min)`;
}
