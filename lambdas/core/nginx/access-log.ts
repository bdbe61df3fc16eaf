/**
 * nginx access logs, read as bytes: gatewatch's own tab-separated `log_format` and `combined`.
 *
 * The scanner works on the raw chunks (any split) without building a string per line: it finds line ends
 * with `indexOf`, parses digits by hand, caches the parsed minute of the timestamp and interns upstream
 * addresses. Request line and user agent are decoded only for the few failing requests kept as samples.
 */
import { redactText } from '../redact.ts';
import type {
  AccessLogFormat,
  TrafficMinute,
  TrafficSecond,
  TrafficSummary,
  UpstreamTraffic,
} from '../types.ts';
import { describeUnreadable, MAX_SAMPLES } from './coverage.ts';
import { type LogPrefixKind, stripLogPrefix } from './log-prefix.ts';
import { parseUpstream } from './peer.ts';

/**
 * gatewatch's recommended access-log format, as the directive to put in nginx's `http` block (the same
 * text ships as `lambdas/assets/nginx/gatewatch-log-format.conf`). Fields are tab-separated: nginx
 * escapes every control character inside a variable as `\xHH`, so a raw tab only ever separates fields.
 * The leading `gw1` marks each line as this format.
 */
export const GATEWATCH_LOG_FORMAT =
  'log_format gatewatch \'gw1\\t$time_iso8601\\t$status\\t$request_time\\t$upstream_addr\\t$upstream_status\\t$upstream_connect_time\\t$upstream_header_time\\t$upstream_response_time\\t$request_id\\t$remote_addr\\t"$request"\\t$body_bytes_sent\\t"$http_referer"\\t"$http_user_agent"\\t$host\';';

/** The fields of a gatewatch line after the `gw1` marker, in order. */
export const GATEWATCH_FIELDS = [
  'time_iso8601',
  'status',
  'request_time',
  'upstream_addr',
  'upstream_status',
  'upstream_connect_time',
  'upstream_header_time',
  'upstream_response_time',
  'request_id',
  'remote_addr',
  'request',
  'body_bytes_sent',
  'http_referer',
  'http_user_agent',
  'host',
] as const;

/** Longest line read; a longer one counts as malformed (nginx lines are far shorter). */
export const MAX_LINE_BYTES = 64 * 1024;

const TAB = 9;
const NL = 10;
const CR = 13;
const SP = 32;
const QUOTE = 34;
const COMMA = 44;
const DASH = 45;
const DOT = 46;
const SLASH = 47;
const ZERO = 48;
const COLON = 58;
const PLUS = 43;
const LBRACKET = 91;
const RBRACKET = 93;
const T_UPPER = 84;

const MONTHS: Record<string, number> = {
  Jan: 1,
  Feb: 2,
  Mar: 3,
  Apr: 4,
  May: 5,
  Jun: 6,
  Jul: 7,
  Aug: 8,
  Sep: 9,
  Oct: 10,
  Nov: 11,
  Dec: 12,
};

// Upstream lists longer than this are cut (nginx tries at most as many servers as the group has).
const MAX_ATTEMPTS = 64;
const MAX_PEERS = 4096;
const PEER_TABLE = 8192; // power of two, twice MAX_PEERS: open addressing stays short
/** The bucket every upstream address beyond MAX_PEERS distinct spellings is counted under. */
export const OTHER_PEERS = '(other)';

const latin1 = new TextDecoder('latin1');
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * One access-log line as the scanner read it. The scanner reuses one instance for every line: read it
 * inside the callback, copy what you keep.
 */
export class AccessLogRecord {
  format: 'gatewatch' | 'combined' = 'gatewatch';
  /** Epoch milliseconds. */
  timeMs = 0;
  /** `$status`, 0–999. */
  status = 0;
  /** `$request_time` in ms; -1 when the format has none. */
  requestTimeMs = -1;
  /** How many upstream attempts `$upstream_addr` lists (retries and internal redirects included). */
  attempts = 0;
  /** Scanner-wide id of each attempt's peer ({@link AccessLogScanner.peerName}). */
  peerIds = new Int32Array(MAX_ATTEMPTS);
  /** Each attempt's `$upstream_status`; -1 for `-`. */
  upstreamStatus = new Int32Array(MAX_ATTEMPTS);
  /** Each attempt's `$upstream_connect_time` in ms; -1 for `-`. */
  connectMs = new Int32Array(MAX_ATTEMPTS);
  /** Each attempt's `$upstream_header_time` in ms; -1 for `-` (no header received: nginx made the answer). */
  headerMs = new Int32Array(MAX_ATTEMPTS);
  /** Each attempt's `$upstream_response_time` in ms; -1 for `-`. */
  responseMs = new Int32Array(MAX_ATTEMPTS);

  /** @internal line bytes and field offsets, valid during the callback only */
  buffer: Uint8Array = new Uint8Array(0);
  /** @internal */
  lineStart = 0;
  /** @internal */
  lineEnd = 0;
  /** @internal start/end of: time, upstream_addr, upstream_status, request_id, request, user agent */
  offsets = new Int32Array(12);

  /** The time as nginx wrote it. */
  timeText(): string {
    return this.#slice(0);
  }

  /** The request line (`GET /x HTTP/1.1`) as nginx logged it (escaped bytes stay `\xHH`). */
  requestLine(): string {
    this.#locateMiddle();
    return this.#slice(4);
  }

  /** The user agent as nginx logged it. */
  userAgent(): string {
    this.#locateMiddle();
    return this.#slice(5);
  }

