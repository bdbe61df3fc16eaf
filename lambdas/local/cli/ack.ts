import { Command } from 'commander';
import { z } from 'zod';
import { isoSeconds } from '../../core/diagnosis/incident-id.ts';
import { withActivity } from '../../core/incident/incident-index.ts';
import {
  actor,
  changeIncident,
  incidentIdArgument,
  RecordOptionsSchema,
  recordLocation,
} from './incidents.ts';
import { type Io, parseOptions } from './io.ts';

const OptionsSchema = RecordOptionsSchema.extend({ by: z.string().optional() });

export function ackCommand(io: Io): Command {
  return new Command('ack')
    .description('acknowledge an incident: records who and when in its report and the index')
    .argument('<id>', 'incident id')
    .option('--by <name>', 'who acknowledges (default: $USER)')
    .option('--config <file>', 'configuration file', 'gatewatch.yaml')
    .option('--dir <dir>', 'reports folder (default: reports.dir of the configuration)')
    .action(async (id: string, raw: unknown) => {
      const options = parseOptions(OptionsSchema, raw);
      const incidentId = incidentIdArgument(id);
      const by = actor(options.by);
      const location = await recordLocation(options);
      const at = isoSeconds(new Date());
      await changeIncident(location, incidentId, (report) => withActivity(report, { at, by, action: 'ack' }));
      io.out(`${incidentId}: acknowledged by ${by} at ${at}\n`);
    });
}
