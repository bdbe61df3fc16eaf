/**
 * Synthetic probes over real sockets: HTTP, HTTPS and plain TCP connect, timed by phase from the socket's
 * own events. The host name is resolved once per hop, every resolved address goes through the address
 * policy, and the connection is made to that checked IP (Host header and TLS SNI keep the name), so a DNS
 * answer that changes between check and connect (rebinding) cannot redirect the probe. Shared by the CLI,
 * `watch` and the probe Lambda: nothing here is local-only except that it opens sockets.
 */
import { lookup } from 'node:dns/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  type AddressPolicy,
  addressPolicyFor,
  checkAddress,
  isIpLiteral,
  type ProbeMode,
  parseIp,
} from '../../core/probe/address-policy.ts';
import {
  assertionFailure,
  certificateInfo,
  evaluateAssertions,
  latencyDetail,
} from '../../core/probe/assertions.ts';
import { mapWithConcurrency } from '../../core/probe/concurrency.ts';
import { isRetryable, networkFailure } from '../../core/probe/failures.ts';
import type { ProbeConfig } from '../../core/probe/schema.ts';
import type {
  AssertionResult,
  CertificateInfo,
  ProbeFailure,
  ProbePhases,
  ProbeResult,
} from '../../core/probe/types.ts';
import { redactText } from '../../core/redact.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses, in the order they should be tried. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** Reported just before a socket is opened: only addresses the policy accepted ever get here. */
export interface ConnectAttempt {
  target: string;
  /** The host name from the URL (or the IP literal). */
  host: string;
  address: string;
  port: number;
}

export interface ProbeRunOptions {
  /** Selects the default address policy. @default 'local' */
  mode?: ProbeMode;
  /** Overrides the mode's policy; a probe's own `allowPrivate`/`allowLinkLocal` override this in turn. */
  addressPolicy?: Partial<AddressPolicy>;
  /** Probes in flight at once. @default 32 */
  concurrency?: number;
  /** Pause before a retry inside the same run. @default 200 */
  retryDelayMs?: number;
  /** Extra trusted certificate authorities for HTTPS (PEM), e.g. an internal CA. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Name resolution. @default dns.lookup with all addresses, in resolver order */
  resolve?: Resolver;
  /** Called right before each connection with the checked address. */
  onConnect?: (attempt: ConnectAttempt) => void;
  /** Wall clock for `at` and certificate days. @default Date.now */
  now?: () => number;
  /** Body bytes kept for the body assertions; the rest is read and dropped. @default 262144 */
  maxBodyBytes?: number;
  /** Redirect hops followed when a probe sets `followRedirects`. @default 5 */
  maxRedirects?: number;
  /** @default 'gatewatch-probe/1' */
  userAgent?: string;
}

export interface ProbeTarget {
  name: string;
  probe: ProbeConfig;
}

/** Runs every probe once, at most `concurrency` at a time; results keep the order of `targets`. */
export async function runProbes(
  targets: readonly ProbeTarget[],
  options: ProbeRunOptions = {},
): Promise<ProbeResult[]> {
  return mapWithConcurrency(targets, options.concurrency ?? 32, (target) => runProbe(target, options));
}

/** Runs one probe, retrying network failures up to `probe.retries` times. Never throws for a failed probe. */
export async function runProbe(target: ProbeTarget, options: ProbeRunOptions = {}): Promise<ProbeResult> {
  const now = options.now ?? Date.now;
  const at = new Date(now()).toISOString();
  const probe = target.probe;
  const policy = addressPolicyFor(options.mode ?? 'local', {
    ...options.addressPolicy,
    ...(probe.allowPrivate === undefined ? {} : { allowPrivate: probe.allowPrivate }),
    ...(probe.allowLinkLocal === undefined ? {} : { allowLinkLocal: probe.allowLinkLocal }),
  });
  const context: AttemptContext = {
    target: target.name,
    probe,
    policy,
    options,
    resolve: options.resolve ?? defaultResolver,
    now,
  };
  const maxAttempts = 1 + probe.retries;
  let outcome: AttemptOutcome | undefined;
  let attempts = 0;
  while (attempts < maxAttempts) {
    attempts++;
    outcome = probe.tcp !== undefined ? await tcpAttempt(context, probe.tcp) : await httpAttempt(context);
    const failure = outcome.failure;
    if (!failure || attempts >= maxAttempts || !isRetryable(failure, outcome.code)) break;
    await delay(options.retryDelayMs ?? 200);
  }
  const last = outcome!;
  return {
    target: target.name,
    url: redactText(probe.tcp !== undefined ? `tcp://${probe.tcp}` : (probe.url ?? '')),
    ok: last.failure === undefined,
    ...(last.status === undefined ? {} : { status: last.status }),
    ...(last.failure === undefined ? {} : { failure: last.failure }),
    phases: roundPhases(last.phases),
    attempts,
    assertions: last.assertions,
    ...(last.certificate === undefined ? {} : { certificate: last.certificate }),
    ...(last.address === undefined ? {} : { address: last.address }),
    at,
  };
}

