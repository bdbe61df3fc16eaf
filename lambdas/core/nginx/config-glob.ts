/**
 * Matches an `include` pattern against file names the way glob(3) does for nginx (`ngx_open_glob`): `*`, `?`
 * and `[…]` never cross a `/`, and a wildcard does not match a leading `.`. Written as a loop rather than a
 * regular expression so that no pattern can make it backtrack for long.
 */
export function globMatch(pattern: string, path: string): boolean {
  const patternParts = pattern.split('/');
  const pathParts = path.split('/');
  if (patternParts.length !== pathParts.length) return false;
  return patternParts.every((part, i) => matchSegment(part, pathParts[i]!));
}

/** True when the pattern has glob wildcards (nginx then accepts zero matches). */
export function hasGlobWildcard(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

function matchSegment(pattern: string, name: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  let p = 0;
  let n = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    if (p < pattern.length) {
      if (pattern[p] === '*') {
        starP = p;
        starN = n;
        p += 1;
        continue;
      }
      const consumed = matchOne(pattern, p, name[n]!);
      if (consumed > 0) {
        p += consumed;
        n += 1;
        continue;
      }
    }
    if (starP === -1) return false;
    p = starP + 1;
    starN += 1;
    n = starN;
  }
  while (pattern[p] === '*') p += 1;
  return p === pattern.length;
}

/** How many pattern characters matched `ch` at `p` (a literal, `?`, `\x` or a `[…]` class), 0 for no match. */
function matchOne(pattern: string, p: number, ch: string): number {
  const token = pattern[p]!;
  if (token === '?') return 1;
  if (token === '\\' && p + 1 < pattern.length) return pattern[p + 1] === ch ? 2 : 0;
  if (token === '[') {
    const end = classEnd(pattern, p);
    if (end !== -1) return classMatches(pattern.slice(p + 1, end), ch) ? end - p + 1 : 0;
  }
  return token === ch ? 1 : 0;
}

function classEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '!' || pattern[i] === '^') i += 1;
  if (pattern[i] === ']') i += 1;
  const close = pattern.indexOf(']', i);
  return close;
}

function classMatches(body: string, ch: string): boolean {
  const negated = body.startsWith('!') || body.startsWith('^');
  const items = negated ? body.slice(1) : body;
  let found = false;
  for (let i = 0; i < items.length; i += 1) {
    const from = items[i]!;
    if (items[i + 1] === '-' && i + 2 < items.length) {
      if (ch >= from && ch <= items[i + 2]!) found = true;
      i += 2;
    } else if (from === ch) {
      found = true;
    }
  }
  return found !== negated;
}
