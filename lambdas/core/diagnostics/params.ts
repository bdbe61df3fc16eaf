/**
 * The diagnostics script's parameters: the one place their allowed values are written down. The script
 * (`gatewatch-diagnostics.sh`) re-validates every `GW_*` variable with the same patterns (a test keeps the
 * two in step), and the SSM Command document uses them as `allowedPattern`, so a value is checked three
 * times before anything runs: here, by SSM, and by the script itself.
 *
 * Every pattern is anchored, has no flags, no backslashes and no `(?:`, so JavaScript, POSIX ERE (bash
 * `[[ =~ ]]` under `LC_ALL=C`) and SSM's engine all read it alike. None accepts a quote, `$`, `;`, a
 * backtick or a newline.
 */
import { z } from 'zod';

/** Repository-relative path of the script; the local runner resolves it, the CDK stack embeds it. */
export const SCRIPT_RELATIVE_PATH = 'lambdas/assets/diagnostics/gatewatch-diagnostics.sh';

/** The checks the script knows, in the order it runs them by default. */
export const DIAGNOSTIC_CHECKS = [
  'listen',
  'service',
  'nginx-test',
  'nginx-config',
  'sockets',
  'disk',
  'memory',
  'fds',
  'oom',
  'firewall',
] as const;
export type DiagnosticCheck = (typeof DIAGNOSTIC_CHECKS)[number];

export const SERVICE_KINDS = ['process', 'systemd', 'docker', 'pm2'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];

/** Longest path the script accepts (PATH_MAX); patterns cannot say it, so both sides check it apart. */
export const MAX_PATH_LENGTH = 4096;
/** Most ports in `GW_PORTS`. */
export const MAX_PORTS = 64;

// A path segment may be a hidden name (`.config`) but never `.` or `..`: no `../` tricks, no `//`.
const SEGMENT = '/[.]?[A-Za-z0-9_+@-][A-Za-z0-9._+@-]*';
const PORT = '6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}';
const CHECK_ALTERNATIVES = DIAGNOSTIC_CHECKS.join('|');

/**
 * Pattern sources (strings, as the script and the SSM document hold them). Numeric patterns match
 * exactly their range, without leading zeros.
 */
export const PATTERN_SOURCES = {
  /** Comma list of check names. */
  checks: `^(${CHECK_ALTERNATIVES})(,(${CHECK_ALTERNATIVES}))*$`,
  /** `nginx` (found on PATH) or an absolute path to the binary. */
  nginxBin: `^(nginx|(${SEGMENT})+)$`,
  /** Absolute file or directory path; a trailing `/` is allowed (nginx prefixes are written that way). */
  absolutePath: `^(${SEGMENT})+/?$`,
  serviceKind: `^(${SERVICE_KINDS.join('|')})$`,
  /** systemd unit name. */
  systemdUnit: '^[A-Za-z0-9@._:-]{1,128}$',
  /** Docker container or pm2 app name (starts with a letter or digit, so never read as an option). */
  containerName: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$',
  /** A fragment of a command line, matched literally by `pgrep -f`. */
  processFragment: '^[A-Za-z0-9 ._/:=,@+-]{1,128}$',
  ports: `^(${PORT})(,(${PORT})){0,${MAX_PORTS - 1}}$`,
  /** 1..10080 (one week). */
  sinceMinutes: '^(10080|100[0-7][0-9]|[1-9][0-9]{0,3})$',
  /** 1..60 seconds per check. */
  checkTimeout: '^([1-9]|[1-5][0-9]|60)$',
  /** 1024..1048576 bytes per check. */
  outputCap:
    '^(104857[0-6]|10485[0-6][0-9]|1048[0-4][0-9]{2}|104[0-7][0-9]{3}|10[0-3][0-9]{4}|[1-9][0-9]{4,5}|[2-9][0-9]{3}|1[1-9][0-9]{2}|10[3-9][0-9]|102[4-9])$',
  /** The nginx worker `user`/`group` read from `nginx -T`, before it is handed to `id`. */
  workerUser: '^[A-Za-z_][A-Za-z0-9_.-]{0,31}[$]?$',
} as const;
export type PatternName = keyof typeof PATTERN_SOURCES;

/** The same patterns as RegExp objects. */
export const PATTERNS: { readonly [K in PatternName]: RegExp } = Object.fromEntries(
  Object.entries(PATTERN_SOURCES).map(([name, source]) => [name, new RegExp(source)]),
) as { [K in PatternName]: RegExp };

