import { Command } from 'commander';
import { z } from 'zod';
import { isoSeconds } from '../../core/diagnosis/incident-id.ts';
import { withActivity } from '../../core/incident/incident-index.ts';
import { formatDuration } from '../../core/report/view.ts';
import {
  actor,
  changeIncident,
  incidentIdArgument,
  RecordOptionsSchema,
  recordLocation,
} from './incidents.ts';
import { type Io, parseOptions } from './io.ts';

const OptionsSchema = RecordOptionsSchema.extend({ by: z.string().optional() });

export function resolveCommand(io: Io): Command {
  return new Command('resolve')
    .description('resolve an incident by hand: resolvedAt, duration and who, in its report and the index')
    .argument('<id>', 'incident id')
    .option('--by <name>', 'who resolves it (default: $USER)')
    .option('--config <file>', 'configuration file', 'gatewatch.yaml')
    .option('--dir <dir>', 'reports folder (default: reports.dir of the configuration)')
    .action(async (id: string, raw: unknown) => {
      const options = parseOptions(OptionsSchema, raw);
      const incidentId = incidentIdArgument(id);
      const by = actor(options.by);
      const location = await recordLocation(options);
      const at = isoSeconds(new Date());
      let already: string | undefined;
      const report = await changeIncident(location, incidentId, (current) => {
        already = current.resolvedAt;
        return withActivity(current, { at, by, action: 'resolve' });
      });
      io.out(
        already !== undefined
          ? `${incidentId}: already resolved at ${already}; recorded that ${by} resolved it too\n`
          : `${incidentId}: resolved by ${by} at ${at} after ${formatDuration(report.durationSeconds ?? 0)}\n`,
      );
    });
}
