import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, redactHeaders, redactText } from '../../lambdas/core/redact.ts';

describe('redaction', () => {
  it.each([
    ['GET /login?user=bob&password=hunter2 HTTP/1.1', 'hunter2'],
    ['GET /cb?code=0xDEADBEEF&state=ok HTTP/1.1', '0xDEADBEEF'],
    ['GET /api?api_key=K-123456&x=1 HTTP/1.1', 'K-123456'],
    ['GET /s3?X-Amz-Signature=abcdef0123&X-Amz-Credential=AKIAXXXX HTTP/1.1', 'abcdef0123'],
    ['upstream: "http://admin:s3cr3t@10.0.0.5:8080/"', 's3cr3t'],
    ['Authorization: Bearer eyJhbGciOi.payload.sig', 'eyJhbGciOi'],
    ['proxy_set_header Authorization "Basic dXNlcjpwYXNz";', 'dXNlcjpwYXNz'],
    ['Cookie: session=abc123; theme=dark', 'abc123'],
    ['{"access_token":"tok-999","user":"bob"}', 'tok-999'],
    ['DB_PASSWORD=pa55 node server.js', 'pa55'],
  ])('removes the secret from %j', (text, secret) => {
    const redacted = redactText(text);
    expect(redacted).not.toContain(secret);
    expect(redacted).toContain(REDACTED);
  });

  it('leaves ordinary nginx lines alone', () => {
    const line =
      '2026/11/24 05:11:48 [error] 1234#1234: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: shop, request: "GET /cart?item=3 HTTP/1.1", upstream: "http://127.0.0.1:3000/cart?item=3", host: "shop"';
    expect(redactText(line)).toBe(line);
  });

  it('redacts header maps by name', () => {
    expect(redactHeaders({ Authorization: 'Bearer x', Accept: 'text/html', 'X-Api-Key': 'k' })).toEqual({
      Authorization: REDACTED,
      Accept: 'text/html',
      'X-Api-Key': REDACTED,
    });
  });

  it('is idempotent for any text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const once = redactText(text);
        expect(redactText(once)).toBe(once);
      }),
    );
  });

  it('never leaves a password query value, whatever surrounds it', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789/_.-'.split('')) }),
        fc.stringMatching(/^[A-Za-z0-9]{6,20}$/),
        (path, secret) => {
          const text = `GET /${path}?password=${secret} HTTP/1.1`;
          expect(redactText(text)).not.toContain(`password=${secret}`);
        },
      ),
    );
  });
});

describe('redaction of gatewatch prose', () => {
  it.each([
    'nginx -t passes: the configuration on disk is valid',
    'the tokenizer: reads nginx syntax',
    'passenger: authored by the sessions team',
  ])('leaves %j alone', (text) => {
    expect(redactText(text)).toBe(text);
  });
});
