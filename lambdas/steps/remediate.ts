/**
 * The Remediate stage, three steps of the one workflow:
 * - `plan-remediation` (PlanRemediation): the mapping table and the mode decide; the report gets its
 *   `remediation` section (the exact action and the command that approves it);
 * - `await-approval` (AwaitApproval, approve mode): asks a person. Locally it waits for
 *   `gatewatch approve`; in AWS the state waits on a task token the approval answers;
 * - `remediate` (Remediate): under the host lock and the guardrails, runs the action through the
 *   actions script (or the Auto Scaling API), re-probes and re-reads the error log until the target
 *   recovered or `verifySeconds` passed, records the ledger and the audit, and says whether to escalate.
 *
 * The Remediate step re-plans from the stored verdict and the configuration: nothing in the state
 * (which an approval answer travels in) decides what runs, only whether it runs.
 */
import { z } from 'zod';
import { isoSeconds } from '../core/diagnosis/incident-id.ts';
import { classifyUpstreamFailure, parseErrorLogLine } from '../core/nginx/error-log.ts';
import { LineSplitter } from '../core/nginx/log-lines.ts';
import { auditOutput, type RemediationSection, type VerificationCheck } from '../core/remediation/audit.ts';
import { remediationOf } from '../core/remediation/config.ts';
import {
  checkGuardrails,
  type GuardrailVerdict,
  type LedgerEntry,
  pruneLedger,
} from '../core/remediation/guardrails.ts';
import {
  buildRemediationEnvironment,
  parseRemediationOutput,
  REMEDIATION_DEFAULTS,
} from '../core/remediation/params.ts';
import { planRemediation, type RemediationPlan } from '../core/remediation/plan.ts';
import type { Report } from '../core/types.ts';
import type { ApprovalAnswer } from '../ports.ts';
import { NotifyInputSchema } from './contracts.ts';
import { findTarget, parseUtcOffset, type RemediationPorts, type StepDeps } from './deps.ts';
import { updateReport } from './incident-record.ts';

/** The target asks for remediation but this world has no remediation ports. */
export class RemediationNotWiredError extends Error {
  override name = 'RemediationNotWiredError';
}

/** What PlanRemediation leaves in the state (`$.remediationPlan`): small, and never trusted for what runs. */
export const RemediationPlanRefSchema = z.object({
  decision: z.enum(['none', 'suggest', 'approve', 'run']),
  reason: z.string(),
  action: z.string().optional(),
  command: z.string().optional(),
  approveCommand: z.string().optional(),
  expiresAt: z.string().optional(),
});
export type RemediationPlanRef = z.infer<typeof RemediationPlanRefSchema>;

/** An approval answer as it travels in the state (`$.approval`): from the local gate or SendTaskSuccess. */
export const ApprovalAnswerSchema = z.union([
  z.object({
    status: z.literal('approved'),
    by: z.string().max(200),
    at: z.string(),
    action: z.string().optional(),
  }),
  z.object({
    status: z.literal('rejected'),
    by: z.string().max(200),
    at: z.string(),
    reason: z.string().max(500).optional(),
  }),
  z.object({ status: z.literal('expired'), at: z.string() }),
]);

/** What Remediate leaves in the state (`$.remediation`) for Notify. */
export const RemediationOutcomeSchema = z.object({
  status: z.string(),
  reason: z.string(),
  escalated: z.boolean(),
  verified: z.boolean().optional(),
  action: z.string().optional(),
  command: z.string().optional(),
  approveCommand: z.string().optional(),
});
export type RemediationOutcome = z.infer<typeof RemediationOutcomeSchema>;

const StageInputSchema = NotifyInputSchema.extend({
  remediationPlan: RemediationPlanRefSchema.optional(),
  approval: z.unknown().optional(),
  approvalError: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});

/** The AwaitApproval Task's payload: the state and, in AWS, the task token (`$$.Task.Token`). */
const AwaitApprovalInputSchema = z.object({ input: StageInputSchema, taskToken: z.string().optional() });

async function loadReport(deps: StepDeps, key: string): Promise<Report> {
  const text = await deps.store.get(key);
  if (text === undefined) throw new Error(`${key} is not in the report store`);
  return JSON.parse(text) as Report;
}

