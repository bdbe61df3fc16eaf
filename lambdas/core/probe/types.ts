/**
 * What one synthetic probe run produces. Plain JSON: the local CLI prints it, `watch` turns it into
 * datapoints and the probe Lambda into EMF metrics. Everything in it is already redacted.
 */

/**
 * Why a probe failed. Network kinds (`refused` … `unreachable`) come from the socket; `assertion` means an
 * answer arrived but did not meet `expect`; `forbidden-address` means the address policy refused the
 * destination before any connection was attempted.
 */
export type ProbeFailureKind =
  | 'refused'
  | 'timeout'
  | 'reset'
  | 'dns'
  | 'tls'
  | 'assertion'
  | 'forbidden-address'
  | 'protocol'
  | 'unreachable';

export interface ProbeFailure {
  kind: ProbeFailureKind;
  /** One line, redacted. */
  message: string;
}

/**
 * Durations in milliseconds, each measured from socket events of the last attempt (and, with redirects,
 * its last hop). `total` covers the whole attempt including redirects and the body.
 */
export interface ProbePhases {
  /** Name resolution; 0 for an IP literal. */
  dns?: number;
  /** TCP handshake. */
  connect?: number;
  /** TLS handshake, after the TCP connection was up. */
  tls?: number;
  /** From the request being sent (connection ready) to the response head arriving. */
  firstByte?: number;
  total: number;
}

export interface AssertionResult {
  /** `status`, `latency`, `bodyContains`, `bodyMatches`, `header`, `certValidDays`, `connect`. */
  name: string;
  ok: boolean;
  /** What was expected and what was seen, redacted. */
  detail: string;
}

export interface CertificateInfo {
  /** ISO-8601 `notAfter` of the leaf certificate. */
  validTo: string;
  /** Whole days left (floored); negative once expired. */
  daysLeft: number;
}

export interface ProbeResult {
  target: string;
  /** The configured URL (or `tcp://host:port`), redacted. */
  url: string;
  ok: boolean;
  /** HTTP status of the last response, when one arrived. */
  status?: number;
  failure?: ProbeFailure;
  phases: ProbePhases;
  /** Attempts made in this run (1 + retries used). */
  attempts: number;
  assertions: AssertionResult[];
  certificate?: CertificateInfo;
  /** The checked address the last attempt connected to, `127.0.0.1:8080` or `[::1]:8080`. */
  address?: string;
  /** When the run started, ISO-8601. */
  at: string;
}
