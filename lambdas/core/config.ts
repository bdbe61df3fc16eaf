/**
 * `gatewatch.yaml`: one configuration for the local pipeline and for `cdk deploy`. Validated with zod;
 * every problem names its path (`targets[0].probe.url`) and says what to write instead.
 */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { PATTERNS, SERVICE_NAME_PATTERNS } from './diagnostics/params.ts';
import { NotifyConfigSchema, SilenceWindowSchema } from './notify-config.ts';
import { ProbeConfigSchema } from './probe/schema.ts';
import { RemediationConfigSchema } from './remediation/config.ts';

/** Thrown for a configuration that cannot be used; `problems` holds one `path: what to do` line each. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: string[];

  constructor(source: string, problems: string[], options?: { cause?: unknown }) {
    super(
      `${source} is not a valid gatewatch configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      options,
    );
    this.problems = problems;
  }
}

const TARGET_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ANY_PATH = /^[A-Za-z0-9._/@+~-][A-Za-z0-9._/@+ -]*$/;
const TCP_PEER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const UNIX_PEER = /^unix:\/[A-Za-z0-9._/@+-]+$/;
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

// Paths the diagnostics script receives must pass its own pattern (absolute, no `.`/`..` segments).
const absolutePath = (example: string) =>
  z
    .string()
    .regex(
      PATTERNS.absolutePath,
      `must be an absolute path without spaces, quotes or ./.. segments, e.g. ${example}`,
    );
const filePath = (example: string) =>
  z.string().regex(ANY_PATH, `must be a file path without quotes or shell characters, e.g. ${example}`);

// The diagnostics script re-validates service names with the same patterns (one source: params.ts).
const serviceHint = (kind: keyof typeof SERVICE_NAME_PATTERNS, example: string) =>
  z.strictObject({
    [kind]: z
      .string()
      .regex(
        SERVICE_NAME_PATTERNS[kind],
        `must match ${SERVICE_NAME_PATTERNS[kind].source} (letters, digits and . _ - only; no quotes or shell characters), e.g. ${example}`,
      ),
  });

export const ServiceHintSchema = z.union(
  [
    serviceHint('process', '"node server.js"'),
    serviceHint('systemd', 'shop-api.service'),
    serviceHint('docker', 'shop-api'),
    serviceHint('pm2', 'shop-api'),
  ],
  {
    error: 'must be one of { process: "node server.js" }, { systemd: unit }, { docker: name }, { pm2: name }',
  },
);
export type ServiceHint = z.infer<typeof ServiceHintSchema>;

export const UpstreamConfigSchema = z.strictObject({
  address: z
    .string()
    .refine(
      (value) =>
        UNIX_PEER.test(value) || (TCP_PEER.test(value) && Number(TCP_PEER.exec(value)?.[1]) <= 65535),
      'must be host:port or unix:/path, e.g. 127.0.0.1:3000 or unix:/run/app.sock',
    ),
  service: ServiceHintSchema.optional(),
  /** Where the upstream runs: `local`, or an EC2 instance id in AWS. */
  host: z
    .string()
    .refine(
      (v) => v === 'local' || INSTANCE_ID.test(v),
      'must be "local" or an EC2 instance id like i-0abc1234',
    )
    .optional(),
});
export type UpstreamConfig = z.infer<typeof UpstreamConfigSchema>;

export const NginxConfigSchema = z.strictObject({
  errorLog: filePath('/var/log/nginx/error.log'),
  accessLog: filePath('/var/log/nginx/access.log').optional(),
  conf: absolutePath('/etc/nginx/nginx.conf').optional(),
  prefix: absolutePath('/etc/nginx').optional(),
  binary: absolutePath('/usr/sbin/nginx').optional(),
  /**
   * The `server_name`s of this target's server block(s): in an access log shared with other targets, its
   * lines are told apart by `$host` (see core/nginx/target-attribution.ts). Default: the probe's host.
   */
  serverNames: z
    .array(
      z
        .string()
        .regex(
          /^(?:\*\.|\.)?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/,
          'must be a host name as in server_name, e.g. shop.example.com, *.example.com or .example.com',
        ),
    )
    .min(1, 'name at least one host, or leave serverNames out')
    .optional(),
  /** The error log has no time zone; its times are read with this offset (default: this host's). */
  utcOffset: z
    .string()
    .regex(/^[+-]\d{2}:\d{2}$/, 'must be an offset like +00:00 or -05:00')
    .optional(),
});

export const AlarmConfigSchema = z.strictObject({
  failedProbes: z
    .strictObject({
      datapoints: z.number().int().min(1, 'must be at least 1'),
      evaluationPeriods: z.number().int().min(1, 'must be at least 1'),
    })
    .refine(
      (v) => v.datapoints <= v.evaluationPeriods,
      'datapoints must not exceed evaluationPeriods (M of N)',
    )
    .default({ datapoints: 2, evaluationPeriods: 3 }),
  errorRate: z
    .strictObject({
      percent: z.number().gt(0, 'must be above 0').max(100, 'must be at most 100'),
      minutes: z.number().int().min(1, 'must be at least 1').max(1440, 'must be at most 1440'),
      /** Fewer requests in the window: no error-rate sample (default 20, `DEFAULT_MIN_REQUESTS`). */
      minRequests: z.number().int().min(1, 'must be at least 1').optional(),
    })
    .default({ percent: 5, minutes: 5 }),
});

