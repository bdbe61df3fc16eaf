/**
 * The text that log shippers and runtimes put before nginx's own line, recognised and taken off so both
 * log parsers read nginx's line wherever it stands: `docker logs --timestamps`, `docker compose`,
 * `kubectl logs --prefix`, syslog (RFC 3164 and 5424), `journalctl -o short-iso`, s6/TAI64N, CloudWatch
 * Logs exports (time, a space or tab) and docker's json-file lines (`{"log":"…\n","stream":…,"time":…}`).
 *
 * Only known shapes are taken off, anchored at the start of the line: nothing is guessed from the middle
 * of a line, so a prefix never eats part of nginx's own text. Layers stack (`web-1  | 2026-…Z <line>`).
 */

/** Which prefix a line carried (the outermost first when there are several). */
export type LogPrefixKind =
  | 'docker-json'
  | 'timestamp'
  | 'compose'
  | 'kubectl'
  | 'syslog'
  | 'rfc5424'
  | 'tai64n';

/** A line with its prefixes taken off. */
export interface StrippedLine {
  /** The text after the prefixes (the whole line when it had none). */
  line: string;
  /** The prefixes taken off, outermost first; empty when none. */
  kinds: LogPrefixKind[];
  /** The time a prefix carried, epoch ms (UTC), when one had a full date with a zone. */
  atMs?: number;
}

const MAX_LAYERS = 4;
// 2026-12-06T20:08:01.123456789Z, 2026-12-06T20:08:01+05:30, 2026-12-06 20:08:01.123Z (CloudWatch), +0000;
// without a zone only with a fraction (s6-log's `T` option: `2015-11-28 09:46:25.676384500  `), whose
// time is local and so not used as a time.
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})|[.,](\d{9}))[ \t]+/;
const COMPOSE = /^[A-Za-z0-9][\w.-]{0,127} *\| /;
const KUBECTL = /^\[pod\/[^\]\s/]+\/[^\]\s/]+\] /;
// <PRI>Dec  6 20:08:01 host nginx[123]: (the host may be missing in files written by some daemons)
const SYSLOG =
  /^(?:<\d{1,3}>)?[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} (?:\S+ )?[\w./@-]{1,64}(?:\[\d{1,10}\])?: /;
// <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD]|- (RFC 5424)
const RFC5424 = /^<\d{1,3}>1 (\S+) \S+ \S+ \S+ \S+ (?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?/;
// after a time: `host nginx[123]: ` (journalctl -o short-iso, rsyslog with RFC 3339 times)
const HOST_TAG = /^\S+ [\w./@-]{1,64}(?:\[\d{1,10}\])?: /;
const TAI64N = /^@([0-9a-f]{16})([0-9a-f]{8}) /;
const TAI64_EPOCH = 2n ** 62n;

/**
 * Takes the known prefixes off a log line. `isLine` tells when nginx's own line has been reached, so a
 * line that already is an nginx line is never touched.
 */
export function stripLogPrefix(text: string, isLine: (candidate: string) => boolean): StrippedLine {
  const result: StrippedLine = { line: text, kinds: [] };
  let line = text;
  for (let layer = 0; layer < MAX_LAYERS && !isLine(line); layer++) {
    const next = peel(line, result);
    if (next === undefined) break;
    line = next;
  }
  result.line = line;
  return result;
}

function peel(line: string, result: StrippedLine): string | undefined {
  const first = line.charCodeAt(0);
  if (first === 0x7b /* { */) return dockerJson(line, result);
  if (first === 0x40 /* @ */) {
    const m = TAI64N.exec(line);
    if (!m) return undefined;
    const seconds = BigInt(`0x${m[1]}`) - TAI64_EPOCH;
    // s6 and daemontools write TAI as UTC + 10 s and ignore leap seconds
    const ms = Number(seconds - 10n) * 1000 + Math.floor(Number.parseInt(m[2]!, 16) / 1e6);
    note(result, 'tai64n', Number.isFinite(ms) && ms > 0 ? ms : undefined);
    return line.slice(m[0].length);
  }
  if (first >= 0x30 && first <= 0x39) {
    const m = RFC3339.exec(line);
    if (!m) return undefined;
    note(result, 'timestamp', m[8] === undefined ? undefined : isoMs(m));
    const rest = line.slice(m[0].length);
    const tag = HOST_TAG.exec(rest);
    // `host nginx[1]: ` after a time only when what follows it is not itself a known shape
    return tag ? rest.slice(tag[0].length) : rest;
  }
  if (first === 0x3c /* < */) {
    const m5424 = RFC5424.exec(line);
    if (m5424) {
      note(result, 'rfc5424', parseIso(m5424[1]!));
      return line.slice(m5424[0].length);
    }
  }
  if (first === 0x5b /* [ */) {
    const m = KUBECTL.exec(line);
    if (!m) return undefined;
    note(result, 'kubectl', undefined);
    return line.slice(m[0].length);
  }
  const syslog = SYSLOG.exec(line);
  if (syslog) {
    note(result, 'syslog', undefined);
    return line.slice(syslog[0].length);
  }
  const compose = COMPOSE.exec(line);
  if (compose) {
    note(result, 'compose', undefined);
    return line.slice(compose[0].length);
  }
  return undefined;
}

function note(result: StrippedLine, kind: LogPrefixKind, atMs: number | undefined): void {
  result.kinds.push(kind);
  if (atMs !== undefined && !Number.isNaN(atMs) && result.atMs === undefined) result.atMs = atMs;
}

// docker's json-file driver: one JSON object per line, the line itself (with its newline) under "log".
function dockerJson(line: string, result: StrippedLine): string | undefined {
  if (!line.startsWith('{"log":')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { log, time } = parsed as { log?: unknown; time?: unknown };
  if (typeof log !== 'string') return undefined;
  note(result, 'docker-json', typeof time === 'string' ? parseIso(time) : undefined);
  return log.endsWith('\r\n') ? log.slice(0, -2) : log.endsWith('\n') ? log.slice(0, -1) : log;
}

function parseIso(text: string): number | undefined {
  const m = RFC3339.exec(`${text} `);
  return m && m[8] !== undefined ? isoMs(m) : undefined;
}

function isoMs(m: RegExpExecArray): number | undefined {
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  const year = Number(y);
  if (year < 1970) return undefined;
  let ms = Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  if (fraction !== undefined) ms += Math.floor(Number(fraction.padEnd(9, '0')) / 1e6);
  if (zone !== 'Z' && zone !== undefined) {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return ms;
}
