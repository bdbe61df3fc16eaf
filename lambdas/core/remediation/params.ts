/**
 * The actions script's parameters (`lambdas/assets/remediation/gatewatch-remediate.sh`): the one place
 * their allowed values are written down, exactly as `core/diagnostics/params.ts` does for the
 * diagnostics script. A value is checked here, by SSM (`allowedPattern`/`allowedValues` of the actions
 * document) and by the script itself (a test keeps the script's patterns equal to these). Nothing from a
 * log line, an alarm or an event is ever a parameter: the plan takes the service name from the
 * configuration's `service` hint and the nginx paths from `nginx.*`, both validated when loaded.
 */
import { z } from 'zod';
import { PATTERN_SOURCES } from '../diagnostics/params.ts';
import { RESTARTABLE_KINDS, type RestartableKind } from './actions.ts';

/** Repository-relative path of the actions script; the local runner resolves it, the CDK stack embeds it. */
export const REMEDIATION_SCRIPT_RELATIVE_PATH = 'lambdas/assets/remediation/gatewatch-remediate.sh';

/** The actions that run on a host (through the script). `scale-asg` is an API call, never a command. */
export const HOST_ACTIONS = ['restart-service', 'reload-nginx'] as const;
export type HostAction = (typeof HOST_ACTIONS)[number];

export const REMEDIATION_PATTERN_SOURCES = {
  action: `^(${HOST_ACTIONS.join('|')})$`,
  serviceKind: `^(${RESTARTABLE_KINDS.join('|')})$`,
  /** systemd unit, container or pm2 app name; starts with a letter or digit, so never read as an option. */
  serviceName: '^[A-Za-z0-9][A-Za-z0-9@._:-]{0,127}$',
  nginxBin: PATTERN_SOURCES.nginxBin,
  absolutePath: PATTERN_SOURCES.absolutePath,
  dryRun: '^(0|1)$',
  /** 1..300 seconds. */
  actionTimeout: '^([1-9]|[1-9][0-9]|[12][0-9]{2}|300)$',
  outputCap: PATTERN_SOURCES.outputCap,
} as const;
export type RemediationPatternName = keyof typeof REMEDIATION_PATTERN_SOURCES;

export const REMEDIATION_PATTERNS: { readonly [K in RemediationPatternName]: RegExp } = Object.fromEntries(
  Object.entries(REMEDIATION_PATTERN_SOURCES).map(([name, source]) => [name, new RegExp(source)]),
) as { [K in RemediationPatternName]: RegExp };

/** The script's `readonly GW_PATTERN_*='…'` variables and the pattern each must equal (a test compares). */
export const REMEDIATION_SCRIPT_PATTERN_VARIABLES: Readonly<Record<string, RemediationPatternName>> = {
  GW_PATTERN_ACTION: 'action',
  GW_PATTERN_SERVICE_KIND: 'serviceKind',
  GW_PATTERN_SERVICE_NAME: 'serviceName',
  GW_PATTERN_NGINX_BIN: 'nginxBin',
  GW_PATTERN_ABSOLUTE_PATH: 'absolutePath',
  GW_PATTERN_DRY_RUN: 'dryRun',
  GW_PATTERN_ACTION_TIMEOUT: 'actionTimeout',
  GW_PATTERN_OUTPUT_CAP: 'outputCap',
};

export const REMEDIATION_DEFAULTS = { actionTimeoutSeconds: 60, outputCapBytes: 16 * 1024 } as const;

const re = (name: RemediationPatternName, what: string) =>
  z
    .string()
    .max(4096)
    .regex(REMEDIATION_PATTERNS[name], `${what} must match ${REMEDIATION_PATTERN_SOURCES[name]}`);

/** What one run of the script does; each field becomes one `GW_*` variable. */
export const RemediationParamsSchema = z
  .strictObject({
    action: z.enum(HOST_ACTIONS),
    serviceKind: z.enum(RESTARTABLE_KINDS).optional(),
    serviceName: re('serviceName', 'service name').optional(),
    nginxBin: re('nginxBin', 'nginx binary').optional(),
    nginxConf: re('absolutePath', 'nginx configuration file').optional(),
    nginxPrefix: re('absolutePath', 'nginx prefix').optional(),
    dryRun: z.boolean().default(false),
    actionTimeoutSeconds: z.number().int().min(1).max(300).default(REMEDIATION_DEFAULTS.actionTimeoutSeconds),
    outputCapBytes: z.number().int().min(1024).max(1_048_576).default(REMEDIATION_DEFAULTS.outputCapBytes),
  })
  .superRefine((p, ctx) => {
    if (p.action === 'restart-service' && (p.serviceKind === undefined || p.serviceName === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['serviceKind'],
        message: 'restart-service needs serviceKind (systemd, docker or pm2) and serviceName',
      });
    }
  });
export type RemediationParams = z.input<typeof RemediationParamsSchema>;

/** Which `GW_*` variable each parameter becomes. */
export const REMEDIATION_ENVIRONMENT_NAMES = {
  action: 'GW_ACTION',
  serviceKind: 'GW_SERVICE_KIND',
  serviceName: 'GW_SERVICE_NAME',
  nginxBin: 'GW_NGINX_BIN',
  nginxConf: 'GW_NGINX_CONF',
  nginxPrefix: 'GW_NGINX_PREFIX',
  dryRun: 'GW_DRY_RUN',
  actionTimeoutSeconds: 'GW_ACTION_TIMEOUT',
  outputCapBytes: 'GW_OUTPUT_CAP',
} as const satisfies Record<keyof z.infer<typeof RemediationParamsSchema>, string>;

