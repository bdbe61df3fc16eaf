/**
 * Turns what the socket layer reported into a probe failure kind, by error code (portable) rather than
 * by message text, and says which kinds a retry inside the same run may absorb.
 */
import { redactText } from '../redact.ts';
import type { ProbeFailure, ProbeFailureKind } from './types.ts';

const BY_CODE: Record<string, ProbeFailureKind> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  ESOCKETTIMEDOUT: 'timeout',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  ERR_STREAM_PREMATURE_CLOSE: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NODATA: 'dns',
  EAI_NONAME: 'dns',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
};

// OpenSSL verification results Node reports as `error.code`.
const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The failure kind for a socket/HTTP error code; `protocol` when the code is unknown. */
export function failureKindForCode(code: string | undefined): ProbeFailureKind {
  if (code === undefined) return 'protocol';
  const known = BY_CODE[code];
  if (known) return known;
  if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return 'tls';
  if (code.startsWith('HPE_')) return 'protocol';
  return 'protocol';
}

/** Builds the failure from an error code and message, redacting the message. */
export function networkFailure(code: string | undefined, message: string): ProbeFailure {
  const kind = failureKindForCode(code);
  const text = message.split('\n')[0] ?? message;
  // The code goes last in parentheses: `CODE: text` would read as a `key: value` pair to the redactor.
  const withCode = code !== undefined && !text.includes(code) ? `${text} (${code})` : text;
  return { kind, message: redactText(withCode) };
}

/**
 * Kinds worth a second attempt inside one run: a dropped SYN, a reset or a stalled read may be a single
 * lost packet. A DNS NXDOMAIN, a TLS verification error, a forbidden address or a wrong answer will not
 * change in a few hundred milliseconds, so retrying them would only delay the datapoint.
 */
export function isRetryable(failure: ProbeFailure, code?: string): boolean {
  switch (failure.kind) {
    case 'refused':
    case 'timeout':
    case 'reset':
    case 'protocol':
    case 'unreachable':
      return true;
    case 'dns':
      return code === 'EAI_AGAIN';
    default:
      return false;
  }
}
