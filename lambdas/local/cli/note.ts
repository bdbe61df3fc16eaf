import { Command } from 'commander';
import { z } from 'zod';
import { isoSeconds } from '../../core/diagnosis/incident-id.ts';
import { withActivity } from '../../core/incident/incident-index.ts';
import { redactText } from '../../core/redact.ts';
import { UsageError } from './errors.ts';
import {
  actor,
  changeIncident,
  incidentIdArgument,
  RecordOptionsSchema,
  recordLocation,
} from './incidents.ts';
import { type Io, parseOptions } from './io.ts';

const OptionsSchema = RecordOptionsSchema.extend({ by: z.string().optional() });
const MAX_NOTE = 4000;

export function noteCommand(io: Io): Command {
  return new Command('note')
    .description('add a note to an incident (its report and the index); secrets in it are redacted')
    .argument('<id>', 'incident id')
    .argument('<text...>', 'the note')
    .option('--by <name>', 'who writes it (default: $USER)')
    .option('--config <file>', 'configuration file', 'gatewatch.yaml')
    .option('--dir <dir>', 'reports folder (default: reports.dir of the configuration)')
    .action(async (id: string, words: string[], raw: unknown) => {
      const options = parseOptions(OptionsSchema, raw);
      const incidentId = incidentIdArgument(id);
      const text = redactText(words.join(' ').trim());
      if (text === '')
        throw new UsageError('the note is empty', { hint: 'gatewatch note ID "what you found"' });
      if (text.length > MAX_NOTE)
        throw new UsageError(`the note has ${text.length} characters; at most ${MAX_NOTE}`, {
          hint: 'link to a longer write-up instead',
        });
      const by = actor(options.by);
      const location = await recordLocation(options);
      const at = isoSeconds(new Date());
      await changeIncident(location, incidentId, (report) =>
        withActivity(report, { at, by, action: 'note', text }),
      );
      io.out(`${incidentId}: note added by ${by} at ${at}\n`);
    });
}
