/**
 * The shipped CLI as a user runs it: `bin/gatewatch.mjs` in a child process, never a program assembled in
 * the test. Resolves with the exit code and both streams.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const GATEWATCH_BIN = fileURLToPath(new URL('../../bin/gatewatch.mjs', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runGatewatch(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GATEWATCH_BIN, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
