/**
 * The public corpus: real nginx error-log lines people quoted in GitHub issues, Q&A threads and docs
 * (test/fixtures/nginx/corpus.json, each with the address it was quoted at and the root cause a reader
 * of the line names). Each line alone goes through `gatewatch explain` (`core/diagnosis/explain.ts`): the
 * shipped parser and classifier with no host facts and no access log — the logs-only view — after nginx's
 * header is completed where the quote lacks it; the verdict is compared with the label.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { explainQuotedLines } from '../../lambdas/core/diagnosis/explain.ts';
import { isRootCause, type RootCause } from '../../lambdas/core/root-causes.ts';

export const CORPUS_PATH = fileURLToPath(new URL('../fixtures/nginx/corpus.json', import.meta.url));

export interface CorpusEntry {
  line: string;
  /** The address of the page the line was quoted on. */
  source: string;
  expected: RootCause;
  /** Why this label, when the line alone is not obvious. */
  note?: string;
}

export interface CorpusOutcome {
  line: string;
  source: string;
  expected: RootCause;
  got: string;
  confidence: number;
  right: boolean;
}

export async function loadCorpus(path = CORPUS_PATH): Promise<CorpusEntry[]> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as { lines: CorpusEntry[] };
  for (const [i, entry] of parsed.lines.entries()) {
    if (!isRootCause(entry.expected))
      throw new Error(`corpus line ${i}: "${entry.expected}" is not a root cause`);
    if (!/^https?:\/\//.test(entry.source)) throw new Error(`corpus line ${i}: source is not an address`);
  }
  return parsed.lines;
}

/** One line → the verdict `gatewatch explain` gives for it (logs-only, the header completed when quoted without it). */
export function classifyLine(line: string): { rootCause: string; confidence: number } {
  const { verdict } = explainQuotedLines([line]);
  return { rootCause: verdict.rootCause, confidence: verdict.confidence };
}

export async function scoreCorpus(path = CORPUS_PATH): Promise<CorpusOutcome[]> {
  return (await loadCorpus(path)).map((entry) => {
    const got = classifyLine(entry.line);
    return {
      line: entry.line,
      source: entry.source,
      expected: entry.expected,
      got: got.rootCause,
      confidence: got.confidence,
      right: got.rootCause === entry.expected,
    };
  });
}
