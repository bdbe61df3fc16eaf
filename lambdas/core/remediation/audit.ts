/**
 * The report's `remediation` section: what was proposed and by which rule, the mode, who approved and
 * when, what ran and its output (redacted, capped), the evidence before and after, whether recovery was
 * verified and whether the incident was escalated. Kept in report.json with the incident and rendered
 * by the one renderer.
 */
import { redactText } from '../redact.ts';
import type { RemediationAction, RemediationMode } from './actions.ts';

/** Where a remediation ended. `remediation-failed` is the incident state the README names. */
export type RemediationStatus =
  | 'no-action'
  | 'suggested'
  | 'awaiting-approval'
  | 'not-approved'
  | 'refused'
  | 'dry-run'
  | 'verified'
  | 'remediation-failed';

export interface ProposedAction {
  action: RemediationAction;
  /** The mapping-table rule (`upstream-down→restart-service`). */
  rule: string;
  because: string;
  /** `local` or an EC2 instance id; for scale-asg the group name. */
  host: string;
  /** The exact command (or API call) that would run. */
  command: string;
  /** The one command that approves it. */
  approveCommand?: string;
}

export interface VerificationCheck {
  at: string;
  /** The probe's answer in one line (`200 in 12 ms`, `connect refused`), or `no probe configured`. */
  probe: string;
  ok: boolean;
  /** Upstream failures nginx logged for the upstream since the action. */
  errorLines: number;
}

export interface RemediationSection {
  mode: RemediationMode;
  status: RemediationStatus;
  /** Why it ended so, in one sentence. */
  reason: string;
  dryRun: boolean;
  proposed?: ProposedAction;
  approval?: {
    status: 'pending' | 'approved' | 'rejected' | 'expired';
    by?: string;
    at?: string;
    expiresAt?: string;
  };
  ran?: {
    startedAt: string;
    endedAt: string;
    outcome: 'ok' | 'failed' | 'refused' | 'dry-run' | 'no-result' | 'error';
    exitCode?: number;
    commands: string[];
    /** Redacted and capped ({@link OUTPUT_CAP} characters). */
    output: string;
  };
  /** What the probe said before the action. */
  before?: VerificationCheck;
  /** Re-probes and log re-reads after it, until recovered or verifySeconds. */
  after?: VerificationCheck[];
  verified?: boolean;
  /** Which guardrail refused the action, when one did. */
  guardrail?: string;
  /** A person was told that the repair did not happen or did not work. */
  escalated: boolean;
}

/** Characters of action output kept in the report. */
export const OUTPUT_CAP = 4000;

/** Output as the report keeps it: secrets redacted, capped, the cap said. */
export function auditOutput(text: string): string {
  const redacted = redactText(text);
  if (redacted.length <= OUTPUT_CAP) return redacted;
  return `${redacted.slice(0, OUTPUT_CAP)}\n… (${redacted.length - OUTPUT_CAP} more characters not kept)`;
}
