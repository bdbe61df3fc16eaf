/**
 * Splits a stream of byte chunks into lines in bounded memory: a line longer than the cap is not kept
 * (a 100 MB line costs no more than a 64 KiB one); it is reported with its beginning so it can be counted
 * and shown as unreadable.
 */

/** Longest line read as a line; nginx's own lines are far shorter. */
export const MAX_LINE_BYTES = 64 * 1024;
const NL = 10;
const CR = 13;
const HEAD_BYTES = 1024;

/** Receives the lines of {@link LineSplitter}. */
export interface LineSink {
  line(text: string): void;
  /** A line over the cap: its first bytes, decoded, and its full length in bytes. */
  oversized(head: string, bytes: number): void;
}

export class LineSplitter {
  readonly #sink: LineSink;
  readonly #max: number;
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });
  #carry: Uint8Array | undefined;
  #carryLength = 0;
  #overflowBytes = 0;

  constructor(sink: LineSink, maxLineBytes = MAX_LINE_BYTES) {
    this.#sink = sink;
    this.#max = maxLineBytes;
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    if (this.#carryLength > 0 || this.#overflowBytes > 0) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) {
        this.#keep(chunk, 0, chunk.length);
        return;
      }
      this.#keep(chunk, 0, nl);
      this.#flush();
      start = nl + 1;
    }
    let nl = chunk.indexOf(NL, start);
    while (nl !== -1) {
      this.#emit(chunk, start, nl);
      start = nl + 1;
      nl = chunk.indexOf(NL, start);
    }
    if (start < chunk.length) this.#keep(chunk, start, chunk.length);
  }

  /** Emits the last line when the stream does not end with a newline. */
  end(): void {
    if (this.#carryLength > 0 || this.#overflowBytes > 0) this.#flush();
  }

  #emit(buf: Uint8Array, s: number, e: number): void {
    if (e - s > this.#max) {
      this.#sink.oversized(this.#decoder.decode(buf.subarray(s, s + HEAD_BYTES)), e - s);
      return;
    }
    if (e > s && buf[e - 1] === CR) e--;
    this.#sink.line(this.#decoder.decode(buf.subarray(s, e)));
  }

  #keep(chunk: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (this.#overflowBytes > 0) {
      this.#overflowBytes += n;
      return;
    }
    if (this.#carryLength + n > this.#max) {
      // keep only the head for the sample; count the rest
      this.#overflowBytes = this.#carryLength + n;
      if (this.#carryLength < HEAD_BYTES) this.#append(chunk, from, Math.min(to, from + HEAD_BYTES));
      return;
    }
    this.#append(chunk, from, to);
  }

  #append(chunk: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (this.#carry === undefined) this.#carry = new Uint8Array(this.#max + 1);
    const room = this.#carry.length - this.#carryLength;
    this.#carry.set(chunk.subarray(from, from + Math.min(n, room)), this.#carryLength);
    this.#carryLength += Math.min(n, room);
  }

  #flush(): void {
    const carry = this.#carry ?? new Uint8Array(0);
    if (this.#overflowBytes > 0) {
      this.#sink.oversized(
        this.#decoder.decode(carry.subarray(0, Math.min(this.#carryLength, HEAD_BYTES))),
        this.#overflowBytes,
      );
    } else {
      this.#emit(carry, 0, this.#carryLength);
    }
    this.#carryLength = 0;
    this.#overflowBytes = 0;
  }
}
