/**
 * Every step of the diagnosis workflow, by the step id the workflow definition names. The Lambda
 * handlers and the local runner both dispatch through this table, so a Task cannot run different code
 * in the two worlds.
 */
import type { WorkflowStepId } from '../../lib/workflow/definition.ts';
import { checkNetworkPath } from './check-network-path.ts';
import { classifyAndReport, writeDegradedReport } from './classify-and-report.ts';
import type { StepDeps } from './deps.ts';
import { collectDiagnostics, sendDiagnostics } from './diagnose-host.ts';
import { gatherNginxEvidence } from './gather-nginx-evidence.ts';
import { notify } from './notify.ts';
import { awaitApproval, planRemediationStep, remediate } from './remediate.ts';

export type { StepDeps } from './deps.ts';

export type Step = (input: unknown, deps: StepDeps) => Promise<unknown>;

export const STEPS: Record<WorkflowStepId, Step> = {
  'gather-nginx-evidence': gatherNginxEvidence,
  'send-diagnostics': sendDiagnostics,
  'collect-diagnostics': collectDiagnostics,
  'check-network-path': checkNetworkPath,
  'classify-and-report': classifyAndReport,
  'write-degraded-report': writeDegradedReport,
  notify,
  'plan-remediation': planRemediationStep,
  'await-approval': awaitApproval,
  remediate,
};
