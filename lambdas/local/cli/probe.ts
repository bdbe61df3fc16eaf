/**
 * `gatewatch probe [--config F] [--json]`: runs every target's synthetic check once and prints a table
 * (or only JSON). Its job is to check: when any probe fails it exits 1 after printing everything, so a script
 * or CI step can gate on it (0 all ok, 1 a probe failed, 2 usage).
 */
import { Command } from 'commander';
import { z } from 'zod';
import { type ProbeRunOptions, runProbes } from '../../adapters/local/http-prober.ts';
import type { ProbeConfig } from '../../core/probe/schema.ts';
import type { ProbeResult } from '../../core/probe/types.ts';
import { ChecksFailedError, UsageError } from './errors.ts';

/** What the command needs from the configuration loader the CLI host injects. */
export type ProbeConfigLoader = (
  path: string,
) => Promise<{ targets: { name: string; probe?: ProbeConfig }[] }>;

const ProbeCommandOptionsSchema = z.strictObject({
  config: z.string().min(1, '--config needs a file path, e.g. --config ./gatewatch.yaml'),
  json: z.boolean().default(false),
});
export type ProbeCommandOptions = z.input<typeof ProbeCommandOptionsSchema>;

export interface ProbeCommandDeps {
  loadConfig: ProbeConfigLoader;
  /** Where output goes. @default process.stdout */
  write?: (text: string) => void;
  /** Passed to `runProbes` (the CLI always probes in local mode). */
  probeOptions?: ProbeRunOptions;
}

export interface ProbeCommandResult {
  results: ProbeResult[];
  /** Exactly what was written. */
  output: string;
}

/** Runs the command without commander: load, probe once, print. */
export async function runProbeCommand(
  options: ProbeCommandOptions,
  deps: ProbeCommandDeps,
): Promise<ProbeCommandResult> {
  const parsed = ProbeCommandOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new UsageError(parsed.error.issues.map((issue) => issue.message).join('; '), {
      hint: 'gatewatch probe [--config ./gatewatch.yaml] [--json]',
    });
  }
  const config = await deps.loadConfig(parsed.data.config);
  const targets = config.targets.flatMap((target) =>
    target.probe === undefined ? [] : [{ name: target.name, probe: target.probe }],
  );
  if (targets.length === 0) {
    throw new UsageError(`no target in ${parsed.data.config} has a probe`, {
      hint: 'add `probe: { url: http://127.0.0.1:8080/health }` under a target',
    });
  }
  const results = await runProbes(targets, { ...deps.probeOptions, mode: 'local' });
  const output = parsed.data.json ? `${JSON.stringify(results, null, 2)}\n` : formatProbeTable(results);
  (deps.write ?? ((text: string) => process.stdout.write(text)))(output);
  return { results, output };
}

/** An aligned, plain-text table: target, ok/FAIL, status, total ms, failure; then a one-line summary. */
export function formatProbeTable(results: readonly ProbeResult[]): string {
  const rows = [
    ['TARGET', 'RESULT', 'STATUS', 'TOTAL MS', 'FAILURE'],
    ...results.map((r) => [
      r.target,
      r.ok ? 'ok' : 'FAIL',
      r.status === undefined ? '-' : String(r.status),
      String(Math.round(r.phases.total)),
      r.failure === undefined
        ? ''
        : `${r.failure.kind}: ${r.failure.message}${r.attempts > 1 ? ` (${r.attempts} attempts)` : ''}`,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  // Right-align the numbers, left-align the words; the last column is not padded.
  const numeric = new Set([2, 3]);
  const lines = rows.map((row) =>
    row
      .map((cell, column) => {
        if (column === row.length - 1) return cell;
        return numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!);
      })
      .join('  ')
      .trimEnd(),
  );
  const failed = results.filter((r) => !r.ok).length;
  const summary =
    failed === 0 ? `all ${results.length} probes ok` : `${failed} of ${results.length} probes failed`;
  return `${lines.join('\n')}\n\n${summary}\n`;
}

/** The commander command; the CLI host injects the configuration loader. */
export function probeCommand(
  loadConfig: ProbeConfigLoader,
  deps: Omit<ProbeCommandDeps, 'loadConfig'> = {},
): Command {
  return new Command('probe')
    .description('run the synthetic checks once and print a table')
    .option('--config <file>', 'configuration file', './gatewatch.yaml')
    .option('--json', 'print only the results as JSON', false)
    .action(async (options: { config: string; json: boolean }) => {
      const { results } = await runProbeCommand(options, { ...deps, loadConfig });
      const failed = results.filter((r) => !r.ok);
      if (failed.length > 0) {
        throw new ChecksFailedError(
          `${failed.length} of ${results.length} probes failed: ${failed.map((r) => r.target).join(', ')}`,
        );
      }
    });
}