/** The service-name pattern for each kind of service hint. */
export const SERVICE_NAME_PATTERNS: { readonly [K in ServiceKind]: RegExp } = {
  process: PATTERNS.processFragment,
  systemd: PATTERNS.systemdUnit,
  docker: PATTERNS.containerName,
  pm2: PATTERNS.containerName,
};

/**
 * The script's `readonly GW_PATTERN_*='…'` variables and the pattern each must equal. A test reads the
 * script and compares, so a pattern is changed here or nowhere.
 */
export const SCRIPT_PATTERN_VARIABLES: Readonly<Record<string, PatternName>> = {
  GW_PATTERN_CHECKS: 'checks',
  GW_PATTERN_NGINX_BIN: 'nginxBin',
  GW_PATTERN_ABSOLUTE_PATH: 'absolutePath',
  GW_PATTERN_SERVICE_KIND: 'serviceKind',
  GW_PATTERN_SYSTEMD_UNIT: 'systemdUnit',
  GW_PATTERN_CONTAINER_NAME: 'containerName',
  GW_PATTERN_PROCESS_FRAGMENT: 'processFragment',
  GW_PATTERN_PORTS: 'ports',
  GW_PATTERN_SINCE_MINUTES: 'sinceMinutes',
  GW_PATTERN_CHECK_TIMEOUT: 'checkTimeout',
  GW_PATTERN_OUTPUT_CAP: 'outputCap',
  GW_PATTERN_WORKER_USER: 'workerUser',
};

/** Defaults the script applies to an unset or empty variable (and this module writes out explicitly). */
export const DIAGNOSTICS_DEFAULTS = {
  nginxBin: 'nginx',
  sinceMinutes: 15,
  checkTimeoutSeconds: 10,
  outputCapBytes: 64 * 1024,
} as const;

/** Seconds `timeout -k` waits after TERM before KILL, per check (the script's `GW_KILL_AFTER`). */
export const KILL_AFTER_SECONDS = 2;

/** One `GW_*` variable: its name, what it is, and what SSM should allow for it. */
export interface DiagnosticsEnvironmentVariable {
  readonly name: string;
  readonly description: string;
  /** Anchored, flag-free; absent when `allowedValues` says it. */
  readonly allowedPattern?: RegExp;
  readonly allowedValues?: readonly string[];
}

/**
 * Every variable the script reads, ready to become SSM document parameters (`DiagnosticsParameter` in
 * `lib/constructs/diagnostics-document.ts` has this shape). `GW_SERVICE_NAME` gets the union of the
 * per-kind patterns (the process fragment's, which contains the others); the script narrows it by kind.
 */
export const DIAGNOSTICS_ENVIRONMENT: readonly DiagnosticsEnvironmentVariable[] = [
  { name: 'GW_CHECKS', description: 'Comma-separated checks to run.', allowedPattern: PATTERNS.checks },
  {
    name: 'GW_NGINX_BIN',
    description: 'nginx binary: `nginx` (searched on PATH) or an absolute path.',
    allowedPattern: PATTERNS.nginxBin,
  },
  {
    name: 'GW_NGINX_CONF',
    description: 'nginx -c: the main configuration file.',
    allowedPattern: PATTERNS.absolutePath,
  },
  {
    name: 'GW_NGINX_PREFIX',
    description: 'nginx -p: the prefix path.',
    allowedPattern: PATTERNS.absolutePath,
  },
  { name: 'GW_SERVICE_KIND', description: 'How the upstream service runs.', allowedValues: SERVICE_KINDS },
  {
    name: 'GW_SERVICE_NAME',
    description: 'systemd unit, container or pm2 app name, or a fragment of the process command line.',
    allowedPattern: PATTERNS.processFragment,
  },
  {
    name: 'GW_PORTS',
    description: 'Comma-separated upstream ports (1-65535).',
    allowedPattern: PATTERNS.ports,
  },
  {
    name: 'GW_SINCE_MINUTES',
    description: 'How far back logs are read, in minutes.',
    allowedPattern: PATTERNS.sinceMinutes,
  },
  {
    name: 'GW_CHECK_TIMEOUT',
    description: 'Seconds each check may run.',
    allowedPattern: PATTERNS.checkTimeout,
  },
  {
    name: 'GW_OUTPUT_CAP',
    description: 'Bytes of output kept per check.',
    allowedPattern: PATTERNS.outputCap,
  },
];

const pathField = (what: string) =>
  z
    .string()
    .max(MAX_PATH_LENGTH, `${what} must be at most ${MAX_PATH_LENGTH} characters`)
    .regex(
      PATTERNS.absolutePath,
      `${what} must be an absolute path without . or .. segments (${PATTERN_SOURCES.absolutePath})`,
    );

