import { describe, expect, it } from 'vitest';
import { classifyUpstreamFailure, parseErrorLogLine } from '../../../lambdas/core/nginx/error-log.ts';

const at = '2026/12/06 20:08:01';
const classify = (rest: string) => classifyUpstreamFailure(parseErrorLogLine(`${at} ${rest}`));
const CTX =
  ', client: 10.0.0.7, server: shop, request: "POST /upload HTTP/1.1", upstream: "http://127.0.0.1:3000/upload", host: "shop"';

describe("nginx's own failures", () => {
  it.each([
    ['[alert] 12#12: 1024 worker_connections are not enough'],
    [`[alert] 12#12: *2051 1024 worker_connections are not enough while connecting to upstream${CTX}`],
    ['[alert] 12#12: 768 worker_connections are not enough while accepting new connection on 0.0.0.0:80'],
  ])('reads %s as nginx-worker-connections', (line) => {
    expect(classify(line)).toMatchObject({
      kind: 'worker-connections',
      rootCause: 'nginx-worker-connections',
    });
  });

  it.each([
    [
      'proxy temp',
      '[crit] 7#7: *9 pwrite() "/var/cache/nginx/proxy_temp/1/00/0000000001" failed (28: No space left on device) while reading upstream' +
        CTX,
    ],
    [
      'fastcgi temp',
      '[crit] 7#7: *9 write() "/var/lib/nginx/fastcgi_temp/2/00/0000000002" failed (28: No space left on device) while reading upstream' +
        CTX,
    ],
    [
      'uwsgi temp',
      '[crit] 7#7: *9 pwrite() "/var/lib/nginx/uwsgi_temp/3/00/0000000003" failed (28: No space left on device) while reading upstream' +
        CTX,
    ],
    [
      'scgi temp',
      '[crit] 7#7: *9 pwrite() "/var/lib/nginx/scgi_temp/4/00/0000000004" failed (28: No space left on device) while reading upstream' +
        CTX,
    ],
    [
      'client body',
      '[crit] 7#7: *9 pwrite() "/var/lib/nginx/body/0000000005" failed (28: No space left on device), client: 10.0.0.7, server: shop, request: "POST /upload HTTP/1.1", host: "shop"',
    ],
    [
      'cache',
      '[crit] 7#7: *9 pwrite() "/var/cache/nginx/shop/a/bc/0123456789abcdef0123456789abcabc.0000000006" failed (28: No space left on device) while reading upstream' +
        CTX,
    ],
    [
      'quota',
      '[crit] 7#7: *9 pwrite() "/var/cache/nginx/proxy_temp/1/00/0000000001" failed (122: Disk quota exceeded) while reading upstream' +
        CTX,
    ],
    [
      'Windows',
      '[crit] 7#7: *9 WriteFile() "C:\\nginx/temp/proxy_temp/1/00/0000000001" failed (112: There is not enough space on the disk) while reading upstream' +
        CTX,
    ],
  ])('reads ENOSPC writing %s as resource-disk-full', (_name, line) => {
    expect(classify(line)).toMatchObject({ kind: 'disk-full', rootCause: 'resource-disk-full' });
  });

  it.each([
    [
      'proxy temp',
      '[crit] 7#7: *9 open() "/var/cache/nginx/proxy_temp/1/00/0000000001" failed (13: Permission denied) while reading upstream' +
        CTX,
    ],
    [
      'client body',
      '[crit] 7#7: *9 open() "/var/lib/nginx/tmp/client_body/0000000001" failed (13: Permission denied), client: 10.0.0.7, server: shop, request: "POST /upload HTTP/1.1", host: "shop"',
    ],
    [
      'client_temp',
      '[crit] 7#7: *9 open() "/var/cache/nginx/client_temp/0000000001" failed (13: Permission denied), client: 10.0.0.7, server: shop, request: "POST / HTTP/1.1", host: "shop"',
    ],
    [
      'fastcgi temp mkdir',
      '[crit] 7#7: *9 mkdir() "/var/lib/nginx/fastcgi_temp/1" failed (13: Permission denied) while reading upstream' +
        CTX,
    ],
  ])("reads EACCES on nginx's own %s as nginx-file-permission, never host-policy-denied", (_name, line) => {
    expect(classify(line)).toMatchObject({ kind: 'file-permission', rootCause: 'nginx-file-permission' });
  });

  it('leaves a static file denied to its 403 (not an upstream failure) and a connect() EACCES to host policy', () => {
    expect(
      classify(
        '[error] 7#7: *1 open() "/var/www/html/index.html" failed (13: Permission denied), client: 1.2.3.4, server: _, request: "GET / HTTP/1.1", host: "x"',
      ),
    ).toBeUndefined();
    expect(
      classify(
        '[crit] 7#7: *1 connect() to 127.0.0.1:3000 failed (13: Permission denied) while connecting to upstream' +
          CTX,
      ),
    ).toMatchObject({ rootCause: 'host-policy-denied' });
  });

  it.each([
    ['[error] 7#7: unexpected DNS response for backend.internal', 'backend.internal'],
    ['[error] 7#7: unexpected response for backend.internal', 'backend.internal'],
    ['[error] 7#7: wrong ident 4242 response for api.internal, expect 17', 'api.internal'],
    ['[error] 7#7: *3 api.internal could not be resolved (110: Operation timed out)', 'api.internal'],
    ['[error] 7#7: resolver failed', undefined],
    [
      '[error] 7#7: *1 [lua] access.lua:202: authorize(): got error during access token request: accounts.example.com could not be resolved (110: Operation timed out)',
      'accounts.example.com',
    ],
    [
      "[error] 16#0: upstream-dynamic-servers: 'member_host' could not be resolved (110: Operation timed out)",
      'member_host',
    ],
  ])('reads the resolver line %s as upstream-dns without a request', (line, peer) => {
    const failure = classify(line);
    expect(failure).toMatchObject({ kind: 'dns', rootCause: 'upstream-dns' });
    expect(failure?.peer).toBe(peer);
    expect(failure?.errno).toBeUndefined();
  });

  it("reads the proxy_connect module's `while connecting to upstream(proxy_connect)` as a connect timeout", () => {
    expect(
      classify(
        '[error] 10#0: *55 upstream timed out (110: Connection timed out) while connecting to upstream(proxy_connect), client: 192.168.99.1, server: , request: "CONNECT i.example.com:443 HTTP/1.1", host: "i.example.com:443"',
      ),
    ).toMatchObject({ kind: 'connect-timeout', rootCause: 'upstream-connect-timeout' });
  });

  it('reads a gRPC RST_STREAM or GOAWAY with an error code as the upstream rejecting the request', () => {
    const grpc =
      ', client: 127.0.0.1, server: _, request: "POST /svc.Orders/Get HTTP/2.0", upstream: "grpc://127.0.0.1:50051", host: "x"';
    expect(
      classify(
        `[error] 7#7: *5 upstream rejected request with error 2 while reading response header from upstream${grpc}`,
      ),
    ).toMatchObject({
      kind: 'rejected',
      rootCause: 'upstream-error-response',
      peer: '127.0.0.1:50051',
    });
    expect(
      classify(
        `[error] 7#7: *5 upstream sent goaway with error 11 while reading response header from upstream${grpc}`,
      ),
    ).toMatchObject({ kind: 'rejected' });
    expect(
      classify(
        `[error] 7#7: *5 upstream sent no valid HTTP/2 header while reading response header from upstream${grpc}`,
      ),
    ).toMatchObject({ rootCause: 'upstream-invalid-response' });
    expect(
      classify(
        `[error] 7#7: *5 upstream sent invalid header: "x\\x00y" while reading response header from upstream${grpc}`,
      ),
    ).toMatchObject({ rootCause: 'upstream-invalid-response' });
  });

  it("reads the stream (TCP/UDP) proxy module's lines with their byte counters", () => {
    const failure = classify(
      '[error] 7#7: *12 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: 0.0.0.0:5432, upstream: "127.0.0.1:5433", bytes from/to client:0/0, bytes from/to upstream:0/0',
    );
    expect(failure).toMatchObject({ kind: 'refused', rootCause: 'upstream-down', peer: '127.0.0.1:5433' });
    expect(failure?.entry.context.server).toBe('0.0.0.0:5432');
    expect(
      classify(
        '[error] 7#7: *13 upstream timed out (110: Connection timed out) while connecting to upstream, client: 127.0.0.1, server: 0.0.0.0:5432, upstream: "10.0.0.9:5432", bytes from/to client:0/0, bytes from/to upstream:0/0',
      ),
    ).toMatchObject({ kind: 'connect-timeout', peer: '10.0.0.9:5432' });
  });

  it.each([
    [
      'Windows refused',
      '10061: No connection could be made because the target machine actively refused it',
      'connecting to upstream',
      'upstream-down',
    ],
    [
      'Windows timeout',
      '10060: A connection attempt failed because the connected party did not properly respond after a period of time, or established connection failed because connected host has failed to respond',
      'connecting to upstream',
      'upstream-connect-timeout',
    ],
    ['macOS refused', '61: Connection refused', 'connecting to upstream', 'upstream-down'],
    ['macOS timeout', '60: Operation timed out', 'connecting to upstream', 'upstream-connect-timeout'],
    ['macOS no route', '65: No route to host', 'connecting to upstream', 'upstream-unreachable'],
    [
      'FreeBSD network unreachable',
      '51: Network is unreachable',
      'connecting to upstream',
      'upstream-unreachable',
    ],
    [
      'macOS port exhaustion',
      "49: Can't assign requested address",
      'connecting to upstream',
      'resource-port-exhaustion',
    ],
    ['macOS fd', '24: Too many open files', 'connecting to upstream', 'resource-fd-exhausted'],
    [
      'macOS EAGAIN on a unix socket',
      '35: Resource temporarily unavailable',
      'connecting to upstream',
      'upstream-overloaded',
    ],
  ])('reads %s by its number', (_name, errno, action, rootCause) => {
    expect(classify(`[error] 7#7: *1 connect() failed (${errno}) while ${action}${CTX}`)).toMatchObject({
      rootCause,
    });
  });
});
