import { describe, expect, it } from 'vitest';
import { ProbeConfigSchema } from '../../../lambdas/core/probe/schema.ts';

function problems(input: unknown): string[] {
  const result = ProbeConfigSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('ProbeConfigSchema', () => {
  it('fills the documented defaults for a bare URL', () => {
    expect(ProbeConfigSchema.parse({ url: 'http://127.0.0.1:8080/health' })).toEqual({
      url: 'http://127.0.0.1:8080/health',
      method: 'GET',
      intervalSeconds: 60,
      timeoutMs: 5000,
      expect: { status: [200] },
      followRedirects: false,
      retries: 1,
    });
  });

  it('accepts the full form from DESIGN.md', () => {
    const probe = ProbeConfigSchema.parse({
      url: 'https://shop.example.com/healthz',
      method: 'GET',
      intervalSeconds: 60,
      timeoutMs: 5000,
      expect: { status: [200], maxLatencyMs: 2000, bodyContains: 'ok', certValidDays: 14 },
    });
    expect(probe.expect).toEqual({
      status: [200],
      maxLatencyMs: 2000,
      bodyContains: 'ok',
      certValidDays: 14,
    });
  });

  it('reads a single status code as a list', () => {
    expect(ProbeConfigSchema.parse({ url: 'http://a/', expect: { status: 204 } }).expect.status).toEqual([
      204,
    ]);
  });

  it('accepts a TCP check without a URL', () => {
    expect(ProbeConfigSchema.parse({ tcp: '[::1]:6379' }).tcp).toBe('[::1]:6379');
  });

  it.each([
    [{ url: 'ftp://example.com/' }, 'url: must be an http(s) URL, e.g. http://127.0.0.1:8080/health'],
    [{ url: 'localhost:8080' }, 'url: must be an http(s) URL, e.g. http://127.0.0.1:8080/health'],
    [{}, 'url: set url (an HTTP check, e.g. http://127.0.0.1:8080/health) or tcp'],
    [{ url: 'http://a/', tcp: 'a:1' }, 'tcp: set either url or tcp, not both'],
    [{ tcp: 'db' }, 'tcp: must be host:port, e.g. 127.0.0.1:5432'],
    [{ tcp: 'db:70000' }, 'tcp: must be host:port'],
    [{ url: 'http://a/', method: 'FETCH' }, 'method: must be one of GET, HEAD, POST'],
    [{ url: 'http://a/', intervalSeconds: 0 }, 'intervalSeconds: must be at least 1 second'],
    [{ url: 'http://a/', timeoutMs: 2.5 }, 'timeoutMs: must be whole milliseconds'],
    [
      { url: 'http://a/', expect: { status: [99] } },
      'expect.status.0: must be an HTTP status code between 100 and 599',
    ],
    [{ url: 'http://a/', expect: { status: [] } }, 'expect.status: list at least one accepted status'],
    [
      { url: 'http://a/', expect: { bodyMatches: '(' } },
      'expect.bodyMatches: must be a valid JavaScript regular expression',
    ],
    [
      { url: 'http://a/', expect: { header: { name: 'x-a' } } },
      'expect.header: give exactly one of value or pattern',
    ],
    [{ url: 'http://a/', expect: { certValidDays: 14 } }, 'expect.certValidDays: needs an https:// url'],
    [{ url: 'http://a/', headers: { 'bad name': 'x' } }, 'headers.bad name: header names are tokens'],
    [{ url: 'http://a/', headers: { 'x-a': 'one\r\ntwo' } }, 'headers.x-a: header values must be one line'],
    [{ url: 'http://a/', retries: 9 }, 'retries: must be at most 3'],
  ])('explains what to fix in %j', (input, message) => {
    expect(problems(input).join('\n')).toContain(message);
  });

  it('rejects unknown fields so a typo does not silently disable a check', () => {
    const result = ProbeConfigSchema.safeParse({ url: 'http://a/', expct: { status: [200] } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['expct'] });
  });
});
