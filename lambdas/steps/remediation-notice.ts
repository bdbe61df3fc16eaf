/**
 * The remediation part of the Notify step's message: the exact action and the command that approves it
 * (suggest), what ran and whether the target recovered, or the escalation. Read from the state the
 * Remediate stage left (`$.remediationPlan`, `$.remediation`, `$.remediationError`).
 */
import { z } from 'zod';
import { RemediationOutcomeSchema, RemediationPlanRefSchema } from './remediate.ts';

export interface RemediationNotice {
  status: string;
  reason: string;
  escalated: boolean;
  command?: string | undefined;
  approveCommand?: string | undefined;
}

const StateSchema = z.object({
  remediationPlan: RemediationPlanRefSchema.optional(),
  remediation: RemediationOutcomeSchema.optional(),
  remediationError: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});

export function remediationOutcomeOf(raw: unknown): RemediationNotice | undefined {
  const parsed = StateSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const { remediationPlan: plan, remediation, remediationError } = parsed.data;
  if (remediation) return remediation;
  if (remediationError) {
    return {
      status: 'remediation-failed',
      reason: `the remediation stage failed (${remediationError.Error}); nothing is known to have run: a person must look`,
      escalated: true,
    };
  }
  if (plan && plan.decision !== 'none') {
    return {
      status: 'suggested',
      reason: plan.reason,
      escalated: false,
      command: plan.command,
      approveCommand: plan.approveCommand,
    };
  }
  return undefined;
}