  // gatewatch: the fields between the upstream lists and the user agent, found by their tabs (nginx
  // escapes tabs inside values). A field that is not where it should be reads as empty.
  #locateMiddle(): void {
    const o = this.offsets;
    if (this.format !== 'gatewatch' || o[9] !== -1) return;
    const buf = this.buffer;
    const end = o[11]!;
    let q = o[6]!;
    while (q < end && buf[q] !== TAB) q++;
    o[7] = q;
    q++;
    while (q < end && buf[q] !== TAB) q++;
    // "$request"
    o[8] = Math.min(q + 2, end);
    q = o[8];
    while (q < end && buf[q] !== TAB) q++;
    o[9] = Math.max(o[8], q - 1);
    // "$http_user_agent" begins after the last tab before its closing quote
    let t = end;
    while (t > q && buf[t] !== TAB) t--;
    o[10] = Math.min(t + 2, end);
  }

  /** `$request_id` (gatewatch format only). */
  requestId(): string | undefined {
    if (this.format !== 'gatewatch') return undefined;
    this.#locateMiddle();
    return this.#slice(3);
  }

  /** `$upstream_addr` as written (gatewatch format only). */
  upstreamAddr(): string | undefined {
    return this.format === 'gatewatch' ? this.#slice(1) : undefined;
  }

  /** `$host` as written, the line's last field (gatewatch format only). */
  host(): string | undefined {
    if (this.format !== 'gatewatch') return undefined;
    return latin1.decode(this.buffer.subarray(this.offsets[11]! + 2, this.lineEnd));
  }

  /** `$upstream_status` as written (gatewatch format only). */
  upstreamStatusText(): string | undefined {
    return this.format === 'gatewatch' ? this.#slice(2) : undefined;
  }

  /** The whole line. */
  line(): string {
    return latin1.decode(this.buffer.subarray(this.lineStart, this.lineEnd));
  }

  #slice(field: number): string {
    return latin1.decode(this.buffer.subarray(this.offsets[field * 2]!, this.offsets[field * 2 + 1]!));
  }
}

/** Line counts of a scan. `lines = gatewatch + combined + malformed`; blank lines are not counted. */
export interface AccessLogCounts {
  lines: number;
  gatewatch: number;
  combined: number;
  malformed: number;
  /** Lines over {@link MAX_LINE_BYTES}: not read, counted in `malformed`. */
  truncated: number;
  /** Lines read through a known prefix (container runtime, syslog, …), by prefix. */
  prefixed: Partial<Record<LogPrefixKind, number>>;
  /** A few malformed lines, redacted and cut short. */
  unreadableSamples: string[];
  /** The UTC offset (minutes) of the newest timestamp read: the zone nginx writes its local time in. */
  zoneMinutes?: number;
}

