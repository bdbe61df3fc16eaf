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
    // EINTR, EBADF, ENOMEM, EINVAL: not connection or file outcomes
    for (const n of [0, 4, 9, 12, 22, -1, 1.5, 99999]) expect(errnoName(n)).toBeUndefined();
  });

  it('names ENOSPC and EDQUOT, which nginx reports writing its own temp, cache and body files', () => {
    expect(errnoName(28)).toBe('ENOSPC');
    expect(errnoName(122)).toBe('EDQUOT');
    expect(errnoName(69)).toBe('EDQUOT');
  });

  it('tells platform-dependent numbers apart by the wording beside them', () => {
    // Windows builds report Win32 codes for file operations; 112 is EHOSTDOWN on Linux
    expect(errnoName(112, '(112: There is not enough space on the disk)')).toBe('ENOSPC');
    expect(errnoName(112, '(112: Host is down)')).toBe('EHOSTDOWN');
    expect(errnoName(112)).toBe('EHOSTDOWN');
    expect(errnoName(5, '(5: Access is denied)')).toBe('EACCES');
    expect(errnoName(5)).toBeUndefined();
    // 35 is EAGAIN on macOS/BSD, EDEADLK on Linux
    expect(errnoName(35, '(35: Resource temporarily unavailable)')).toBe('EAGAIN');
    expect(errnoName(35, '(35: Resource deadlock avoided)')).toBeUndefined();
  });
});
