/**
 * Judges one observed response against `expect`. Pure: the prober hands over what it saw, this decides.
 * Details are written for the table and the report, so they are redacted here.
 */
import { REDACTED, redactHeaders, redactText } from '../redact.ts';
import type { ProbeExpect } from './schema.ts';
import type { AssertionResult, CertificateInfo, ProbeFailure } from './types.ts';

/** What an HTTP attempt observed, the input of the assertions. */
export interface ObservedResponse {
  status: number;
  /** Total time of the attempt in ms. */
  totalMs: number;
  /** The body as text (possibly cut at the prober's read limit). */
  body: string;
  /** Response headers, lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  certificate?: CertificateInfo;
}

const SNIPPET = 80;

function snippet(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  const cut = oneLine.length > SNIPPET ? `${oneLine.slice(0, SNIPPET)}…` : oneLine;
  return JSON.stringify(redactText(cut));
}

/** Evaluates every assertion `expect` configures, in a fixed order (status first). */
export function evaluateAssertions(expect: ProbeExpect, observed: ObservedResponse): AssertionResult[] {
  const results: AssertionResult[] = [];
  const statusOk = expect.status.includes(observed.status);
  results.push({
    name: 'status',
    ok: statusOk,
    detail: statusOk
      ? `status ${observed.status}`
      : `status ${observed.status}, expected ${expect.status.join(' or ')}`,
  });

  if (expect.maxLatencyMs !== undefined) {
    const ok = observed.totalMs <= expect.maxLatencyMs;
    results.push({
      name: 'latency',
      ok,
      detail: latencyDetail(observed.totalMs, expect.maxLatencyMs),
    });
  }

  if (expect.bodyContains !== undefined) {
    const ok = observed.body.includes(expect.bodyContains);
    results.push({
      name: 'bodyContains',
      ok,
      detail: ok
        ? `body contains ${JSON.stringify(redactText(expect.bodyContains))}`
        : `body does not contain ${JSON.stringify(redactText(expect.bodyContains))}; starts with ${snippet(observed.body)}`,
    });
  }

  if (expect.bodyMatches !== undefined) {
    const ok = new RegExp(expect.bodyMatches).test(observed.body);
    results.push({
      name: 'bodyMatches',
      ok,
      detail: ok
        ? `body matches /${expect.bodyMatches}/`
        : `body does not match /${expect.bodyMatches}/; starts with ${snippet(observed.body)}`,
    });
  }

  if (expect.header !== undefined) {
    results.push(headerAssertion(expect.header, observed.headers));
  }

  if (expect.certValidDays !== undefined) {
    const cert = observed.certificate;
    const ok = cert !== undefined && cert.daysLeft >= expect.certValidDays;
    results.push({
      name: 'certValidDays',
      ok,
      detail:
        cert === undefined
          ? 'no TLS certificate was presented'
          : `certificate valid until ${cert.validTo} (${cert.daysLeft} days left), expected at least ${expect.certValidDays}`,
    });
  }
  return results;
}

function headerAssertion(
  expected: NonNullable<ProbeExpect['header']>,
  headers: Record<string, string>,
): AssertionResult {
  const name = expected.name.toLowerCase();
  const actual = headers[name];
  // A sensitive header's value never appears in a detail, matched or not.
  const shown = (value: string) => {
    const redacted = redactHeaders({ [name]: value })[name] ?? REDACTED;
    return JSON.stringify(redacted);
  };
  if (actual === undefined) {
    return { name: 'header', ok: false, detail: `header ${name} is missing` };
  }
  if (expected.value !== undefined) {
    const ok = actual.trim() === expected.value;
    return {
      name: 'header',
      ok,
      detail: ok
        ? `${name} is ${shown(actual)}`
        : `${name} is ${shown(actual)}, expected ${shown(expected.value)}`,
    };
  }
  const ok = new RegExp(expected.pattern ?? '').test(actual);
  return {
    name: 'header',
    ok,
    detail: ok
      ? `${name} ${shown(actual)} matches /${expected.pattern}/`
      : `${name} ${shown(actual)} does not match /${expected.pattern}/`,
  };
}

/** `took 224 ms, expected at most 100 ms` (or `took 12 ms` when within the limit). */
export function latencyDetail(totalMs: number, maxLatencyMs: number): string {
  const took = `took ${Math.round(totalMs)} ms`;
  return totalMs <= maxLatencyMs
    ? `${took} (limit ${maxLatencyMs} ms)`
    : `${took}, expected at most ${maxLatencyMs} ms`;
}

/** The failure of a run whose answer arrived but broke assertions; `undefined` when all passed. */
export function assertionFailure(assertions: AssertionResult[]): ProbeFailure | undefined {
  const failed = assertions.filter((a) => !a.ok);
  if (failed.length === 0) return undefined;
  return { kind: 'assertion', message: failed.map((a) => a.detail).join('; ') };
}

/** Whole days between `nowMs` and a certificate's `notAfter`, floored (2.9 days left is 2). */
export function certificateInfo(validToMs: number, nowMs: number): CertificateInfo {
  return {
    validTo: new Date(validToMs).toISOString(),
    daysLeft: Math.floor((validToMs - nowMs) / 86_400_000),
  };
}
