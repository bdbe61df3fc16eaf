/**
 * Per-minute traffic of one access log, for the `Status5xxPercent` metric: requests, 5xx, 502 and 504 per
 * minute, read with the same scanner as the diagnosis (gatewatch format and `combined`). A minute is
 * published once it is over and a grace for late lines has passed; lines for a minute already published
 * are counted as late and dropped, because a second sample for one minute would skew the alarm's average.
 */
import { AccessLogScanner } from '../../core/nginx/access-log.ts';

/** One minute of one access log. */
export interface MinuteCounts {
  /** Start of the minute, epoch ms. */
  minuteMs: number;
  requests: number;
  status5xx: number;
  status502: number;
  status504: number;
}

/** Options of {@link MinuteTraffic}. */
export interface MinuteTrafficOptions {
  /** How long after a minute ends its lines may still arrive. @default 5000 */
  graceMs?: number;
  /** Minutes restored from the state file. */
  pending?: readonly MinuteCounts[];
}

const MINUTE = 60_000;

/** Counts an access log's lines per minute and hands out the minutes that are over. */
export class MinuteTraffic {
  readonly #graceMs: number;
  readonly #minutes = new Map<number, MinuteCounts>();
  readonly #scanner: AccessLogScanner;
  /** Minutes at or before this were published. */
  #publishedThrough = Number.NEGATIVE_INFINITY;
  #late = 0;
  #malformedBefore = 0;

  constructor(options: MinuteTrafficOptions = {}) {
    this.#graceMs = options.graceMs ?? 5000;
    for (const minute of options.pending ?? []) this.#minutes.set(minute.minuteMs, { ...minute });
    this.#scanner = new AccessLogScanner((record) => {
      const minuteMs = record.timeMs - (((record.timeMs % MINUTE) + MINUTE) % MINUTE);
      if (minuteMs <= this.#publishedThrough) {
        this.#late++;
        return;
      }
      let counts = this.#minutes.get(minuteMs);
      if (counts === undefined) {
        counts = { minuteMs, requests: 0, status5xx: 0, status502: 0, status504: 0 };
        this.#minutes.set(minuteMs, counts);
      }
      counts.requests++;
      const status = record.status;
      if (status >= 500 && status <= 599) {
        counts.status5xx++;
        if (status === 502) counts.status502++;
        else if (status === 504) counts.status504++;
      }
    });
  }

  /** Reads one line as the tailer returned it (latin1 text, no newline). */
  addLine(text: string): void {
    this.#scanner.push(Buffer.from(`${text}\n`, 'latin1'));
  }

  /** Minutes that are over (with the grace) and not yet published, oldest first; they are published now. */
  takeComplete(nowMs: number): MinuteCounts[] {
    const done = [...this.#minutes.values()]
      .filter((m) => m.minuteMs + MINUTE + this.#graceMs <= nowMs)
      .sort((a, b) => a.minuteMs - b.minuteMs);
    for (const minute of done) {
      this.#minutes.delete(minute.minuteMs);
      this.#publishedThrough = Math.max(this.#publishedThrough, minute.minuteMs);
    }
    return done;
  }

  /** Minutes still being counted (for the state file). */
  pending(): MinuteCounts[] {
    return [...this.#minutes.values()].sort((a, b) => a.minuteMs - b.minuteMs).map((m) => ({ ...m }));
  }

  /** Lines that arrived after their minute was published, and lines of no known format, since the last call. */
  takeDropped(): { late: number; malformed: number } {
    const malformed = this.#scanner.counts.malformed - this.#malformedBefore;
    this.#malformedBefore = this.#scanner.counts.malformed;
    const late = this.#late;
    this.#late = 0;
    return { late, malformed };
  }
}

/** The metric value of a minute: the share of 5xx answers in percent; no requests, no datapoint. */
export function status5xxPercent(minute: MinuteCounts): number | undefined {
  return minute.requests === 0 ? undefined : (minute.status5xx / minute.requests) * 100;
}
