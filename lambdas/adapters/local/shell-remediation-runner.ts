/**
 * `RemediationRunner` on this machine: runs gatewatch's actions script with bash, the same file the
 * actions SSM document carries. No shell string is built: `spawn(bash, [script])` with an environment of
 * the `GW_*` variables `buildRemediationEnvironment` validated (re-checked here), `LANG=C`, and what a
 * service manager needs to be found and to find its daemon: PATH, HOME and PM2_HOME of gatewatch's own
 * process (so `pm2 restart` reaches the same pm2 the operator uses). A non-zero exit is a result.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  REMEDIATION_ENVIRONMENT,
  REMEDIATION_PATTERNS,
  REMEDIATION_SCRIPT_RELATIVE_PATH,
  RemediationParamsError,
} from '../../core/remediation/params.ts';
import type { CommandResult, RemediationRunner } from '../../ports.ts';
import { UnsupportedHostError } from './shell-command-runner.ts';

export const DEFAULT_REMEDIATION_SCRIPT_PATH = resolve(
  fileURLToPath(new URL('../../../', import.meta.url)),
  REMEDIATION_SCRIPT_RELATIVE_PATH,
);
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAX_OUTPUT = 256 * 1024;

export interface ShellRemediationRunnerOptions {
  scriptPath?: string;
  bash?: string;
  /** The environment PATH, HOME and PM2_HOME are taken from. @default process.env */
  environment?: NodeJS.ProcessEnv;
}

export class ShellRemediationRunner implements RemediationRunner {
  readonly #scriptPath: string;
  readonly #bash: string;
  readonly #environment: NodeJS.ProcessEnv;

  constructor(options: ShellRemediationRunnerOptions = {}) {
    this.#scriptPath = options.scriptPath ?? DEFAULT_REMEDIATION_SCRIPT_PATH;
    this.#bash = options.bash ?? 'bash';
    this.#environment = options.environment ?? process.env;
  }

  async run(request: {
    host: string;
    env: Record<string, string>;
    timeoutSeconds: number;
  }): Promise<CommandResult> {
    if (request.host !== 'local') {
      throw new UnsupportedHostError(
        `the local runner acts on this machine ("local") only, not ${JSON.stringify(request.host)}`,
      );
    }
    const env: Record<string, string> = { LANG: 'C', LC_ALL: 'C' };
    const known = new Map(REMEDIATION_ENVIRONMENT.map((v) => [v.name, v]));
    for (const [name, value] of Object.entries(request.env)) {
      const variable = known.get(name);
      if (!variable) throw new RemediationParamsError(`${name} is not a parameter of the actions script`);
      const allowed = variable.allowedValues
        ? variable.allowedValues.includes(value)
        : (variable.allowedPattern?.test(value) ?? false);
      if (!allowed) throw new RemediationParamsError(`${name}: the value is not allowed`);
      env[name] = value;
    }
    const path = (this.#environment.PATH ?? '')
      .split(':')
      .filter((dir) => dir.startsWith('/') && !/[\n'"`$;]/.test(dir));
    env.PATH = path.length > 0 ? path.join(':') : FALLBACK_PATH;
    for (const name of ['HOME', 'PM2_HOME'] as const) {
      const value = this.#environment[name];
      if (value !== undefined && REMEDIATION_PATTERNS.absolutePath.test(value)) env[name] = value;
    }
    return this.#spawn(env, Math.max(1, request.timeoutSeconds) * 1000);
  }

  #spawn(env: Record<string, string>, timeoutMs: number): Promise<CommandResult> {
    const started = performance.now();
    return new Promise((resolvePromise, reject) => {
      const child = spawn(this.#bash, ['--noprofile', '--norc', this.#scriptPath], {
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        if (stdout.length < MAX_OUTPUT) stdout += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        if (stderr.length < MAX_OUTPUT) stderr += chunk;
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, timeoutMs);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolvePromise({
          exitCode: code,
          stdout,
          stderr,
          timedOut,
          durationMs: Math.round(performance.now() - started),
        });
      });
    });
  }
}
