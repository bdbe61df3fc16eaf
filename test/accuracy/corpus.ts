/**
 * The public corpus: real nginx error-log lines people quoted in GitHub issues, Q&A threads and docs
 * (test/fixtures/nginx/corpus.json, each with the address it was quoted at and the root cause a reader
 * of the line names). Each line alone goes through the shipped parser and classifier with no host facts
 * and no access log — the logs-only view — and the verdict is compared with the label.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { classify } from '../../lambdas/core/diagnosis/classify.ts';
import { ErrorLogCollector } from '../../lambdas/core/nginx/error-log.ts';
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

/** One line → the logs-only verdict. */
export function classifyLine(line: string): { rootCause: string; confidence: number } {
  const collector = new ErrorLogCollector({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, utcOffsetMinutes: 0 });
  collector.push(line);
  const { verdict } = classify({
    target: { name: 'corpus', upstreams: [] },
    window: { from: '1970-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' },
    logsOnly: true,
    errorLog: collector.summary(),
    errorLogSource: 'corpus',
    hosts: [],
    stepFailures: [],
  });
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
