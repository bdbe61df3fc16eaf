/**
 * Follows a log file by path the way `tail -F` does, but without losing or repeating a line across
 * logrotate, and with a position that survives a restart.
 *
 * How rotation is handled (polling only: `fs.watch` misses events on network and overlay filesystems):
 * - rename (`create`): the writer keeps writing to the old inode until it reopens (nginx on USR1), so the
 *   old file stays open and is read to its end on every poll until it has been quiet for
 *   `rotationGraceMs`; only then is it closed. Lines from the old file come before lines from the new one.
 *   A line the writer left unfinished in the old file holds the new file back until it is finished or the
 *   grace runs out; then it is joined with the start of the new file.
 * - copytruncate: the file shrinks, or its bytes before our offset change (it was truncated and grew
 *   again between two polls). Whatever was written after our last read and before the truncation went to
 *   the copy (`access.log.1`); it is read from there first, found by matching the last bytes we read. A
 *   half-read line continues with the first bytes of the truncated file (the writer appends at 0).
 * - restart: `position()` is `{ dev, ino, offset }` after the last emitted line. If the file at the path
 *   is no longer that inode, a rotated sibling with the same inode is read from the offset first.
 */

import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Where to resume: the file (device and inode) and the byte offset after the last emitted line. */
export interface TailPosition {
  dev: number;
  ino: number;
  offset: number;
  /**
   * `<length>:<sha256 prefix>` of the file's first bytes. Inode numbers are reused once a file is
   * deleted, so on resume a file with the right inode but different first bytes is a different file.
   */
  head?: string;
}

export interface TailLine {
  /** The line without its `\n`. */
  text: string;
  /** The position right after this line: persist it once the line is handled. */
  position: TailPosition;
}

export interface FileTailerOptions {
  path: string;
  /** `end` skips what is already there, `beginning` reads it, a position resumes. @default 'end' */
  start?: 'end' | 'beginning' | TailPosition;
  /** @default 250 */
  pollIntervalMs?: number;
  /** How long a rotated file stays open after its last growth. @default 2000 */
  rotationGraceMs?: number;
  /** @default 'utf8' */
  encoding?: 'utf8' | 'latin1';
  /** A line longer than this is emitted in pieces rather than buffered without bound. @default 1048576 */
  maxLineBytes?: number;
  /** Told about lines that could not be recovered (a rotated file gone before it was read). */
  onWarning?: (message: string) => void;
  /** @default Date.now */
  now?: () => number;
}

interface TrackedFile {
  handle: FileHandle;
  path: string;
  dev: number;
  ino: number;
  /** Next byte to read. */
  readOffset: number;
  /** Bytes of an unfinished line, read but not emitted. */
  partial: Buffer;
  /** The last bytes read, to recognise the file's copy after copytruncate and to detect rewritten bytes. */
  tail: Buffer;
  /** The file's first bytes (up to `FINGERPRINT`), for `TailPosition.head`. */
  head: Buffer;
  /** Set once another inode took over the path. */
  rotatedAtMs?: number;
  lastGrowthMs: number;
  /** After a truncation by a writer without O_APPEND the file starts with a hole of NUL bytes. */
  skipNul: boolean;
}

const CHUNK = 64 * 1024;
const FINGERPRINT = 64;
const COMPRESSED = /\.(?:gz|bz2|xz|zst|lz4|z)$/i;

/** Thrown by `lines()`/`start()` misuse, e.g. starting a tailer twice. */
export class FileTailerError extends Error {
  override name = 'FileTailerError';
}

export class FileTailer {
  readonly #path: string;
  readonly #options: FileTailerOptions;
  readonly #now: () => number;
  #files: TrackedFile[] = [];
  #initialised = false;
  #position: TailPosition | undefined;
  #closed = false;
  #loop: Promise<void> | undefined;
  #polling: Promise<TailLine[]> | undefined;
  #wake: (() => void) | undefined;
  readonly #buffer = Buffer.alloc(CHUNK);

