import { describe, expect, it } from 'vitest';
import { errnoName } from '../../../lambdas/core/nginx/errno.ts';

describe('errnoName', () => {
  // [name, Linux (glibc and musl), macOS/BSD, Windows (Winsock)]
  const table: [string, number, number, number | undefined][] = [
    ['ECONNREFUSED', 111, 61, 10061],
    ['ETIMEDOUT', 110, 60, 10060],
    ['ECONNRESET', 104, 54, 10054],
    ['EHOSTUNREACH', 113, 65, 10065],
    ['ENETUNREACH', 101, 51, 10051],
    ['EADDRNOTAVAIL', 99, 49, 10049],
    ['EAGAIN', 11, 35, 10035],
    ['ECONNABORTED', 103, 53, 10053],
    ['EINPROGRESS', 115, 36, 10036],
    ['EADDRINUSE', 98, 48, 10048],
    ['EHOSTDOWN', 112, 64, 10064],
    ['ENETDOWN', 100, 50, 10050],
    ['ENOBUFS', 105, 55, 10055],
    ['ENOTCONN', 107, 57, 10057],
    ['EACCES', 13, 13, 10013],
    ['EMFILE', 24, 24, 10024],
    ['ENOENT', 2, 2, undefined],
    ['ENFILE', 23, 23, undefined],
    ['EPIPE', 32, 32, undefined],
    ['EPERM', 1, 1, undefined],
  ];

  it.each(table)(
    'names %s from its Linux, macOS/BSD and Windows numbers alike',
    (name, linux, bsd, windows) => {
      expect(errnoName(linux)).toBe(name);
      expect(errnoName(bsd)).toBe(name);
      if (windows !== undefined) expect(errnoName(windows)).toBe(name);
    },
  );

  it('returns undefined for numbers nginx does not report around upstream connections', () => {
    // EINTR, EBADF, ENOMEM, EINVAL, ENOSPC: not connection outcomes
    for (const n of [0, 4, 9, 12, 22, -1, 1.5, 99999]) expect(errnoName(n)).toBeUndefined();
  });
});
