/**
 * `npm run accuracy`: every scenario of scenarios.ts (real nginx, real processes, the shipped CLI as a
 * process unless `--via workflow`) and every line of the public corpus, scored against their labels.
 * Prints Markdown tables (per-class accuracy, upstream accuracy, confident wrong verdicts) for the README.
 *
 *   node test/accuracy/run.ts [--via cli|workflow] [--only NAME_FRAGMENT] [--corpus-only] [--json FILE]
 *
 * Exits 0 whatever the score: the numbers are the product; the vitest suite is the gate.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type CorpusOutcome, scoreCorpus } from './corpus.ts';
import { type Outcome, runScenario, type Via } from './harness.ts';
import { machineAllows, SCENARIOS } from './scenarios.ts';

/** A verdict at or above this confidence that is wrong is a "confident wrong" verdict. */
export const CONFIDENT = 0.8;

const { values } = parseArgs({
  options: {
    via: { type: 'string', default: 'cli' },
    only: { type: 'string' },
    'corpus-only': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const via = values.via as Via;
if (via !== 'cli' && via !== 'workflow') throw new Error('--via: cli or workflow');

const outcomes: Outcome[] = [];
const notRun: string[] = [];
if (!values['corpus-only']) {
  const allowed = await machineAllows();
  const only = values.only?.split(',');
  const chosen = SCENARIOS.filter((s) => only === undefined || only.some((f) => s.name.includes(f)));
  for (const [index, scenario] of chosen.entries()) {
    const missing = (scenario.needs ?? []).filter((need) => !allowed.has(need));
    if (missing.length > 0) {
      notRun.push(`${scenario.name} (needs ${missing.join(', ')})`);
      continue;
    }
    const outcome = await runScenario(scenario, via, index);
    outcomes.push(outcome);
    const mark = outcome.error ? 'ERROR' : outcome.rootCauseRight ? 'right' : 'WRONG';
    process.stderr.write(
      `${mark.padEnd(5)} ${scenario.name}: label ${outcome.label.rootCause}, got ${outcome.rootCause ?? '-'} (${outcome.confidence ?? '-'})${outcome.error ? ` ${outcome.error.slice(0, 300)}` : ''}${outcome.replay && !outcome.replay.matches ? ` REPLAY DIFFERS ${outcome.replay.error ?? outcome.replay.difference ?? ''}` : ''} [${(outcome.durationMs / 1000).toFixed(1)} s]\n`,
    );
  }
}
const corpus = await scoreCorpus();

console.log(scenarioTable(outcomes, via));
const replayed = outcomes.filter((o) => o.replay !== undefined);
if (replayed.length > 0) {
  const same = replayed.filter((o) => o.replay!.matches).length;
  const sameVerdict = replayed.filter((o) => o.replay!.verdictMatches).length;
  console.log(
    `\nEvidence bundles replayed offline (\`gatewatch replay\`): ${same}/${replayed.length} byte-identical report.json, ${sameVerdict}/${replayed.length} same verdict.`,
  );
}
if (notRun.length > 0) console.log(`\nNot run on this machine: ${notRun.join('; ')}\n`);
console.log(wrongList(outcomes));
console.log(corpusTable(corpus));
if (values.json) await writeFile(values.json, `${JSON.stringify({ outcomes, corpus }, null, 2)}\n`);

// ------------------------------------------------------------------------------------------ tables

function pct(right: number, total: number): string {
  return total === 0 ? '—' : `${right}/${total} (${Math.round((100 * right) / total)}%)`;
}

function scenarioTable(all: Outcome[], how: Via): string {
  const classes = [...new Set(all.map((o) => o.label.rootCause))].sort();
  const rows = classes.map((cls) => {
    const of = all.filter((o) => o.label.rootCause === cls);
    const clean = of.filter((o) => !o.noise);
    const noisy = of.filter((o) => o.noise);
    const scored = of.filter((o) => o.upstreamRight !== undefined);
    return `| \`${cls}\` | ${pct(count(of), of.length)} | ${pct(count(clean), clean.length)} | ${pct(count(noisy), noisy.length)} | ${pct(scored.filter((o) => o.upstreamRight).length, scored.length)} | ${confidentWrong(of)} |`;
  });
  const scored = all.filter((o) => o.upstreamRight !== undefined);
  const clean = all.filter((o) => !o.noise);
  const noisy = all.filter((o) => o.noise);
  return [
    `### Scenarios (real nginx, real processes; diagnosis via ${how === 'cli' ? '`gatewatch diagnose --json`' : 'the workflow entry of the CLI'})`,
    '',
    '| label (root cause) | right | clean | with noise | upstream right | confident wrong (≥ 0.8) |',
    '|---|---|---|---|---|---|',
    ...rows,
    `| **all** | **${pct(count(all), all.length)}** | ${pct(count(clean), clean.length)} | ${pct(count(noisy), noisy.length)} | ${pct(scored.filter((o) => o.upstreamRight).length, scored.length)} | **${confidentWrong(all)}** |`,
  ].join('\n');
}

function count(of: Outcome[]): number {
  return of.filter((o) => o.rootCauseRight && !o.error).length;
}

function confidentWrong(of: { rootCauseRight: boolean; confidence?: number }[]): number {
  return of.filter((o) => !o.rootCauseRight && (o.confidence ?? 0) >= CONFIDENT).length;
}

function wrongList(all: Outcome[]): string {
  const wrong = all.filter((o) => !o.rootCauseRight || o.upstreamRight === false);
  if (wrong.length === 0) return '';
  return [
    '',
    '| scenario | label | verdict | confidence |',
    '|---|---|---|---|',
    ...wrong.map(
      (o) =>
        `| ${o.scenario} | ${o.label.rootCause}${o.label.upstream ? ` ${o.label.upstream}` : ''} | ${o.error ? `error: ${o.error.replaceAll('|', '/').slice(0, 120)}` : `${o.rootCause}${o.upstream ? ` ${o.upstream}` : ''}`} | ${o.confidence ?? '—'} |`,
    ),
    '',
  ].join('\n');
}

function corpusTable(all: CorpusOutcome[]): string {
  const classes = [...new Set(all.map((o) => o.expected))].sort();
  return [
    `### Public error-log lines (${all.length} lines quoted in public issues, Q&A and docs; parse → classify, no host facts)`,
    '',
    '| label (root cause) | lines | right | confident wrong (≥ 0.8) |',
    '|---|---|---|---|',
    ...classes.map((cls) => {
      const of = all.filter((o) => o.expected === cls);
      return `| \`${cls}\` | ${of.length} | ${pct(of.filter((o) => o.right).length, of.length)} | ${confidentWrong(of.map((o) => ({ rootCauseRight: o.right, confidence: o.confidence })))} |`;
    }),
    `| **all** | ${all.length} | **${pct(all.filter((o) => o.right).length, all.length)}** | **${confidentWrong(all.map((o) => ({ rootCauseRight: o.right, confidence: o.confidence })))}** |`,
  ].join('\n');
}
