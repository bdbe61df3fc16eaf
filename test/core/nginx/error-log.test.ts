import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classifyUpstreamFailure,
  ErrorLogCollector,
  ErrorLogParseError,
  parseErrorLogLine,
} from '../../../lambdas/core/nginx/error-log.ts';
import type { UpstreamFailure } from '../../../lambdas/core/types.ts';
import { fixtureLines, linesWith, lineWith, NETNS_UTC_OFFSET_MINUTES } from './fixtures.ts';

const MAIN = 'real-error.log';
const NETNS = 'real-netns-error.log';
const PUBLIC = 'public-reports.error.log';

function classify(line: string, utcOffsetMinutes = 0): UpstreamFailure | undefined {
  return classifyUpstreamFailure(parseErrorLogLine(line, { utcOffsetMinutes }));
}

const LOCAL_PORT = /^127\.0\.0\.1:\d{2,5}$/;

describe('parseErrorLogLine', () => {
  it('splits a real upstream line into time, level, pid, connection, message and every context field', () => {
    const line = lineWith(MAIN, 'GET /fault/refused');
    const entry = parseErrorLogLine(line);
    expect(entry.level).toBe('error');
    expect(entry.pid).toBeGreaterThan(0);
    expect(entry.tid).toBe(entry.pid);
    expect(entry.connection).toBeGreaterThan(0);
    expect(entry.message).toBe('connect() failed (111: Connection refused) while connecting to upstream');
    expect(entry.context).toEqual({
      client: '127.0.0.1',
      server: 'gatewatch.test',
      request: 'GET /fault/refused?token=abc123 HTTP/1.1',
      upstream: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/fault\/refused\?token=abc123$/),
      host: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      referrer: 'https://user:pa55word@shop.example/cart',
    });
    expect(entry.raw).toBe(line);
    expect(entry.at).toBe(`${line.slice(0, 10).replaceAll('/', '-')}T${line.slice(11, 19)}.000Z`);
    expect(entry.epochMs).toBe(Date.parse(entry.at));
  });

  it('reads the local time nginx writes with the offset it was written in', () => {
    // the namespace instance ran with TZ=Asia/Kolkata: its access log says +05:30 for the same request
    const error = parseErrorLogLine(lineWith(NETNS, 'GET /fault/host-unreachable'), {
      utcOffsetMinutes: NETNS_UTC_OFFSET_MINUTES,
    });
    const access = lineWith('real-netns-access.gatewatch.log', 'GET /fault/host-unreachable').split('\t')[1]!;
    expect(access.endsWith('+05:30')).toBe(true);
    expect(Math.abs(error.epochMs - Date.parse(access))).toBeLessThanOrEqual(1000);
    expect(error.at.endsWith('Z')).toBe(true);
  });

  it('keeps commas, quotes and escaped bytes of the message out of the context', () => {
    const entry = parseErrorLogLine(lineWith(MAIN, 'upstream sent invalid header'));
    expect(entry.message).toBe(
      'upstream sent invalid header: "X-Bad\\x00..." while reading response header from upstream',
    );
    expect(entry.context.request).toBe('GET /fault/invalid-header HTTP/1.1');
    const windows = parseErrorLogLine(lineWith(PUBLIC, '10060'));
    expect(windows.message).toContain('after a period of time, or established connection failed');
    expect(windows.context.client).toBe('127.0.0.1');
    expect(windows.context.server).toBe('');
  });

  it('reads lines without a connection number or context', () => {
    const accept = parseErrorLogLine(lineWith(NETNS, 'accept4() failed'));
    expect(accept.connection).toBeUndefined();
    expect(accept.context).toEqual({});
    expect(accept.level).toBe('crit');
    const resolver = parseErrorLogLine(lineWith(MAIN, 'while resolving'));
    expect(resolver.connection).toBeUndefined();
    expect(resolver.message).toMatch(
      /^recv\(\) failed \(111: Connection refused\) while resolving, resolver: /,
    );
    const reload = parseErrorLogLine(lineWith(MAIN, 'host not found in upstream'));
    expect(reload.level).toBe('emerg');
    expect(reload.context).toEqual({});
  });

  it('reads the stream module context with its byte counters', () => {
    const entry = parseErrorLogLine(lineWith(PUBLIC, '113: No route to host'));
    expect(entry.context).toEqual({
      client: '172.21.0.1',
      server: '0.0.0.0:443',
      upstream: '172.21.0.2:9090',
    });
    expect(entry.message).toBe('connect() failed (113: No route to host) while connecting to upstream');
  });

  it('does not start the context at a ", client: " quoted inside the message', () => {
    // derived from the real refused line: the upstream's own stderr text quoted in the message
    const real = lineWith(MAIN, 'GET /fault/refused');
    const line = real.replace(
      'connect() failed (111: Connection refused)',
      'FastCGI sent in stderr: "PHP message: oops, client: 10.9.8.7 gave up"',
    );
    const entry = parseErrorLogLine(line);
    expect(entry.message).toBe(
      'FastCGI sent in stderr: "PHP message: oops, client: 10.9.8.7 gave up" while connecting to upstream',
    );
    expect(entry.context.client).toBe('127.0.0.1');
  });

  it('accepts the line with its newline or CRLF', () => {
    const line = lineWith(MAIN, 'GET /fault/refused');
    expect(parseErrorLogLine(`${line}\r\n`)).toEqual(parseErrorLogLine(line));
  });

  it.each([
    ['an empty line', ''],
    ['what nginx prints on stderr before its error log is open', lineWith(PUBLIC, 'nginx: [emerg]')],
    ['an access-log line', fixtureLines('real-access.combined.log')[0]!],
    ['an unknown level', '2026/11/24 05:11:48 [fatal] 12#12: *1 connect() failed (111: x)'],
    ['month 13', '2026/13/24 05:11:48 [error] 12#12: *1 connect() failed (111: x)'],
    ['the 30th of February', '2026/02/30 05:11:48 [error] 12#12: x'],
    ['hour 24', '2026/11/24 24:11:48 [error] 12#12: x'],
    ['a year before nginx existed', '1969/12/31 23:59:59 [error] 12#12: x'],
    ['a missing pid', '2026/11/24 05:11:48 [error] #12: x'],
    ['a kernel log line', '[12345.678901] Out of memory: Killed process 4242 (node)'],
  ])('throws ErrorLogParseError on %s', (_name, line) => {
    expect(() => parseErrorLogLine(line)).toThrow(ErrorLogParseError);
  });

  it('either parses any string or throws ErrorLogParseError, never another error', () => {
    const header = fc
      .tuple(
        fc.integer({ min: 1950, max: 2100 }),
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.constantFrom('error', 'warn', 'crit', 'info', 'bogus'),
        fc.nat(),
        fc.option(fc.nat(), { nil: undefined }),
      )
      .map(
        ([y, mo, d, h, level, pid, conn]) =>
          `${y}/${String(mo).padStart(2, '0')}/${String(d).padStart(2, '0')} ${String(h).padStart(2, '0')}:00:00 [${level}] ${pid}#${pid}: ${conn === undefined ? '' : `*${conn} `}`,
      );
    const tail = fc.array(
      fc.oneof(
        fc.string(),
        fc.constantFrom(
          ', client: ',
          ', server: ',
          ', request: "',
          '", upstream: "',
          '", host: "',
          '"',
          ' while ',
        ),
      ),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.tuple(header, tail).map(([h, t]) => h + t.join('')),
        ),
        (line) => {
          try {
            const entry = parseErrorLogLine(line);
            expect(typeof entry.message).toBe('string');
            classifyUpstreamFailure(entry);
          } catch (error) {
            expect(error).toBeInstanceOf(ErrorLogParseError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('classifyUpstreamFailure on lines from a real nginx', () => {
  interface Row {
    fault: string;
    file: string;
    find: string[];
    kind: UpstreamFailure['kind'];
    rootCause: UpstreamFailure['rootCause'];
    errnoName?: string;
    action?: string;
    peer?: RegExp | string;
    scheme?: string;
  }
  const rows: Row[] = [
    {
      fault: 'nothing listening',
      file: MAIN,
      find: ['GET /fault/refused'],
      kind: 'refused',
      rootCause: 'upstream-down',
      errnoName: 'ECONNREFUSED',
      action: 'connecting to upstream',
      peer: LOCAL_PORT,
      scheme: 'http',
    },
    {
      fault: 'an upstream slower than proxy_read_timeout',
      file: MAIN,
      find: ['GET /fault/read-timeout'],
      kind: 'read-timeout',
      rootCause: 'upstream-timeout',
      errnoName: 'ETIMEDOUT',
      action: 'reading response header from upstream',
      peer: LOCAL_PORT,
    },
    {
      fault: 'a body that stalls',
      file: MAIN,
      find: ['GET /fault/body-timeout'],
      kind: 'read-timeout',
      rootCause: 'upstream-timeout',
      errnoName: 'ETIMEDOUT',
      action: 'reading upstream',
    },
    {
      fault: 'a request body the upstream never reads',
      file: MAIN,
      find: ['POST /fault/send-timeout', 'timed out'],
      kind: 'send-timeout',
      rootCause: 'upstream-timeout',
      errnoName: 'ETIMEDOUT',
      action: 'sending request to upstream',
    },
    {
      fault: 'a socket closed before the header',
      file: MAIN,
      find: ['GET /fault/close-head'],
      kind: 'closed-early',
      rootCause: 'upstream-closed-early',
      action: 'reading response header from upstream',
    },
    {
      fault: 'a socket closed mid-body',
      file: MAIN,
      find: ['GET /fault/close-body'],
      kind: 'closed-early',
      rootCause: 'upstream-closed-early',
      action: 'reading upstream',
    },
    {
      fault: 'a reset before the header',
      file: MAIN,
      find: ['GET /fault/reset-head'],
      kind: 'closed-early',
      rootCause: 'upstream-closed-early',
      errnoName: 'ECONNRESET',
    },
    {
      fault: 'a reset mid-body (readv)',
      file: MAIN,
      find: ['GET /fault/reset-body'],
      kind: 'closed-early',
      rootCause: 'upstream-closed-early',
      errnoName: 'ECONNRESET',
      action: 'reading upstream',
    },
    {
      fault: 'a reset while the request body is sent',
      file: MAIN,
      find: ['POST /fault/send-reset', '[error]'],
      kind: 'closed-early',
      rootCause: 'upstream-closed-early',
      errnoName: 'ECONNRESET',
    },
    {
      fault: 'garbage instead of HTTP',
      file: MAIN,
      find: ['GET /fault/garbage'],
      kind: 'invalid-response',
      rootCause: 'upstream-invalid-response',
    },
    {
      fault: 'a header with a NUL byte',
      file: MAIN,
      find: ['GET /fault/invalid-header'],
      kind: 'invalid-response',
      rootCause: 'upstream-invalid-response',
    },
    {
      fault: 'a bad status line',
      file: MAIN,
      find: ['GET /fault/invalid-status'],
      kind: 'invalid-response',
      rootCause: 'upstream-invalid-response',
    },
    {
      fault: 'a broken chunked body',
      file: MAIN,
      find: ['GET /fault/invalid-chunked'],
      kind: 'invalid-response',
      rootCause: 'upstream-invalid-response',
    },
    // nginx 1.22 reads Content-Length + Transfer-Encoding as a chunked body (1.23 says "duplicate header line")
    {
      fault: 'conflicting length headers',
      file: MAIN,
      find: ['GET /fault/duplicate-header'],
      kind: 'invalid-response',
      rootCause: 'upstream-invalid-response',
    },
    {
      fault: 'a 64 KiB header',
      file: MAIN,
      find: ['GET /fault/big-header'],
      kind: 'header-too-big',
      rootCause: 'upstream-header-too-big',
      peer: LOCAL_PORT,
    },
    {
      fault: 'HTTP answered to fastcgi_pass',
      file: MAIN,
      find: ['GET /fault/fastcgi-http'],
      kind: 'invalid-response',
      rootCause: 'upstream-invalid-response',
      scheme: 'fastcgi',
      peer: LOCAL_PORT,
    },
    {
      fault: 'an unexpected FastCGI record',
      file: MAIN,
      find: ['GET /fault/fastcgi-record'],
      kind: 'invalid-response',
      rootCause: 'upstream-invalid-response',
      scheme: 'fastcgi',
    },
    {
      fault: 'https:// to a plain HTTP server',
      file: MAIN,
      find: ['GET /fault/tls-plain'],
      kind: 'tls',
      rootCause: 'upstream-tls',
      action: 'SSL handshaking to upstream',
      scheme: 'https',
    },
    {
      fault: 'a server that drops the handshake',
      file: MAIN,
      find: ['GET /fault/tls-close'],
      kind: 'tls',
      rootCause: 'upstream-tls',
    },
    {
      fault: 'an untrusted certificate',
      file: MAIN,
      find: ['GET /fault/tls-untrusted'],
      kind: 'tls',
      rootCause: 'upstream-tls',
    },
    {
      fault: 'a certificate for another name',
      file: MAIN,
      find: ['GET /fault/tls-name'],
      kind: 'tls',
      rootCause: 'upstream-tls',
    },
    {
      fault: 'a missing unix socket',
      file: MAIN,
      find: ['GET /fault/unix-missing'],
      kind: 'socket-missing',
      rootCause: 'unix-socket-missing',
      errnoName: 'ENOENT',
      peer: /^unix:\/tmp\/.+\/sock\/missing\.sock$/,
    },
    {
      fault: 'a root-only unix socket',
      file: MAIN,
      find: ['GET /fault/unix-permission'],
      kind: 'socket-permission',
      rootCause: 'unix-socket-permission',
      errnoName: 'EACCES',
      peer: /^unix:\/tmp\/.+\/sock\/root-only\.sock$/,
    },
    {
      fault: 'a unix socket whose backlog is full',
      file: MAIN,
      find: ['GET /fault/unix-full', '(11: '],
      kind: 'overloaded',
      rootCause: 'upstream-overloaded',
      errnoName: 'EAGAIN',
      peer: /^unix:\/tmp\/.+\/sock\/full\.sock$/,
    },
    {
      fault: 'a full unix socket that then timed out',
      file: MAIN,
      find: ['GET /fault/unix-full', 'timed out'],
      kind: 'read-timeout',
      rootCause: 'upstream-timeout',
      errnoName: 'ETIMEDOUT',
      peer: /^unix:\/tmp\/.+\/sock\/full\.sock$/,
    },
    {
      fault: 'an NXDOMAIN answer',
      file: MAIN,
      find: ['GET /fault/dns-nxdomain'],
      kind: 'dns',
      rootCause: 'upstream-dns',
      peer: 'nxdomain.gatewatch.invalid',
    },
    {
      fault: 'a resolver that does not answer',
      file: MAIN,
      find: ['GET /fault/dns-timeout'],
      kind: 'dns',
      rootCause: 'upstream-dns',
      peer: 'timeout.gatewatch.invalid',
    },
    {
      fault: 'the resolver refusing',
      file: MAIN,
      find: ['while resolving'],
      kind: 'dns',
      rootCause: 'upstream-dns',
      errnoName: 'ECONNREFUSED',
      action: 'resolving',
    },
    {
      fault: 'no resolver directive',
      file: MAIN,
      find: ['GET /fault/dns-no-resolver'],
      kind: 'dns',
      rootCause: 'upstream-dns',
      peer: 'noresolver.gatewatch.invalid',
    },
    {
      fault: 'a reload with an unresolvable upstream',
      file: MAIN,
      find: ['host not found in upstream'],
      kind: 'dns',
      rootCause: 'upstream-dns',
      peer: 'hostnotfound.gatewatch.invalid',
    },
    {
      fault: 'packets dropped by the firewall',
      file: NETNS,
      find: ['GET /fault/connect-timeout'],
      kind: 'connect-timeout',
      rootCause: 'upstream-connect-timeout',
      errnoName: 'ETIMEDOUT',
      peer: '127.0.0.1:9',
    },
    {
      fault: 'an unreachable route',
      file: NETNS,
      find: ['GET /fault/host-unreachable'],
      kind: 'unreachable',
      rootCause: 'upstream-unreachable',
      errnoName: 'EHOSTUNREACH',
      peer: '10.201.0.5:80',
    },
    {
      fault: 'no route at all',
      file: NETNS,
      find: ['GET /fault/net-unreachable'],
      kind: 'unreachable',
      rootCause: 'upstream-unreachable',
      errnoName: 'ENETUNREACH',
      peer: '10.202.0.5:80',
    },
    {
      fault: 'a worker out of descriptors (socket)',
      file: NETNS,
      find: ['socket() failed (24'],
      kind: 'fd-exhausted',
      rootCause: 'resource-fd-exhausted',
      errnoName: 'EMFILE',
      peer: '127.0.0.1:8081',
    },
    {
      fault: 'a worker out of descriptors (accept4)',
      file: NETNS,
      find: ['accept4() failed (24'],
      kind: 'fd-exhausted',
      rootCause: 'resource-fd-exhausted',
      errnoName: 'EMFILE',
    },
    {
      fault: 'two free local ports',
      file: NETNS,
      find: ['(99: '],
      kind: 'port-exhaustion',
      rootCause: 'resource-port-exhaustion',
      errnoName: 'EADDRNOTAVAIL',
      peer: '127.0.0.1:8081',
    },
  ];

  it.each(rows)('classifies $fault as $kind / $rootCause', (row) => {
    const failure = classify(
      lineWith(row.file, ...row.find),
      row.file === NETNS ? NETNS_UTC_OFFSET_MINUTES : 0,
    );
    expect(failure).toBeDefined();
    expect(failure!.kind).toBe(row.kind);
    expect(failure!.rootCause).toBe(row.rootCause);
    expect(failure!.symptom).toBe(false);
    if (row.errnoName !== undefined) expect(failure!.errnoName).toBe(row.errnoName);
    else if (row.kind !== 'dns') expect(failure!.errnoName).toBeUndefined();
    if (row.action !== undefined) expect(failure!.action).toBe(row.action);
    if (row.peer instanceof RegExp) expect(failure!.peer).toMatch(row.peer);
    else if (row.peer !== undefined) expect(failure!.peer).toBe(row.peer);
    if (row.scheme !== undefined) expect(failure!.scheme).toBe(row.scheme);
  });

  it('keeps the resolver code of "could not be resolved (3: Host not found)" out of the errno fields', () => {
    const failure = classify(lineWith(MAIN, 'could not be resolved (3: Host not found)'))!;
    expect(failure.errno).toBeUndefined();
    expect(failure.errnoName).toBeUndefined();
  });

  it('reports "no live upstreams" as a symptom naming the upstream group', () => {
    const failure = classify(lineWith(MAIN, 'no live upstreams'))!;
    expect(failure).toMatchObject({
      kind: 'no-live-upstreams',
      rootCause: 'no-live-upstreams',
      symptom: true,
    });
    expect(failure.peer).toBe('alldown');
  });

  it('reports "upstream server temporarily disabled" [warn] as a symptom on the disabled server', () => {
    const failure = classify(lineWith(MAIN, 'temporarily disabled'))!;
    expect(failure.entry.level).toBe('warn');
    expect(failure).toMatchObject({ kind: 'server-disabled', symptom: true });
    expect(failure.peer).toMatch(LOCAL_PORT);
  });

  it('returns undefined for lines that are not about upstreams', () => {
    expect(classify(lineWith(MAIN, 'open() "'))).toBeUndefined();
    for (const line of linesWith(MAIN, 'a client request body is buffered'))
      expect(classify(line)).toBeUndefined();
  });

  it('classifies every fault the fixture run injected into the error log', () => {
    // every request of the main instance that failed with 502/504 left a classified error line
    const failing = new Set(
      fixtureLines('real-access.gatewatch.log')
        .map((l) => l.split('\t'))
        .filter((f) => f[2] === '502' || f[2] === '504')
        .map((f) => f[11]!.split(' ')[1]!.split('?')[0]!),
    );
    // an upstream's own 502/504 leaves no error line: only $upstream_status shows it (access-log tests)
    failing.delete('/fault/app-502');
    failing.delete('/fault/app-504');
    for (const path of failing) {
      const classified = linesWith(MAIN, ` ${path}`)
        .map((l) => classify(l))
        .filter((f) => f !== undefined);
      expect(classified.length, path).toBeGreaterThan(0);
    }
  });

  it('classifies by the errno number, whatever the C library calls it', () => {
    // the real lines with their strerror text replaced: musl, macOS and Windows word them differently
    for (const line of [...fixtureLines(MAIN), ...fixtureLines(NETNS)]) {
      if (!/\(\d+: [^)]*\)/.test(line)) continue;
      const reworded = line.replace(/\((\d+): [^)]*\)/, '($1: some other wording)');
      const a = classify(line);
      const b = classify(reworded);
      expect(b?.kind, line).toBe(a?.kind);
      expect(b?.rootCause, line).toBe(a?.rootCause);
      expect(b?.errnoName, line).toBe(a?.errnoName);
    }
  });

  it('classifies the macOS/BSD numbers as the Linux ones', () => {
    // the real Linux lines with the errno number a BSD kernel reports for the same error
    const bsd: Record<string, string> = {
      '111': '61',
      '110': '60',
      '104': '54',
      '113': '65',
      '101': '51',
      '99': '49',
      '11': '35',
    };
    let checked = 0;
    for (const line of [...fixtureLines(MAIN), ...fixtureLines(NETNS)]) {
      const n = /\((\d+): /.exec(line)?.[1];
      if (n === undefined || bsd[n] === undefined || line.includes('could not be resolved')) continue;
      const a = classify(line)!;
      const b = classify(line.replace(`(${n}: `, `(${bsd[n]}: `))!;
      expect([b.kind, b.rootCause, b.errnoName], line).toEqual([a.kind, a.rootCause, a.errnoName]);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });
});

describe('classifyUpstreamFailure on lines quoted in public bug reports', () => {
  const rows: [
    string,
    string[],
    UpstreamFailure['kind'] | undefined,
    UpstreamFailure['rootCause'] | undefined,
    string?,
  ][] = [
    [
      'ingress-nginx: prematurely closed',
      ['*94 upstream prematurely closed'],
      'closed-early',
      'upstream-closed-early',
      '10.244.3.84:5601',
    ],
    [
      'gunicorn socket not writable by the worker',
      ['gunicorn.sock failed (13'],
      'socket-permission',
      'unix-socket-permission',
      'unix:/home/ali/fastapi-nginx-gunicorn/run/gunicorn.sock',
    ],
    [
      'docker.sock not writable by the worker',
      ['docker.sock failed (13'],
      'socket-permission',
      'unix-socket-permission',
      'unix:/var/run/docker.sock',
    ],
    [
      'SELinux denying a TCP connect',
      ['127.0.0.1:3000 failed (13'],
      'tcp-permission',
      'host-policy-denied',
      '127.0.0.1:3000',
    ],
    [
      'too big header from php-fpm on macOS',
      ['valet.sock:", host: "website.test"'],
      'header-too-big',
      'upstream-header-too-big',
      'unix:/Users/constantsolutions/.config/valet/valet.sock',
    ],
    [
      'too big header from a Java upstream',
      ['hipChat', 'too big header'],
      'header-too-big',
      'upstream-header-too-big',
      '127.0.0.1:8080',
    ],
    ['a TLS alert from the upstream', ['SSL alert number 80'], 'tls', 'upstream-tls'],
    ['a grpcs handshake failure', ['grpcs://10.244.1.7:9090'], 'tls', 'upstream-tls', '10.244.1.7:9090'],
    ['SNI not recognised by the upstream', ['unrecognized name'], 'tls', 'upstream-tls', '209.38.212.82:443'],
    [
      'a reset during the TLS handshake (104 is not "closed early" here)',
      ['peer closed connection in SSL handshake'],
      'tls',
      'upstream-tls',
    ],
    [
      'a read timeout over https',
      ['*3887 upstream timed out'],
      'read-timeout',
      'upstream-timeout',
      '195.201.11.86:8443',
    ],
    [
      'a duplicate Transfer-Encoding (502)',
      ['"Transfer-Encoding: chunked", previous'],
      'invalid-response',
      'upstream-invalid-response',
    ],
    [
      'a duplicate Date that nginx ignored (not a failure)',
      ['"Date: Mon, 06 Apr 2026'],
      undefined,
      undefined,
    ],
    [
      'an unexpected FastCGI record',
      ['unexpected FastCGI record: 3'],
      'invalid-response',
      'upstream-invalid-response',
      '127.0.0.1:9000',
    ],
    ['a stream proxy refused', ['*69 connect() failed (111'], 'refused', 'upstream-down', '172.21.0.2:443'],
    [
      'a stream proxy without a route',
      ['113: No route to host'],
      'unreachable',
      'upstream-unreachable',
      '172.21.0.2:9090',
    ],
    ['Windows: WSAECONNREFUSED', ['(10061: '], 'refused', 'upstream-down', '127.0.0.1:9000'],
    ['Windows: a missing static file', ['CreateFile()'], undefined, undefined],
    [
      'Windows: WSAETIMEDOUT while connecting',
      ['(10060: '],
      'connect-timeout',
      'upstream-connect-timeout',
      '127.0.0.1:9000',
    ],
    [
      'socket() out of descriptors',
      ['socket() failed (24'],
      'fd-exhausted',
      'resource-fd-exhausted',
      '172.19.0.5:80',
    ],
    ['accept4() out of descriptors', ['42#42: accept4() failed'], 'fd-exhausted', 'resource-fd-exhausted'],
    [
      'musl: "No file descriptors available"',
      ['No file descriptors available'],
      'fd-exhausted',
      'resource-fd-exhausted',
    ],
    [
      'local ports exhausted',
      ['Cannot assign requested address'],
      'port-exhaustion',
      'resource-port-exhaustion',
    ],
    [
      'musl: an IPv6 upstream on a host without IPv6',
      ['(99: Address not available)'],
      'unreachable',
      'upstream-unreachable',
      '[::1]:8080',
    ],
    [
      'an IPv6 upstream without a route',
      ['(101: Network is unreachable)'],
      'unreachable',
      'upstream-unreachable',
      '[2606:4700:3030::681c:31a]:8080',
    ],
    [
      'Docker DNS without the host name',
      ['host.docker.internal could not be resolved'],
      'dns',
      'upstream-dns',
      'host.docker.internal',
    ],
    [
      'a container that is not up when nginx starts',
      ['[emerg] 1#1: host not found in upstream'],
      'dns',
      'upstream-dns',
      'pipedfrontend:80',
    ],
    ['Kong refused over HTTP/2', ['10.1.186.173:8000'], 'refused', 'upstream-down', '10.1.186.173:8000'],
    ['a port already taken at start (not an upstream)', ['bind() to [::]:80'], undefined, undefined],
    [
      'a reset from an upstream (IPv4-mapped client)',
      ['::ffff:41.43.9.21'],
      'closed-early',
      'upstream-closed-early',
      '85.10.200.69:8080',
    ],
    [
      'macOS: a missing Valet socket',
      ['my_user_name/.valet/valet.sock failed (2'],
      'socket-missing',
      'unix-socket-missing',
      'unix:/Users/my_user_name/.valet/valet.sock',
    ],
    [
      'macOS: kevent() reporting a refused connect',
      ['kevent() reported that connect() failed (61'],
      'refused',
      'upstream-down',
      '127.0.0.1:9000',
    ],
    [
      'macOS: a connect timeout (60)',
      ['(60: Operation timed out)'],
      'connect-timeout',
      'upstream-connect-timeout',
      '10.7.18.211:3001',
    ],
    [
      'macOS: kevent() reporting a reset (54)',
      ['(54: Connection reset by peer)'],
      'closed-early',
      'upstream-closed-early',
      '127.0.0.1:9000',
    ],
  ];

  it.each(rows)('%s', (_name, find, kind, rootCause, peer) => {
    const failure = classify(lineWith(PUBLIC, ...find));
    expect(failure?.kind).toBe(kind);
    expect(failure?.rootCause).toBe(rootCause);
    if (peer !== undefined) expect(failure?.peer).toBe(peer);
  });

  it('parses every dated line of the public fixture', () => {
    for (const line of fixtureLines(PUBLIC)) {
      if (line.startsWith('nginx: ')) continue;
      expect(() => parseErrorLogLine(line), line).not.toThrow();
    }
  });
});

describe('ErrorLogCollector', () => {
  const wide = { fromMs: 0, toMs: Date.UTC(2100, 0, 1) };
  const mainLines = fixtureLines(MAIN);

  function collect(
    lines: string[],
    options: Partial<ConstructorParameters<typeof ErrorLogCollector>[0]> = {},
  ) {
    const collector = new ErrorLogCollector({ ...wide, ...options });
    for (const line of lines) collector.push(line);
    return collector.summary();
  }

  it('counts every line of a real error log and keeps its upstream failures in log order', () => {
    const summary = collect(mainLines);
    const notUpstream = mainLines.filter(
      (l) => l.includes('open() "') || l.includes('request body is buffered'),
    );
    expect(summary.linesRead).toBe(mainLines.length);
    expect(summary.malformed).toBe(0);
    expect(summary.outsideWindow).toBe(0);
    expect(summary.inWindow).toBe(mainLines.length);
    expect(summary.notUpstream).toBe(notUpstream.length);
    expect(summary.upstreamFailures).toBe(mainLines.length - notUpstream.length);
    expect(summary.failures.map((f) => f.entry.raw)).toEqual(
      mainLines.filter((l) => !notUpstream.includes(l)),
    );
  });

  it('counts lines outside the window without keeping them', () => {
    const from = parseErrorLogLine(lineWith(MAIN, 'GET /fault/read-timeout')).epochMs;
    const to = parseErrorLogLine(lineWith(MAIN, 'GET /fault/dns-nxdomain')).epochMs;
    const summary = collect(mainLines, { fromMs: from, toMs: to });
    const inside = mainLines.filter((l) => {
      const t = parseErrorLogLine(l).epochMs;
      return t >= from && t <= to;
    });
    expect(summary.inWindow).toBe(inside.length);
    expect(summary.outsideWindow).toBe(mainLines.length - inside.length);
    expect(summary.outsideWindow).toBeGreaterThan(0);
    for (const f of summary.failures) expect(f.entry.epochMs).toBeGreaterThanOrEqual(from);
  });

  it('counts lines that are not error-log lines as malformed and never throws on them', () => {
    const junk = [
      'nginx: [emerg] host not found in upstream "x"',
      'Killed process 4242 (node)',
      '\u0000\u0001',
      '{"json":1}',
    ];
    const summary = collect([...junk, ...mainLines.slice(0, 3), '', '   ']);
    expect(summary.malformed).toBe(junk.length);
    expect(summary.linesRead).toBe(junk.length + 3);
  });

  it('keeps only the newest failures past maxKept', () => {
    const summary = collect(mainLines, { maxKept: 3 });
    const all = collect(mainLines).failures;
    expect(summary.failures.map((f) => f.entry.raw)).toEqual(all.slice(-3).map((f) => f.entry.raw));
    expect(summary.upstreamFailures).toBe(all.length);
  });

  it('groups failures by peer and kind, most frequent first, newest as the example', () => {
    const summary = collect(mainLines);
    const counts = summary.groups.map((g) => g.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    const overloaded = summary.groups.find((g) => g.kind === 'overloaded')!;
    expect(overloaded.count).toBe(linesWith(MAIN, '(11: ').length);
    expect(overloaded.peer).toMatch(/^unix:.+full\.sock$/);
    expect(overloaded.example.entry.raw).toBe(linesWith(MAIN, '(11: ').at(-1));
    expect(Date.parse(overloaded.firstAt)).toBeLessThanOrEqual(Date.parse(overloaded.lastAt));
    expect(summary.groups.reduce((n, g) => n + g.count, 0)).toBe(summary.upstreamFailures);
  });

  it('maps a unix peer printed without its ":" separator onto the socket seen in connect()', () => {
    const summary = collect(mainLines);
    const timedOut = summary.failures.find((f) => f.kind === 'read-timeout' && f.peer?.startsWith('unix:'));
    const overloaded = summary.failures.find((f) => f.kind === 'overloaded');
    expect(timedOut?.peer).toBe(overloaded?.peer);
  });

  it('ties "upstream server temporarily disabled" to the failure on the same connection and peer', () => {
    const summary = collect(mainLines);
    const disabled = summary.symptoms.filter((s) => s.symptom.kind === 'server-disabled');
    expect(disabled).toHaveLength(2);
    for (const link of disabled) {
      expect(link.linkedBy).toBe('connection');
      expect(link.causes.map((c) => [c.kind, c.peer])).toEqual([['refused', link.symptom.peer]]);
      expect(link.causes[0]!.entry.connection).toBe(link.symptom.entry.connection);
    }
  });

  it('ties "no live upstreams" to the failures behind the servers the worker disabled', () => {
    const summary = collect(mainLines);
    const links = summary.symptoms.filter((s) => s.symptom.kind === 'no-live-upstreams');
    expect(links.length).toBe(linesWith(MAIN, 'no live upstreams').length);
    const disabledPeers = summary.symptoms
      .filter((s) => s.symptom.kind === 'server-disabled')
      .map((s) => s.symptom.peer);
    for (const link of links) {
      expect(link.group).toBe('alldown');
      expect(link.linkedBy).toBe('disabled-servers');
      expect(link.causes.map((c) => c.kind)).toEqual(['refused', 'refused']);
      expect(link.causes.map((c) => c.peer).sort()).toEqual([...disabledPeers].sort());
    }
  });

  it("falls back to the worker's recent failures when [warn] lines are not logged", () => {
    // error_log's default level is "error": the same log without its [warn] lines
    const summary = collect(mainLines.filter((l) => !l.includes('[warn]')));
    const link = summary.symptoms.find((s) => s.symptom.kind === 'no-live-upstreams')!;
    expect(link.linkedBy).toBe('recent-failures');
    const allDownPeers = linesWith(MAIN, 'GET /fault/all-down', 'connect() failed').map(
      (l) => classify(l)!.peer,
    );
    for (const peer of allDownPeers) expect(link.causes.map((c) => c.peer)).toContain(peer);
  });

  it('ties a symptom quoted in a public report to the closed connection before it', () => {
    const lines = linesWith(PUBLIC, '*380 ');
    const summary = collect(lines);
    expect(summary.symptoms).toHaveLength(1);
    expect(summary.symptoms[0]!.causes.map((c) => c.kind)).toEqual(['closed-early']);
  });

  it('links nothing when no failure came before the symptom', () => {
    const summary = collect([lineWith(MAIN, 'no live upstreams')]);
    expect(summary.symptoms[0]!.linkedBy).toBe('none');
    expect(summary.symptoms[0]!.causes).toEqual([]);
  });

  it('stays bounded on a huge log with endless distinct peers and connections', () => {
    const template = lineWith(MAIN, 'GET /fault/dns-nxdomain');
    const collector = new ErrorLogCollector({ ...wide, maxKept: 100 });
    for (let i = 0; i < 30_000; i++) {
      collector.push(
        template.replace('nxdomain.gatewatch.invalid', `host-${i}.invalid`).replace(/\*\d+ /, `*${i} `),
      );
    }
    const summary = collector.summary();
    expect(summary.upstreamFailures).toBe(30_000);
    expect(summary.failures).toHaveLength(100);
    expect(summary.groups.length).toBeLessThanOrEqual(1000);
    expect(summary.failures.at(-1)!.peer).toBe('host-29999.invalid');
  });

  it('keeps its counts consistent for any mix of lines', () => {
    const real = [...mainLines, ...fixtureLines(PUBLIC)];
    const line = fc.oneof(fc.constantFrom(...real), fc.string(), fc.constant(''));
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 60 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 2 ** 42 }),
        fc.integer({ min: 0, max: 2 ** 42 }),
        (lines, maxKept, a, b) => {
          const summary = collect(lines, { fromMs: Math.min(a, b), toMs: Math.max(a, b), maxKept });
          expect(summary.linesRead).toBe(lines.filter((l) => l.trim() !== '').length);
          expect(summary.linesRead).toBe(summary.malformed + summary.outsideWindow + summary.inWindow);
          expect(summary.inWindow).toBe(summary.upstreamFailures + summary.notUpstream);
          expect(summary.failures.length).toBe(Math.min(summary.upstreamFailures, maxKept));
          expect(summary.groups.reduce((n, g) => n + g.count, 0)).toBe(summary.upstreamFailures);
        },
      ),
      { numRuns: 300 },
    );
  });
});
