/**
 * `gatewatch demo`: a real nginx and a sample upstream on loopback, faults injected one after the other,
 * each diagnosed through the workflow with its report written. Nothing outside a temp folder and the
 * reports folder is touched.
 */
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TargetConfig } from '../core/config.ts';
import type { Report } from '../core/types.ts';
import type { Io } from './cli/io.ts';
import { diagnoseOnce } from './diagnose.ts';
import { freePort } from './lab/free-port.ts';
import { NginxLab } from './lab/nginx-lab.ts';
import { UpstreamProcess } from './lab/upstream-process.ts';

export interface DemoOptions {
  out: string;
  keep: boolean;
}

export interface DemoOutcome {
  fault: string;
  report: Report;
  location: string;
}

interface Fault {
  name: string;
  path: string;
  inject(): Promise<void>;
  repair(): Promise<void>;
}

export async function runDemo(io: Io, options: DemoOptions): Promise<DemoOutcome[]> {
  const port = await freePort();
  const otherPort = await freePort();
  let lab: NginxLab | undefined;
  const upstreams: UpstreamProcess[] = [];
  const outcomes: DemoOutcome[] = [];
  try {
    const socketPath = join('/tmp', `gatewatch-demo-${process.pid}.sock`);
    lab = await NginxLab.start({
      server: `location / {
    proxy_pass http://127.0.0.1:${port};
    proxy_read_timeout 1s;
}
location /socket/ {
    proxy_pass http://unix:${socketPath}:/;
}`,
    });
    const label = `gatewatch-demo-app-${process.pid}`;
    io.err(`nginx ${lab.binary} on http://127.0.0.1:${lab.port} (prefix ${lab.prefix})\n`);
    let app = await UpstreamProcess.start({ mode: 'ok', port, label });
    upstreams.push(app);
    const socketApp = await UpstreamProcess.start({ mode: 'ok', socket: socketPath, socketMode: '666' });
    upstreams.push(socketApp);
    const target: Partial<TargetConfig> = {
      upstreams: [{ address: `127.0.0.1:${port}`, service: { process: label } }],
    };
    const config = lab.gatewatchConfig(target, resolve(options.out));
    const status = await lab.get('/');
    io.err(`healthy: GET / → ${status}\n\n`);

    const faults: Fault[] = [
      {
        name: 'the upstream is killed',
        path: '/',
        inject: () => app.kill(),
        repair: async () => {
          app = await UpstreamProcess.start({ mode: 'ok', port, label });
          upstreams.push(app);
        },
      },
      {
        name: 'the upstream restarts on the wrong port',
        path: '/',
        inject: async () => {
          await app.kill();
          app = await UpstreamProcess.start({ mode: 'ok', port: otherPort, label });
          upstreams.push(app);
        },
        repair: async () => {
          await app.kill();
          app = await UpstreamProcess.start({ mode: 'ok', port, label });
          upstreams.push(app);
        },
      },
      {
        name: 'the upstream becomes slower than proxy_read_timeout',
        path: '/',
        inject: async () => {
          await app.kill();
          app = await UpstreamProcess.start({ mode: 'slow', port, delayMs: 2500, label });
          upstreams.push(app);
        },
        repair: async () => {
          await app.kill();
          app = await UpstreamProcess.start({ mode: 'ok', port, label });
          upstreams.push(app);
        },
      },
      {
        name: "the upstream's unix socket is removed",
        path: '/socket/',
        inject: async () => {
          await socketApp.kill();
          await rm(socketPath, { force: true });
        },
        repair: async () => {},
      },
    ];

    for (const [index, fault] of faults.entries()) {
      // Whole seconds apart: the error log's resolution, so one fault's lines never fall in the next window.
      await sleep(1100);
      const from = new Date(Math.floor(Date.now() / 1000) * 1000);
      io.err(`[${index + 1}/${faults.length}] fault: ${fault.name}\n`);
      await fault.inject();
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push(await lab.get(fault.path));
      io.err(`      GET ${fault.path} → ${statuses.join(', ')}\n`);
      const result = await diagnoseOnce({
        config,
        target: config.targets[0]!,
        from,
        trigger: { kind: 'manual', detail: `gatewatch demo: ${fault.name}` },
        deps: { notify: 'silent' },
      });
      const v = result.report.verdict;
      io.out(
        `[${index + 1}/${faults.length}] ${fault.name}\n      verdict: ${v.rootCause}${v.upstream ? ` (${v.upstream})` : ''}, confidence ${v.confidence}\n      ${v.summary}\n      report:  ${result.location}\n\n`,
      );
      outcomes.push({ fault: fault.name, report: result.report, location: result.location });
      await fault.repair();
    }
    io.out(`${outcomes.length} incidents diagnosed; open the report.html files in a browser.\n`);
    return outcomes;
  } finally {
    for (const upstream of upstreams) await upstream.kill();
    await lab?.stop({ keepFiles: options.keep });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