/** Tenths of a millisecond are as precise as a timer on a shared host gets. */
function roundPhases(phases: ProbePhases): ProbePhases {
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return Object.fromEntries(
    Object.entries(phases).map(([name, ms]) => [name, round(ms as number)]),
  ) as unknown as ProbePhases;
}

// ---------------------------------------------------------------- attempts

interface AttemptContext {
  target: string;
  probe: ProbeConfig;
  policy: AddressPolicy;
  options: ProbeRunOptions;
  resolve: Resolver;
  now: () => number;
}

interface AttemptOutcome {
  failure?: ProbeFailure;
  /** The socket error code behind `failure`, for the retry decision. */
  code?: string;
  status?: number;
  phases: ProbePhases;
  assertions: AssertionResult[];
  certificate?: CertificateInfo;
  address?: string;
}

/** A failed step inside an attempt; carries what was measured before it failed. */
class AttemptFailedError extends Error {
  override name = 'AttemptFailedError';
  readonly failure: ProbeFailure;
  readonly code: string | undefined;
  readonly connected: boolean;
  readonly phases: Partial<ProbePhases>;
  readonly status: number | undefined;

  constructor(
    failure: ProbeFailure,
    details: { code?: string; connected?: boolean; phases?: Partial<ProbePhases>; status?: number } = {},
  ) {
    super(failure.message);
    this.failure = failure;
    this.code = details.code;
    this.connected = details.connected ?? false;
    this.phases = details.phases ?? {};
    this.status = details.status;
  }
}

const defaultResolver: Resolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true, order: 'verbatim' });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function remaining(deadline: number): number {
  return Math.max(0, deadline - performance.now());
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function timeoutFailure(timeoutMs: number, during: string): ProbeFailure {
  return { kind: 'timeout', message: `no answer within ${timeoutMs} ms (while ${during})` };
}

/** Races a promise against the attempt's deadline. */
async function withinDeadline<T>(promise: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), remaining(deadline));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface CheckedAddresses {
  addresses: ResolvedAddress[];
  dnsMs: number;
}

/**
 * Resolves `hostname` once and keeps only the addresses the policy accepts. When none is acceptable the
 * probe fails as `forbidden-address` without a single packet sent to the destination.
 */
