/** `--since`: a duration back from now (`90s`, `15m`, `2h`, `7d`, `1w`) or an ISO-8601 time. */
export class SinceFormatError extends Error {
  override name = 'SinceFormatError';
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseSince(value: string, now: Date): Date {
  const trimmed = value.trim();
  const duration = /^(\d{1,7})([smhdw])$/.exec(trimmed);
  if (duration) {
    const ms = Number(duration[1]) * UNIT_MS[duration[2]!]!;
    if (ms === 0) throw new SinceFormatError(`--since ${value}: the window must be longer than zero`);
    return new Date(now.getTime() - ms);
  }
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    const at = new Date(trimmed);
    if (!Number.isNaN(at.getTime())) {
      if (at.getTime() >= now.getTime())
        throw new SinceFormatError(`--since ${value}: that time is not in the past`);
      return at;
    }
  }
  throw new SinceFormatError(
    `--since ${value}: use a duration like 15m, 2h or 7d, or an ISO-8601 time like 2026-11-24T05:00:00Z`,
  );
}
