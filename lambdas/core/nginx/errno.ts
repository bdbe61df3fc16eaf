/**
 * Portable names for the errno numbers nginx writes in `(N: strerror)` around upstream connections.
 *
 * nginx prints the platform's raw number and the C library's wording: glibc says `Connection timed out`,
 * musl `Operation timed out`, macOS `Operation timed out` with 60 instead of 110, Windows builds use the
 * WSA numbers (10061 …). gatewatch classifies on the number, never the wording.
 *
 * One table serves every platform because the numbers do not collide in this context. A Linux number
 * that a macOS/BSD kernel also uses names there something a socket call never returns (macOS 11 EDEADLK,
 * 98 ENOSR, 99 ENOSTR, 101 ETIME, 103 ENOPOLICY, 104 ENOTRECOVERABLE, 105 EOWNERDEAD; FreeBSD 99
 * ENOTCAPABLE, 101 ENOTRECOVERABLE; 107-115 do not exist there), and a BSD number that Linux also uses
 * names a name-length, STREAMS or locking error that connect(), recv(), send(), socket() and SSL never
 * return on Linux (35 EDEADLK, 36 ENAMETOOLONG, 48 ELNRNG, 49 EUNATCH, 50 ENOCSI, 51 EL2HLT, 53 EBADR,
 * 54 EXFULL, 55 ENOANO, 57 EBADSLT, 60 ENOSTR, 61 ENODATA, 64 ENONET, 65 ENOPKG). The numbers common to
 * both families (1, 2, 13, 23, 24, 32) mean the same on both, and the Winsock numbers start at 10000.
 */
const ERRNO_NAMES: ReadonlyMap<number, string> = new Map([
  // Same number on Linux (glibc and musl), macOS and the BSDs.
  [1, 'EPERM'],
  [2, 'ENOENT'],
  [13, 'EACCES'],
  [23, 'ENFILE'],
  [24, 'EMFILE'],
  [28, 'ENOSPC'],
  [32, 'EPIPE'],
  // Linux
  [11, 'EAGAIN'],
  [98, 'EADDRINUSE'],
  [99, 'EADDRNOTAVAIL'],
  [100, 'ENETDOWN'],
  [101, 'ENETUNREACH'],
  [103, 'ECONNABORTED'],
  [104, 'ECONNRESET'],
  [105, 'ENOBUFS'],
  [107, 'ENOTCONN'],
  [110, 'ETIMEDOUT'],
  [111, 'ECONNREFUSED'],
  [112, 'EHOSTDOWN'],
  [113, 'EHOSTUNREACH'],
  [115, 'EINPROGRESS'],
  [122, 'EDQUOT'],
  // macOS, FreeBSD, OpenBSD, NetBSD
  [35, 'EAGAIN'],
  [36, 'EINPROGRESS'],
  [48, 'EADDRINUSE'],
  [49, 'EADDRNOTAVAIL'],
  [50, 'ENETDOWN'],
  [51, 'ENETUNREACH'],
  [53, 'ECONNABORTED'],
  [54, 'ECONNRESET'],
  [55, 'ENOBUFS'],
  [57, 'ENOTCONN'],
  [60, 'ETIMEDOUT'],
  [61, 'ECONNREFUSED'],
  [64, 'EHOSTDOWN'],
  [65, 'EHOSTUNREACH'],
  [69, 'EDQUOT'],
  // Windows builds of nginx report Winsock codes.
  [10013, 'EACCES'],
  [10024, 'EMFILE'],
  [10035, 'EAGAIN'],
  [10036, 'EINPROGRESS'],
  [10048, 'EADDRINUSE'],
  [10049, 'EADDRNOTAVAIL'],
  [10050, 'ENETDOWN'],
  [10051, 'ENETUNREACH'],
  [10053, 'ECONNABORTED'],
  [10054, 'ECONNRESET'],
  [10055, 'ENOBUFS'],
  [10057, 'ENOTCONN'],
  [10060, 'ETIMEDOUT'],
  [10061, 'ECONNREFUSED'],
  [10064, 'EHOSTDOWN'],
  [10065, 'EHOSTUNREACH'],
]);

/**
 * Numbers whose meaning depends on the platform, told apart by the wording next to them (the platform
 * hint). Windows builds of nginx report Win32 codes for file operations (5 ERROR_ACCESS_DENIED, 39
 * ERROR_HANDLE_DISK_FULL, 112 ERROR_DISK_FULL; 112 is EHOSTDOWN on Linux), and 35 is EAGAIN on macOS/BSD
 * but EDEADLK on Linux, which no socket call returns.
 */
const PLATFORM_HINTS: ReadonlyMap<number, readonly (readonly [RegExp, string | undefined])[]> = new Map([
  [5, [[/access is denied/i, 'EACCES']]],
  [39, [[/disk is full/i, 'ENOSPC']]],
  [
    112,
    [
      [/not enough space|disk is full/i, 'ENOSPC'],
      [/host is down/i, 'EHOSTDOWN'],
    ],
  ],
  [35, [[/deadlock/i, undefined]]],
]);

/**
 * The portable name (`ECONNREFUSED`) of an errno nginx reported around an upstream connection or one of
 * its own files, or `undefined` for a number outside that set. `text` (the `(N: strerror)` part) is the
 * platform hint for the few numbers that mean different things on different platforms.
 */
export function errnoName(errno: number, text?: string): string | undefined {
  const hints = PLATFORM_HINTS.get(errno);
  if (hints !== undefined && text !== undefined) {
    for (const [pattern, name] of hints) if (pattern.test(text)) return name;
  }
  return ERRNO_NAMES.get(errno);
}