async function resolveChecked(
  context: AttemptContext,
  hostname: string,
  deadline: number,
): Promise<CheckedAddresses> {
  const literal = parseIp(hostname);
  let addresses: ResolvedAddress[];
  let dnsMs = 0;
  if (literal) {
    addresses = [{ address: hostname, family: literal.family }];
  } else {
    const started = performance.now();
    try {
      addresses = await withinDeadline(
        context.resolve(hostname),
        deadline,
        () => new AttemptFailedError(timeoutFailure(context.probe.timeoutMs, `resolving ${hostname}`)),
      );
    } catch (error) {
      if (error instanceof AttemptFailedError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new AttemptFailedError(
        networkFailure(
          code ?? 'ENOTFOUND',
          `cannot resolve ${hostname}: ${String((error as Error).message ?? error)}`,
        ),
        {
          ...(code === undefined ? {} : { code }),
        },
      );
    }
    dnsMs = performance.now() - started;
    if (addresses.length === 0) {
      throw new AttemptFailedError(
        { kind: 'dns', message: `cannot resolve ${hostname}: no addresses` },
        { phases: { dns: dnsMs } },
      );
    }
  }
  const decisions = addresses.map((candidate) => ({
    candidate,
    decision: checkAddress(candidate.address, context.policy),
  }));
  const allowed = decisions.filter((d) => d.decision.allowed).map((d) => d.candidate);
  if (allowed.length === 0) {
    const reasons = decisions
      .map((d) => (d.decision.allowed ? '' : d.decision.reason))
      .filter((r) => r !== '');
    const prefix = literal ? '' : `${hostname} resolves to ${addresses.map((a) => a.address).join(', ')}: `;
    throw new AttemptFailedError(
      {
        kind: 'forbidden-address',
        message: redactText(`refused before connecting: ${prefix}${reasons.join('; ')}`),
      },
      { phases: { dns: dnsMs } },
    );
  }
  return { addresses: allowed, dnsMs };
}

function outcomeFromError(error: unknown, startedAt: number): AttemptOutcome {
  const total = performance.now() - startedAt;
  if (error instanceof AttemptFailedError) {
    return {
      failure: error.failure,
      ...(error.code === undefined ? {} : { code: error.code }),
      ...(error.status === undefined ? {} : { status: error.status }),
      phases: { ...error.phases, total },
      assertions: [],
    };
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return {
    failure: networkFailure(code, String((error as Error | undefined)?.message ?? error)),
    ...(code === undefined ? {} : { code }),
    phases: { total },
    assertions: [],
  };
}

// ---------------------------------------------------------------- TCP

function parseTcpTarget(value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(':');
  return { host: stripBrackets(value.slice(0, colon)), port: Number(value.slice(colon + 1)) };
}

async function tcpAttempt(context: AttemptContext, tcp: string): Promise<AttemptOutcome> {
  const startedAt = performance.now();
  const deadline = startedAt + context.probe.timeoutMs;
  const { host, port } = parseTcpTarget(tcp);
  let address: string | undefined;
  try {
    const checked = await resolveChecked(context, host, deadline);
    let lastError: AttemptFailedError | undefined;
    for (const candidate of checked.addresses) {
      address = hostPort(candidate.address, port);
      try {
        const connectMs = await tcpConnect(context, host, candidate, port, deadline);
        const total = performance.now() - startedAt;
        const assertions: AssertionResult[] = [
          { name: 'connect', ok: true, detail: `connected to ${address} in ${Math.round(connectMs)} ms` },
        ];
        const maxLatency = context.probe.expect.maxLatencyMs;
        if (maxLatency !== undefined) {
          const ok = total <= maxLatency;
          assertions.push({ name: 'latency', ok, detail: latencyDetail(total, maxLatency) });
        }
        const failure = assertionFailure(assertions);
        return {
          ...(failure === undefined ? {} : { failure }),
          phases: { dns: checked.dnsMs, connect: connectMs, total },
          assertions,
          address,
        };
      } catch (error) {
        if (!(error instanceof AttemptFailedError) || !isNextAddressWorthTrying(error)) throw error;
        lastError = error;
      }
    }
    throw lastError!;
  } catch (error) {
    const outcome = outcomeFromError(error, startedAt);
    return address === undefined ? outcome : { ...outcome, address };
  }
}

function isNextAddressWorthTrying(error: AttemptFailedError): boolean {
  return !error.connected && (error.failure.kind === 'refused' || error.failure.kind === 'unreachable');
}

function tcpConnect(
  context: AttemptContext,
  host: string,
  candidate: ResolvedAddress,
  port: number,
  deadline: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    context.options.onConnect?.({ target: context.target, host, address: candidate.address, port });
    const started = performance.now();
    const socket = net.connect({
      host: candidate.address,
      port,
      family: candidate.family,
      autoSelectFamily: false,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new AttemptFailedError(
          timeoutFailure(context.probe.timeoutMs, `connecting to ${hostPort(candidate.address, port)}`),
          { code: 'ETIMEDOUT' },
        ),
      );
    }, remaining(deadline));
    socket.once('connect', () => {
      clearTimeout(timer);
      const connectMs = performance.now() - started;
      socket.destroy();
      resolve(connectMs);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new AttemptFailedError(networkFailure(error.code, error.message), {
          ...(error.code === undefined ? {} : { code: error.code }),
        }),
      );
    });
  });
}

// ---------------------------------------------------------------- HTTP(S)

interface Exchange {
  status: number;
  headers: Record<string, string>;
  body: string;
  phases: Omit<ProbePhases, 'total' | 'dns'>;
  certificate?: CertificateInfo;
}