// A cheap shape test for "nginx's own access-log line starts here" (the full parse decides).
const ACCESS_LINE_START = /^(?:gw1\t|[^\s"{]+ - \S+ \[)/;
const isAccessLine = (text: string): boolean => ACCESS_LINE_START.test(text);

/**
 * Splits chunks of an access log into lines (a line may span chunks) and parses each as the gatewatch
 * format or `combined` (with anything after the user agent, like Docker's `main`). Never throws on
 * content: a line of neither format is counted as malformed.
 */
export class AccessLogScanner {
  readonly #onRecord: (record: AccessLogRecord) => void;
  readonly #record = new AccessLogRecord();
  #carry: Uint8Array | undefined;
  #carryLength = 0;
  #carryOverflow = false;
  #lines = 0;
  #gatewatch = 0;
  #combined = 0;
  #malformed = 0;
  #truncated = 0;
  #zoneMinutes: number | undefined;
  readonly #prefixed: Partial<Record<LogPrefixKind, number>> = {};
  readonly #unreadable: string[] = [];
  // scratch position returned by the number readers
  #pos = 0;
  // minute caches: the date-and-minute bytes and zone of the last parsed timestamp
  readonly #isoKey = new Uint8Array(22);
  #isoValid = false;
  #isoMinuteMs = 0;
  readonly #localKey = new Uint8Array(23);
  #localValid = false;
  #localMinuteMs = 0;
  // upstream address interning: raw bytes -> peer id
  readonly #peerSlots = new Int32Array(PEER_TABLE).fill(-1);
  readonly #rawPeers: Uint8Array[] = [];
  readonly #rawPeerIds: number[] = [];
  readonly #peerNames: string[] = [];
  readonly #peerIdsByName = new Map<string, number>();

  constructor(onRecord: (record: AccessLogRecord) => void) {
    this.#onRecord = onRecord;
  }

  /** The normalised peer (parseUpstream spelling) behind a record's peer id. */
  peerName(id: number): string {
    return this.#peerNames[id] ?? OTHER_PEERS;
  }

  get counts(): AccessLogCounts {
    return {
      lines: this.#lines,
      gatewatch: this.#gatewatch,
      combined: this.#combined,
      malformed: this.#malformed,
      truncated: this.#truncated,
      prefixed: { ...this.#prefixed },
      unreadableSamples: [...this.#unreadable],
      ...(this.#zoneMinutes === undefined ? {} : { zoneMinutes: this.#zoneMinutes }),
    };
  }

  /** Reads a chunk; a trailing partial line waits for the next chunk or {@link end}. */
  push(chunk: Uint8Array): void {
    const length = chunk.length;
    let start = 0;
    if (this.#carryLength > 0 || this.#carryOverflow) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) {
        this.#keep(chunk, 0, length);
        return;
      }
      this.#keep(chunk, 0, nl);
      this.#flushCarry();
      start = nl + 1;
    }
    let nl = chunk.indexOf(NL, start);
    while (nl !== -1) {
      this.#line(chunk, start, nl);
      start = nl + 1;
      nl = chunk.indexOf(NL, start);
    }
    if (start < length) this.#keep(chunk, start, length);
  }

  /** Reads the last line when the log does not end with a newline. */
  end(): void {
    if (this.#carryLength > 0 || this.#carryOverflow) this.#flushCarry();
  }

  #keep(chunk: Uint8Array, from: number, to: number): void {
    if (this.#carryOverflow) return;
    const n = to - from;
    if (this.#carryLength + n > MAX_LINE_BYTES) {
      this.#carryOverflow = true;
      return;
    }
    if (this.#carry === undefined) this.#carry = sameKindOfArray(chunk, MAX_LINE_BYTES + 1);
    this.#carry.set(chunk.subarray(from, to), this.#carryLength);
    this.#carryLength += n;
  }

  #flushCarry(): void {
    if (this.#carryOverflow) {
      this.#lines++;
      this.#malformed++;
      this.#truncated++;
      if (this.#carry !== undefined) {
        this.#sampleUnreadable(this.#carry, 0, Math.min(this.#carryLength, 1024), 'over the line cap');
      } else this.#sampleUnreadable(new Uint8Array(0), 0, 0, 'over the line cap');
    } else {
      // The byte after a line is always a newline, wherever the line came from: parsing never depends
      // on how the log was split into chunks.
      this.#carry![this.#carryLength] = NL;
      this.#line(this.#carry!, 0, this.#carryLength);
    }
    this.#carryLength = 0;
    this.#carryOverflow = false;
  }

  #line(buf: Uint8Array, s: number, e: number): void {
    if (e - s > MAX_LINE_BYTES) {
      this.#lines++;
      this.#malformed++;
      this.#truncated++;
      this.#sampleUnreadable(buf, s, s + 1024, 'over the line cap');
      return;
    }
    if (e > s && buf[e - 1] === CR) e--;
    if (e === s) return;
    this.#lines++;
    if (!this.#parse(buf, s, e) && !this.#parsePrefixed(buf, s, e)) {
      this.#malformed++;
      this.#sampleUnreadable(buf, s, e, undefined);
    }
  }

  /** Parses nginx's own line at [s, e) (a newline follows e) and hands the record on. */
  #parse(buf: Uint8Array, s: number, e: number): boolean {
    const record = this.#record;
    if (e - s > 4 && buf[s] === 103 && buf[s + 1] === 119 && buf[s + 2] === 49 && buf[s + 3] === TAB) {
      if (!this.#parseGatewatch(buf, s, e, record)) return false;
      this.#gatewatch++;
    } else {
      if (!this.#parseCombined(buf, s, e, record)) return false;
      this.#combined++;
    }
    record.buffer = buf;
    record.lineStart = s;
    record.lineEnd = e;
    this.#onRecord(record);
    return true;
  }

  // The slow path, only for lines that are neither format as they stand: a known prefix before nginx's
  // line (container runtime, syslog, json-file) is taken off and the rest parsed as usual.
  #parsePrefixed(buf: Uint8Array, s: number, e: number): boolean {
    const first = buf[s]!;
    // every known prefix starts with a digit, a letter, `{`, `@`, `<` or `[`
    if (first <= SP) return false;
    const stripped = stripLogPrefix(latin1.decode(buf.subarray(s, e)), isAccessLine);
    if (stripped.kinds.length === 0) return false;
    const line = stripped.line;
    const n = line.length;
    if (n === 0 || n > MAX_LINE_BYTES) return false;
    // the chunks' own kind of array, so the parser stays compiled for one kind
    const bytes = sameKindOfArray(buf, n + 1);
    for (let i = 0; i < n; i++) bytes[i] = line.charCodeAt(i) & 0xff;
    bytes[n] = NL;
    if (!this.#parse(bytes, 0, n)) return false;
    for (const kind of stripped.kinds) this.#prefixed[kind] = (this.#prefixed[kind] ?? 0) + 1;
    return true;
  }

  #sampleUnreadable(buf: Uint8Array, s: number, e: number, why: string | undefined): void {
    if (this.#unreadable.length >= MAX_SAMPLES) return;
    const text = describeUnreadable(latin1.decode(buf.subarray(s, Math.min(e, buf.length))));
    this.#unreadable.push(why === undefined ? text : `${text} (${why})`);
  }

  // ---------------------------------------------------------------------------------- gatewatch

  #parseGatewatch(buf: Uint8Array, s: number, e: number, r: AccessLogRecord): boolean {
    const o = r.offsets;
    r.format = 'gatewatch';
    let p = s + 4;
    // $time_iso8601: 2026-11-24T05:11:48+00:00
    if (p + 26 > e || buf[p + 25] !== TAB) return false;
    const minute = this.#isoMinute(buf, p);
    if (Number.isNaN(minute)) return false;
    const s1 = buf[p + 17]! - ZERO;
    const s2 = buf[p + 18]! - ZERO;
    if (s1 < 0 || s1 > 5 || s2 < 0 || s2 > 9) return false;
    r.timeMs = minute + (s1 * 10 + s2) * 1000;
    o[0] = p;
    o[1] = p + 25;
    p += 26;
    // $status
    if (p + 4 > e || buf[p + 3] !== TAB) return false;
    const st = this.#status3(buf, p);
    if (st < 0) return false;
    r.status = st;
    p += 4;
    // $request_time
    const rt = this.#readMs(buf, p, e);
    if (rt === -2 || buf[this.#pos] !== TAB) return false;
    r.requestTimeMs = rt;
    p = this.#pos + 1;
    // $upstream_addr
    o[2] = p;
    let attempts = 0;
    if (buf[p] === TAB) {
      // empty: nginx had no peer name yet (socket() failed, out of descriptors)
      o[3] = p;
      p++;
    } else if (buf[p] === DASH && buf[p + 1] === TAB) {
      p += 2;
      o[3] = p - 1;
    } else {
      let es = p;
      let h = FNV_OFFSET;
      for (;;) {
        if (p >= e) return false;
        const c = buf[p]!;
        if (
          c === TAB ||
          (c === COMMA && buf[p + 1] === SP) ||
          (c === SP && buf[p + 1] === COLON && buf[p + 2] === SP)
        ) {
          if (p === es) return false;
          if (attempts < MAX_ATTEMPTS) r.peerIds[attempts] = this.#peerId(buf, es, p, h);
          attempts++;
          if (c === TAB) {
            o[3] = p;
            p++;
            break;
          }
          p += c === COMMA ? 2 : 3;
          es = p;
          h = FNV_OFFSET;
        } else {
          h = Math.imul(h ^ c, FNV_PRIME);
          p++;
        }
      }
      if (attempts > MAX_ATTEMPTS) attempts = MAX_ATTEMPTS;
    }
    r.attempts = attempts;
    // $upstream_status
    o[4] = p;
    p = this.#statusList(buf, p, e, r.upstreamStatus, attempts);
    if (p < 0) return false;
    o[5] = p - 1;
    // $upstream_connect_time, $upstream_header_time, $upstream_response_time
    p = this.#msList(buf, p, e, r.connectMs, attempts);
    if (p < 0) return false;
    p = this.#msList(buf, p, e, r.headerMs, attempts);
    if (p < 0) return false;
    p = this.#msList(buf, p, e, r.responseMs, attempts);
    if (p < 0) return false;
    // $request_id \t $remote_addr \t "$request" \t … \t "$http_user_agent" \t $host: the line must end with
    // the quoted user agent and the host; the fields between are located only when a sample asks for them.
    o[6] = p;
    let t = e - 1;
    while (t > p && buf[t] !== TAB) t--;
    // $host is never quoted: a quote there means the host field is missing
    if (t <= p + 1 || buf[t - 1] !== QUOTE || buf[t + 1] === QUOTE) return false;
    o[11] = t - 1;
    // request id end, request start and end, user-agent start: -1 until asked for
    o[7] = -1;
    o[8] = -1;
    o[9] = -1;
    o[10] = -1;
    return true;
  }

  /** `YYYY-MM-DDTHH:MM:SS+hh:mm` at p → epoch ms of its minute, NaN when invalid. */
  #isoMinute(buf: Uint8Array, p: number): number {
    const key = this.#isoKey;
    if (this.#isoValid && sameMinute(buf, p, key, 16, 19)) return this.#isoMinuteMs;
    if (
      buf[p + 4] !== DASH ||
      buf[p + 7] !== DASH ||
      buf[p + 10] !== T_UPPER ||
      buf[p + 13] !== COLON ||
      buf[p + 16] !== COLON ||
      (buf[p + 19] !== PLUS && buf[p + 19] !== DASH) ||
      buf[p + 22] !== COLON
    ) {
      return Number.NaN;
    }
    const year = digits(buf, p, 4);
    const month = digits(buf, p + 5, 2);
    const day = digits(buf, p + 8, 2);
    const hour = digits(buf, p + 11, 2);
    const minute = digits(buf, p + 14, 2);
    const zh = digits(buf, p + 20, 2);
    const zm = digits(buf, p + 23, 2);
    const zone = (buf[p + 19] === DASH ? -1 : 1) * (zh * 60 + zm);
    const ms = minuteMs(year, month, day, hour, minute, zh, zm, zone);
    if (Number.isNaN(ms)) return ms;
    this.#zoneMinutes = zone;
    rememberMinute(buf, p, key, 16, 19);
    this.#isoValid = true;
    this.#isoMinuteMs = ms;
    return ms;
  }

  /** Three digits at p → 0–999, or -1. */
  #status3(buf: Uint8Array, p: number): number {
    const a = buf[p]! - ZERO;
    const b = buf[p + 1]! - ZERO;
    const c = buf[p + 2]! - ZERO;
    // written so that NaN (a read past the end of the array) fails too
    if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9 && c >= 0 && c <= 9)) return -1;
    return a * 100 + b * 10 + c;
  }

  /**
   * A duration in seconds (`0.123`, `12`, `-`) at p → milliseconds; -1 for `-`, -2 when invalid.
   * Leaves the position after it in #pos.
   */
  #readMs(buf: Uint8Array, p: number, e: number): number {
    if (p >= e) return -2;
    if (buf[p] === DASH) {
      this.#pos = p + 1;
      return -1;
    }
    let v = 0;
    let i = p;
    while (i < e) {
      const d = buf[i]! - ZERO;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    if (i === p || i - p > 9) return -2;
    v *= 1000;
    if (buf[i] === DOT) {
      i++;
      let scale = 100;
      const from = i;
      while (i < e) {
        const d = buf[i]! - ZERO;
        if (d < 0 || d > 9) break;
        v += d * scale;
        scale = scale / 10;
        i++;
      }
      if (i === from) return -2;
      v = Math.floor(v);
    }
    this.#pos = i;
    return v;
  }

  /** A list of statuses separated by `, ` or ` : `, ending at a tab. Returns the position after the tab, or -1. */
  #statusList(buf: Uint8Array, p: number, e: number, out: Int32Array, attempts: number): number {
    let k = 0;
    for (;;) {
      if (p >= e) return -1;
      let value: number;
      if (buf[p] === DASH) {
        value = -1;
        p++;
      } else {
        value = this.#status3(buf, p);
        if (value < 0) return -1;
        p += 3;
      }
      if (k < attempts) out[k] = value;
      k++;
      const c = buf[p];
      if (c === TAB) break;
      if (c === COMMA && buf[p + 1] === SP) p += 2;
      else if (c === SP && buf[p + 1] === COLON && buf[p + 2] === SP) p += 3;
      else return -1;
    }
    for (; k < attempts; k++) out[k] = -1;
    return p + 1;
  }

  /** A list of durations separated by `, ` or ` : `, ending at a tab. Returns the position after the tab, or -1. */
  #msList(buf: Uint8Array, p: number, e: number, out: Int32Array, attempts: number): number {
    let k = 0;
    for (;;) {
      const value = this.#readMs(buf, p, e);
      if (value === -2) return -1;
      if (k < attempts) out[k] = value;
      k++;
      p = this.#pos;
      const c = buf[p];
      if (c === TAB) break;
      if (c === COMMA && buf[p + 1] === SP) p += 2;
      else if (c === SP && buf[p + 1] === COLON && buf[p + 2] === SP) p += 3;
      else return -1;
    }
    for (; k < attempts; k++) out[k] = -1;
    return p + 1;
  }

  /** Interns the address bytes [s, e): the same spelling gets the same id without decoding it again. */
  #peerId(buf: Uint8Array, s: number, e: number, h: number): number {
    const slots = this.#peerSlots;
    let slot = h & (PEER_TABLE - 1);
    const n = e - s;
    for (;;) {
      const index = slots[slot]!;
      if (index === -1) break;
      const raw = this.#rawPeers[index]!;
      if (raw.length === n) {
        let same = true;
        for (let i = 0; i < n; i++) {
          if (raw[i] !== buf[s + i]) {
            same = false;
            break;
          }
        }
        if (same) return this.#rawPeerIds[index]!;
      }
      slot = (slot + 1) & (PEER_TABLE - 1);
    }
    const name =
      this.#rawPeers.length >= MAX_PEERS
        ? OTHER_PEERS
        : parseUpstream(latin1.decode(buf.subarray(s, e))).peer;
    let id = this.#peerIdsByName.get(name);
    if (id === undefined) {
      id = this.#peerNames.length;
      this.#peerNames.push(name);
      this.#peerIdsByName.set(name, id);
    }
    if (this.#rawPeers.length < MAX_PEERS) {
      slots[slot] = this.#rawPeers.length;
      // A copy: the caller's buffer is refilled with the next chunk (Buffer#slice would be a view of it).
      this.#rawPeers.push(Uint8Array.prototype.slice.call(buf, s, e));
      this.#rawPeerIds.push(id);
    }
    return id;
  }

  // ---------------------------------------------------------------------------------- combined

  // $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
  #parseCombined(buf: Uint8Array, s: number, e: number, r: AccessLogRecord): boolean {
    const o = r.offsets;
    let p = s;
    while (p < e && buf[p] !== SP) p++;
    if (p === s || p + 3 >= e || buf[p + 1] !== DASH || buf[p + 2] !== SP) return false;
    p += 3;
    while (p < e && buf[p] !== LBRACKET) p++;
    if (p >= e || buf[p - 1] !== SP) return false;
    p++;
    // $time_local: 24/Nov/2026:05:11:48 +0000
    if (p + 30 > e || buf[p + 26] !== RBRACKET || buf[p + 27] !== SP || buf[p + 28] !== QUOTE) return false;
    const minute = this.#localMinute(buf, p);
    if (Number.isNaN(minute)) return false;
    const s1 = buf[p + 18]! - ZERO;
    const s2 = buf[p + 19]! - ZERO;
    if (s1 < 0 || s1 > 5 || s2 < 0 || s2 > 9) return false;
    r.timeMs = minute + (s1 * 10 + s2) * 1000;
    o[0] = p;
    o[1] = p + 26;
    // "$request": nginx writes a quote inside it as \x22, so the next quote closes it
    const rs = p + 29;
    const re = indexOfByte(buf, QUOTE, rs, e);
    if (re === -1 || re + 6 > e || buf[re + 1] !== SP || buf[re + 5] !== SP) return false;
    const st = this.#status3(buf, re + 2);
    if (st < 0) return false;
    r.status = st;
    // $body_bytes_sent
    p = re + 6;
    const bs = p;
    while (p < e && buf[p]! >= ZERO && buf[p]! <= ZERO + 9) p++;
    if (p === bs && buf[p] === DASH) p++;
    if (p === bs || buf[p] !== SP || buf[p + 1] !== QUOTE) return false;
    // "$http_referer" "$http_user_agent"
    const refEnd = indexOfByte(buf, QUOTE, p + 2, e);
    if (refEnd === -1 || buf[refEnd + 1] !== SP || buf[refEnd + 2] !== QUOTE) return false;
    const uaStart = refEnd + 3;
    const uaEnd = indexOfByte(buf, QUOTE, uaStart, e);
    if (uaEnd === -1 || (uaEnd + 1 < e && buf[uaEnd + 1] !== SP)) return false;
    r.requestTimeMs = -1;
    r.attempts = 0;
    o[2] = o[3] = o[4] = o[5] = o[6] = o[7] = rs;
    o[8] = rs;
    o[9] = re;
    o[10] = uaStart;
    o[11] = uaEnd;
    r.format = 'combined';
    return true;
  }

  /** `DD/Mon/YYYY:HH:MM:SS +hhmm` at p → epoch ms of its minute, NaN when invalid. */
  #localMinute(buf: Uint8Array, p: number): number {
    const key = this.#localKey;
    if (this.#localValid && sameMinute(buf, p, key, 17, 20)) return this.#localMinuteMs;
    if (
      buf[p + 2] !== SLASH ||
      buf[p + 6] !== SLASH ||
      buf[p + 11] !== COLON ||
      buf[p + 14] !== COLON ||
      buf[p + 17] !== COLON ||
      buf[p + 20] !== SP ||
      (buf[p + 21] !== PLUS && buf[p + 21] !== DASH)
    ) {
      return Number.NaN;
    }
    const month = MONTHS[String.fromCharCode(buf[p + 3]!, buf[p + 4]!, buf[p + 5]!)];
    if (month === undefined) return Number.NaN;
    const day = digits(buf, p, 2);
    const year = digits(buf, p + 7, 4);
    const hour = digits(buf, p + 12, 2);
    const minute = digits(buf, p + 15, 2);
    const zh = digits(buf, p + 22, 2);
    const zm = digits(buf, p + 24, 2);
    const zone = (buf[p + 21] === DASH ? -1 : 1) * (zh * 60 + zm);
    const ms = minuteMs(year, month, day, hour, minute, zh, zm, zone);
    if (Number.isNaN(ms)) return ms;
    this.#zoneMinutes = zone;
    rememberMinute(buf, p, key, 17, 20);
    this.#localValid = true;
    this.#localMinuteMs = ms;
    return ms;
  }
}

