/**
 * Starts `moto_server` (the AWS API emulator) on a free loopback port for one test file, and stops it.
 * Tests that need it use `describe.skipIf(!motoAvailable)(\`… ${motoSkipReason}\`, …)` so a machine without
 * it shows why they did not run.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** True when `moto_server` is on PATH. */
export const motoAvailable = onPath('moto_server');

/** Empty when moto is available; otherwise the reason, for the skipped suite's name. */
export const motoSkipReason = motoAvailable
  ? ''
  : '(skipped: moto_server is not on PATH; pip install "moto[server]")';

/** SDK client settings for moto: its endpoint, us-east-1, dummy credentials, path-style S3 addressing. */
export interface MotoClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle: boolean;
}

export function motoClientConfig(endpoint: string): MotoClientConfig {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    forcePathStyle: true,
  };
}

export interface Moto {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** Forgets every resource (moto's reset API), for a clean slate between tests. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Starts moto_server and waits until it answers. */
export async function startMoto(timeoutMs = 20_000): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.pid === undefined) return;
    // moto_server may be a shim that starts python: signal the process group this test started.
    process.kill(-child.pid, 'SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited early: ${stderr}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) {
        return {
          endpoint,
          reset: async () => {
            await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
          },
          stop,
        };
      }
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms: ${stderr}`);
}
