import { randomBytes } from 'node:crypto';
import type { GatewatchConfig, TargetConfig } from '../core/config.ts';
import { formatIncidentId, isoSeconds } from '../core/diagnosis/incident-id.ts';
import type { Report, TriggerKind } from '../core/types.ts';
import { type WorkflowInput, WorkflowInputSchema } from '../steps/contracts.ts';
import { storeKeys } from '../steps/deps.ts';
import { type LocalDepsOptions, localDeps } from './local-deps.ts';
import { runDiagnosisWorkflow } from './workflow-runner.ts';

/** The workflow ended without a report (even the degraded one failed). */
export class ReportNotWrittenError extends Error {
  override name = 'ReportNotWrittenError';
}

export interface DiagnoseRequest {
  config: GatewatchConfig;
  target: TargetConfig;
  from: Date;
  now?: Date;
  logsOnly?: boolean;
  trigger?: { kind: TriggerKind; detail: string };
  deps?: LocalDepsOptions;
  /** Remediation prints what it would run and runs nothing. */
  dryRun?: boolean;
}

export interface DiagnoseResult {
  report: Report;
  /** Where report.json is (a path). */
  location: string;
  dir: string;
}

/** One diagnosis of one target, through the workflow, on this machine. */
export async function diagnoseOnce(request: DiagnoseRequest): Promise<DiagnoseResult> {
  const now = request.now ?? new Date();
  const deps = localDeps(request.config, request.deps);
  const input: WorkflowInput = WorkflowInputSchema.parse({
    incidentId: formatIncidentId(request.target.name, now, randomBytes(2).toString('hex')),
    target: request.target.name,
    openedAt: isoSeconds(now),
    window: { from: isoSeconds(request.from), to: isoSeconds(now) },
    trigger: request.trigger ?? { kind: 'manual', detail: 'gatewatch diagnose' },
    logsOnly: request.logsOnly ?? false,
    ...(request.dryRun ? { dryRun: true } : {}),
  });
  const outcome = await runDiagnosisWorkflow(input, deps);
  if (!outcome.report)
    throw new ReportNotWrittenError(`the workflow ended without a report for ${input.incidentId}`);
  const text = await deps.store.get(storeKeys.report(input.incidentId, 'json'));
  if (text === undefined) throw new ReportNotWrittenError(`${outcome.report.location} was not written`);
  const location = deps.store.locate(storeKeys.report(input.incidentId, 'json'));
  return { report: JSON.parse(text) as Report, location, dir: location.replace(/\/report\.json$/, '') };
}
