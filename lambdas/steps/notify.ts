/** Step 5: tell people — the verdict, the upstream, the decisive evidence line and where the report is. */
import { incidentSubject } from '../core/notification.ts';
import { NotifyInputSchema, type NotifyOutput } from './contracts.ts';
import type { StepDeps } from './deps.ts';
import { remediationLines, remediationOutcomeOf } from './remediation-notice.ts';

export async function notify(raw: unknown, deps: StepDeps): Promise<NotifyOutput> {
  const input = NotifyInputSchema.parse(raw);
  const report = input.report;
  const remediation = remediationOutcomeOf(raw);
  const text = [
    `${input.target}: ${report.rootCause}${report.upstream ? ` (${report.upstream})` : ''}, confidence ${report.confidence}`,
    '',
    report.summary,
    '',
    report.decisive ? `Evidence: ${report.decisive}` : 'Evidence: see the report.',
    `Report: ${report.location}`,
    report.degraded ? '\nThe diagnosis did not complete; the report says what failed.' : '',
    `Incident ${input.incidentId}, window ${input.window.from} – ${input.window.to}, trigger ${input.trigger.kind}.`,
    ...remediationLines(remediation),
  ].join('\n');
  const subject = incidentSubject(input.target, report.rootCause, report.upstream);
  await deps.notifier.notify({
    subject: remediation?.escalated ? `[remediation failed] ${subject}` : subject,
    text,
  });
  return { sent: true };
}
