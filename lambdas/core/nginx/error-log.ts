/**
 * nginx error-log lines: parsing, recognising upstream failures, and a bounded streaming collector that
 * groups them and ties the symptoms (`no live upstreams`, `upstream server temporarily disabled`) to the
 * failures that caused them.
 *
 * Classification reads the errno NUMBER and the `while <action>` phrase, never the strerror wording, so
 * glibc, musl, macOS and Windows builds of nginx classify alike.
 */
import type { RootCause } from '../root-causes.ts';
import {
  ERROR_LEVELS,
  type ErrorLevel,
  type ErrorLogContext,
  type ErrorLogEntry,
  type UpstreamFailure,
  type UpstreamFailureKind,
} from '../types.ts';
import { describeUnreadable, MAX_SAMPLES } from './coverage.ts';
import { errnoName } from './errno.ts';
import { type LogPrefixKind, type StrippedLine, stripLogPrefix } from './log-prefix.ts';
import { isUnixPeer, parseUpstream } from './peer.ts';

/** Thrown by {@link parseErrorLogLine} for a line that is not an nginx error-log line. */
export class ErrorLogParseError extends Error {
  override readonly name = 'ErrorLogParseError';
}

/** Options for reading error-log times, which nginx writes in its local time without a zone. */
export interface ErrorLogTimeOptions {
  /** Offset of nginx's local time from UTC, in minutes (`+330` for India, `-300` for New York in winter). @default 0 */
  utcOffsetMinutes?: number;
}

// `2026/11/24 05:11:48 [error] 1234#1234: *5 ` — the connection number is optional (master, resolver lines).
const HEADER =
  /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[([a-z]+)\] (\d{1,10})#(\d{1,10}): (?:\*(\d{1,15}) )?/;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Splits one error-log line into time, level, pid, tid, connection, message and the `, key: value`
 * context nginx appends (client, server, request, subrequest, upstream, host, referrer; any subset).
 * Error-log times carry no zone: `utcOffsetMinutes` says which one nginx wrote them in.
 * @throws ErrorLogParseError when the line is not an nginx error-log line.
 */
export function parseErrorLogLine(line: string, options: ErrorLogTimeOptions = {}): ErrorLogEntry {
  return readErrorLogLine(line, options).entry;
}

/** An error-log line and the prefix it was read through, if any. */
export interface ReadErrorLogLine {
  entry: ErrorLogEntry;
  /** The prefixes taken off before nginx's header (container runtime, syslog, …), when there were any. */
  prefix?: StrippedLine;
}

const isErrorLogHeader = (text: string): boolean => HEADER.test(text);

/**
 * {@link parseErrorLogLine}, also telling which known prefix stood before nginx's header (its time, when
 * it has one, says what UTC offset nginx's local time is in). `entry.raw` is nginx's own line.
 * @throws ErrorLogParseError when no nginx error-log line is found behind the known prefixes.
 */
export function readErrorLogLine(line: string, options: ErrorLogTimeOptions = {}): ReadErrorLogLine {
  let raw = line.endsWith('\n') ? line.slice(0, line.endsWith('\r\n') ? -2 : -1) : line;
  let match = HEADER.exec(raw);
  let prefix: StrippedLine | undefined;
  if (!match) {
    const stripped = stripLogPrefix(raw, isErrorLogHeader);
    if (stripped.kinds.length > 0) {
      match = HEADER.exec(stripped.line);
      if (match) {
        raw = stripped.line;
        prefix = stripped;
      }
    }
  }
  if (!match) throw new ErrorLogParseError(`not an nginx error-log line: ${preview(raw)}`);
  const entry = parseHeaderAndRest(raw, match, options);
  return prefix ? { entry, prefix } : { entry };
}

function parseHeaderAndRest(
  raw: string,
  match: RegExpExecArray,
  options: ErrorLogTimeOptions,
): ErrorLogEntry {
  const [head, y, mo, d, h, mi, s, levelText, pidText, tidText, connText] = match;
  const level = levelText as ErrorLevel;
  if (!ERROR_LEVELS.includes(level)) throw new ErrorLogParseError(`unknown error-log level [${levelText}]`);
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  // nginx logs are never dated before 1970 (and Date.UTC would read years 0-99 as 19xx)
  if (
    year < 1970 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new ErrorLogParseError(`invalid error-log time: ${head.slice(0, 19)}`);
  }
  const offset = options.utcOffsetMinutes ?? 0;
  if (!Number.isFinite(offset)) throw new ErrorLogParseError(`invalid utcOffsetMinutes: ${offset}`);
  const epochMs = Date.UTC(year, month - 1, day, hour, minute, second) - offset * 60_000;
  const at = new Date(epochMs);
  if (Number.isNaN(at.getTime()))
    throw new ErrorLogParseError(`error-log time out of range: ${head.slice(0, 19)}`);

  const rest = raw.slice(head.length);
  const split = splitContext(rest);
  const entry: ErrorLogEntry = {
    at: at.toISOString(),
    epochMs,
    level,
    pid: Number(pidText),
    tid: Number(tidText),
    message: split.message,
    context: split.context,
    raw,
  };
  if (connText !== undefined) entry.connection = Number(connText);
  return entry;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return DAYS_IN_MONTH[month - 1]!;
}

