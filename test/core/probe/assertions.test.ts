import { describe, expect, it } from 'vitest';
import {
  assertionFailure,
  certificateInfo,
  evaluateAssertions,
  type ObservedResponse,
} from '../../../lambdas/core/probe/assertions.ts';
import { failureKindForCode, isRetryable, networkFailure } from '../../../lambdas/core/probe/failures.ts';
import { ProbeExpectSchema } from '../../../lambdas/core/probe/schema.ts';

const observed = (overrides: Partial<ObservedResponse> = {}): ObservedResponse => ({
  status: 200,
  totalMs: 120,
  body: '{"status":"ok"}',
  headers: { 'content-type': 'application/json' },
  ...overrides,
});

describe('evaluateAssertions', () => {
  it('passes every configured assertion for a matching response', () => {
    const expectations = ProbeExpectSchema.parse({
      status: [200, 204],
      maxLatencyMs: 500,
      bodyContains: 'ok',
      bodyMatches: '"status":\\s*"ok"',
      header: { name: 'Content-Type', value: 'application/json' },
    });
    const results = evaluateAssertions(expectations, observed());
    expect(results.every((r) => r.ok)).toBe(true);
    expect(assertionFailure(results)).toBeUndefined();
  });

  it.each([
    [{ status: [200] }, { status: 502 }, 'status', 'status 502, expected 200'],
    [{ maxLatencyMs: 100 }, { totalMs: 250 }, 'latency', 'took 250 ms, expected at most 100 ms'],
    [
      { bodyContains: 'healthy' },
      { body: 'degraded' },
      'bodyContains',
      'body does not contain "healthy"; starts with "degraded"',
    ],
    [{ bodyMatches: '^ok$' }, { body: 'nope' }, 'bodyMatches', 'body does not match /^ok$/'],
    [{ header: { name: 'x-version', value: '2' } }, {}, 'header', 'header x-version is missing'],
    [{ header: { name: 'content-type', pattern: '^text/' } }, {}, 'header', 'does not match /^text/'],
    [{ certValidDays: 14 }, {}, 'certValidDays', 'no TLS certificate was presented'],
    [
      { certValidDays: 14 },
      { certificate: { validTo: '2026-11-27T00:00:00.000Z', daysLeft: 2 } },
      'certValidDays',
      '(2 days left), expected at least 14',
    ],
  ])('fails %j on %j with a detail that says why', (expectInput, response, name, detail) => {
    const results = evaluateAssertions(ProbeExpectSchema.parse(expectInput), observed(response));
    const failed = results.find((r) => r.name === name);
    expect(failed?.ok).toBe(false);
    expect(failed?.detail).toContain(detail);
    expect(assertionFailure(results)).toMatchObject({ kind: 'assertion' });
  });

  it('never shows the value of a sensitive header in a detail', () => {
    const results = evaluateAssertions(
      ProbeExpectSchema.parse({ header: { name: 'set-cookie', pattern: '^session=' } }),
      observed({ headers: { 'set-cookie': 'sid=abc123secret; HttpOnly' } }),
    );
    expect(results[1]?.ok).toBe(false);
    expect(results[1]?.detail).not.toContain('abc123secret');
  });

  it('redacts secrets echoed in a body snippet', () => {
    const results = evaluateAssertions(
      ProbeExpectSchema.parse({ bodyContains: 'ok' }),
      observed({ body: 'error: password=hunter2 rejected' }),
    );
    expect(results[1]?.detail).not.toContain('hunter2');
  });
});

describe('certificateInfo', () => {
  it('floors the days left: a certificate issued for 3 days has 2 full days left a minute later', () => {
    const now = Date.parse('2026-11-24T06:00:00Z');
    expect(certificateInfo(now + 3 * 86_400_000 - 60_000, now)).toEqual({
      validTo: '2026-11-27T05:59:00.000Z',
      daysLeft: 2,
    });
    expect(certificateInfo(now - 1000, now).daysLeft).toBe(-1);
  });
});

describe('failure classification', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ETIMEDOUT', 'timeout'],
    ['ECONNRESET', 'reset'],
    ['EPIPE', 'reset'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['EHOSTUNREACH', 'unreachable'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
    ['HPE_INVALID_CONSTANT', 'protocol'],
    [undefined, 'protocol'],
  ])('classifies %s as %s', (code, kind) => {
    expect(failureKindForCode(code)).toBe(kind);
  });

  it('retries network failures and transient DNS only', () => {
    expect(isRetryable({ kind: 'refused', message: '' })).toBe(true);
    expect(isRetryable({ kind: 'reset', message: '' })).toBe(true);
    expect(isRetryable({ kind: 'dns', message: '' }, 'EAI_AGAIN')).toBe(true);
    expect(isRetryable({ kind: 'dns', message: '' }, 'ENOTFOUND')).toBe(false);
    expect(isRetryable({ kind: 'tls', message: '' })).toBe(false);
    expect(isRetryable({ kind: 'assertion', message: '' })).toBe(false);
    expect(isRetryable({ kind: 'forbidden-address', message: '' })).toBe(false);
  });

  it('keeps the code in the message without letting the redactor eat it', () => {
    expect(networkFailure('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate')).toEqual({
      kind: 'tls',
      message: 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)',
    });
  });
});
