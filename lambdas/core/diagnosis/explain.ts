/**
 * `gatewatch explain`: what nginx error-log lines *as people quote them* say — pasted from a ticket, a chat
 * or an issue, often without nginx's date (`[error] 1046#1046: *2094 upstream timed out …`) or cut to
 * the message (`connect() failed (111: Connection refused) while connecting to upstream, …`). Each text
 * is completed into a line the error-log reader accepts, then read and classified exactly as a logs-only
 * diagnosis would (no host facts, no access log, no time: every line counts).
 *
 * Completion never invents a cause: it only adds the header nginx would have written (a fixed date, the
 * level when the quote lacks it — `error`, the level of every upstream failure — and a pid), so the
 * message is read by the same parser as in a real log. Text with no recognisable nginx message stays
 * unreadable and is counted as such.
 */
import { ErrorLogCollector, readErrorLogLine } from '../nginx/error-log.ts';
import { ERROR_LEVELS, type Finding, type Verdict } from '../types.ts';
import { classify } from './classify.ts';

/** A date nginx would write; the quote's own time is unknown and plays no part. */
const QUOTED_AT = '2000/01/01 00:00:00';
/** The header without its date, as quotes often begin. */
const LEVEL_PID = new RegExp(`^\\[(?:${ERROR_LEVELS.join('|')})\\] \\d+#\\d+: `);

/** A line the error-log reader takes as it is (with or without a known shipper's prefix). */
function isWholeLine(text: string): boolean {
  try {
    readErrorLogLine(text);
    return true;
  } catch {
    return false;
  }
}

export type Completion = 'none' | 'date' | 'header';

const ADDED_HEADER = `${QUOTED_AT} [error] 0#0: `;

/** An excerpt of a completed line as it was quoted. */
function withoutCompletion(excerpt: string): string {
  if (excerpt.startsWith(ADDED_HEADER)) return excerpt.slice(ADDED_HEADER.length);
  if (excerpt.startsWith(`${QUOTED_AT} `)) return excerpt.slice(QUOTED_AT.length + 1);
  return excerpt;
}

/** The quote as an error-log line, and what had to be added. */
export function completeQuotedLine(text: string): { line: string; completion: Completion } {
  const quote = text.trim();
  if (isWholeLine(quote)) return { line: quote, completion: 'none' };
  if (LEVEL_PID.test(quote)) return { line: `${QUOTED_AT} ${quote}`, completion: 'date' };
  return { line: `${QUOTED_AT} [error] 0#0: ${quote}`, completion: 'header' };
}

export interface Explanation {
  verdict: Verdict;
  findings: Finding[];
  nextSteps: string[];
  /** Texts given (blank ones skipped), completed (date or header added), and left unreadable. */
  lines: { given: number; completed: number; unreadable: number };
}

/** Classifies quoted lines as one logs-only window. */
export function explainQuotedLines(texts: readonly string[]): Explanation {
  const collector = new ErrorLogCollector({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, utcOffsetMinutes: 0 });
  let given = 0;
  let completed = 0;
  for (const text of texts) {
    if (text.trim() === '') continue;
    given++;
    const { line, completion } = completeQuotedLine(text);
    if (completion !== 'none') completed++;
    collector.push(line);
  }
  const errorLog = collector.summary();
  const classified = classify({
    target: { name: 'quoted lines', upstreams: [] },
    window: { from: '1970-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' },
    logsOnly: true,
    errorLog,
    errorLogSource: 'quoted lines',
    hosts: [],
    stepFailures: [],
  });
  const { verdict, nextSteps } = classified;
  // Quote the lines back as they were given, without the header completion added.
  const findings = classified.findings.map((finding) => ({
    ...finding,
    evidence: finding.evidence.map((e) => ({ ...e, excerpt: withoutCompletion(e.excerpt) })),
  }));
  const lines = { given, completed, unreadable: errorLog.malformed };
  // A quote is asked about because something failed: lines with no upstream failure in them are not a
  // healthy window, they are lines gatewatch cannot name a cause for.
  if (verdict.rootCause === 'healthy') {
    const read = given - lines.unreadable;
    return {
      verdict: {
        rootCause: 'unknown',
        confidence: 0.2,
        summary:
          read === 1
            ? 'The line is not an upstream failure gatewatch recognises.'
            : `None of the ${read} lines is an upstream failure gatewatch recognises.`,
      },
      findings,
      nextSteps: [
        'Quote the whole line as nginx wrote it, with the lines around it; or run `gatewatch diagnose` on the host.',
      ],
      lines,
    };
  }
  return { verdict, findings, nextSteps, lines };
}
