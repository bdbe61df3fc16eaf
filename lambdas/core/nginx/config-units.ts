/**
 * nginx's units for times and sizes, read the way `ngx_parse_time` and `ngx_parse_size` (src/core/ngx_parse.c)
 * read them. Reference: https://nginx.org/en/docs/syntax.html
 */

const TIME_UNITS_MS: Record<string, number> = {
  y: 365 * 24 * 3600 * 1000,
  M: 30 * 24 * 3600 * 1000,
  w: 7 * 24 * 3600 * 1000,
  d: 24 * 3600 * 1000,
  h: 3600 * 1000,
  m: 60 * 1000,
  s: 1000,
  ms: 1,
};
/** Largest first: nginx accepts `1h30m` but not `30m1h`. */
const TIME_ORDER = ['y', 'M', 'w', 'd', 'h', 'm', 's', 'ms'];

/**
 * A time value in milliseconds: `ms`, `s`, `m`, `h`, `d`, `w`, `M` (30 days), `y` (365 days), combined
 * largest unit first (`1m30s`, `1h 30m`); a number without a unit is seconds, also at the end of a
 * combination (`1m30` is 90 s, as in nginx). `undefined` for anything nginx would reject (`30m1h`, `-1s`,
 * `1.5s`, ``) and for variables.
 */
export function parseNginxDuration(value: string): number | undefined {
  const text = value.trim();
  if (text === '' || text.length > 64) return undefined;
  const parts = /^(?:\d+(?:ms|[yMwdhms])\s*)*(?:\d+)?$/.exec(text);
  if (!parts) return undefined;
  let total = 0;
  let lastRank = -1;
  for (const match of text.matchAll(/(\d+)(ms|[yMwdhms])?/g)) {
    const unit = match[2] ?? 's';
    const rank = match[2] === undefined ? TIME_ORDER.length : TIME_ORDER.indexOf(unit);
    if (rank <= lastRank) return undefined;
    lastRank = rank;
    total += Number(match[1]) * TIME_UNITS_MS[unit]!;
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

const SIZE_UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * A size in bytes: a number with an optional `k`/`K`, `m`/`M` or `g`/`G` suffix (powers of 1024).
 * `undefined` for anything else, including nginx's documented platform defaults such as `4k|8k`.
 */
export function parseNginxSize(value: string): number | undefined {
  const match = /^(\d{1,15})([kKmMgG])?$/.exec(value.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * (match[2] === undefined ? 1 : SIZE_UNITS[match[2].toLowerCase()]!);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
