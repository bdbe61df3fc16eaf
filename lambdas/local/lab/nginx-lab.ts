import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { GatewatchConfig } from '../../core/config.ts';
import { UsageError } from '../cli/errors.ts';
import { freePort } from './free-port.ts';

const run = promisify(execFile);
const LOG_FORMAT_FILE = fileURLToPath(
  new URL('../../assets/nginx/gatewatch-log-format.conf', import.meta.url),
);

/** Where nginx is, or a usage error that says how to get it. */
export function findNginx(): string {
  for (const dir of [
    ...(process.env.PATH ?? '').split(':'),
    '/usr/sbin',
    '/usr/local/sbin',
    '/usr/local/bin',
  ]) {
    if (dir === '') continue;
    const candidate = join(dir, 'nginx');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new UsageError('nginx is not installed on this machine', {
    hint: 'install it: `sudo apt-get install -y nginx-light` (Debian/Ubuntu), `sudo dnf install -y nginx` (Fedora/RHEL), `brew install nginx` (macOS)',
  });
}

export interface LabOptions {
  /** Location blocks (and any other server-level directives) of the one server. */
  server: string;
  /** Extra http-level directives: upstream groups, resolvers. */
  http?: string;
  /** Error log level; `warn` shows "upstream server temporarily disabled" too. */
  errorLogLevel?: string;
  /** A command prefix nginx and requests run under, e.g. `ip netns exec NS` for a network namespace. */
  wrap?: string[];
}

/**
 * A real nginx on 127.0.0.1 with its own prefix folder, config and logs, started with
 * `nginx -p DIR -c FILE`. The access log uses gatewatch's recommended format.
 */
export class NginxLab {
  readonly prefix: string;
  readonly port: number;
  readonly binary: string;
  readonly options: LabOptions;

  private constructor(prefix: string, port: number, binary: string, options: LabOptions) {
    this.prefix = prefix;
    this.port = port;
    this.binary = binary;
    this.options = options;
  }

  get confPath(): string {
    return join(this.prefix, 'conf', 'nginx.conf');
  }
  get errorLog(): string {
    return join(this.prefix, 'logs', 'error.log');
  }
  get accessLog(): string {
    return join(this.prefix, 'logs', 'access.log');
  }

  static async start(options: LabOptions): Promise<NginxLab> {
    const binary = findNginx();
    const prefix = await mkdtemp(join(tmpdir(), 'gatewatch-lab-'));
    await mkdir(join(prefix, 'conf'), { recursive: true });
    await mkdir(join(prefix, 'logs'), { recursive: true });
    await mkdir(join(prefix, 'tmp'), { recursive: true });
    const port = await freePort();
    const lab = new NginxLab(prefix, port, binary, options);
    await writeFile(lab.confPath, lab.renderConfig());
    const [command, ...args] = [...(options.wrap ?? []), binary, '-p', prefix, '-c', lab.confPath];
    try {
      await run(command!, args);
    } catch (error) {
      await rm(prefix, { recursive: true, force: true });
      throw error;
    }
    return lab;
  }

  renderConfig(): string {
    const p = this.prefix;
    return `# gatewatch lab nginx
worker_processes 1;
pid ${p}/nginx.pid;
error_log ${p}/logs/error.log ${this.options.errorLogLevel ?? 'warn'};
events { worker_connections 256; }
http {
    include ${LOG_FORMAT_FILE};
    access_log ${p}/logs/access.log gatewatch;
    client_body_temp_path ${p}/tmp/body;
    proxy_temp_path ${p}/tmp/proxy;
    fastcgi_temp_path ${p}/tmp/fastcgi;
    uwsgi_temp_path ${p}/tmp/uwsgi;
    scgi_temp_path ${p}/tmp/scgi;
${indent(this.options.http ?? '', 4)}
    server {
        listen 127.0.0.1:${this.port};
        server_name lab.local;
${indent(this.options.server, 8)}
    }
}
`;
  }

  /** Replaces the configuration on disk without telling nginx (the running one keeps the old). */
  async writeConfigOnDisk(text: string): Promise<void> {
    await writeFile(this.confPath, text);
  }

  async readConfigOnDisk(): Promise<string> {
    return readFile(this.confPath, 'utf8');
  }

  /** One request through nginx; resolves with the status code (never rejects on HTTP errors). */
  get(path = '/', headers: Record<string, string> = {}): Promise<number> {
    if (this.options.wrap) return this.#curl(path);
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.port, path, headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.setTimeout(20_000, () => req.destroy(new Error(`request to ${path} timed out`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** Inside a wrapped environment (a namespace) the request has to be made from there too. */
  async #curl(path: string): Promise<number> {
    const [command, ...args] = [
      ...(this.options.wrap ?? []),
      'curl',
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--max-time',
      '20',
      `http://127.0.0.1:${this.port}${path}`,
    ];
    const { stdout } = await run(command!, args);
    return Number(stdout.trim());
  }

  /**
   * One request over a raw socket; resolves with the first line of whatever came back. For answers an
   * HTTP client refuses (nginx relays a non-HTTP upstream answer as HTTP/0.9, without a status line).
   */
  firstLine(path = '/'): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: this.port }, () => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: lab.local\r\nConnection: close\r\n\r\n`);
      });
      let data = '';
      socket.setTimeout(20_000, () => socket.destroy(new Error(`request to ${path} timed out`)));
      socket.on('data', (chunk) => {
        data += chunk.toString('latin1');
      });
      socket.on('end', () => resolve(data.split('\r\n')[0] ?? ''));
      socket.on('error', reject);
    });
  }

  /** The gatewatch configuration for this lab: one target named `lab`. */
  gatewatchConfig(
    target: Partial<GatewatchConfig['targets'][number]> = {},
    reportsDir?: string,
  ): GatewatchConfig {
    return {
      targets: [
        {
          name: 'lab',
          nginx: {
            errorLog: this.errorLog,
            accessLog: this.accessLog,
            conf: this.confPath,
            prefix: this.prefix,
            binary: this.binary,
          },
          upstreams: [],
          alarm: {
            failedProbes: { datapoints: 2, evaluationPeriods: 3 },
            errorRate: { percent: 5, minutes: 5 },
          },
          ...target,
        },
      ],
      reports: { dir: reportsDir ?? join(this.prefix, 'incidents') },
      notify: { email: [] },
    };
  }

  /**
   * Stops nginx (fast shutdown: SIGTERM to the master, which ends its workers) and removes the prefix
   * folder. A master still there after 10 s is killed with its workers (SIGKILL), so nothing the lab
   * started outlives it.
   */
  async stop(options: { keepFiles?: boolean } = {}): Promise<void> {
    let pid: number | undefined;
    try {
      pid = Number((await readFile(join(this.prefix, 'nginx.pid'), 'utf8')).trim());
    } catch {}
    if (pid !== undefined && Number.isInteger(pid) && pid > 1) {
      const workers = childPids(pid);
      signal(pid, 'SIGTERM');
      if (!(await exited([pid, ...workers], 10_000))) {
        for (const each of [pid, ...workers, ...childPids(pid)]) signal(each, 'SIGKILL');
        await exited([pid, ...workers], 5_000);
      }
    }
    if (!options.keepFiles) await rm(this.prefix, { recursive: true, force: true });
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {}
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone; EPERM: the pid was recycled by another user's process, so the lab's process is gone too.
    return false;
  }
}

/** Resolves true once none of `pids` is alive, false after `ms`. */
async function exited(pids: readonly number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** The pids whose parent is `pid` (nginx's workers), from /proc; none where there is no /proc. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return children;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {}
  }
  return children;
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => (line.trim() === '' ? '' : pad + line))
    .join('\n');
}