  constructor(options: FileTailerOptions) {
    this.#path = options.path;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The position after the last emitted line (or the starting point before any line). */
  position(): TailPosition | undefined {
    return this.#position === undefined ? undefined : { ...this.#position };
  }

  /**
   * Reads whatever is new since the last call and returns the complete lines, oldest first. The building
   * block of `lines()` and `start()`; call it directly to drive the tailer from your own loop.
   */
  async poll(): Promise<TailLine[]> {
    if (this.#closed) return [];
    // One poll at a time: two interleaved reads of the same offset would emit a line twice.
    while (this.#polling) await this.#polling.catch(() => undefined);
    this.#polling = this.#pollOnce();
    try {
      return await this.#polling;
    } finally {
      this.#polling = undefined;
    }
  }

  async #pollOnce(): Promise<TailLine[]> {
    const out: TailLine[] = [];
    if (!this.#initialised) {
      await this.#initialise();
    } else if (this.#files.length === 0) {
      // The file did not exist at start: everything in it once it appears is new.
      await this.#openCurrent(0);
    }
    if (this.#files.length === 0) return out;
    const now = this.#now();
    await this.#checkPath(now);
    for (let pass = 0; pass < 2; pass++) {
      await this.#readAll(out, now);
      if (!(await this.#retire(now))) break;
    }
    return out;
  }

  /** Polls until `signal` aborts or `close()` is called, yielding lines as they appear. */
  async *lines(signal?: AbortSignal): AsyncGenerator<TailLine> {
    while (!this.#closed && !signal?.aborted) {
      const batch = await this.poll();
      for (const line of batch) yield line;
      if (batch.length === 0) await this.#sleep(signal);
    }
  }

  /** Calls `onLine` for each line (awaiting it) until `close()`. */
  start(onLine: (line: TailLine) => void | Promise<void>): void {
    if (this.#loop) throw new FileTailerError(`already tailing ${this.#path}`);
    this.#loop = (async () => {
      for await (const line of this.lines()) await onLine(line);
    })();
  }

  /** Stops polling and closes every open file. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    await this.#loop;
    await this.#polling?.catch(() => undefined);
    const files = this.#files;
    this.#files = [];
    await Promise.all(files.map((file) => file.handle.close().catch(() => undefined)));
  }

  async #sleep(signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.#options.pollIntervalMs ?? 250);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      this.#wake = done;
      signal?.addEventListener('abort', done, { once: true });
    });
    this.#wake = undefined;
  }

  // ------------------------------------------------------------ opening

  async #initialise(): Promise<void> {
    const start = this.#options.start ?? 'end';
    // A file that does not exist yet has nothing to skip: it is read from its start once it appears.
    if (typeof start === 'object') await this.#resume(start);
    else await this.#openCurrent(start === 'beginning' ? 0 : 'end');
    this.#initialised = true;
  }

  async #openCurrent(offset: number | 'end'): Promise<boolean> {
    let handle: FileHandle;
    try {
      handle = await open(this.#path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    const info = await handle.stat();
    const readOffset = offset === 'end' ? info.size : offset;
    const file = this.#track(handle, this.#path, info.dev, info.ino, readOffset);
    await this.#refreshHead(file);
    this.#files.push(file);
    if (this.#position === undefined || offset === 'end') {
      this.#position = { dev: info.dev, ino: info.ino, offset: readOffset, head: headId(file.head) };
    }
    return true;
  }

  async #refreshHead(file: TrackedFile): Promise<void> {
    if (file.head.length >= FINGERPRINT) return;
    const buffer = Buffer.alloc(FINGERPRINT);
    const { bytesRead } = await file.handle.read(buffer, 0, FINGERPRINT, 0);
    file.head = Buffer.from(buffer.subarray(0, bytesRead));
  }

  /** True when the file's first bytes are those `head` describes (or nothing is known about them). */
  async #sameHead(handle: FileHandle, head: string | undefined): Promise<boolean> {
    if (head === undefined) return true;
    const length = Number(head.slice(0, head.indexOf(':')));
    if (!Number.isInteger(length) || length < 0 || length > FINGERPRINT) return true;
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return bytesRead === length && headId(buffer) === head;
  }

  #track(handle: FileHandle, path: string, dev: number, ino: number, readOffset: number): TrackedFile {
    return {
      handle,
      path,
      dev,
      ino,
      readOffset,
      partial: Buffer.alloc(0),
      tail: Buffer.alloc(0),
      head: Buffer.alloc(0),
      lastGrowthMs: this.#now(),
      skipNul: false,
    };
  }

  async #resume(position: TailPosition): Promise<void> {
    this.#position = { ...position };
    let current: Stats | undefined;
    try {
      current = await stat(this.#path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (current && current.dev === position.dev && current.ino === position.ino) {
      const handle = await open(this.#path, 'r');
      const same = await this.#sameHead(handle, position.head);
      await handle.close();
      if (same) {
        await this.#openCurrent(current.size < position.offset ? 0 : position.offset);
        if (current.size < position.offset) {
          this.#warn(`${this.#path} shrank below the saved offset; reading it from the start`);
        }
        return;
      }
    }
    // The saved inode is no longer at the path: find where logrotate moved it.
    let moved: TrackedFile | undefined;
    for (const candidate of await this.#siblings(
      (info) => info.dev === position.dev && info.ino === position.ino,
    )) {
      const handle = await open(candidate, 'r');
      if (await this.#sameHead(handle, position.head)) {
        moved = this.#track(handle, candidate, position.dev, position.ino, position.offset);
        break;
      }
      await handle.close();
    }
    if (moved) {
      moved.rotatedAtMs = this.#now();
      await this.#refreshHead(moved);
      this.#files.push(moved);
    } else {
      this.#warn(
        `the file ${this.#path} was at (inode ${position.ino}) is gone; lines written to it after offset ${position.offset} cannot be read`,
      );
    }
    if (current) await this.#openCurrent(0);
  }

  /** Rotated siblings (`access.log.1`, `access.log-20261124`) for which `match` holds, by name. */
  async #siblings(match: (info: Stats) => boolean): Promise<string[]> {
    const dir = dirname(this.#path);
    const base = basename(this.#path);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const found: string[] = [];
    const candidates = names
      .filter((name) => name !== base && name.startsWith(base) && !COMPRESSED.test(name))
      .sort();
    for (const name of candidates) {
      const path = join(dir, name);
      try {
        const info = await stat(path);
        if (info.isFile() && match(info)) found.push(path);
      } catch {
        // Rotated away while we looked.
      }
    }
    return found;
  }

  // ------------------------------------------------------------ rotation

  async #checkPath(now: number): Promise<void> {
    const current = this.#files.at(-1)!;
    let info: Stats;
    try {
      info = await stat(this.#path);
    } catch (error) {
      // Renamed and not (yet) recreated: keep reading the old inode, the writer still has it open.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    if (info.dev === current.dev && info.ino === current.ino) return;
    current.rotatedAtMs = now;
    await this.#openCurrent(0);
  }

  /** Closes rotated files that have been quiet for the grace period; true when one was closed. */
  async #retire(now: number): Promise<boolean> {
    const grace = this.#options.rotationGraceMs ?? 2000;
    let retired = false;
    while (this.#files.length > 1) {
      const oldest = this.#files[0]!;
      const quietSince = Math.max(oldest.rotatedAtMs ?? now, oldest.lastGrowthMs);
      if (oldest.rotatedAtMs === undefined || now - quietSince < grace) break;
      const next = this.#files[1]!;
      // The writer reopened in the middle of a line: its end is at the start of the new file.
      if (oldest.partial.length > 0) next.partial = Buffer.concat([oldest.partial, next.partial]);
      await oldest.handle.close().catch(() => undefined);
      this.#files.shift();
      retired = true;
    }
    return retired;
  }

  // ------------------------------------------------------------ reading

  async #readAll(out: TailLine[], now: number): Promise<void> {
    for (let i = 0; i < this.#files.length; i++) {
      const file = this.#files[i]!;
      const isCurrent = i === this.#files.length - 1;
      if (isCurrent) await this.#detectTruncation(file, out, now);
      await this.#readToEnd(file, out, now);
      // An unfinished line in a rotated file may continue in the next file: hold the next file back.
      if (!isCurrent && file.partial.length > 0) break;
    }
  }

  async #detectTruncation(file: TrackedFile, out: TailLine[], now: number): Promise<void> {
    const info = await file.handle.stat();
    let truncated = info.size < file.readOffset;
    if (!truncated && file.tail.length > 0) {
      // Truncated and written past our offset again between two polls: the bytes before it changed.
      const check = Buffer.alloc(file.tail.length);
      const { bytesRead } = await file.handle.read(
        check,
        0,
        check.length,
        file.readOffset - file.tail.length,
      );
      truncated = bytesRead !== check.length || !check.equals(file.tail);
    }
    if (!truncated) return;
    await this.#recoverFromCopy(file, out, now);
    file.readOffset = 0;
    file.tail = Buffer.alloc(0);
    // The file's first bytes are new too; positions must not carry the old content's fingerprint.
    file.head = Buffer.alloc(0);
    file.skipNul = true;
  }

