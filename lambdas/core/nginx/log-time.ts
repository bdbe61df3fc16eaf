/**
 * Line times for seeking in a log and for settling the error log's UTC offset. nginx writes the error
 * log in its local time without a zone; the access log carries the zone.
 */
import { parseAccessLogLine } from './access-log.ts';
import { ErrorLogParseError, readErrorLogLine } from './error-log.ts';

/** An access-log line's time (epoch ms), prefixes allowed, or `undefined` when it is not one. */
export function accessLineTimeMs(line: string): number | undefined {
  return parseAccessLogLine(line)?.timeMs;
}

/** An error-log line's local time read as if it were UTC (epoch ms), or `undefined` when it is not one. */
export function errorLineLocalMs(line: string): number | undefined {
  try {
    return readErrorLogLine(line, { utcOffsetMinutes: 0 }).entry.epochMs;
  } catch (error) {
    if (error instanceof ErrorLogParseError) return undefined;
    throw error;
  }
}

export { inferUtcOffsetMinutes } from './error-log.ts';
