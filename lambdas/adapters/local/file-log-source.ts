import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { LogReadRequest, LogSource } from '../../ports.ts';

/**
 * Reads nginx log files. When the previous generation (`access.log.1`, as logrotate leaves it) exists and
 * is newer than the window's start, it is read first so a window that spans a rotation loses nothing.
 * Lines are streamed in large chunks; the file is never read whole.
 */
export class FileLogSource implements LogSource {
  readonly #chunkBytes: number;

  constructor(options: { chunkBytes?: number } = {}) {
    this.#chunkBytes = options.chunkBytes ?? 1 << 20;
  }

  async *chunks(request: LogReadRequest): AsyncIterable<Uint8Array> {
    const previous = `${request.log}.1`;
    const previousStat = await stat(previous).catch(() => undefined);
    if (previousStat?.isFile() && previousStat.mtimeMs >= request.fromMs) {
      yield* this.#read(previous);
      yield new Uint8Array([0x0a]);
    }
    yield* this.#read(request.log);
  }

  async *#read(path: string): AsyncIterable<Uint8Array> {
    for await (const chunk of createReadStream(path, { highWaterMark: this.#chunkBytes })) {
      yield chunk as Buffer;
    }
  }
}
