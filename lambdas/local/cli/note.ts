import type { Command } from 'commander';
import { withActivity } from '../../core/incident/incident-index.ts';
import { redactText } from '../../core/redact.ts';
import { UsageError } from './errors.ts';
import { changeIncident, incidentAction, incidentActionCommand } from './incidents.ts';
import type { Io } from './io.ts';

const MAX_NOTE = 4000;

export function noteCommand(io: Io): Command {
  return incidentActionCommand(
    'note',
    'add a note to an incident (its report and the index); secrets in it are redacted',
    'who writes it',
  )
    .argument('<text...>', 'the note')
    .action(async (id: string, words: string[], raw: unknown) => {
      const text = redactText(words.join(' ').trim());
      if (text === '')
        throw new UsageError('the note is empty', { hint: 'gatewatch note ID "what you found"' });
      if (text.length > MAX_NOTE)
        throw new UsageError(`the note has ${text.length} characters; at most ${MAX_NOTE}`, {
          hint: 'link to a longer write-up instead',
        });
      const { incidentId, by, location, at } = await incidentAction(id, raw);
      await changeIncident(location, incidentId, (report) =>
        withActivity(report, { at, by, action: 'note', text }),
      );
      io.out(`${incidentId}: note added by ${by} at ${at}\n`);
    });
}
