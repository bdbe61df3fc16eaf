/**
 * `replayMatchesLive(reportDir)`: replays an incident folder's evidence bundle offline (the code behind
 * `gatewatch replay`) and compares it with the report.json the live run wrote. Scenario suites call it
 * after each live diagnosis to prove the bundle reproduces the verdict.
 *
 * The comparison is byte for byte on report.json, after removing what the incident's lifecycle added
 * later (resolution, acks, notes: see `diagnosisPart`); nothing else is treated as volatile.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Report } from '../../lambdas/core/types.ts';
import {
  decodeBundle,
  diagnosisPart,
  replayBundle,
  reportJsonText,
} from '../../lambdas/steps/evidence-bundle.ts';

export interface ReplayComparison {
  /** The replayed report.json is byte-identical to the live one (lifecycle fields aside). */
  matches: boolean;
  /** Same root cause, upstream and confidence. */
  verdictMatches: boolean;
  /** The replay also hashes to what the bundle says the live run wrote. */
  hashMatches: boolean;
  live: Report;
  replayed: Report;
  /** The first differing line, when they differ (for a readable failure). */
  firstDifference?: { line: number; live: string; replayed: string };
}

export async function replayMatchesLive(reportDir: string): Promise<ReplayComparison> {
  const bundle = decodeBundle(await readFile(join(reportDir, 'bundle.json.gz')));
  const live = JSON.parse(await readFile(join(reportDir, 'report.json'), 'utf8')) as Report;
  const replay = replayBundle(bundle);
  const liveText = reportJsonText(diagnosisPart(live));
  const result: ReplayComparison = {
    matches: replay.text === liveText,
    verdictMatches:
      replay.report.verdict.rootCause === live.verdict.rootCause &&
      replay.report.verdict.upstream === live.verdict.upstream &&
      replay.report.verdict.confidence === live.verdict.confidence,
    hashMatches: replay.identical,
    live,
    replayed: replay.report,
  };
  if (!result.matches) {
    const a = liveText.split('\n');
    const b = replay.text.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    const at = line === -1 ? a.length : line;
    result.firstDifference = { line: at + 1, live: a[at] ?? '', replayed: b[at] ?? '' };
  }
  return result;
}