function preview(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

// ------------------------------------------------------------------------------------------ context

// The order nginx writes them in (ngx_http_log_error_handler); values of the quoted ones are quoted.
const CONTEXT_KEYS = ['client', 'server', 'request', 'subrequest', 'upstream', 'host', 'referrer'] as const;
const QUOTED = new Set<string>(['request', 'subrequest', 'upstream', 'host', 'referrer']);
const SEPARATORS = CONTEXT_KEYS.map((key) => `, ${key}: `);
// The stream module appends byte counters after the upstream.
const STREAM_TAIL = /^, bytes from\/to client:\d+\/\d+, bytes from\/to upstream:\d+\/\d+$/;

function splitContext(rest: string): { message: string; context: ErrorLogContext } {
  // The message may itself contain `, client: ` (quoted upstream output): the context is the first
  // occurrence from which the whole rest of the line reads as context.
  for (let at = rest.indexOf(SEPARATORS[0]!); at !== -1; at = rest.indexOf(SEPARATORS[0]!, at + 1)) {
    const context = readContext(rest, at);
    if (context) return { message: rest.slice(0, at), context };
  }
  return { message: rest, context: {} };
}

function readContext(text: string, start: number): ErrorLogContext | undefined {
  const context: ErrorLogContext = {};
  let pos = start;
  let next = 0;
  while (pos < text.length) {
    let key = -1;
    for (let k = next; k < CONTEXT_KEYS.length; k++) {
      if (text.startsWith(SEPARATORS[k]!, pos)) {
        key = k;
        break;
      }
    }
    if (key === -1) return STREAM_TAIL.test(text.slice(pos)) ? context : undefined;
    const name = CONTEXT_KEYS[key]!;
    const valueStart = pos + SEPARATORS[key]!.length;
    const end = valueEnd(text, valueStart, key, QUOTED.has(name));
    let value = text.slice(valueStart, end);
    if (QUOTED.has(name)) {
      if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return undefined;
      value = value.slice(1, -1);
    } else if (/[\s"]/.test(value)) {
      // client is an address and server a server_name: neither has spaces or quotes, so a `, client: `
      // inside the message (quoted upstream output) does not start the context
      return undefined;
    }
    context[name] = value;
    pos = end;
    next = key + 1;
  }
  return context;
}

/** Where a context value ends: at the first later key (after a closing quote for quoted values) or the end. */
function valueEnd(text: string, from: number, key: number, quoted: boolean): number {
  let end = text.length;
  const candidates = [...SEPARATORS.slice(key + 1), ', bytes from/to client:'];
  for (const separator of candidates) {
    for (
      let at = text.indexOf(separator, from);
      at !== -1 && at < end;
      at = text.indexOf(separator, at + 1)
    ) {
      if (!quoted || (at > from && text[at - 1] === '"')) {
        end = at;
        break;
      }
    }
  }
  return end;
}

// ------------------------------------------------------------------------------------------ classification

const FAILURE_LEVELS = new Set<ErrorLevel>(['warn', 'error', 'crit', 'alert', 'emerg']);
const ERRNO = /\((\d{1,6}): [^)]*\)/;
const CONNECT_TO = /^connect\(\) to (\S+) failed /;
const HEALTH_CHECK_PEER = / of peer (\S+) in upstream /;
// Also behind a module's own prefix: `[lua] access.lua:202: authorize(): … example.com could not be
// resolved (110: …)`, `upstream-dynamic-servers: 'member_host' could not be resolved (…)`.
const RESOLVE_FAILED = /(?:^|: )'?([A-Za-z0-9_.:[\]-]+?)'? could not be resolved \(\d+: /;
const NO_RESOLVER = /^no resolver defined to resolve (\S+)/;
const HOST_NOT_FOUND = /^host not found in upstream "([^"]+)"/;
// A file nginx itself opens while proxying (temp, cache, client body), not a connect() to an upstream.
const OWN_FILE =
  /^(?:open|mkdir|rename|unlink|chmod)\(\) "[^"]*(?:_temp|temp\/|cache|client_body|\/(?:proxy|fastcgi|uwsgi|scgi|body)\/)[^"]*" failed/;
// How macOS and the BSDs report an asynchronous connect() failure (kqueue).
const KEVENT_CONNECT = /^kevent\(\) reported that connect\(\) failed/;
// `1024 worker_connections are not enough` (alert; also `... while accepting new connection`)
const WORKER_CONNECTIONS = /^\d+ worker_connections are not enough\b/;
// The resolver's own lines carry no request: `unexpected response for example.com`, `resolver failed`
const RESOLVER_MESSAGE =
  /^(?:unexpected (?:DNS )?response for (\S+)|wrong ident \d+ response for (\S+))|\bresolver failed\b/;
// gRPC / HTTP/2 upstreams: an RST_STREAM or GOAWAY frame with an error code instead of a response
const REJECTED = /^upstream (?:rejected request|sent goaway) with error \d+/;
// A file operation on a quoted path: `open() "/var/cache/nginx/proxy_temp/1/00/0000000001" failed (13: …)`
const FILE_OPERATION = /^[a-z_0-9]+\(\) "([^"]*)" failed \(/;
// nginx's own writable paths: proxy/fastcgi/uwsgi/scgi temp, client body, caches
const NGINX_OWN_PATH =
  /(?:^|\/)(?:proxy|fastcgi|uwsgi|scgi|client(?:_body)?)_temp(?:\/|$)|\/(?:body|client_body|cache|proxy|fastcgi|uwsgi|scgi)\/|(?:^|\/)[a-z_]*cache[a-z_]*\/|\.log$/;

