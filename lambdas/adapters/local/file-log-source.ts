import { type FileHandle, open, stat } from 'node:fs/promises';
import { LogUnavailableError } from '../../core/nginx/coverage.ts';
import type { LogDescription, LogReadRequest, LogSource } from '../../ports.ts';

/** Options of {@link FileLogSource}. */
export interface FileLogSourceOptions {
  /** Bytes per read. @default 1 MiB */
  chunkBytes?: number;
  /** Files at least this large are searched for the window's start instead of read from byte 0. @default 4 MiB */
  seekFromBytes?: number;
}

// Lines of one log are written in time order only roughly (workers interleave, a rotation may reorder):
// seeking aims this much before the window and stops this much after it.
const SLACK_MS = 5 * 60_000;
// How far a probe reads from a seek point to find a line with a time.
const PROBE_BYTES = 64 * 1024;
const NL = 10;

/**
 * Reads nginx log files. When the previous generation (`access.log.1`, as logrotate leaves it) exists and
 * is newer than the window's start, it is read first so a window that spans a rotation loses nothing.
 *
 * Work is proportional to the window, not the file: when the request says how to read a line's time, a
 * large file is binary-searched over byte offsets for the window's start (reading one line at each seek
 * point) and reading stops once lines are past the window's end. Memory is one chunk at a time.
 */
export class FileLogSource implements LogSource {
  readonly #chunkBytes: number;
  readonly #seekFromBytes: number;
  /** Bytes read from files so far (instrumentation: tests prove seeking with it). */
  bytesRead = 0;

  constructor(options: FileLogSourceOptions = {}) {
    this.#chunkBytes = options.chunkBytes ?? 1 << 20;
    this.#seekFromBytes = options.seekFromBytes ?? 4 << 20;
  }

  async *chunks(request: LogReadRequest): AsyncIterable<Uint8Array> {
    // Open the current file first: a missing or unreadable log is reported as such, rotation or not.
    const current = await openLog(request.log);
    try {
      const previous = `${request.log}.1`;
      const previousStat = await stat(previous).catch(() => undefined);
      if (previousStat?.isFile() && previousStat.mtimeMs >= request.fromMs) {
        const handle = await openLog(previous).catch(() => undefined);
        if (handle) {
          try {
            yield* this.#read(handle, request);
          } finally {
            await handle.close();
          }
          yield new Uint8Array([NL]);
        }
      }
      yield* this.#read(current, request);
    } finally {
      await current.close();
    }
  }

  async describe(log: string): Promise<LogDescription | undefined> {
    const handle = await openLog(log).catch(() => undefined);
    if (!handle) return undefined;
    try {
      const info = await handle.stat();
      const length = Math.min(info.size, PROBE_BYTES);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, info.size - length);
      this.bytesRead += bytesRead;
      const lines = buffer.subarray(0, bytesRead).toString('utf8').split('\n');
      // the first piece may be a partial line, the last one the empty rest after the final newline
      if (info.size > length) lines.shift();
      const lastLines = lines.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim().length > 0);
      return { sizeBytes: info.size, modifiedMs: info.mtimeMs, lastLines: lastLines.slice(-20) };
    } finally {
      await handle.close();
    }
  }

  async *#read(handle: FileHandle, request: LogReadRequest): AsyncGenerator<Uint8Array> {
    const info = await handle.stat();
    const lineTime = request.lineTimeMs;
    let position = 0;
    if (lineTime !== undefined && info.size >= this.#seekFromBytes) {
      position = await this.#seek(handle, info.size, request.fromMs - SLACK_MS, lineTime);
    }
    // after a seek the reader stands inside a line: skip to the next one
    let skipping = position > 0;
    // One buffer for the whole read: a chunk is valid until the next one is asked for (every reader in
    // gatewatch copies what it keeps), so a 2 GB log costs one chunk of memory, not a GC backlog of them.
    const buffer = Buffer.allocUnsafe(this.#chunkBytes);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, this.#chunkBytes, position);
      if (bytesRead === 0) return;
      this.bytesRead += bytesRead;
      position += bytesRead;
      let chunk = buffer.subarray(0, bytesRead);
      if (skipping) {
        const nl = chunk.indexOf(NL);
        if (nl === -1) continue;
        chunk = chunk.subarray(nl + 1);
        skipping = false;
      }
      yield chunk;
      if (lineTime !== undefined && pastWindow(chunk, request.toMs + SLACK_MS, lineTime)) return;
    }
  }

  /** The byte offset to read from so that no line dated at or after `targetMs` is missed. */
  async #seek(
    handle: FileHandle,
    size: number,
    targetMs: number,
    lineTime: (line: string) => number | undefined,
  ): Promise<number> {
    let lo = 0;
    let hi = size;
    const probe = Buffer.allocUnsafe(PROBE_BYTES);
    while (hi - lo > PROBE_BYTES) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const { bytesRead } = await handle.read(probe, 0, PROBE_BYTES, mid);
      this.bytesRead += bytesRead;
      const time = firstTime(probe.subarray(0, bytesRead), lineTime);
      // No dated line near this point (a huge line, binary data): stop narrowing and read from `lo`.
      if (time === undefined) break;
      if (time < targetMs) lo = mid;
      else hi = mid;
    }
    return lo;
  }
}

/** The time of the first complete line with one in `bytes` (which starts inside a line). */
function firstTime(bytes: Uint8Array, lineTime: (line: string) => number | undefined): number | undefined {
  let start = bytes.indexOf(NL) + 1;
  if (start === 0) return undefined;
  for (let end = bytes.indexOf(NL, start); end !== -1; end = bytes.indexOf(NL, start)) {
    const time = lineTime(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8'));
    if (time !== undefined) return time;
    start = end + 1;
  }
  return undefined;
}

/** Whether the last complete line with a time in `chunk` is dated after `limitMs`. */
function pastWindow(
  chunk: Uint8Array,
  limitMs: number,
  lineTime: (line: string) => number | undefined,
): boolean {
  let end = chunk.lastIndexOf(NL);
  for (let tries = 0; end > 0 && tries < 8; tries++) {
    const start = chunk.lastIndexOf(NL, end - 1) + 1;
    const time = lineTime(Buffer.from(chunk.buffer, chunk.byteOffset + start, end - start).toString('utf8'));
    if (time !== undefined) return time > limitMs;
    end = start - 1;
  }
  return false;
}

async function openLog(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new LogUnavailableError('missing', `${path} does not exist`, { cause: error });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new LogUnavailableError('unreadable', `${path} may not be read by this user (${code})`, {
        cause: error,
      });
    }
    throw new LogUnavailableError('unreadable', `${path} could not be opened: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new LogUnavailableError('unreadable', `${path} is not a regular file`);
  }
  return handle;
}
