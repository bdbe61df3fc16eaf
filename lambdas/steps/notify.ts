/** Step 5: tell people — the verdict, the upstream, the decisive evidence line and where the report is. */
import { NotifyInputSchema, type NotifyOutput } from './contracts.ts';
import type { StepDeps } from './deps.ts';

/** Subjects stay short and single-line whatever the verdict text holds (SNS allows < 100 characters). */
export function notificationSubject(target: string, rootCause: string, upstream: string | undefined): string {
  const subject = `[gatewatch] ${target}: ${rootCause}${upstream ? ` ${upstream}` : ''}`;
  const clean = subject.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return clean.length > 99 ? `${clean.slice(0, 98)}…` : clean;
}

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
    subject: notificationSubject(input.target, report.rootCause, report.upstream),
    text,
  });
  return { sent: true };
}
