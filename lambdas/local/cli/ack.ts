import type { Command } from 'commander';
import { withActivity } from '../../core/incident/incident-index.ts';
import { changeIncident, incidentAction, incidentActionCommand } from './incidents.ts';
import type { Io } from './io.ts';

export function ackCommand(io: Io): Command {
  return incidentActionCommand(
    'ack',
    'acknowledge an incident: records who and when in its report and the index',
    'who acknowledges',
  ).action(async (id: string, raw: unknown) => {
    const { incidentId, by, location, at } = await incidentAction(id, raw);
    await changeIncident(location, incidentId, (report) => withActivity(report, { at, by, action: 'ack' }));
    io.out(`${incidentId}: acknowledged by ${by} at ${at}\n`);
  });
}