/**
 * A zeroed array of the chunks' own class (Node's Buffer when reading files): V8 compiles the parser for
 * the one kind of array it sees and deoptimises every function when a second kind (the carry of a line
 * split across chunks) shows up.
 */
function sameKindOfArray(chunk: Uint8Array, length: number): Uint8Array {
  // the species constructor, as TypedArray methods use it (for a Buffer: its internal FastBuffer class)
  const species = (chunk.constructor as { [Symbol.species]?: unknown })[Symbol.species];
  const Kind = (typeof species === 'function' ? species : Uint8Array) as new (length: number) => Uint8Array;
  try {
    const array = new Kind(length);
    if (array instanceof Uint8Array && array.length === length) return array;
  } catch {
    // not constructible from a length: fall back to a plain array
  }
  return new Uint8Array(length);
}

/** n decimal digits at p, or -1 when one is not a digit. */
function digits(buf: Uint8Array, p: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = buf[p + i]! - ZERO;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function minuteMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  zh: number,
  zm: number,
  zoneMinutes: number,
): number {
  // nginx logs are never dated before 1970 (and Date.UTC would read years 0-99 as 19xx)
  if (
    year < 1970 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59
  ) {
    return Number.NaN;
  }
  if (zh < 0 || zh > 23 || zm < 0 || zm > 59) return Number.NaN;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 ? (leap ? 29 : 28) : DAYS[month - 1]!)) return Number.NaN;
  return Date.UTC(year, month - 1, day, hour, minute) - zoneMinutes * 60_000;
}

