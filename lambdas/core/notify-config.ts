/**
 * The `notify` part of gatewatch.yaml and the per-target `silence` windows. Secrets are never written in
 * the file: each one is a reference — an environment variable (local), or an SSM Parameter Store
 * SecureString or a Secrets Manager secret by name or ARN (read at run time by the Notify Lambda in AWS).
 */
import { z } from 'zod';
import { parseCron } from './silence.ts';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const SSM_NAME = /^\/?[A-Za-z0-9_.\-/]{1,1011}$/;
const SECRET_ID = /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$/;

/** Where a secret is read from at run time; the configuration holds only its name. */
export const SecretRefSchema = z.union(
  [
    z.strictObject({ env: z.string().regex(ENV_NAME, 'must be an environment variable name') }),
    z.strictObject({
      ssmParameter: z.string().regex(SSM_NAME, 'must be an SSM parameter name like /gatewatch/slack'),
    }),
    z.strictObject({
      secretsManager: z.string().regex(SECRET_ID, 'must be a Secrets Manager secret name or ARN'),
    }),
  ],
  {
    error:
      'must be one of { env: NAME } (local), { ssmParameter: /name } or { secretsManager: name-or-arn } (AWS); never the secret itself',
  },
);
export type SecretRef = z.infer<typeof SecretRefSchema>;

const httpUrl = z
  .url('must be a URL like https://hooks.example.com/gatewatch')
  .refine((value) => /^https?:\/\//i.test(value), 'must be an http:// or https:// URL');

export const SmtpConfigSchema = z
  .strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535, 'must be a TCP port (1-65535)'),
    /** TLS from the first byte (usually port 465). */
    secure: z.boolean().default(false),
    /** `required`: refuse to send unless the server upgrades with STARTTLS; `off`: never upgrade. */
    starttls: z.enum(['opportunistic', 'required', 'off']).default('opportunistic'),
    from: z.email('must be an e-mail address').default('gatewatch@localhost'),
    user: z.string().min(1).optional(),
    /** The environment variable holding the SMTP password (shorthand for `password: { env: NAME }`). */
    passwordEnv: z.string().regex(ENV_NAME, 'must be an environment variable name').optional(),
    password: SecretRefSchema.optional(),
    /** Verify the server's certificate. Turn off only for a relay on this host. */
    rejectUnauthorized: z.boolean().default(true),
  })
  .superRefine((smtp, ctx) => {
    if (smtp.passwordEnv !== undefined && smtp.password !== undefined)
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'set passwordEnv or password, not both' });
    if ((smtp.passwordEnv !== undefined || smtp.password !== undefined) && smtp.user === undefined)
      ctx.addIssue({ code: 'custom', path: ['user'], message: 'a password needs a user name' });
  });
export type SmtpConfig = z.infer<typeof SmtpConfigSchema>;

export const NotifyConfigSchema = z.strictObject({
  email: z.array(z.email('must be an e-mail address like oncall@example.com')).default([]),
  smtp: SmtpConfigSchema.optional(),
  /** Slack incoming webhook: its URL is a secret (it carries the token). */
  slack: z.strictObject({ webhookUrl: SecretRefSchema }).optional(),
  /** A JSON POST, signed with HMAC-SHA256 over `timestamp.body` (header `X-Gatewatch-Signature`). */
  webhook: z
    .strictObject({
      url: httpUrl,
      secret: SecretRefSchema,
      /** The receiver rejects signatures older than this; sent for information. @default 300 */
      toleranceSeconds: z.number().int().min(1).max(3600).default(300),
    })
    .optional(),
  /** PagerDuty Events API v2: trigger on open, resolve on resolve, the incident id as dedup_key. */
  pagerduty: z
    .strictObject({
      routingKey: SecretRefSchema,
      url: httpUrl.default('https://events.pagerduty.com/v2/enqueue'),
    })
    .optional(),
  /** A failed send is retried with exponential backoff, at most `attempts` times in all. */
  retry: z
    .strictObject({
      attempts: z.number().int().min(1).max(8).optional(),
      initialDelayMs: z.number().int().min(0).max(60_000).optional(),
      maxDelayMs: z.number().int().min(0).max(300_000).optional(),
    })
    .optional(),
  /** Per-attempt timeout of one channel. @default 10000 */
  timeoutMs: z.number().int().min(100).max(60_000).optional(),
});
export type NotifyConfig = z.infer<typeof NotifyConfigSchema>;

/** How a failed send is retried: `attempts` in all, waits doubling from `initialDelayMs` up to `maxDelayMs`. */
export interface RetryPolicy {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, initialDelayMs: 1000, maxDelayMs: 10_000 };
export const DEFAULT_NOTIFY_TIMEOUT_MS = 10_000;

/** The configured retry policy with its defaults. */
export function retryPolicy(notify: Pick<NotifyConfig, 'retry'>): RetryPolicy {
  return { ...DEFAULT_RETRY, ...notify.retry };
}

/** A fixed window (`from`/`to`, ISO-8601) or a recurring one (`cron`, UTC, lasting `durationMinutes`). */
export const SilenceWindowSchema = z.union(
  [
    z
      .strictObject({
        from: z.iso.datetime({ offset: true }),
        to: z.iso.datetime({ offset: true }),
        reason: z.string().min(1).max(200),
      })
      .refine((w) => Date.parse(w.from) < Date.parse(w.to), { message: '`to` must be after `from`' }),
    z.strictObject({
      cron: z.string().superRefine((value, ctx) => {
        try {
          parseCron(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
      durationMinutes: z.number().int().min(1).max(10_080),
      reason: z.string().min(1).max(200),
    }),
  ],
  {
    error:
      'must be { from, to, reason } (ISO-8601 times) or { cron: "0 2 * * 0", durationMinutes, reason } (UTC)',
  },
);
export type SilenceWindow = z.infer<typeof SilenceWindowSchema>;