interface HopRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// Headers that must not follow a redirect to another origin (what browsers and curl do).
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

async function httpAttempt(context: AttemptContext): Promise<AttemptOutcome> {
  const startedAt = performance.now();
  const deadline = startedAt + context.probe.timeoutMs;
  const maxRedirects = context.options.maxRedirects ?? 5;
  let hop: HopRequest = {
    url: new URL(context.probe.url!),
    method: context.probe.method,
    headers: { ...context.probe.headers },
    body: context.probe.body,
  };
  let address: string | undefined;
  let dnsMs: number | undefined;
  try {
    for (let redirects = 0; ; redirects++) {
      const hostname = stripBrackets(hop.url.hostname);
      const checked = await resolveChecked(context, hostname, deadline);
      dnsMs = checked.dnsMs;
      const port = Number(hop.url.port) || (hop.url.protocol === 'https:' ? 443 : 80);
      const { exchange, used } = await exchangeWithFallback(context, hop, checked.addresses, port, deadline);
      address = hostPort(used.address, port);
      const location = exchange.headers.location;
      if (context.probe.followRedirects && REDIRECT_STATUSES.has(exchange.status) && location !== undefined) {
        if (redirects >= maxRedirects) {
          throw new AttemptFailedError(
            {
              kind: 'protocol',
              message: `more than ${maxRedirects} redirects; last to ${redactText(location)}`,
            },
            { status: exchange.status },
          );
        }
        hop = nextHop(hop, exchange.status, location);
        continue;
      }
      const total = performance.now() - startedAt;
      const assertions = evaluateAssertions(context.probe.expect, {
        status: exchange.status,
        totalMs: total,
        body: exchange.body,
        headers: exchange.headers,
        ...(exchange.certificate === undefined ? {} : { certificate: exchange.certificate }),
      });
      const failure = assertionFailure(assertions);
      return {
        ...(failure === undefined ? {} : { failure }),
        status: exchange.status,
        phases: { dns: dnsMs, ...exchange.phases, total },
        assertions,
        ...(exchange.certificate === undefined ? {} : { certificate: exchange.certificate }),
        address,
      };
    }
  } catch (error) {
    const outcome = outcomeFromError(error, startedAt);
    if (outcome.phases.dns === undefined && dnsMs !== undefined) outcome.phases.dns = dnsMs;
    return address === undefined ? outcome : { ...outcome, address };
  }
}