function indexOfByte(buf: Uint8Array, byte: number, from: number, end: number): number {
  const at = buf.indexOf(byte, from);
  return at === -1 || at >= end ? -1 : at;
}

// ------------------------------------------------------------------------------------------ one line

/** A parsed access-log line as plain data. */
export interface AccessLogLine {
  format: 'gatewatch' | 'combined';
  timeMs: number;
  status: number;
  /** `$request_time` in ms; absent in `combined`. */
  requestTimeMs?: number;
  upstreams: {
    peer: string;
    /** Absent for `-`. */
    status?: number;
    connectMs?: number;
    headerMs?: number;
    responseMs?: number;
  }[];
  request: string;
  userAgent: string;
  requestId?: string;
}

/** Parses one access-log line (either format); `undefined` when it is neither. */
export function parseAccessLogLine(line: string): AccessLogLine | undefined {
  let parsed: AccessLogLine | undefined;
  const scanner: AccessLogScanner = new AccessLogScanner((r) => {
    parsed = {
      format: r.format,
      timeMs: r.timeMs,
      status: r.status,
      upstreams: Array.from({ length: r.attempts }, (_, k) => {
        const upstream: AccessLogLine['upstreams'][number] = { peer: scanner.peerName(r.peerIds[k]!) };
        const fields = [
          ['status', r.upstreamStatus[k]!],
          ['connectMs', r.connectMs[k]!],
          ['headerMs', r.headerMs[k]!],
          ['responseMs', r.responseMs[k]!],
        ] as const;
        for (const [name, value] of fields) if (value >= 0) upstream[name] = value;
        return upstream;
      }),
      request: r.requestLine(),
      userAgent: r.userAgent(),
    };
    if (r.requestTimeMs >= 0) parsed.requestTimeMs = r.requestTimeMs;
    const id = r.requestId();
    if (id !== undefined) parsed.requestId = id;
  });
  scanner.push(latin1Bytes(`${line.replace(/\r?\n$/, '')}\n`));
  return parsed;
}