/**
 * Writes the remediation section into the incident's report with the incident record's compare-and-swap
 * (an `ack`, `note` or `resolve` at the same moment is kept), and records it in the index.
 */
async function saveSection(deps: StepDeps, report: Report, section: RemediationSection): Promise<void> {
  await updateReport(deps.store, report.incidentId, (current) => ({ ...current, remediation: section }), {
    now: () => deps.clock.now(),
    config: deps.config,
    ...(deps.probeHistory === undefined ? {} : { history: deps.probeHistory }),
  });
}

function planFor(
  deps: StepDeps,
  input: z.infer<typeof StageInputSchema>,
  report: Report,
  world: 'local' | 'aws',
): RemediationPlan {
  const target = findTarget(deps.config, input.target);
  return planRemediation({
    incidentId: input.incidentId,
    target,
    verdict: report.verdict,
    nginxHost: deps.nginxHost(target),
    world,
    dryRun: input.dryRun ?? false,
  });
}

function baseSection(plan: RemediationPlan): RemediationSection {
  const section: RemediationSection = {
    mode: plan.mode,
    status: plan.decision === 'none' ? 'no-action' : 'suggested',
    reason: plan.reason,
    dryRun: plan.dryRun,
    escalated: false,
  };
  if (plan.proposed) section.proposed = plan.proposed;
  return section;
}

/** PlanRemediation: decide, and write the proposal into the report. */
export async function planRemediationStep(raw: unknown, deps: StepDeps): Promise<RemediationPlanRef> {
  const input = StageInputSchema.parse(raw);
  const target = findTarget(deps.config, input.target);
  if (target.remediation === undefined) {
    return { decision: 'none', reason: 'the target has no remediation block' };
  }
  if (input.report.degraded) {
    return {
      decision: 'none',
      reason: 'the diagnosis did not complete: nothing is remediated on a degraded report',
    };
  }
  // Planning needs no ports, only the world (the PlanRemediation Lambda is wired to the store alone).
  const world = deps.remediation?.world ?? deps.world;
  if (!world) throw new RemediationNotWiredError('remediation is configured but this runtime names no world');
  const report = await loadReport(deps, input.report.key);
  const plan = planFor(deps, input, report, world);
  const section = baseSection(plan);
  const ref: RemediationPlanRef = { decision: plan.decision, reason: plan.reason };
  if (plan.proposed) {
    ref.action = plan.proposed.action;
    ref.command = plan.proposed.command;
    if (plan.proposed.approveCommand) ref.approveCommand = plan.proposed.approveCommand;
  }
  if (plan.decision === 'approve') {
    const expiresAt = new Date(deps.clock.now().getTime() + plan.approvalSeconds * 1000).toISOString();
    section.status = 'awaiting-approval';
    section.approval = { status: 'pending', expiresAt };
    ref.expiresAt = expiresAt;
  }
  await saveSection(deps, report, section);
  return ref;
}