  /** After copytruncate: reads what the copy holds beyond our offset, so no line is lost. */
  async #recoverFromCopy(file: TrackedFile, out: TailLine[], now: number): Promise<void> {
    if (file.tail.length === 0) return;
    const expected = file.tail;
    const from = file.readOffset;
    const candidates = await this.#siblings((info) => info.ino !== file.ino && info.size >= from);
    for (const path of candidates) {
      const handle = await open(path, 'r');
      try {
        const probe = Buffer.alloc(expected.length);
        const { bytesRead } = await handle.read(probe, 0, probe.length, from - expected.length);
        if (bytesRead !== probe.length || !probe.equals(expected)) continue;
        const info = await handle.stat();
        const copyFile = { ...file, handle, path, dev: info.dev, ino: info.ino, readOffset: from };
        await this.#readToEnd(copyFile, out, now, { dev: file.dev, ino: file.ino });
        file.partial = copyFile.partial;
        return;
      } finally {
        await handle.close();
      }
    }
    this.#warn(
      `${this.#path} was truncated; its copy with the unread end was not found, some lines may be missing`,
    );
  }

  /**
   * Reads `file` from its offset to the end, emitting complete lines. `positionOf` names the file the
   * positions refer to (the truncated original when reading its copy).
   */
  async #readToEnd(
    file: TrackedFile,
    out: TailLine[],
    now: number,
    positionOf: { dev: number; ino: number } = file,
  ): Promise<void> {
    const maxLine = this.#options.maxLineBytes ?? 1_048_576;
    const encoding = this.#options.encoding ?? 'utf8';
    // Shared between calls: every byte kept past this loop is copied (partial, tail) or decoded.
    const buffer = this.#buffer;
    for (;;) {
      const { bytesRead } = await file.handle.read(buffer, 0, CHUNK, file.readOffset);
      if (bytesRead === 0) return;
      if (file.head.length < FINGERPRINT) await this.#refreshHead(file);
      let chunk = buffer.subarray(0, bytesRead);
      const chunkStart = file.readOffset;
      file.readOffset += bytesRead;
      file.lastGrowthMs = now;
      file.tail =
        chunk.length >= FINGERPRINT
          ? Buffer.from(chunk.subarray(chunk.length - FINGERPRINT))
          : Buffer.from(
              Buffer.concat([file.tail, chunk]).subarray(
                Math.max(0, file.tail.length + chunk.length - FINGERPRINT),
              ),
            );
      let consumedBefore = chunkStart; // file offset of chunk[0]
      if (file.skipNul) {
        let skip = 0;
        while (skip < chunk.length && chunk[skip] === 0) skip++;
        chunk = chunk.subarray(skip);
        consumedBefore += skip;
        if (chunk.length > 0) file.skipNul = false;
      }
      let lineStart = 0;
      for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, lineStart)) {
        const piece = chunk.subarray(lineStart, nl);
        const bytes = file.partial.length > 0 ? Buffer.concat([file.partial, piece]) : piece;
        file.partial = Buffer.alloc(0);
        this.#emit(out, bytes.toString(encoding), positionOf, consumedBefore + nl + 1, file.head);
        lineStart = nl + 1;
      }
      const rest = chunk.subarray(lineStart);
      if (rest.length > 0) file.partial = Buffer.concat([file.partial, rest]);
      while (file.partial.length > maxLine) {
        this.#emit(
          out,
          file.partial.subarray(0, maxLine).toString(encoding),
          positionOf,
          undefined,
          file.head,
        );
        file.partial = Buffer.from(file.partial.subarray(maxLine));
      }
    }
  }

  #emit(
    out: TailLine[],
    text: string,
    of: { dev: number; ino: number },
    offset: number | undefined,
    head: Buffer,
  ): void {
    if (offset !== undefined) this.#position = { dev: of.dev, ino: of.ino, offset, head: headId(head) };
    out.push({ text, position: { ...this.#position! } });
  }

  #warn(message: string): void {
    this.#options.onWarning?.(message);
  }
}

function headId(head: Buffer): string {
  return `${head.length}:${createHash('sha256').update(head).digest('hex').slice(0, 16)}`;
}
