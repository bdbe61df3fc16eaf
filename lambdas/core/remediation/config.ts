/**
 * `targets[].remediation` in gatewatch.yaml (the names are a contract, documented in the README):
 *
 * ```yaml
 *     remediation:
 *       mode: suggest            # suggest (default) | approve | auto
 *       actions: [restart-service, reload-nginx]   # the allowlist; empty (default) = nothing ever runs
 *       maxPerHour: 3            # per target, and per host across targets
 *       verifySeconds: 60        # re-probe until recovered or this long, then stop and escalate
 *       approvalSeconds: 900     # approve mode: an approval not given by then = no action
 *       autoScalingGroup: { name: shop-api, maxCapacity: 6 }   # AWS only: what scale-asg raises
 * ```
 */
import { z } from 'zod';
import { REMEDIATION_ACTIONS, REMEDIATION_MODES } from './actions.ts';

/** The longest an approval may stay open: the AwaitApproval state's TimeoutSeconds. */
export const MAX_APPROVAL_SECONDS = 3600;
/** The longest verification: bounded so the Remediate step always ends. */
export const MAX_VERIFY_SECONDS = 600;

export const RemediationConfigSchema = z.strictObject({
  mode: z
    .enum(REMEDIATION_MODES, {
      error: `must be one of ${REMEDIATION_MODES.join(', ')} (suggest is the default)`,
    })
    .default('suggest'),
  actions: z
    .array(
      z.enum(REMEDIATION_ACTIONS, {
        error: `must be one of ${REMEDIATION_ACTIONS.join(', ')}; list only the actions gatewatch may run`,
      }),
    )
    .default([]),
  maxPerHour: z
    .number({ error: 'must be a whole number of actions per hour, e.g. 3' })
    .int('must be a whole number of actions per hour, e.g. 3')
    .min(0, 'must be 0 (never) or more')
    .max(60, 'must be at most 60')
    .default(3),
  verifySeconds: z
    .number({ error: 'must be a number of seconds, e.g. 60' })
    .int('must be whole seconds, e.g. 60')
    .min(1, 'must be at least 1 second')
    .max(MAX_VERIFY_SECONDS, `must be at most ${MAX_VERIFY_SECONDS} seconds (the Remediate step has to end)`)
    .default(60),
  approvalSeconds: z
    .number({ error: 'must be a number of seconds, e.g. 900' })
    .int('must be whole seconds, e.g. 900')
    .min(1, 'must be at least 1 second')
    .max(
      MAX_APPROVAL_SECONDS,
      `must be at most ${MAX_APPROVAL_SECONDS} seconds (the workflow's approval wait)`,
    )
    .default(900),
  autoScalingGroup: z
    .strictObject({
      name: z
        .string()
        .regex(
          /^[A-Za-z0-9][A-Za-z0-9 _.:/=+@-]{0,254}$/,
          'must be an Auto Scaling group name, e.g. shop-api',
        ),
      maxCapacity: z.number().int().min(1, 'must be at least 1').max(1000, 'must be at most 1000'),
      step: z.number().int().min(1).max(10).default(1),
    })
    .optional(),
});
export type RemediationConfig = z.infer<typeof RemediationConfigSchema>;

/** The remediation settings of a target, defaults filled in when the block is absent. */
export function remediationOf(target: { remediation?: RemediationConfig | undefined }): RemediationConfig {
  return target.remediation ?? RemediationConfigSchema.parse({});
}