/** AwaitApproval: tell people what waits for them, then wait (locally) or leave the waiting to the state machine. */
export async function awaitApproval(
  raw: unknown,
  deps: StepDeps,
): Promise<ApprovalAnswer | { status: 'pending' }> {
  const { input, taskToken } = AwaitApprovalInputSchema.parse(raw);
  const ports = deps.remediation;
  if (!ports) throw new RemediationNotWiredError('approve mode needs the remediation ports');
  const plan = input.remediationPlan;
  if (plan?.decision !== 'approve' || plan.action === undefined || plan.expiresAt === undefined) {
    return {
      status: 'rejected',
      by: 'gatewatch',
      at: isoSeconds(deps.clock.now()),
      reason: 'nothing to approve',
    };
  }
  // Best effort: a channel that is down must not cancel the approval itself (the report and the console
  // carry the approve command too).
  await deps.notifier
    .notify({
      subject: `[gatewatch] approval needed: ${plan.action} for ${input.target} (${input.report.rootCause})`,
      text: [
        `${input.target}: ${input.report.rootCause}${input.report.upstream ? ` (${input.report.upstream})` : ''}`,
        '',
        input.report.summary,
        '',
        `Proposed: ${plan.command ?? plan.action}`,
        `Approve (until ${plan.expiresAt}; after that nothing runs):`,
        `  ${plan.approveCommand ?? ''}`,
        `Report: ${input.report.location}`,
      ].join('\n'),
    })
    .catch((error: unknown) => {
      console.error(
        `gatewatch: the approval request for ${input.incidentId} could not be sent: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  return ports.approvals.request({
    incidentId: input.incidentId,
    target: input.target,
    action: plan.action,
    command: plan.command ?? plan.action,
    expiresAt: plan.expiresAt,
    ...(taskToken === undefined ? {} : { taskToken }),
  });
}

/** Remediate: guardrails, the action, verify-after, the ledger and the audit. */
export async function remediate(raw: unknown, deps: StepDeps): Promise<RemediationOutcome> {
  const input = StageInputSchema.parse(raw);
  const ports = deps.remediation;
  if (!ports)
    throw new RemediationNotWiredError('remediation is configured but this runtime has no remediation ports');
  const report = await loadReport(deps, input.report.key);
  const plan = planFor(deps, input, report, ports.world);
  const section = baseSection(plan);
  if (report.remediation?.approval?.expiresAt !== undefined && plan.decision === 'approve') {
    section.approval = { status: 'pending', expiresAt: report.remediation.approval.expiresAt };
  }
  const finish = async (change: Partial<RemediationSection>): Promise<RemediationOutcome> => {
    Object.assign(section, change);
    await saveSection(deps, report, section);
    const outcome: RemediationOutcome = {
      status: section.status,
      reason: section.reason,
      escalated: section.escalated,
    };
    if (section.verified !== undefined) outcome.verified = section.verified;
    if (plan.proposed) {
      outcome.action = plan.proposed.action;
      outcome.command = plan.proposed.command;
      if (plan.proposed.approveCommand) outcome.approveCommand = plan.proposed.approveCommand;
    }
    return outcome;
  };

  if (plan.decision !== 'run' && plan.decision !== 'approve') {
    return finish({});
  }
  if (plan.decision === 'approve') {
    const answer = approvalOf(input, deps);
    if (answer.status !== 'approved') {
      return finish({
        status: 'not-approved',
        reason:
          answer.status === 'expired'
            ? 'the approval expired: nothing ran'
            : `rejected by ${answer.by}: nothing ran`,
        approval: {
          ...section.approval,
          status: answer.status,
          at: answer.at,
          ...('by' in answer ? { by: answer.by } : {}),
        },
      });
    }
    if (answer.action !== undefined && answer.action !== plan.proposed?.action) {
      return finish({
        status: 'not-approved',
        reason: `the approval names ${answer.action}, the proposal is ${plan.proposed?.action}: nothing ran`,
        approval: { ...section.approval, status: 'rejected', by: answer.by, at: answer.at },
      });
    }
    section.approval = { ...section.approval, status: 'approved', by: answer.by, at: answer.at };
  }

  const proposed = plan.proposed!;
  const target = findTarget(deps.config, input.target);
  const settings = remediationOf(target);
  const actionTimeout = REMEDIATION_DEFAULTS.actionTimeoutSeconds;
  const locked = await ports.ledger.withLock(
    `host-${proposed.host}`,
    { ttlMs: (actionTimeout + settings.verifySeconds + 60) * 1000, waitMs: 30_000 },
    async () => runGuarded(deps, ports, input.incidentId, input.target, plan, report),
  );
  if (!locked.acquired) {
    return finish({
      status: 'refused',
      guardrail: 'host-lock',
      reason: `another remediation holds host ${proposed.host}${locked.holder ? ` (${locked.holder})` : ''}: one host at a time; nothing ran`,
      escalated: true,
    });
  }
  return finish(locked.value);
}

function approvalOf(input: z.infer<typeof StageInputSchema>, deps: StepDeps): ApprovalAnswer {
  if (input.approvalError) {
    // States.Timeout: the approval expired. Anything else (SendTaskFailure): rejected.
    return input.approvalError.Error === 'States.Timeout'
      ? { status: 'expired', at: isoSeconds(deps.clock.now()) }
      : {
          status: 'rejected',
          by: 'approver',
          at: isoSeconds(deps.clock.now()),
          reason: input.approvalError.Cause ?? input.approvalError.Error,
        };
  }
  const parsed = ApprovalAnswerSchema.safeParse(input.approval);
  if (!parsed.success) return { status: 'expired', at: isoSeconds(deps.clock.now()) };
  return parsed.data;
}

async function runGuarded(
  deps: StepDeps,
  ports: RemediationPorts,
  incidentId: string,
  targetName: string,
  plan: RemediationPlan,
  report: Report,
): Promise<Partial<RemediationSection>> {
  const proposed = plan.proposed!;
  const nowMs = deps.clock.now().getTime();
  const entry: LedgerEntry = {
    incidentId,
    target: targetName,
    host: proposed.host,
    action: proposed.action,
    at: new Date(nowMs).toISOString(),
    outcome: plan.dryRun ? 'dry-run' : 'started',
  };
  const verdict = await ports.ledger.update<GuardrailVerdict>((entries) => {
    const check = checkGuardrails(entries, {
      target: targetName,
      host: proposed.host,
      incidentId,
      nowMs,
      maxPerHour: plan.maxPerHour,
    });
    const kept = pruneLedger(entries, nowMs).filter(
      (e) => !(e.incidentId === incidentId && e.action === proposed.action),
    );
    return check.allowed
      ? { entries: [...kept, entry], result: check }
      : { entries: [...kept, { ...entry, outcome: 'refused' as const }], result: check };
  });
  if (!verdict.allowed) {
    return {
      status: 'refused',
      guardrail: verdict.guardrail,
      reason: `${verdict.reason}; nothing ran`,
      escalated: true,
    };
  }

  const target = findTarget(deps.config, targetName);
  const before = await check(deps, ports, target, report, undefined);
  const startedAt = deps.clock.now().toISOString();
  let ran: NonNullable<RemediationSection['ran']>;
  try {
    ran = await runAction(ports, plan, startedAt, deps);
  } catch (error) {
    ran = {
      startedAt,
      endedAt: deps.clock.now().toISOString(),
      outcome: 'error',
      commands: [proposed.command],
      output: auditOutput(error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
    };
  }
  const result: Partial<RemediationSection> = { ran, before };
  if (ran.outcome === 'dry-run') {
    return { ...result, status: 'dry-run', reason: 'dry run: the commands above were not run' };
  }
  if (ran.outcome !== 'ok') {
    await recordOutcome(ports, entry, 'failed');
    return {
      ...result,
      status: 'remediation-failed',
      verified: false,
      escalated: true,
      reason: `the action did not succeed (${ran.outcome}${ran.exitCode === undefined ? '' : `, status ${ran.exitCode}`}): a person must look`,
    };
  }
  const after = await verify(deps, ports, target, report, Date.parse(ran.endedAt), plan.verifySeconds);
  const verified = after.at(-1)?.ok === true;
  await recordOutcome(ports, entry, verified ? 'verified' : 'failed');
  return verified
    ? {
        ...result,
        after,
        status: 'verified',
        verified: true,
        reason: `${proposed.action} ran and the target recovered`,
      }
    : {
        ...result,
        after,
        status: 'remediation-failed',
        verified: false,
        escalated: true,
        reason: `${proposed.action} ran but the target did not recover within ${plan.verifySeconds} s: a person must look`,
      };
}

async function recordOutcome(
  ports: RemediationPorts,
  entry: LedgerEntry,
  outcome: LedgerEntry['outcome'],
): Promise<void> {
  await ports.ledger.update((entries) => ({
    entries: entries.map((e) =>
      e.incidentId === entry.incidentId && e.action === entry.action && e.at === entry.at
        ? { ...e, outcome }
        : e,
    ),
    result: undefined,
  }));
}

async function runAction(
  ports: RemediationPorts,
  plan: RemediationPlan,
  startedAt: string,
  deps: StepDeps,
): Promise<NonNullable<RemediationSection['ran']>> {
  const proposed = plan.proposed!;
  if (plan.scale) {
    if (!ports.scaler) throw new RemediationNotWiredError('scale-asg needs the Auto Scaling port (AWS only)');
    const scaled = await ports.scaler.raise({ ...plan.scale, dryRun: plan.dryRun });
    return {
      startedAt,
      endedAt: deps.clock.now().toISOString(),
      outcome: plan.dryRun ? 'dry-run' : 'ok',
      commands: [proposed.command],
      output: `desired capacity of ${plan.scale.group}: ${scaled.before} → ${scaled.after}${scaled.changed ? '' : ' (already at maxCapacity: unchanged)'}`,
    };
  }
  const env = buildRemediationEnvironment(plan.params!);
  const result = await ports.runner.run({
    host: proposed.host,
    env,
    timeoutSeconds: REMEDIATION_DEFAULTS.actionTimeoutSeconds + 10,
  });
  const parsed = parseRemediationOutput(result.stdout);
  const ran: NonNullable<RemediationSection['ran']> = {
    startedAt,
    endedAt: deps.clock.now().toISOString(),
    outcome: result.timedOut ? 'error' : parsed.outcome,
    commands: parsed.commands,
    output: auditOutput(
      [parsed.output, parsed.reason ? `(${parsed.reason})` : '', result.stderr.trim()]
        .filter((s) => s !== '')
        .join('\n'),
    ),
  };
  if (parsed.exitCode !== undefined) ran.exitCode = parsed.exitCode;
  return ran;
}

async function verify(
  deps: StepDeps,
  ports: RemediationPorts,
  target: ReturnType<typeof findTarget>,
  report: Report,
  sinceMs: number,
  verifySeconds: number,
): Promise<VerificationCheck[]> {
  const deadline = sinceMs + verifySeconds * 1000;
  const interval = ports.verifyIntervalMs ?? 1000;
  const checks: VerificationCheck[] = [];
  let from = sinceMs;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, interval));
    const now = deps.clock.now().getTime();
    const result = await check(deps, ports, target, report, from);
    checks.push(result);
    from = now;
    if (result.ok || now >= deadline) return checks.slice(-20);
  }
}

/** One check: the probe, and the upstream failures nginx logged since `sinceMs` (when given). */
async function check(
  deps: StepDeps,
  ports: RemediationPorts,
  target: ReturnType<typeof findTarget>,
  report: Report,
  sinceMs: number | undefined,
): Promise<VerificationCheck> {
  const probe = await ports.prober.probe(target).catch((error: unknown) => ({
    ok: false,
    line: `probe failed to run: ${error instanceof Error ? error.message : String(error)}`,
  }));
  let errorLines = 0;
  if (sinceMs !== undefined) errorLines = await failuresSince(deps, target, report.verdict.upstream, sinceMs);
  const at = isoSeconds(deps.clock.now());
  const ok = (probe?.ok ?? true) && errorLines === 0 && (probe !== undefined || sinceMs !== undefined);
  return { at, probe: probe?.line ?? 'no probe configured', ok, errorLines };
}

/** Upstream failures for `upstream` logged strictly after the second of `sinceMs`. */
async function failuresSince(
  deps: StepDeps,
  target: ReturnType<typeof findTarget>,
  upstream: string | undefined,
  sinceMs: number,
): Promise<number> {
  const log = deps.logLocations(target).error;
  const fromMs = Math.floor(sinceMs / 1000) * 1000 + 1000;
  const utcOffsetMinutes = parseUtcOffset(target.nginx.utcOffset, deps.defaultUtcOffsetMinutes);
  let count = 0;
  const countLine = (line: string) => {
    let entry: ReturnType<typeof parseErrorLogLine>;
    try {
      entry = parseErrorLogLine(line, { utcOffsetMinutes });
    } catch {
      return;
    }
    if (entry.epochMs < fromMs) return;
    const failure = classifyUpstreamFailure(entry);
    if (failure && (upstream === undefined || failure.peer === undefined || failure.peer === upstream))
      count++;
  };
  // Bounded lines, as the diagnosis reads them: a hostile giant line costs no memory and counts nothing.
  const splitter = new LineSplitter({ line: countLine, oversized: () => {} });
  try {
    for await (const chunk of deps.logs.chunks({
      log,
      fromMs: fromMs - 60_000,
      toMs: deps.clock.now().getTime() + 60_000,
    }))
      splitter.push(chunk);
    splitter.end();
  } catch {
    // An unreadable log does not make a repair fail: the probe decides then.
  }
  return count;
}