/** A string's UTF-16 code units as bytes (latin1): how the scanner reads a line it is given as text. */
function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

// ------------------------------------------------------------------------------------------ traffic

/** Options of {@link TrafficAggregator}. */
export interface TrafficAggregatorOptions {
  /** Window start, epoch ms (inclusive). */
  fromMs: number;
  /** Window end, epoch ms (inclusive). */
  toMs: number;
  /** Failing requests (status >= 500) kept as redacted samples, newest last. @default 5 */
  maxSamples?: number;
}

/** Counts beside the summary: how the lines split, and which upstream 5xx the upstream itself sent. */
export interface AccessLogStats extends AccessLogCounts {
  /** Recognised lines dated outside the window (not in the summary). */
  outsideWindow: number;
  /**
   * Per peer: attempts with a 5xx `$upstream_status` AND a `$upstream_header_time`, i.e. the upstream
   * itself answered 5xx (nginx writes no error-log line for those). nginx's own 502/504 after a failed
   * connect or a timeout have no header time.
   */
  upstreamAnswered5xx: Record<string, number>;
}

// Keep the chart bounded when a huge window meets a long log: about 35 days of minutes.
const MAX_MINUTES = 50_000;
// Per-second counts draw the chart of a short window (demo, watch); a window with traffic in more than
// this many seconds or minutes charts per minute, and the seconds are not reported.
const MAX_SECONDS = 600;
const MAX_FINE_MINUTES = 10;

interface MinuteCounts {
  requests: number;
  status5xx: number;
  status502: number;
  status504: number;
}

/**
 * Streams an access log into the report's traffic section: totals, per-minute buckets, counts per
 * status and per upstream peer (every attempt of a retry list against its own peer and status), and a
 * few redacted failing requests. Memory stays flat whatever the size of the log.
 */
export class TrafficAggregator {
  readonly #fromMs: number;
  readonly #toMs: number;
  readonly #scanner: AccessLogScanner;
  readonly #byStatus = new Float64Array(1000);
  readonly #minutes = new Map<number, MinuteCounts>();
  #minuteKey = Number.NaN;
  #minute: MinuteCounts | undefined;
  /** Per-second counts while they stay few; `undefined` once there were too many to report. */
  #seconds: Map<number, MinuteCounts> | undefined = new Map();
  #secondKey = Number.NaN;
  #second: MinuteCounts | undefined;
  #requests = 0;
  #status5xx = 0;
  #outsideWindow = 0;
  #firstMs = Number.POSITIVE_INFINITY;
  #lastMs = Number.NEGATIVE_INFINITY;
  // per peer id
  #peerRequests: number[] = [];
  #peerFailures: number[] = [];
  #peerAnswered5xx: number[] = [];
  #peerMaxResponseMs: number[] = [];
  /** When each peer last and first answered (sent a response header), ms; -1 when it never did. */
  #peerFirstAnsweredMs: number[] = [];
  #peerLastAnsweredMs: number[] = [];
  /** When each peer last failed (5xx), ms, -1 never; its successes (status below 500) since its first failure and since its last one. */
  #peerLastFailedMs: number[] = [];
  #peerOkSinceFirstFailure: number[] = [];
  #peerOkSinceLastFailure: number[] = [];
  #peerStatus: Float64Array[] = [];
  // samples: a ring of copied line bytes, decoded and redacted in end()
  readonly #maxSamples: number;
  readonly #samples: Uint8Array[] = [];
  readonly #sampleLengths: number[] = [];
  #sampleNext = 0;
  #sampleCount = 0;

