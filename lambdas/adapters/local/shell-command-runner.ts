/**
 * `CommandRunner` on this machine: runs gatewatch's diagnostics script with bash, the same file the SSM
 * document carries. No shell string is ever built: `spawn(bash, [script])` with an environment made of a
 * fixed PATH, `LANG=C` and the `GW_*` variables that `buildDiagnosticsEnvironment` validated, nothing
 * inherited but HOME (pm2 finds its daemon under it). A non-zero exit is a result, not an error.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildDiagnosticsEnvironment,
  parseDiagnosticsEnvironment,
  SCRIPT_RELATIVE_PATH,
} from '../../core/diagnostics/params.ts';
import type { CommandResult, CommandRunner, DiagnosticsRequest } from '../../ports.ts';

/** This runner only runs on the machine it is on; EC2 instances go through SSM. */
export class UnsupportedHostError extends Error {
  override name = 'UnsupportedHostError';
}

/** bash could not be started at all (not installed, not executable). */
export class ScriptLaunchError extends Error {
  override name = 'ScriptLaunchError';
}

export interface ShellCommandRunnerOptions {
  /** The diagnostics script. @default `<repo>/lambdas/assets/diagnostics/gatewatch-diagnostics.sh` */
  scriptPath?: string;
  /** The bash to run it with. @default 'bash' (looked up on `path`) */
  bash?: string;
  /** Bytes of stdout kept; the rest is read and dropped. @default 16 MiB */
  maxOutputBytes?: number;
  /** PATH handed to the script. @default the usual sbin and bin directories */
  path?: string;
}

export const DEFAULT_SCRIPT_PATH = resolve(
  fileURLToPath(new URL('../../../', import.meta.url)),
  SCRIPT_RELATIVE_PATH,
);
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const MAX_STDERR_BYTES = 64 * 1024;
/** After TERM, how long the script gets before everything it started is killed. */
const KILL_GRACE_MS = 1000;
/** After the script ended on a timeout, how long to keep ending what it left behind. */
const END_SESSION_MS = 3000;

export class ShellCommandRunner implements CommandRunner {
  readonly #scriptPath: string;
  readonly #bash: string;
  readonly #maxOutputBytes: number;
  readonly #path: string;

  constructor(options: ShellCommandRunnerOptions = {}) {
    this.#scriptPath = options.scriptPath ?? DEFAULT_SCRIPT_PATH;
    this.#bash = options.bash ?? 'bash';
    this.#maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.#path = options.path ?? DEFAULT_PATH;
  }

  /**
   * Runs the script once. Throws `DiagnosticsParamsError` for parameters the script would refuse,
   * {@link UnsupportedHostError} for a host other than `local`, {@link ScriptLaunchError} when bash cannot
   * start; otherwise resolves with whatever the script printed, also after a timeout.
   */
  async runDiagnostics(request: DiagnosticsRequest): Promise<CommandResult> {
    if (request.host !== 'local') {
      throw new UnsupportedHostError(
        `the local runner only runs diagnostics on this machine ("local"), not on ${JSON.stringify(request.host)}`,
      );
    }
    const environment = buildDiagnosticsEnvironment(
      parseDiagnosticsEnvironment(request.params, request.checks),
    );
    const env: Record<string, string> = { PATH: this.#path, LANG: 'C', LC_ALL: 'C', ...environment };
    if (process.env.HOME) env.HOME = process.env.HOME;
    const timeoutMs = Math.max(1, request.timeoutSeconds) * 1000;
    return this.#run(env, timeoutMs);
  }

  #run(env: Record<string, string>, timeoutMs: number): Promise<CommandResult> {
    const started = performance.now();
    return new Promise<CommandResult>((resolvePromise, reject) => {
      // Its own session and process group: on timeout everything the script started can be found and ended.
      const child = spawn(this.#bash, ['--noprofile', '--norc', this.#scriptPath], {
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const stdout = new CappedBuffer(this.#maxOutputBytes);
      const stderr = new CappedBuffer(MAX_STDERR_BYTES);
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

      let timedOut = false;
      let killTimer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        timedOut = true;
        const sessionId = child.pid;
        if (sessionId === undefined) return;
        signalSession(sessionId, 'SIGTERM');
        killTimer = setTimeout(() => signalSession(sessionId, 'SIGKILL'), KILL_GRACE_MS);
      }, timeoutMs);

      child.on('error', (error) => {
        clearTimeout(timer);
        clearTimeout(killTimer);
        reject(
          new ScriptLaunchError(`could not start ${this.#bash} ${this.#scriptPath}: ${error.message}`, {
            cause: error,
          }),
        );
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        clearTimeout(killTimer);
        const result = {
          exitCode: code,
          stdout: stdout.text(),
          stderr: stderr.text(),
          timedOut,
          durationMs: Math.round(performance.now() - started),
        };
        // Checks run under `timeout`, in process groups of their own: end any that outlived the script,
        // including one that was being forked while the session was signalled.
        if (timedOut && child.pid !== undefined) {
          void endSession(child.pid).then(() => resolvePromise(result));
        } else {
          resolvePromise(result);
        }
      });
    });
  }
}

/**
 * Signals every process of the session the script leads. `timeout` moves each check into a process
 * group of its own, so the script's group alone would miss them; the session keeps them all (nothing
 * in the script calls setsid).
 */
function signalSession(sessionId: number, signal: NodeJS.Signals): void {
  trySignal(-sessionId, signal);
  for (const pid of sessionMembers(sessionId)) trySignal(pid, signal);
}

/** SIGKILLs the session until no member is left (a fork can race one scan), for at most a few seconds. */
async function endSession(sessionId: number): Promise<void> {
  const deadline = performance.now() + END_SESSION_MS;
  for (;;) {
    signalSession(sessionId, 'SIGKILL');
    const left = sessionMembers(sessionId).filter((pid) => !isZombie(pid));
    if (left.length === 0 || performance.now() > deadline) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
  } catch {
    return true;
  }
}

function sessionMembers(sessionId: number): number[] {
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return members;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces and parentheses): state ppid pgrp session.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[3]) === sessionId) members.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return members;
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Keeps the first `limit` bytes and counts the rest. */
class CappedBuffer {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #size = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    const room = this.#limit - this.#size;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(kept);
    this.#size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}