/**
 * Recognises an error-log entry as an upstream failure: what kind, the root cause it points at on its own,
 * the errno (number and portable name), the `while <action>` phrase and the normalised peer. Returns
 * `undefined` for lines that are not about upstreams (static files, client errors, notices) and for levels
 * below `warn`.
 */
export function classifyUpstreamFailure(entry: ErrorLogEntry): UpstreamFailure | undefined {
  if (!FAILURE_LEVELS.has(entry.level)) return undefined;
  const message = entry.message;
  const action = actionOf(message);
  const errnoMatch = ERRNO.exec(message);
  const errno = errnoMatch ? Number(errnoMatch[1]) : undefined;
  const name = errno === undefined ? undefined : errnoName(errno, errnoMatch?.[0]);
  const upstreamAction = action?.endsWith('upstream') ?? false;

  const make = (
    kind: UpstreamFailureKind,
    rootCause: RootCause,
    extra: { symptom?: boolean; peer?: string; scheme?: string; withErrno?: boolean } = {},
  ): UpstreamFailure => {
    const located = extra.peer === undefined ? locatePeer(entry) : { peer: extra.peer, scheme: extra.scheme };
    const failure: UpstreamFailure = { kind, rootCause, symptom: extra.symptom ?? false, entry };
    if (extra.withErrno !== false && errno !== undefined) {
      failure.errno = errno;
      if (name !== undefined) failure.errnoName = name;
    }
    if (action !== undefined) failure.action = action;
    if (located.peer !== undefined) failure.peer = located.peer;
    if (located.scheme !== undefined) failure.scheme = located.scheme;
    return failure;
  };

  // Symptoms: the cause is in earlier lines (see ErrorLogCollector).
  if (message.startsWith('no live upstreams')) {
    const group = entry.context.upstream === undefined ? undefined : parseUpstream(entry.context.upstream);
    return make('no-live-upstreams', 'no-live-upstreams', {
      symptom: true,
      peer: group?.peer,
      scheme: group?.scheme,
    });
  }
  if (message.startsWith('upstream server temporarily disabled')) {
    return make('server-disabled', 'unknown', { symptom: true });
  }

  // nginx's own failures: no upstream is at fault, whatever the line's context says.
  if (WORKER_CONNECTIONS.test(message)) {
    return make('worker-connections', 'nginx-worker-connections', { peer: locatePeer(entry).peer });
  }
  if (name === 'ENOSPC' || name === 'EDQUOT') return make('disk-full', 'resource-disk-full');
  const file = FILE_OPERATION.exec(message);
  if (file && (name === 'EACCES' || name === 'EPERM') && NGINX_OWN_PATH.test(file[1]!)) {
    return make('file-permission', 'nginx-file-permission');
  }
  const resolver = RESOLVER_MESSAGE.exec(message);
  if (resolver) {
    const host = resolver[1] ?? resolver[2];
    return make('dns', 'upstream-dns', {
      ...(host === undefined ? {} : { peer: host.replace(/[,.]$/, '').toLowerCase() }),
      withErrno: false,
    });
  }
  if (REJECTED.test(message)) return make('rejected', 'upstream-error-response', { withErrno: false });

  // DNS: the number in `could not be resolved (3: Host not found)` is a resolver code, not an errno.
  const resolved = RESOLVE_FAILED.exec(message) ?? NO_RESOLVER.exec(message);
  if (resolved) return make('dns', 'upstream-dns', { peer: resolved[1]!.toLowerCase(), withErrno: false });
  const notFound = HOST_NOT_FOUND.exec(message);
  if (notFound) {
    const parsed = parseUpstream(notFound[1]!);
    return make('dns', 'upstream-dns', { peer: parsed.peer, scheme: parsed.scheme });
  }
  if (action === 'resolving') return make('dns', 'upstream-dns');

  // TLS to the upstream, whatever the errno (`peer closed connection in SSL handshake (104: …)`).
  if (
    message.startsWith('upstream SSL certificate') ||
    (action?.startsWith('SSL handshaking to upstream') ?? false)
  ) {
    return make('tls', 'upstream-tls');
  }

  if (message.startsWith('upstream sent too big header'))
    return make('header-too-big', 'upstream-header-too-big');
  if (message.startsWith('upstream sent duplicate header line') && message.includes(', ignored')) {
    return undefined; // since 1.23 nginx keeps the first value and answers normally ([warn])
  }
  if (message.startsWith('upstream sent ')) return make('invalid-response', 'upstream-invalid-response');
  if (/^upstream (?:prematurely closed|closed prematurely)/.test(message)) {
    return make('closed-early', 'upstream-closed-early');
  }
  if (message.startsWith('upstream timed out')) {
    if (action === 'connecting to upstream') return make('connect-timeout', 'upstream-connect-timeout');
    if (action === 'sending request to upstream') return make('send-timeout', 'upstream-timeout');
    return make('read-timeout', 'upstream-timeout');
  }

  // A TLS read or write failing mid-response (`SSL_read() failed (SSL: …) while reading upstream`).
  if (message.startsWith('SSL_') && upstreamAction && errno === undefined) return make('tls', 'upstream-tls');

  // nginx's own failures: its connection table, and the files it writes while proxying.
  if (/worker_connections are not enough/.test(message)) {
    return make('worker-connections', 'nginx-worker-connections', { withErrno: false });
  }
  if (name === 'ENOSPC') return make('disk-full', 'resource-disk-full');
  if (name === 'EACCES' && OWN_FILE.test(message)) return make('file-permission', 'nginx-file-permission');

  if (name === undefined) return undefined;
  // Out of descriptors hits the worker as a whole: accept4() has no upstream context and still counts.
  if (name === 'EMFILE' || name === 'ENFILE') return make('fd-exhausted', 'resource-fd-exhausted');
  // Everything below is about a connection to an upstream: a static file's open() failing is not.
  const aboutUpstream =
    upstreamAction ||
    entry.context.upstream !== undefined ||
    CONNECT_TO.test(message) ||
    KEVENT_CONNECT.test(message);
  if (!aboutUpstream) return undefined;
  const connecting = action === 'connecting to upstream' || /connect\(\)/.test(message);
  const unix = isUnixPeer(locatePeer(entry).peer ?? '');

  switch (name) {
    case 'ECONNREFUSED':
      return make('refused', 'upstream-down');
    case 'EAGAIN':
      // Linux answers EAGAIN instead of ECONNREFUSED when a unix socket's accept queue is full.
      return connecting ? make('overloaded', 'upstream-overloaded') : undefined;
    case 'ETIMEDOUT':
      return connecting
        ? make('connect-timeout', 'upstream-connect-timeout')
        : make('closed-early', 'upstream-closed-early');
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'ENOTCONN':
      return make('closed-early', 'upstream-closed-early');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return make('unreachable', 'upstream-unreachable');
    case 'EACCES':
      return unix
        ? make('socket-permission', 'unix-socket-permission')
        : make('tcp-permission', 'host-policy-denied');
    case 'EPERM':
      // Linux returns EPERM from connect() when a netfilter OUTPUT rule drops the SYN.
      return unix
        ? make('socket-permission', 'unix-socket-permission')
        : make('tcp-permission', 'network-blocked-host-firewall');
    case 'ENOENT':
      return unix ? make('socket-missing', 'unix-socket-missing') : undefined;
    case 'EADDRNOTAVAIL': {
      // Connecting to an IPv6 peer from a host (container) without IPv6 also fails with EADDRNOTAVAIL.
      const peer = locatePeer(entry).peer;
      if (peer?.startsWith('[')) return make('unreachable', 'upstream-unreachable');
      return make('port-exhaustion', 'resource-port-exhaustion');
    }
    case 'EADDRINUSE':
      return make('port-exhaustion', 'resource-port-exhaustion');
    default:
      return undefined;
  }
}