/** A parameter the script would refuse. */
export class RemediationParamsError extends Error {
  override name = 'RemediationParamsError';
}

/** One `GW_*` variable of the actions script, ready to become an SSM document parameter. */
export interface RemediationEnvironmentVariable {
  readonly name: string;
  readonly description: string;
  readonly allowedPattern?: RegExp;
  readonly allowedValues?: readonly string[];
}

export const REMEDIATION_ENVIRONMENT: readonly RemediationEnvironmentVariable[] = [
  { name: 'GW_ACTION', description: 'The action to run.', allowedValues: HOST_ACTIONS },
  {
    name: 'GW_SERVICE_KIND',
    description: 'The service manager to restart through.',
    allowedValues: RESTARTABLE_KINDS,
  },
  {
    name: 'GW_SERVICE_NAME',
    description: 'systemd unit, container or pm2 app name (from the configuration, never from a log).',
    allowedPattern: REMEDIATION_PATTERNS.serviceName,
  },
  { name: 'GW_NGINX_BIN', description: 'nginx binary.', allowedPattern: REMEDIATION_PATTERNS.nginxBin },
  { name: 'GW_NGINX_CONF', description: 'nginx -c.', allowedPattern: REMEDIATION_PATTERNS.absolutePath },
  { name: 'GW_NGINX_PREFIX', description: 'nginx -p.', allowedPattern: REMEDIATION_PATTERNS.absolutePath },
  { name: 'GW_DRY_RUN', description: '1: print what would run, run nothing.', allowedValues: ['0', '1'] },
  {
    name: 'GW_ACTION_TIMEOUT',
    description: 'Seconds the action may run (1-300).',
    allowedPattern: REMEDIATION_PATTERNS.actionTimeout,
  },
  {
    name: 'GW_OUTPUT_CAP',
    description: 'Bytes of output kept.',
    allowedPattern: REMEDIATION_PATTERNS.outputCap,
  },
];

/** Validates the parameters and returns the script's environment (only `GW_*` variables). */
export function buildRemediationEnvironment(params: RemediationParams): Record<string, string> {
  const parsed = RemediationParamsSchema.safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RemediationParamsError(
      `remediation parameter ${issue.path.map(String).join('.') || 'params'}: ${issue.message}`,
      { cause: parsed.error },
    );
  }
  const p = parsed.data;
  const env: Record<string, string> = {
    GW_ACTION: p.action,
    GW_DRY_RUN: p.dryRun ? '1' : '0',
    GW_ACTION_TIMEOUT: String(p.actionTimeoutSeconds),
    GW_OUTPUT_CAP: String(p.outputCapBytes),
  };
  if (p.action === 'restart-service') {
    env.GW_SERVICE_KIND = p.serviceKind!;
    env.GW_SERVICE_NAME = p.serviceName!;
  }
  if (p.nginxBin !== undefined) env.GW_NGINX_BIN = p.nginxBin;
  if (p.nginxConf !== undefined) env.GW_NGINX_CONF = p.nginxConf;
  if (p.nginxPrefix !== undefined) env.GW_NGINX_PREFIX = p.nginxPrefix;
  return env;
}

/**
 * The command line(s) the script runs for these parameters, as a person would type them: shown in the
 * report and the notification (suggest mode) and compared with what the script says it ran.
 */
export function describeCommand(params: RemediationParams): string {
  const p = RemediationParamsSchema.parse(params);
  if (p.action === 'restart-service') return restartCommand(p.serviceKind!, p.serviceName!);
  const nginx = [p.nginxBin ?? 'nginx'];
  if (p.nginxPrefix !== undefined) nginx.push('-p', p.nginxPrefix);
  if (p.nginxConf !== undefined) nginx.push('-c', p.nginxConf);
  const base = nginx.join(' ');
  return `${base} -t && ${base} -s reload`;
}

function restartCommand(kind: RestartableKind, name: string): string {
  switch (kind) {
    case 'systemd':
      return `systemctl restart -- ${name}`;
    case 'docker':
      return `docker restart ${name}`;
    case 'pm2':
      return `pm2 restart ${name}`;
  }
}

/** What the script reported. */
export interface RemediationScriptResult {
  outcome: 'ok' | 'failed' | 'refused' | 'dry-run' | 'no-result';
  /** The action's exit status when it ran. */
  exitCode?: number;
  /** The commands the script ran (or would have), one per line. */
  commands: string[];
  /** The action's output (the `|` lines), as printed. */
  output: string;
  /** Why the script refused or failed, in its words. */
  reason?: string;
}

/** Reads the script's stdout: `#gw command …`, `|output`, and one `#gw result …` line. */
export function parseRemediationOutput(stdout: string): RemediationScriptResult {
  const commands: string[] = [];
  const output: string[] = [];
  let outcome: RemediationScriptResult['outcome'] = 'no-result';
  let exitCode: number | undefined;
  let reason: string | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('|')) output.push(line.slice(1));
    else if (line.startsWith('#gw command ')) commands.push(line.slice('#gw command '.length));
    else if (line.startsWith('#gw result ')) {
      const [word, code, ...rest] = line.slice('#gw result '.length).split(' ');
      if (word === 'ok' || word === 'failed' || word === 'refused' || word === 'dry-run') outcome = word;
      if (code !== undefined && /^\d{1,3}$/.test(code)) exitCode = Number(code);
      const why = rest.join(' ').trim();
      if (why !== '') reason = decodeURIComponentSafe(why);
    }
  }
  const result: RemediationScriptResult = { outcome, commands, output: output.join('\n') };
  if (exitCode !== undefined) result.exitCode = exitCode;
  if (reason !== undefined) result.reason = reason;
  return result;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