const boundedInt = (min: number, max: number) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.number({ error: message }).int(message).min(min, message).max(max, message);
};

/** What the caller wants the script to do; each field becomes one `GW_*` variable. */
export const DiagnosticsParamsSchema = z
  .strictObject({
    checks: z
      .array(z.enum(DIAGNOSTIC_CHECKS, { error: `must be one of ${DIAGNOSTIC_CHECKS.join(', ')}` }))
      .min(1, `name at least one of ${DIAGNOSTIC_CHECKS.join(', ')}`),
    nginxBin: z
      .string()
      .max(MAX_PATH_LENGTH)
      .regex(
        PATTERNS.nginxBin,
        `nginx binary must be "nginx" or an absolute path (${PATTERN_SOURCES.nginxBin})`,
      )
      .optional(),
    nginxConf: pathField('nginx configuration file').optional(),
    nginxPrefix: pathField('nginx prefix').optional(),
    serviceKind: z.enum(SERVICE_KINDS).optional(),
    serviceName: z.string().optional(),
    ports: z.array(boundedInt(1, 65_535)).min(1).max(MAX_PORTS).optional(),
    sinceMinutes: boundedInt(1, 10_080).optional(),
    checkTimeoutSeconds: boundedInt(1, 60).optional(),
    outputCapBytes: boundedInt(1024, 1_048_576).optional(),
  })
  .superRefine((params, ctx) => {
    if ((params.serviceKind === undefined) !== (params.serviceName === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [params.serviceKind === undefined ? 'serviceKind' : 'serviceName'],
        message: 'serviceKind and serviceName go together: give both or neither',
      });
      return;
    }
    if (params.serviceKind !== undefined && params.serviceName !== undefined) {
      const pattern = SERVICE_NAME_PATTERNS[params.serviceKind];
      if (!pattern.test(params.serviceName)) {
        ctx.addIssue({
          code: 'custom',
          path: ['serviceName'],
          message: `a ${params.serviceKind} service name must match ${pattern.source}`,
        });
      }
    }
  });
export type DiagnosticsParams = z.infer<typeof DiagnosticsParamsSchema>;

/** Which `GW_*` variable each parameter becomes. */
export const ENVIRONMENT_NAMES: { readonly [K in keyof DiagnosticsParams]-?: string } = {
  checks: 'GW_CHECKS',
  nginxBin: 'GW_NGINX_BIN',
  nginxConf: 'GW_NGINX_CONF',
  nginxPrefix: 'GW_NGINX_PREFIX',
  serviceKind: 'GW_SERVICE_KIND',
  serviceName: 'GW_SERVICE_NAME',
  ports: 'GW_PORTS',
  sinceMinutes: 'GW_SINCE_MINUTES',
  checkTimeoutSeconds: 'GW_CHECK_TIMEOUT',
  outputCapBytes: 'GW_OUTPUT_CAP',
};

/** A parameter the script would refuse. `field` is the parameter, `variable` its `GW_*` name. */
export class DiagnosticsParamsError extends Error {
  override name = 'DiagnosticsParamsError';
  readonly field: string;
  readonly variable: string | undefined;
  /** What would be accepted, in words. */
  readonly allowed: string;

  constructor(field: string, allowed: string, options?: { cause?: unknown }) {
    const variable = (ENVIRONMENT_NAMES as Record<string, string>)[field.split('.')[0] ?? ''];
    super(`diagnostics parameter ${field}${variable ? ` (${variable})` : ''}: ${allowed}`, options);
    this.field = field;
    this.variable = variable;
    this.allowed = allowed;
  }
}

/**
 * Validates the parameters and returns the script's environment: only `GW_*` variables, defaults
 * written out, absent optional parameters left unset. Throws {@link DiagnosticsParamsError} naming the
 * first field that is not allowed and what is.
 */
export function buildDiagnosticsEnvironment(params: DiagnosticsParams): Record<string, string> {
  const parsed = DiagnosticsParamsSchema.safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : 'params';
    throw new DiagnosticsParamsError(field, issue.message, { cause: parsed.error });
  }
  const p = parsed.data;
  const env: Record<string, string> = {
    GW_CHECKS: [...new Set(p.checks)].join(','),
    GW_NGINX_BIN: p.nginxBin ?? DIAGNOSTICS_DEFAULTS.nginxBin,
    GW_SINCE_MINUTES: String(p.sinceMinutes ?? DIAGNOSTICS_DEFAULTS.sinceMinutes),
    GW_CHECK_TIMEOUT: String(p.checkTimeoutSeconds ?? DIAGNOSTICS_DEFAULTS.checkTimeoutSeconds),
    GW_OUTPUT_CAP: String(p.outputCapBytes ?? DIAGNOSTICS_DEFAULTS.outputCapBytes),
  };
  if (p.nginxConf !== undefined) env.GW_NGINX_CONF = p.nginxConf;
  if (p.nginxPrefix !== undefined) env.GW_NGINX_PREFIX = p.nginxPrefix;
  if (p.serviceKind !== undefined && p.serviceName !== undefined) {
    env.GW_SERVICE_KIND = p.serviceKind;
    env.GW_SERVICE_NAME = p.serviceName;
  }
  if (p.ports !== undefined) env.GW_PORTS = [...new Set(p.ports)].join(',');
  return env;
}