/** The `while <action>` phrase: after the last ` while `, up to a following `, ` (`resolving, resolver: …`). */
function actionOf(message: string): string | undefined {
  const at = message.lastIndexOf(' while ');
  if (at === -1) return undefined;
  const action = message.slice(at + 7);
  const comma = action.indexOf(', ');
  // Third-party modules tag the phase: `connecting to upstream(proxy_connect)` is still the connect phase.
  const phrase = (comma === -1 ? action : action.slice(0, comma))
    .trim()
    .replace(/,$/, '')
    .replace(/\(\w+\)$/, '');
  return phrase || undefined;
}

function locatePeer(entry: ErrorLogEntry): { peer?: string; scheme?: string } {
  const fromMessage = CONNECT_TO.exec(entry.message)?.[1];
  const upstream = entry.context.upstream;
  if (upstream !== undefined) {
    const parsed = parseUpstream(upstream);
    // After a connection is torn down nginx prints a unix peer without the `:` before the URI
    // (`http://unix:/run/app.sock/`); the connect() line names the socket exactly.
    if (isUnixPeer(parsed.peer) && fromMessage !== undefined && isUnixPeer(fromMessage)) {
      return { peer: parseUpstream(fromMessage).peer, scheme: parsed.scheme };
    }
    // A socket path never ends with `/`: that slash is the URI (ErrorLogCollector also maps such a
    // peer onto the exact socket it saw in an earlier connect() line).
    if (isUnixPeer(parsed.peer) && parsed.peer.endsWith('/')) {
      return { peer: parsed.peer.replace(/\/+$/, ''), scheme: parsed.scheme };
    }
    return { peer: parsed.peer, scheme: parsed.scheme };
  }
  if (fromMessage !== undefined) return { peer: parseUpstream(fromMessage).peer };
  const healthCheck = HEALTH_CHECK_PEER.exec(entry.message)?.[1];
  if (healthCheck !== undefined) return { peer: parseUpstream(healthCheck).peer };
  return {};
}