function nextHop(hop: HopRequest, status: number, location: string): HopRequest {
  let url: URL;
  try {
    url = new URL(location, hop.url);
  } catch {
    throw new AttemptFailedError(
      {
        kind: 'protocol',
        message: `redirect to an invalid location ${JSON.stringify(redactText(location))}`,
      },
      { status },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AttemptFailedError(
      {
        kind: 'protocol',
        message: `redirect to unsupported scheme ${url.protocol} (${redactText(url.href)})`,
      },
      { status },
    );
  }
  const sameOrigin = url.origin === hop.url.origin;
  const headers = Object.fromEntries(
    Object.entries(hop.headers).filter(([name]) => sameOrigin || !CREDENTIAL_HEADERS.has(name.toLowerCase())),
  );
  const toGet = status === 303 || ((status === 301 || status === 302) && hop.method === 'POST');
  return {
    url,
    method: toGet ? 'GET' : hop.method,
    headers,
    body: toGet ? undefined : hop.body,
  };
}

/** Tries the checked addresses in order while the connection itself is refused or unreachable. */
async function exchangeWithFallback(
  context: AttemptContext,
  hop: HopRequest,
  addresses: ResolvedAddress[],
  port: number,
  deadline: number,
): Promise<{ exchange: Exchange; used: ResolvedAddress }> {
  let lastError: unknown;
  for (const candidate of addresses) {
    try {
      return { exchange: await exchange(context, hop, candidate, port, deadline), used: candidate };
    } catch (error) {
      if (!(error instanceof AttemptFailedError) || !isNextAddressWorthTrying(error)) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function exchange(
  context: AttemptContext,
  hop: HopRequest,
  candidate: ResolvedAddress,
  port: number,
  deadline: number,
): Promise<Exchange> {
  return new Promise<Exchange>((resolve, reject) => {
    const { url } = hop;
    const isHttps = url.protocol === 'https:';
    const hostname = stripBrackets(url.hostname);
    const headers: Record<string, string> = {
      'user-agent': context.options.userAgent ?? 'gatewatch-probe/1',
      ...hop.headers,
    };
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'host')) headers.host = url.host;
    const auth =
      url.username === ''
        ? undefined
        : `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;

    let settled = false;
    let connected = false;
    let startedAt = performance.now();
    let connectedAt: number | undefined;
    let secureAt: number | undefined;
    let firstByteAt: number | undefined;
    let status: number | undefined;
    let certificate: CertificateInfo | undefined;

    const phases = (): Omit<ProbePhases, 'total' | 'dns'> => {
      const ready = secureAt ?? connectedAt;
      return {
        ...(connectedAt === undefined ? {} : { connect: connectedAt - startedAt }),
        ...(secureAt === undefined || connectedAt === undefined ? {} : { tls: secureAt - connectedAt }),
        ...(firstByteAt === undefined || ready === undefined ? {} : { firstByte: firstByteAt - ready }),
      };
    };
    const fail = (failure: ProbeFailure, code?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(
        new AttemptFailedError(failure, {
          ...(code === undefined ? {} : { code }),
          connected,
          phases: phases(),
          ...(status === undefined ? {} : { status }),
        }),
      );
    };
    const during = () =>
      connectedAt === undefined
        ? `connecting to ${hostPort(candidate.address, port)}`
        : isHttps && secureAt === undefined
          ? 'in the TLS handshake'
          : firstByteAt === undefined
            ? 'waiting for the response head'
            : 'reading the response body';
    const timer = setTimeout(
      () => fail(timeoutFailure(context.probe.timeoutMs, during()), 'ETIMEDOUT'),
      remaining(deadline),
    );

    context.options.onConnect?.({ target: context.target, host: hostname, address: candidate.address, port });
    startedAt = performance.now();
    const options: https.RequestOptions = {
      host: candidate.address,
      family: candidate.family,
      port,
      method: hop.method,
      path: `${url.pathname}${url.search}`,
      headers,
      agent: false,
      ...(auth === undefined ? {} : { auth }),
      ...(isHttps
        ? {
            // SNI and the certificate check use the name from the URL, the socket uses the checked IP.
            servername: isIpLiteral(hostname) ? '' : hostname,
            rejectUnauthorized: true,
            ...(context.options.ca === undefined ? {} : { ca: context.options.ca }),
          }
        : {}),
    };
    const request = (isHttps ? https : http).request(options);
    request.on('socket', (socket) => {
      socket.once('connect', () => {
        connected = true;
        connectedAt = performance.now();
      });
      if (isHttps) {
        socket.once('secureConnect', () => {
          secureAt = performance.now();
          const peer = (socket as TLSSocket).getPeerCertificate();
          const validTo = peer?.valid_to === undefined ? Number.NaN : Date.parse(peer.valid_to);
          if (Number.isFinite(validTo)) certificate = certificateInfo(validTo, context.now());
        });
      }
    });
    request.on('response', (response) => {
      firstByteAt = performance.now();
      status = response.statusCode ?? 0;
      const limit = context.options.maxBodyBytes ?? 262_144;
      const chunks: Buffer[] = [];
      let kept = 0;
      response.on('data', (chunk: Buffer) => {
        if (kept >= limit) return;
        const part = chunk.length > limit - kept ? chunk.subarray(0, limit - kept) : chunk;
        chunks.push(part);
        kept += part.length;
      });
      const closedEarly = () =>
        fail(
          {
            kind: 'reset',
            message: `connection closed after the response head (status ${status}), before the body was complete`,
          },
          'ECONNRESET',
        );
      response.on('error', closedEarly);
      response.on('close', () => {
        if (!response.complete) closedEarly();
      });
      response.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.destroy();
        resolve({
          status: status ?? 0,
          headers: flattenHeaders(response.headers),
          body: Buffer.concat(chunks).toString('utf8'),
          phases: phases(),
          ...(certificate === undefined ? {} : { certificate }),
        });
      });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? (error.message === 'socket hang up' ? 'ECONNRESET' : undefined);
      const failure = networkFailure(code, error.message);
      const where = connectedAt === undefined ? '' : ` (${during()})`;
      fail({ ...failure, message: `${failure.message}${where}` }, code);
    });
    request.end(hop.body);
  });
}
