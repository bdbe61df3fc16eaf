/**
 * `gatewatch lint [--config F] [--target NAME] [--dump FILE] [--fail-on error|warning|info] [--json]`: the
 * settings that make 502/504 likely, each with the directive's file:line and the fix. Reads the effective
 * configuration with `nginx -T` (through the read-only diagnostics script, as a diagnosis does) and the
 * command line of the application listening behind each upstream; or lints an `nginx -T` dump from a file
 * (`-` for stdin) with no configuration at all, for CI. Exit codes fit CI: 0 no finding at or above
 * `--fail-on`, 1 some, 2 usage.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { z } from 'zod';
import { readAppServer } from '../../adapters/local/proc-app-reader.ts';
import { ShellCommandRunner } from '../../adapters/local/shell-command-runner.ts';
import type { TargetConfig } from '../../core/config.ts';
import { interpretHostFacts, listenerFor } from '../../core/diagnostics/host-facts.ts';
import { buildDiagnosticsEnvironment } from '../../core/diagnostics/params.ts';
import { parseDiagnosticsOutput } from '../../core/diagnostics/parse.ts';
import type { AppServerSettings } from '../../core/lint/app-settings.ts';
import { atOrAbove, formatLint, LINT_SEVERITIES, type LintFinding, lintNginx } from '../../core/lint/lint.ts';
import { type NginxConfig, NginxConfigParseError, parseNginxDump } from '../../core/nginx/config.ts';
import { diagnosticsParams } from '../../steps/diagnose-host.ts';
import { loadConfigFile } from '../config-file.ts';
import { ChecksFailedError, UsageError } from './errors.ts';
import { type Io, parseOptions } from './io.ts';

const OptionsSchema = z.object({
  config: z.string().min(1).default('gatewatch.yaml'),
  target: z.string().min(1).optional(),
  dump: z.string().min(1).optional(),
  failOn: z
    .enum(LINT_SEVERITIES, { error: `must be one of ${LINT_SEVERITIES.join(', ')}` })
    .default('warning'),
  json: z.boolean().default(false),
});

export interface LintResult {
  /** The target's name, or the dump's path. */
  source: string;
  findings: LintFinding[];
  /** Application servers found behind the upstreams, by peer. */
  apps: Record<string, AppServerSettings>;
}

export function lintCommand(io: Io): Command {
  return new Command('lint')
    .description(
      'the nginx settings that make 502/504 likely, with file:line and the fix (exit 1 on findings)',
    )
    .option('--config <file>', 'configuration file', 'gatewatch.yaml')
    .option('--target <name>', 'lint only this target')
    .option('--dump <file>', 'lint this `nginx -T` output instead (`-` reads stdin); needs no configuration')
    .option('--fail-on <severity>', 'exit 1 when a finding is at or above: error, warning or info', 'warning')
    .option('--json', 'print the findings as JSON', false)
    .action(async (raw: unknown) => {
      const options = parseOptions(OptionsSchema, raw);
      const results =
        options.dump !== undefined ? [await lintDump(options.dump)] : await lintTargets(options);
      if (options.json) io.out(`${JSON.stringify(results, null, 2)}\n`);
      else
        for (const result of results) io.out(`${result.source}:\n${indent(formatLint(result.findings))}\n`);
      const failing = results.flatMap((r) => atOrAbove(r.findings, options.failOn));
      if (failing.length > 0) {
        throw new ChecksFailedError(
          `${failing.length} finding${failing.length === 1 ? '' : 's'} at or above ${options.failOn}`,
        );
      }
    });
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `  ${line}`))
    .join('\n');
}

async function lintDump(path: string): Promise<LintResult> {
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--dump ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      hint: 'write the dump with `nginx -T > nginx-dump.txt` (as a user that can read the configuration)',
    });
  }
  return { source: path, findings: lintNginx({ config: parseDump(text, `--dump ${path}`) }), apps: {} };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseDump(text: string, label: string): NginxConfig {
  try {
    return parseNginxDump(text);
  } catch (error) {
    if (error instanceof NginxConfigParseError) {
      throw new UsageError(`${label}: not an \`nginx -T\` dump nginx accepts: ${error.message}`, {
        hint: 'run `nginx -t` first: lint reads a configuration nginx itself accepts',
        cause: error,
      });
    }
    throw error;
  }
}

async function lintTargets(options: z.infer<typeof OptionsSchema>): Promise<LintResult[]> {
  const config = await loadConfigFile(options.config);
  const targets = config.targets.filter((t) => options.target === undefined || t.name === options.target);
  if (targets.length === 0) {
    throw new UsageError(`no target named ${JSON.stringify(options.target)} in ${options.config}`, {
      hint: `one of: ${config.targets.map((t) => t.name).join(', ')}`,
    });
  }
  const results: LintResult[] = [];
  for (const target of targets) results.push(await lintTarget(target));
  return results;
}

/** `nginx -T` and the listeners, through the same read-only script and parameters as a diagnosis. */
async function lintTarget(target: TargetConfig): Promise<LintResult> {
  const now = new Date();
  const params = diagnosticsParams(target, 'local', 'local', {
    from: now.toISOString(),
    to: now.toISOString(),
  });
  params.checks = ['nginx-config', 'listen'];
  const run = await new ShellCommandRunner().runDiagnostics({
    host: 'local',
    checks: params.checks,
    params: buildDiagnosticsEnvironment(params),
    timeoutSeconds: 30,
  });
  const facts = interpretHostFacts(parseDiagnosticsOutput(run.stdout));
  if (facts.nginxDump === undefined) {
    const check = facts.checks.find((c) => c.name === 'nginx-config');
    throw new UsageError(
      `${target.name}: could not read nginx's configuration with \`nginx -T\`${check?.detail ? `: ${check.detail}` : ''}`,
      {
        hint: `set targets[].nginx.conf (and prefix/binary) for ${target.name}, or lint a dump: nginx -T > dump.txt; gatewatch lint --dump dump.txt`,
      },
    );
  }
  const nginx = parseDump(facts.nginxDump, `${target.name}: nginx -T`);
  const apps: Record<string, AppServerSettings> = {};
  const peers = new Set(nginx.passes.flatMap((p) => p.peers));
  for (const upstream of target.upstreams) peers.add(upstream.address);
  for (const peer of peers) {
    const listener = listenerFor(facts, peer);
    if (!listener) continue;
    const app = await readAppServer(listener.pids);
    if (app) apps[peer] = app;
  }
  return { source: target.name, findings: lintNginx({ config: nginx, apps }), apps };
}