// ------------------------------------------------------------------------------------------ collector

/** Options of {@link ErrorLogCollector}. */
export interface ErrorLogCollectorOptions extends ErrorLogTimeOptions {
  /** Window start, epoch ms (inclusive). */
  fromMs: number;
  /** Window end, epoch ms (inclusive). */
  toMs: number;
  /** How many failures (and symptom links) to keep, newest first. @default 500 */
  maxKept?: number;
  /**
   * The offset was assumed, not configured: a line whose prefix carries a zoned time (docker, CloudWatch,
   * RFC 5424) sets it instead, so a log in another time zone is not dropped as "in the future".
   */
  inferUtcOffset?: boolean;
}

/** Failures of one kind on one peer. */
export interface FailureGroup {
  peer: string | undefined;
  kind: UpstreamFailureKind;
  rootCause: RootCause;
  count: number;
  firstAt: string;
  lastAt: string;
  /** The newest failure of the group. */
  example: UpstreamFailure;
}

/** How a symptom was tied to its causes. */
export type SymptomLinkBasis = 'connection' | 'disabled-servers' | 'recent-failures' | 'none';

/** A symptom (`no live upstreams`, `upstream server temporarily disabled`) and the failures behind it. */
export interface SymptomLink {
  symptom: UpstreamFailure;
  /** The upstream group named by `no live upstreams` (`http://backend/` → `backend`). */
  group?: string;
  causes: UpstreamFailure[];
  /**
   * `connection`: earlier failures of the same worker pid and connection number (`*N`);
   * `disabled-servers`: the failures behind the servers the same worker recently disabled;
   * `recent-failures`: the worker's most recent failures per peer within the link window;
   * `none`: nothing earlier was found. Always set by {@link ErrorLogCollector}.
   */
  linkedBy?: SymptomLinkBasis;
}

/**
 * What {@link ErrorLogCollector} saw. The counts add up:
 * `linesRead = malformed + outsideWindow + inWindow` and `inWindow = upstreamFailures + notUpstream`.
 * Blank lines are not counted at all.
 */
