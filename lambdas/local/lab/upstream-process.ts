import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./sample-upstream.ts', import.meta.url));

/** The sample upstream did not report "ready" in time. */
export class UpstreamStartError extends Error {
  override name = 'UpstreamStartError';
}

export type UpstreamMode = 'ok' | 'slow' | 'close' | 'garbage' | 'big-header';

export interface UpstreamOptions {
  mode: UpstreamMode;
  port?: number;
  socket?: string;
  socketMode?: string;
  delayMs?: number;
  label?: string;
  /** Listen address for TCP modes. @default 127.0.0.1 */
  host?: string;
  /** A command prefix to run under, e.g. `ip netns exec NS`. */
  wrap?: string[];
}

/** A real upstream process on loopback (or a unix socket), for the lab, the demo and the tests. */
export class UpstreamProcess {
  readonly options: UpstreamOptions;
  readonly #child: ChildProcess;

  private constructor(options: UpstreamOptions, child: ChildProcess) {
    this.options = options;
    this.#child = child;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  static async start(options: UpstreamOptions): Promise<UpstreamProcess> {
    const args = [SCRIPT, '--mode', options.mode];
    if (options.port !== undefined) args.push('--port', String(options.port));
    if (options.socket !== undefined) args.push('--socket', options.socket);
    if (options.socketMode !== undefined) args.push('--socket-mode', options.socketMode);
    if (options.delayMs !== undefined) args.push('--delay-ms', String(options.delayMs));
    if (options.label !== undefined) args.push('--label', options.label);
    if (options.host !== undefined) args.push('--host', options.host);
    const [command, ...rest] = [...(options.wrap ?? []), process.execPath, ...args];
    const child = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new UpstreamStartError(`sample upstream (${options.mode}) did not start`)),
        10_000,
      );
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new UpstreamStartError(`sample upstream exited with ${code}: ${stderr.slice(0, 500)}`));
      });
    });
    child.removeAllListeners('exit');
    return new UpstreamProcess(options, child);
  }

  /** Ends the process (SIGKILL: the way a crash or the OOM killer ends it) and waits for it. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.kill(signal);
    await exited;
  }
}
