/** `shop-20261124T051148Z-3f2a`: target, opening time (UTC, seconds), a short random suffix. */
export function formatIncidentId(target: string, openedAt: Date, suffix: string): string {
  const stamp = openedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return `${target}-${stamp}-${suffix}`;
}

/** ISO-8601 without milliseconds, as the report contract spells times. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