export interface ErrorLogSummary {
  /** Non-blank lines pushed. */
  linesRead: number;
  /** Lines that are not nginx error-log lines (counted, never thrown). */
  malformed: number;
  /** Error-log lines dated inside [fromMs, toMs]. */
  inWindow: number;
  /** Error-log lines dated outside the window: counted, not kept. */
  outsideWindow: number;
  /** In-window lines recognised as upstream failures (symptoms included), before the `maxKept` cap. */
  upstreamFailures: number;
  /** In-window lines that are not upstream failures. */
  notUpstream: number;
  /** In-window upstream failures in log order; only the newest `maxKept` are kept. */
  failures: UpstreamFailure[];
  /** Sorted by count (descending), then by last occurrence (newest first). */
  groups: FailureGroup[];
  /** In log order; only the newest `maxKept` are kept. */
  symptoms: SymptomLink[];
  /** Lines over the line cap (not read; not counted in `linesRead`'s other parts but in `malformed`). */
  truncated?: number;
  /** A few lines that could not be read, redacted and cut short. */
  unreadableSamples?: string[];
  /** Lines read through a known prefix, by prefix. */
  prefixed?: Partial<Record<LogPrefixKind, number>>;
  /** Readable lines dated after the window's end (a wrong UTC offset shows here). */
  afterWindow?: number;
  /** The newest readable line's time as written (local time read as UTC), epoch ms. */
  newestLocalMs?: number;
  /** The UTC offset (minutes) the lines were read with; differs from the option when a prefix set it. */
  utcOffsetMinutes?: number;
  /** Set when a prefix's zoned time set the offset. */
  utcOffsetFromPrefix?: boolean;
}

const MAX_GROUPS = 1000;
const MAX_UNIX_PEERS = 256;
const MAX_CONNECTIONS = 4096;
const PER_CONNECTION = 8;
const RECENT = 256;
const MAX_CAUSES = 8;
// A server disabled by max_fails stays out for fail_timeout (10 s by default) after its last failure.
const LINK_WINDOW_MS = 30_000;

/**
 * Reads an error log line by line in bounded memory: counts, keeps the newest in-window upstream failures,
 * groups them by peer and kind, and links symptoms to their causes.
 */
export class ErrorLogCollector {
  readonly #fromMs: number;
  readonly #toMs: number;
  #offset: number;
  #inferOffset: boolean;
  #offsetFromPrefix = false;
  readonly #maxKept: number;
  #linesRead = 0;
  #malformed = 0;
  #truncated = 0;
  #afterWindow = 0;
  #newestLocalMs: number | undefined;
  readonly #samples: string[] = [];
  readonly #prefixed: Partial<Record<LogPrefixKind, number>> = {};
  #outsideWindow = 0;
  #upstreamFailures = 0;
  #notUpstream = 0;
  readonly #failures: Ring<UpstreamFailure>;
  readonly #symptoms: Ring<SymptomLink>;
  readonly #groups = new Map<string, FailureGroup>();
  readonly #byConnection = new Map<string, UpstreamFailure[]>();
  readonly #recent: Ring<UpstreamFailure> = new Ring(RECENT);
  readonly #recentDisabled: Ring<SymptomLink> = new Ring(64);
  readonly #unixPeers = new Set<string>();

  constructor(options: ErrorLogCollectorOptions) {
    this.#fromMs = options.fromMs;
    this.#toMs = options.toMs;
    this.#offset = options.utcOffsetMinutes ?? 0;
    this.#inferOffset = options.inferUtcOffset ?? false;
    this.#maxKept = Math.max(0, Math.floor(options.maxKept ?? 500));
    this.#failures = new Ring(this.#maxKept);
    this.#symptoms = new Ring(this.#maxKept);
  }

