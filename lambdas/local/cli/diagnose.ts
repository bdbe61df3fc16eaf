import { Command } from 'commander';
import { z } from 'zod';
import {
  ensureWritableFolder,
  ReportFolderNotWritableError,
} from '../../adapters/local/folder-report-store.ts';
import { selectTarget } from '../../core/config.ts';
import { parseSince, SinceFormatError } from '../../core/since.ts';
import { loadConfigFile } from '../config-file.ts';
import { diagnoseOnce } from '../diagnose.ts';
import { UsageError } from './errors.ts';
import { type Io, parseOptions, printVerdict } from './io.ts';

const OptionsSchema = z.object({
  config: z.string().default('gatewatch.yaml'),
  target: z.string().optional(),
  since: z.string().default('15m'),
  out: z.string().optional(),
  json: z.boolean().default(false),
  logsOnly: z.boolean().default(false),
  dryRun: z.boolean().default(false),
  notify: z.boolean().default(false),
});

export function diagnoseCommand(io: Io): Command {
  return new Command('diagnose')
    .description('diagnose one target now, through the workflow; write the report; print the verdict')
    .option('--config <file>', 'configuration file', 'gatewatch.yaml')
    .option('--target <name>', 'target to diagnose (required when the configuration has several)')
    .option('--since <when>', 'window start: a duration (15m, 2h, 7d) or an ISO-8601 time', '15m')
    .option('--out <dir>', 'reports folder (default: reports.dir of the configuration)')
    .option('--json', 'print the report JSON on stdout and nothing else')
    .option('--logs-only', 'classify from the configured logs alone; run no command on this host')
    .option('--dry-run', 'remediation: record what would run, run nothing')
    .option(
      '--notify',
      'send the configured notifications (e-mail, Slack, webhook, PagerDuty) for this verdict',
    )
    .action(async (raw: unknown) => {
      const options = parseOptions(OptionsSchema, raw);
      const config = await loadConfigFile(options.config);
      const target = (() => {
        try {
          return selectTarget(config, options.target);
        } catch (error) {
          throw new UsageError((error as Error).message, { hint: 'pass --target NAME', cause: error });
        }
      })();
      const now = new Date();
      let from: Date;
      try {
        from = parseSince(options.since, now);
      } catch (error) {
        if (error instanceof SinceFormatError) throw new UsageError(error.message, { cause: error });
        throw error;
      }
      try {
        await ensureWritableFolder(options.out ?? config.reports.dir);
      } catch (error) {
        if (!(error instanceof ReportFolderNotWritableError)) throw error;
        throw new UsageError(error.message, {
          hint: 'pass --out with a folder this user can write, or change reports.dir in the configuration',
          cause: error,
        });
      }
      const result = await diagnoseOnce({
        config,
        target,
        from,
        now,
        logsOnly: options.logsOnly,
        dryRun: options.dryRun,
        // A manual run notifies only when asked: the person running it already sees the verdict.
        deps: {
          notify: options.notify ? 'silent' : 'none',
          ...(options.out === undefined ? {} : { out: options.out }),
        },
      });
      if (options.json) io.out(`${JSON.stringify(result.report, null, 2)}\n`);
      else printVerdict(io, result.report, result.location);
    });
}