  constructor(options: TrafficAggregatorOptions) {
    this.#fromMs = options.fromMs;
    this.#toMs = options.toMs;
    this.#maxSamples = Math.max(0, Math.floor(options.maxSamples ?? 5));
    this.#scanner = new AccessLogScanner((record) => this.#add(record));
  }

  /** Reads a chunk of the log (any split; a line may span chunks). Never throws on content. */
  push(chunk: Uint8Array): void {
    this.#scanner.push(chunk);
  }

  /** Reads the last unterminated line and returns the summary. */
  end(): TrafficSummary {
    this.#scanner.end();
    return this.#summary();
  }

  /** Line counts and the upstream-answered 5xx per peer (call after {@link end}). */
  stats(): AccessLogStats {
    const upstreamAnswered5xx: Record<string, number> = {};
    this.#peerAnswered5xx.forEach((n, id) => {
      const name = this.#scanner.peerName(id);
      if (n > 0) upstreamAnswered5xx[name] = (upstreamAnswered5xx[name] ?? 0) + n;
    });
    return { ...this.#scanner.counts, outsideWindow: this.#outsideWindow, upstreamAnswered5xx };
  }

  #add(r: AccessLogRecord): void {
    const t = r.timeMs;
    if (t < this.#fromMs || t > this.#toMs) {
      this.#outsideWindow++;
      return;
    }
    this.#requests++;
    if (t < this.#firstMs) this.#firstMs = t;
    if (t > this.#lastMs) this.#lastMs = t;
    const status = r.status;
    this.#byStatus[status]!++;
    const key = t - (t % 60_000);
    let minute = this.#minute;
    if (key !== this.#minuteKey) {
      minute = this.#minutes.get(key);
      if (minute === undefined && this.#minutes.size < MAX_MINUTES) {
        minute = { requests: 0, status5xx: 0, status502: 0, status504: 0 };
        this.#minutes.set(key, minute);
      }
      this.#minuteKey = key;
      this.#minute = minute;
    }
    if (minute !== undefined) minute.requests++;
    const second = this.#secondCounts(t);
    if (second !== undefined) second.requests++;
    if (status >= 500 && status <= 599) {
      this.#status5xx++;
      if (minute !== undefined) {
        minute.status5xx++;
        if (status === 502) minute.status502++;
        else if (status === 504) minute.status504++;
      }
      if (second !== undefined) {
        second.status5xx++;
        if (status === 502) second.status502++;
        else if (status === 504) second.status504++;
      }
      this.#sample(r);
    }
    for (let k = 0; k < r.attempts; k++) this.#attempt(r, k);
  }

  #secondCounts(t: number): MinuteCounts | undefined {
    const key = t - (t % 1000);
    if (key === this.#secondKey) return this.#second;
    const seconds = this.#seconds;
    if (seconds === undefined) return undefined;
    let second = seconds.get(key);
    if (second === undefined) {
      if (seconds.size >= MAX_SECONDS) {
        this.#seconds = undefined;
        this.#second = undefined;
        this.#secondKey = Number.NaN;
        return undefined;
      }
      second = { requests: 0, status5xx: 0, status502: 0, status504: 0 };
      seconds.set(key, second);
    }
    this.#secondKey = key;
    this.#second = second;
    return second;
  }

  #attempt(r: AccessLogRecord, k: number): void {
    const id = r.peerIds[k]!;
    while (this.#peerRequests.length <= id) {
      this.#peerRequests.push(0);
      this.#peerFailures.push(0);
      this.#peerAnswered5xx.push(0);
      this.#peerMaxResponseMs.push(-1);
      this.#peerFirstAnsweredMs.push(-1);
      this.#peerLastAnsweredMs.push(-1);
      this.#peerLastFailedMs.push(-1);
      this.#peerOkSinceFirstFailure.push(0);
      this.#peerOkSinceLastFailure.push(0);
      this.#peerStatus.push(new Float64Array(1001));
    }
    this.#peerRequests[id]!++;
    const status = r.upstreamStatus[k]!;
    // index 1000 counts `-`: no status (the client went away first)
    this.#peerStatus[id]![status < 0 ? 1000 : status]!++;
    if (status >= 500 && status <= 599) {
      this.#peerFailures[id]!++;
      if (r.headerMs[k]! >= 0) this.#peerAnswered5xx[id]!++;
      if (r.timeMs >= this.#peerLastFailedMs[id]!) this.#peerLastFailedMs[id] = r.timeMs;
      this.#peerOkSinceLastFailure[id] = 0;
    } else if (status >= 100 && status < 500 && this.#peerLastFailedMs[id]! >= 0) {
      this.#peerOkSinceFirstFailure[id]!++;
      this.#peerOkSinceLastFailure[id]!++;
    }
    // The peer was alive at this request's time when it sent a status of its own (a header, or a status
    // below 500: nginx writes 502/504 itself when the peer never answered).
    if ((status >= 100 && status < 500) || (status >= 500 && r.headerMs[k]! >= 0)) {
      const t = r.timeMs;
      const first = this.#peerFirstAnsweredMs[id]!;
      if (first < 0 || t < first) this.#peerFirstAnsweredMs[id] = t;
      if (t > this.#peerLastAnsweredMs[id]!) this.#peerLastAnsweredMs[id] = t;
    }
    const response = r.responseMs[k]!;
    if (response > this.#peerMaxResponseMs[id]!) this.#peerMaxResponseMs[id] = response;
  }

  #sample(r: AccessLogRecord): void {
    if (this.#maxSamples === 0) return;
    const n = r.lineEnd - r.lineStart;
    const slot = this.#sampleNext;
    let bytes = this.#samples[slot];
    if (bytes === undefined || bytes.length < n) {
      bytes = new Uint8Array(Math.max(n, 512));
      this.#samples[slot] = bytes;
    }
    bytes.set(r.buffer.subarray(r.lineStart, r.lineEnd));
    this.#sampleLengths[slot] = n;
    this.#sampleNext = (slot + 1) % this.#maxSamples;
    if (this.#sampleCount < this.#maxSamples) this.#sampleCount++;
  }

  #summary(): TrafficSummary {
    const byStatus: Record<string, number> = {};
    for (let code = 0; code < 1000; code++) {
      const n = this.#byStatus[code]!;
      if (n > 0) byStatus[String(code).padStart(3, '0')] = n;
    }
    const byUpstream: Record<string, UpstreamTraffic> = {};
    for (let id = 0; id < this.#peerRequests.length; id++) {
      const requests = this.#peerRequests[id]!;
      if (requests === 0) continue;
      const name = this.#scanner.peerName(id);
      const traffic = byUpstream[name] ?? { requests: 0, failures: 0, byStatus: {} };
      traffic.requests += requests;
      traffic.failures += this.#peerFailures[id]!;
      const counts = this.#peerStatus[id]!;
      for (let code = 0; code <= 1000; code++) {
        const n = counts[code]!;
        if (n === 0) continue;
        const label = code === 1000 ? '-' : String(code).padStart(3, '0');
        traffic.byStatus[label] = (traffic.byStatus[label] ?? 0) + n;
      }
      const maxMs = this.#peerMaxResponseMs[id]!;
      if (maxMs >= 0) traffic.maxResponseTime = Math.max(traffic.maxResponseTime ?? 0, maxMs / 1000);
      const firstAnswered = this.#peerFirstAnsweredMs[id]!;
      const lastAnswered = this.#peerLastAnsweredMs[id]!;
      if (firstAnswered >= 0) {
        const prior = traffic.firstAnsweredAt === undefined ? Infinity : Date.parse(traffic.firstAnsweredAt);
        if (firstAnswered < prior) traffic.firstAnsweredAt = isoSeconds(firstAnswered);
      }
      if (lastAnswered >= 0) {
        const prior = traffic.lastAnsweredAt === undefined ? -Infinity : Date.parse(traffic.lastAnsweredAt);
        if (lastAnswered > prior) traffic.lastAnsweredAt = isoSeconds(lastAnswered);
      }
      const lastFailed = this.#peerLastFailedMs[id]!;
      const priorFailed = traffic.lastFailedAt === undefined ? -Infinity : Date.parse(traffic.lastFailedAt);
      if (lastFailed >= 0 && lastFailed >= priorFailed) {
        // Several ids of one name (rare): the counts of the one that failed last.
        traffic.lastFailedAt = isoSeconds(lastFailed);
        const after = this.#peerOkSinceLastFailure[id]!;
        traffic.okAfterLastFailure = after;
        traffic.okBetweenFailures = this.#peerOkSinceFirstFailure[id]! - after;
      }
      byUpstream[name] = traffic;
    }
    const perMinute: TrafficMinute[] = [...this.#minutes.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([ms, m]) => ({ minute: isoSeconds(ms), ...m }));
    const counts = this.#scanner.counts;
    const format: AccessLogFormat =
      counts.gatewatch === 0 && counts.combined === 0
        ? 'unknown'
        : counts.gatewatch >= counts.combined
          ? 'gatewatch'
          : 'combined';
    const summary: TrafficSummary = {
      requests: this.#requests,
      status5xx: this.#status5xx,
      byStatus,
      byUpstream,
      format,
      malformed: counts.malformed,
      perMinute,
      samples: this.#describeSamples(),
    };
    if (this.#seconds !== undefined && this.#seconds.size > 0 && this.#minutes.size <= MAX_FINE_MINUTES) {
      const perSecond: TrafficSecond[] = [...this.#seconds.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([ms, counts]) => ({ second: isoSeconds(ms), ...counts }));
      summary.perSecond = perSecond;
    }
    if (this.#requests > 0) {
      summary.firstAt = isoSeconds(this.#firstMs);
      summary.lastAt = isoSeconds(this.#lastMs);
    }
    return summary;
  }

  #describeSamples(): string[] {
    const out: string[] = [];
    const count = this.#sampleCount;
    for (let i = 0; i < count; i++) {
      const slot = (this.#sampleNext - count + i + this.#maxSamples) % this.#maxSamples;
      const bytes = this.#samples[slot]!.subarray(0, this.#sampleLengths[slot]!);
      let text: string | undefined;
      const scanner = new AccessLogScanner((r) => {
        text = describeRequest(r);
      });
      scanner.push(bytes);
      scanner.end();
      if (text !== undefined) out.push(redactText(text));
    }
    return out;
  }
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** One failing request in words, for the report's evidence (not yet redacted). */
function describeRequest(r: AccessLogRecord): string {
  const head = `${r.timeText()} ${String(r.status).padStart(3, '0')} "${r.requestLine()}"`;
  if (r.format === 'combined') return `${head} user_agent="${r.userAgent()}"`;
  const rt = (r.requestTimeMs / 1000).toFixed(3);
  return `${head} upstream=${r.upstreamAddr()} upstream_status=${r.upstreamStatusText()} request_time=${rt} request_id=${r.requestId()} user_agent="${r.userAgent()}"`;
}

/*
 * The minute cache of both timestamp formats: a key is the timestamp's bytes up to the minute (`head`
 * bytes) and its 6-byte zone (at `zoneAt`), skipping the seconds, so every line of one minute matches it.
 */

/** Whether the timestamp at `p` is in the minute `key` holds. */
function sameMinute(buf: Uint8Array, p: number, key: Uint8Array, head: number, zoneAt: number): boolean {
  for (let i = 0; i < head; i++) if (buf[p + i] !== key[i]) return false;
  for (let i = 0; i < 6; i++) if (buf[p + zoneAt + i] !== key[head + i]) return false;
  return true;
}

/** Makes `key` hold the minute of the timestamp at `p`. */
function rememberMinute(buf: Uint8Array, p: number, key: Uint8Array, head: number, zoneAt: number): void {
  for (let i = 0; i < head; i++) key[i] = buf[p + i]!;
  for (let i = 0; i < 6; i++) key[head + i] = buf[p + zoneAt + i]!;
}
