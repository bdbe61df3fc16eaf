/** Step 5: tell people — the verdict, the upstream, the decisive evidence line and where the report is. */
import { incidentSubject } from '../core/notification.ts';
import { NotifyInputSchema, type NotifyOutput } from './contracts.ts';
import type { StepDeps } from './deps.ts';

export async function notify(raw: unknown, deps: StepDeps): Promise<NotifyOutput> {
  const input = NotifyInputSchema.parse(raw);
  const report = input.report;
  const text = [
    `${input.target}: ${report.rootCause}${report.upstream ? ` (${report.upstream})` : ''}, confidence ${report.confidence}`,
    '',
    report.summary,
    '',
    report.decisive ? `Evidence: ${report.decisive}` : 'Evidence: see the report.',
    `Report: ${report.location}`,
    report.degraded ? '\nThe diagnosis did not complete; the report says what failed.' : '',
    `Incident ${input.incidentId}, window ${input.window.from} – ${input.window.to}, trigger ${input.trigger.kind}.`,
  ].join('\n');
  await deps.notifier.notify({
    subject: incidentSubject(input.target, report.rootCause, report.upstream),
    text,
  });
  return { sent: true };
}