/**
 * The inverse of {@link buildDiagnosticsEnvironment}: reads a `GW_*` environment (as a
 * `DiagnosticsRequest` carries it) back into parameters, refusing any other variable and any value the
 * script would refuse. `checks`, when given, replaces `GW_CHECKS`.
 */
export function parseDiagnosticsEnvironment(
  env: Record<string, string>,
  checks?: readonly string[],
): DiagnosticsParams {
  const known = new Map(Object.entries(ENVIRONMENT_NAMES).map(([field, name]) => [name, field]));
  for (const name of Object.keys(env)) {
    if (!known.has(name)) {
      throw new DiagnosticsParamsError(
        name,
        `is not a diagnostics variable; allowed: ${[...known.keys()].join(', ')}`,
      );
    }
  }
  const value = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const numbers = (field: string, name: string, pattern: RegExp): number[] | undefined => {
    const v = value(name);
    if (v === undefined) return undefined;
    if (!pattern.test(v)) throw new DiagnosticsParamsError(field, `must match ${pattern.source}`);
    return v.split(',').map(Number);
  };
  const checkList = checks !== undefined ? [...checks] : (value('GW_CHECKS')?.split(',') ?? []);
  const unknownCheck = checkList.find((c) => !(DIAGNOSTIC_CHECKS as readonly string[]).includes(c));
  if (unknownCheck !== undefined) {
    throw new DiagnosticsParamsError('checks', `one or more of ${DIAGNOSTIC_CHECKS.join(', ')}`);
  }
  const params: DiagnosticsParams = { checks: checkList as DiagnosticCheck[] };
  const nginxBin = value('GW_NGINX_BIN');
  if (nginxBin !== undefined) params.nginxBin = nginxBin;
  const nginxConf = value('GW_NGINX_CONF');
  if (nginxConf !== undefined) params.nginxConf = nginxConf;
  const nginxPrefix = value('GW_NGINX_PREFIX');
  if (nginxPrefix !== undefined) params.nginxPrefix = nginxPrefix;
  const kind = value('GW_SERVICE_KIND');
  if (kind !== undefined) {
    if (!(SERVICE_KINDS as readonly string[]).includes(kind)) {
      throw new DiagnosticsParamsError('serviceKind', `one of ${SERVICE_KINDS.join(', ')}`);
    }
    params.serviceKind = kind as ServiceKind;
  }
  const serviceName = value('GW_SERVICE_NAME');
  if (serviceName !== undefined) params.serviceName = serviceName;
  const ports = numbers('ports', 'GW_PORTS', PATTERNS.ports);
  if (ports !== undefined) params.ports = ports;
  const since = numbers('sinceMinutes', 'GW_SINCE_MINUTES', PATTERNS.sinceMinutes)?.[0];
  if (since !== undefined) params.sinceMinutes = since;
  const timeout = numbers('checkTimeoutSeconds', 'GW_CHECK_TIMEOUT', PATTERNS.checkTimeout)?.[0];
  if (timeout !== undefined) params.checkTimeoutSeconds = timeout;
  const cap = numbers('outputCapBytes', 'GW_OUTPUT_CAP', PATTERNS.outputCap)?.[0];
  if (cap !== undefined) params.outputCapBytes = cap;
  // Round-trip through the builder so every rule (paths, service name per kind) applies once more.
  buildDiagnosticsEnvironment(params);
  return params;
}

/**
 * The longest the script can take for these parameters: every check hitting its own limit plus the
 * grace before KILL, and a few seconds for the frame. Useful as the caller's overall timeout.
 */
export function worstCaseSeconds(params: DiagnosticsParams): number {
  const checks = new Set(params.checks).size;
  const perCheck =
    (params.checkTimeoutSeconds ?? DIAGNOSTICS_DEFAULTS.checkTimeoutSeconds) + KILL_AFTER_SECONDS;
  return checks * perCheck + 5;
}