export const AwsTargetSchema = z.strictObject({
  instanceId: z.string().regex(INSTANCE_ID, 'must be an EC2 instance id like i-0abc1234def567890').optional(),
  instanceTags: z.record(z.string(), z.string()).optional(),
  logGroups: z.strictObject({
    error: z.string().min(1, 'must name the CloudWatch Logs group of the nginx error log'),
    access: z.string().min(1).optional(),
  }),
  account: z
    .string()
    .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region like eu-west-1')
    .optional(),
});

export const TargetConfigSchema = z.strictObject({
  name: z
    .string()
    .regex(
      TARGET_NAME,
      'must be lower-case letters, digits and dashes (start with a letter or digit), e.g. shop',
    ),
  probe: ProbeConfigSchema.optional(),
  nginx: NginxConfigSchema,
  upstreams: z.array(UpstreamConfigSchema).default([]),
  alarm: AlarmConfigSchema.default({
    failedProbes: { datapoints: 2, evaluationPeriods: 3 },
    errorRate: { percent: 5, minutes: 5 },
  }),
  aws: AwsTargetSchema.optional(),
  /** Repair after diagnosis: off (suggest) unless configured; see core/remediation/config.ts. */
  remediation: RemediationConfigSchema.optional(),
  /** Maintenance windows: reports are still written, nobody is notified. */
  silence: z.array(SilenceWindowSchema).max(50).optional(),
  /** Availability objective for the incident index's availability and error budget (probe history). */
  slo: z
    .strictObject({
      availability: z.number().gt(0).lt(100, 'must be below 100 (e.g. 99.9): 100% leaves no error budget'),
      windowDays: z.number().int().min(1).max(90).default(30),
    })
    .optional(),
});
export type TargetConfig = z.infer<typeof TargetConfigSchema>;

export const GatewatchConfigSchema = z
  .strictObject({
    targets: z.array(TargetConfigSchema).min(1, 'add at least one target (name, nginx.errorLog)'),
    reports: z
      .strictObject({
        dir: filePath('./incidents').default('./incidents'),
        s3: z
          .strictObject({
            bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
            prefix: z.string().default('incidents/'),
            endpoint: z.url('must be a URL like http://127.0.0.1:5000').optional(),
            region: z.string().optional(),
          })
          .optional(),
      })
      .default({ dir: './incidents' }),
    notify: NotifyConfigSchema.default({ email: [] }),
    network: z
      .strictObject({
        /** An EC2 snapshot (`gatewatch network --capture`) for local network-path checks. */
        snapshot: filePath('./ec2-snapshot.json').optional(),
      })
      .optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.targets.forEach((target, index) => {
      const first = seen.get(target.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', index, 'name'],
          message: `duplicates targets[${first}].name; give every target its own name`,
        });
      }
      seen.set(target.name, index);
    });
  });

export type GatewatchConfig = z.infer<typeof GatewatchConfigSchema>;

/** `targets[0].probe.url` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => `${formatPath([...issue.path, key])}: unknown field; remove it or check its spelling`)
      .join('\n');
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return `${where}: is required (${issue.expected})`;
  }
  return `${where}: ${issue.message}`;
}

/** Validates an already-parsed document. */
export function validateConfig(document: unknown, source = 'the configuration'): GatewatchConfig {
  const result = GatewatchConfigSchema.safeParse(document);
  if (result.success) return result.data;
  throw new ConfigError(
    source,
    result.error.issues.flatMap((issue) => describeIssue(issue).split('\n')),
  );
}

/** Parses YAML (JSON is YAML) text and validates it. */
export function parseConfig(text: string, source = 'gatewatch.yaml'): GatewatchConfig {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    const detail = error instanceof YAMLParseError ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(source, [`not valid YAML: ${detail}`], { cause: error });
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(source, ['(top level): must be a mapping with a `targets:` list']);
  }
  return validateConfig(document, source);
}

/** The target to diagnose: the named one, or the only one. */
export function selectTarget(config: GatewatchConfig, name: string | undefined): TargetConfig {
  if (name === undefined) {
    if (config.targets.length === 1) return config.targets[0]!;
    throw new ConfigError('--target', [
      `the configuration has ${config.targets.length} targets; choose one with --target (${config.targets.map((t) => t.name).join(', ')})`,
    ]);
  }
  const target = config.targets.find((t) => t.name === name);
  if (!target) {
    throw new ConfigError('--target', [
      `no target named "${name}"; known targets: ${config.targets.map((t) => t.name).join(', ')}`,
    ]);
  }
  return target;
}
