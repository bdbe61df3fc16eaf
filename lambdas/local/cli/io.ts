import type { z } from 'zod';
import { ROOT_CAUSES } from '../../core/root-causes.ts';
import type { Report } from '../../core/types.ts';
import { UsageError } from './errors.ts';

/** Where commands write: stdout for results, stderr for progress. Tests capture both. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Validates commander's options object; a bad value is a usage error naming the flag. */
export function parseOptions<T>(schema: z.ZodType<T>, raw: unknown): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const flag = `--${String(issue.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  throw new UsageError(`${flag}: ${issue.message}`);
}

/** The few lines an engineer reads first: verdict, upstream, summary, where the report is. */
export function printVerdict(io: Io, report: Report, location: string): void {
  const v = report.verdict;
  const lines = [
    `${report.target}: ${v.rootCause}${v.upstream ? ` (${v.upstream})` : ''} — confidence ${v.confidence}`,
    `  ${ROOT_CAUSES[v.rootCause]}`,
    '',
    `  ${v.summary}`,
    '',
  ];
  const decisive = report.findings[0]?.evidence[0];
  if (decisive)
    lines.push(
      `  evidence (${decisive.source}):`,
      ...decisive.excerpt
        .split('\n')
        .slice(0, 3)
        .map((l) => `    ${l}`),
      '',
    );
  if (report.nextSteps.length > 0)
    lines.push('  next:', ...report.nextSteps.slice(0, 3).map((s) => `    - ${s}`), '');
  lines.push(`report: ${location}`, '');
  io.out(lines.join('\n'));
}