  /** Reads one line (with or without its newline). Never throws for any line content. */
  push(line: string): void {
    if (line.trim().length === 0) return;
    this.#linesRead++;
    let read: ReadErrorLogLine;
    try {
      read = readErrorLogLine(line, { utcOffsetMinutes: this.#offset });
    } catch (error) {
      if (error instanceof ErrorLogParseError) {
        this.#malformed++;
        if (this.#samples.length < MAX_SAMPLES) this.#samples.push(describeUnreadable(line));
        return;
      }
      throw error;
    }
    let entry = read.entry;
    if (read.prefix) {
      for (const kind of read.prefix.kinds) this.#prefixed[kind] = (this.#prefixed[kind] ?? 0) + 1;
      if (this.#inferOffset && read.prefix.atMs !== undefined)
        entry = this.#offsetFrom(read.prefix.atMs, line);
    }
    const localMs = entry.epochMs + this.#offset * 60_000;
    if (this.#newestLocalMs === undefined || localMs > this.#newestLocalMs) this.#newestLocalMs = localMs;
    if (entry.epochMs < this.#fromMs || entry.epochMs > this.#toMs) {
      this.#outsideWindow++;
      if (entry.epochMs > this.#toMs) this.#afterWindow++;
      return;
    }
    const failure = classifyUpstreamFailure(entry);
    if (!failure) {
      this.#notUpstream++;
      return;
    }
    this.#upstreamFailures++;
    this.#canonicalUnixPeer(failure);
    this.#failures.push(failure);
    this.#group(failure);
    if (failure.symptom) this.#link(failure);
    else this.#remember(failure);
  }

  /** The summary so far; the collector keeps reading after it. */
  summary(): ErrorLogSummary {
    const groups = [...this.#groups.values()]
      .map((g) => ({ ...g }))
      .sort((a, b) => b.count - a.count || b.example.entry.epochMs - a.example.entry.epochMs);
    return {
      linesRead: this.#linesRead,
      malformed: this.#malformed,
      inWindow: this.#upstreamFailures + this.#notUpstream,
      outsideWindow: this.#outsideWindow,
      upstreamFailures: this.#upstreamFailures,
      notUpstream: this.#notUpstream,
      failures: this.#failures.toArray(),
      groups,
      symptoms: this.#symptoms.toArray(),
      truncated: this.#truncated,
      unreadableSamples: [...this.#samples],
      prefixed: { ...this.#prefixed },
      afterWindow: this.#afterWindow,
      ...(this.#newestLocalMs === undefined ? {} : { newestLocalMs: this.#newestLocalMs }),
      utcOffsetMinutes: this.#offset,
      ...(this.#offsetFromPrefix ? { utcOffsetFromPrefix: true } : {}),
    };
  }

  /** Counts a line longer than the line cap as unreadable (its head is the sample). */
  pushOversized(head: string, bytes: number): void {
    this.#linesRead++;
    this.#malformed++;
    this.#truncated++;
    if (this.#samples.length < MAX_SAMPLES) {
      this.#samples.push(`${describeUnreadable(head)} (line of ${bytes} bytes, over the line cap)`);
    }
  }

  // The first zoned prefix time settles the offset: nginx's local time minus the prefix's UTC time,
  // rounded to the quarter hour (time zones are whole quarters; the prefix is written a moment later).
  #offsetFrom(prefixMs: number, line: string): ErrorLogEntry {
    const localMs = readErrorLogLine(line, { utcOffsetMinutes: 0 }).entry.epochMs;
    const offset = inferUtcOffsetMinutes(localMs, prefixMs);
    this.#inferOffset = false;
    if (offset !== undefined) {
      this.#offset = offset;
      this.#offsetFromPrefix = true;
    }
    return readErrorLogLine(line, { utcOffsetMinutes: this.#offset }).entry;
  }

  // nginx writes a unix peer without the `:` before the URI once the connection is torn down
  // (`http://unix:/run/app.sock/api/x`): map it onto a socket path already seen exactly.
  #canonicalUnixPeer(failure: UpstreamFailure): void {
    const peer = failure.peer;
    if (peer === undefined || !isUnixPeer(peer)) return;
    if (this.#unixPeers.has(peer)) return;
    for (const known of this.#unixPeers) {
      if (peer.startsWith(`${known}/`)) {
        failure.peer = known;
        return;
      }
    }
    if (this.#unixPeers.size < MAX_UNIX_PEERS && /^connect\(\) to unix:/.test(failure.entry.message)) {
      this.#unixPeers.add(peer);
    }
  }

  #group(failure: UpstreamFailure): void {
    const key = `${failure.peer ?? ''}\u0000${failure.kind}\u0000${failure.rootCause}`;
    const group = this.#groups.get(key);
    if (group) {
      group.count++;
      if (failure.entry.epochMs >= group.example.entry.epochMs) {
        group.lastAt = failure.entry.at;
        group.example = failure;
      }
      if (failure.entry.epochMs < Date.parse(group.firstAt)) group.firstAt = failure.entry.at;
      return;
    }
    if (this.#groups.size >= MAX_GROUPS) {
      // Keep memory bounded on pathological logs (thousands of distinct host names): drop the rarest group.
      let rarest: string | undefined;
      let fewest = Number.POSITIVE_INFINITY;
      for (const [k, g] of this.#groups) {
        if (g.count < fewest) {
          fewest = g.count;
          rarest = k;
        }
      }
      if (rarest !== undefined) this.#groups.delete(rarest);
    }
    const at = failure.entry.at;
    this.#groups.set(key, {
      peer: failure.peer,
      kind: failure.kind,
      rootCause: failure.rootCause,
      count: 1,
      firstAt: at,
      lastAt: at,
      example: failure,
    });
  }

  #remember(failure: UpstreamFailure): void {
    this.#recent.push(failure);
    const key = connectionKey(failure.entry);
    if (key === undefined) return;
    let list = this.#byConnection.get(key);
    if (!list) {
      if (this.#byConnection.size >= MAX_CONNECTIONS) {
        // Map iteration is insertion order: the first key is the oldest connection.
        const oldest = this.#byConnection.keys().next().value;
        if (oldest !== undefined) this.#byConnection.delete(oldest);
      }
      list = [];
      this.#byConnection.set(key, list);
    }
    list.push(failure);
    if (list.length > PER_CONNECTION) list.shift();
  }

  #link(symptom: UpstreamFailure): void {
    const link: SymptomLink = { symptom, causes: [], linkedBy: 'none' };
    if (symptom.kind === 'no-live-upstreams' && symptom.peer !== undefined) link.group = symptom.peer;
    const key = connectionKey(symptom.entry);
    const sameConnection = key === undefined ? undefined : this.#byConnection.get(key);
    const since = symptom.entry.epochMs - LINK_WINDOW_MS;
    if (sameConnection && sameConnection.length > 0) {
      // `upstream server temporarily disabled` names the server whose failure just preceded it.
      link.causes =
        symptom.kind === 'server-disabled' && symptom.peer !== undefined
          ? sameConnection.filter((f) => f.peer === symptom.peer).slice(-MAX_CAUSES)
          : sameConnection.slice(-MAX_CAUSES);
      if (link.causes.length === 0) link.causes = sameConnection.slice(-MAX_CAUSES);
      link.linkedBy = 'connection';
    } else if (symptom.kind === 'no-live-upstreams') {
      const disabled = this.#recentDisabled
        .toArray()
        .filter((d) => d.symptom.entry.epochMs >= since && d.symptom.entry.pid === symptom.entry.pid);
      const causes = newestPerPeer(disabled.flatMap((d) => d.causes));
      if (causes.length > 0) {
        link.causes = causes;
        link.linkedBy = 'disabled-servers';
      } else {
        const recent = this.#recent.toArray().filter((f) => f.entry.epochMs >= since);
        const sameWorker = recent.filter((f) => f.entry.pid === symptom.entry.pid);
        // With `zone` in the upstream block the workers share peer state: fall back to any worker.
        const pool = newestPerPeer(sameWorker.length > 0 ? sameWorker : recent);
        if (pool.length > 0) {
          link.causes = pool;
          link.linkedBy = 'recent-failures';
        }
      }
    }
    this.#symptoms.push(link);
    if (symptom.kind === 'server-disabled') this.#recentDisabled.push(link);
  }
}

function connectionKey(entry: ErrorLogEntry): string | undefined {
  return entry.connection === undefined ? undefined : `${entry.pid}#${entry.connection}`;
}

/** The newest failure per peer, newest last, at most MAX_CAUSES. */
function newestPerPeer(failures: UpstreamFailure[]): UpstreamFailure[] {
  const byPeer = new Map<string, UpstreamFailure>();
  for (const f of failures) {
    const key = f.peer ?? '';
    byPeer.delete(key);
    byPeer.set(key, f);
  }
  return [...byPeer.values()].slice(-MAX_CAUSES);
}

/** A fixed-size ring keeping the newest items, read oldest first. */
class Ring<T> {
  readonly #items: (T | undefined)[];
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    const capacity = this.#items.length;
    if (capacity === 0) return;
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % capacity;
    if (this.#size < capacity) this.#size++;
  }

  toArray(): T[] {
    const capacity = this.#items.length;
    const out: T[] = [];
    for (let i = 0; i < this.#size; i++) {
      out.push(this.#items[(this.#next - this.#size + i + capacity) % capacity] as T);
    }
    return out;
  }
}

/**
 * The UTC offset (minutes) a local time was written in, given the UTC time it was written at (a file's
 * modification time, a shipper's timestamp): their difference to the nearest quarter hour (zones are
 * whole quarters), or `undefined` beyond the zones that exist (-12:00 … +14:00).
 */
export function inferUtcOffsetMinutes(localMs: number, utcMs: number): number | undefined {
  const minutes = Math.round((localMs - utcMs) / 900_000) * 15;
  return minutes >= -12 * 60 && minutes <= 14 * 60 ? minutes + 0 : undefined;
}
