/**
 * Inputs and outputs of the workflow's steps: small plain JSON, validated at every edge (the Lambda
 * handlers and the local runner parse with these schemas). Large evidence lives in the report store;
 * only keys travel.
 */
import { z } from 'zod';

const isoTime = z.iso.datetime({ offset: true });

export const TriggerSchema = z.object({
  kind: z.enum(['manual', 'alarm', 'probe']),
  detail: z.string().max(2000),
});

/** The execution input: what the CLI, the watch loop and the starter Lambda send. */
export const WorkflowInputSchema = z.object({
  incidentId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}-\d{8}T\d{6}Z-[0-9a-f]{4,16}$/),
  target: z.string().min(1),
  openedAt: isoTime,
  window: z.object({ from: isoTime, to: isoTime }),
  trigger: TriggerSchema,
  /** Classify from the logs alone; run nothing on any host. */
  logsOnly: z.boolean().default(false),
  /** Remediation prints what it would run and runs nothing (`--dry-run`). */
  dryRun: z.boolean().optional(),
});
export type WorkflowInput = z.infer<typeof WorkflowInputSchema>;

export const EvidenceRefSchema = z.object({
  key: z.string(),
  /** Hosts to run the diagnostics script on: `local` or EC2 instance ids. */
  hosts: z.array(z.string()).max(16),
  failures: z.number().int(),
  upstreams: z.array(z.string()).max(20),
});
export type EvidenceRef = z.infer<typeof EvidenceRefSchema>;

/** One iteration of the DiagnoseHosts Map. */
export const HostStepInputSchema = z.object({
  incidentId: z.string(),
  target: z.string(),
  window: z.object({ from: isoTime, to: isoTime }),
  host: z.string(),
  command: z.object({ commandId: z.string(), host: z.string() }).optional(),
  poll: z.object({ attempt: z.number().int() }).passthrough().optional(),
});
export type HostStepInput = z.infer<typeof HostStepInputSchema>;

export const CommandRefSchema = z.object({ commandId: z.string(), host: z.string() });
export type CommandRef = z.infer<typeof CommandRefSchema>;

export const PollResultSchema = z.object({
  status: z.enum(['pending', 'done']),
  attempt: z.number().int(),
  key: z.string().optional(),
});
export type PollResult = z.infer<typeof PollResultSchema>;

/** What a host iteration of the Map ends with. */
export const HostOutcomeSchema = z.object({
  host: z.string(),
  status: z.enum(['done', 'timed-out', 'failed']),
  key: z.string().optional(),
  attempts: z.number().int().optional(),
  error: z.string().optional(),
  cause: z.string().optional(),
});
export type HostOutcome = z.infer<typeof HostOutcomeSchema>;

export const NetworkOutcomeSchema = z.object({
  status: z.enum(['checked', 'skipped']),
  key: z.string().optional(),
  reason: z.string().optional(),
});
export type NetworkOutcome = z.infer<typeof NetworkOutcomeSchema>;

/** A caught error, as Step Functions records it. */
export const StepErrorSchema = z.object({ Error: z.string(), Cause: z.string().optional() });

/** The state the report steps receive: everything the earlier steps left behind. */
export const ReportStepInputSchema = WorkflowInputSchema.extend({
  evidence: EvidenceRefSchema.partial().optional(),
  hosts: z.array(HostOutcomeSchema).optional(),
  network: NetworkOutcomeSchema.optional(),
  gatherError: StepErrorSchema.optional(),
  hostsError: StepErrorSchema.optional(),
  networkError: StepErrorSchema.optional(),
  reportError: StepErrorSchema.optional(),
});
export type ReportStepInput = z.infer<typeof ReportStepInputSchema>;

export const ReportRefSchema = z.object({
  key: z.string(),
  location: z.string(),
  rootCause: z.string(),
  upstream: z.string().optional(),
  confidence: z.number(),
  summary: z.string(),
  decisive: z.string().optional(),
  degraded: z.boolean(),
});
export type ReportRef = z.infer<typeof ReportRefSchema>;

export const NotifyInputSchema = ReportStepInputSchema.extend({ report: ReportRefSchema });
export type NotifyInput = z.infer<typeof NotifyInputSchema>;

export const NotifyOutputSchema = z.object({ sent: z.boolean(), detail: z.string().optional() });
export type NotifyOutput = z.infer<typeof NotifyOutputSchema>;
