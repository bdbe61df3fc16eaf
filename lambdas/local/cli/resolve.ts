import type { Command } from 'commander';
import { withActivity } from '../../core/incident/incident-index.ts';
import { formatDuration } from '../../core/report/view.ts';
import { changeIncident, incidentAction, incidentActionCommand } from './incidents.ts';
import type { Io } from './io.ts';

export function resolveCommand(io: Io): Command {
  return incidentActionCommand(
    'resolve',
    'resolve an incident by hand: resolvedAt, duration and who, in its report and the index',
    'who resolves it',
  ).action(async (id: string, raw: unknown) => {
    const { incidentId, by, location, at } = await incidentAction(id, raw);
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
