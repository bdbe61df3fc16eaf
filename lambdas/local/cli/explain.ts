/**
 * `gatewatch explain [LINE…]`: what quoted nginx error-log lines say — pasted from a ticket, a chat or an
 * issue, with or without nginx's date — as a logs-only verdict with next steps. Lines come from the
 * arguments, or one per line from standard input. Nothing runs on this host and nothing is written.
 */
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { z } from 'zod';
import { type Explanation, explainQuotedLines } from '../../core/diagnosis/explain.ts';
import { ROOT_CAUSES } from '../../core/root-causes.ts';
import { safeForTerminal } from '../watch/status-view.ts';
import { UsageError } from './errors.ts';
import { type Io, parseOptions } from './io.ts';

const OptionsSchema = z.object({ json: z.boolean().default(false) });

/** More than this is a log file: `diagnose --logs-only` reads those in bounded memory. */
export const MAX_QUOTED_LINES = 100_000;

async function stdinLines(): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    lines.push(line);
    if (lines.length > MAX_QUOTED_LINES) {
      throw new UsageError(`explain reads at most ${MAX_QUOTED_LINES} lines`, {
        hint: 'for a whole log, run `gatewatch diagnose --logs-only` with the log in the configuration',
      });
    }
  }
  return lines;
}

function render(result: Explanation): string {
  const v = result.verdict;
  const out = [
    `${v.rootCause}${v.upstream ? ` (${v.upstream})` : ''} — confidence ${v.confidence}`,
    `  ${ROOT_CAUSES[v.rootCause]}`,
    '',
    `  ${v.summary}`,
    '',
  ];
  const decisive = result.findings[0]?.evidence[0];
  if (decisive) out.push(`  evidence (${decisive.source}):`, `    ${decisive.excerpt.split('\n')[0]}`, '');
  if (result.nextSteps.length > 0)
    out.push('  next:', ...result.nextSteps.slice(0, 4).map((s) => `    - ${s}`), '');
  const { given, completed, unreadable } = result.lines;
  out.push(
    `lines: ${given} read${completed > 0 ? `, ${completed} completed with nginx's header (quoted without it)` : ''}${unreadable > 0 ? `, ${unreadable} not nginx error-log lines` : ''}; logs only, no host checks`,
    '',
  );
  // A pasted line can carry terminal escapes: shown as \xHH, never sent (as `watch` does).
  return out.map(safeForTerminal).join('\n');
}

export function explainCommand(io: Io): Command {
  return new Command('explain')
    .description(
      'what quoted nginx error-log lines say (with or without their date), from the arguments or stdin; logs only',
    )
    .argument('[lines...]', 'error-log lines, each one argument (none: one per line from stdin)')
    .option('--json', 'print {verdict, findings, nextSteps, lines} as JSON and nothing else')
    .action(async (args: string[], raw: unknown) => {
      const options = parseOptions(OptionsSchema, raw);
      let lines = args;
      if (lines.length === 0) {
        if (process.stdin.isTTY) {
          throw new UsageError('no line to explain', {
            hint: "pass a line in quotes (gatewatch explain '[error] 12#12: *3 connect() failed …') or pipe lines in",
          });
        }
        lines = await stdinLines();
      }
      const result = explainQuotedLines(lines);
      if (result.lines.given === 0) {
        throw new UsageError('no line to explain: only blank lines were given', {
          hint: 'pass nginx error-log lines as quoted, with or without their date',
        });
      }
      io.out(options.json ? `${JSON.stringify(result, null, 2)}\n` : render(result));
    });
}
