/**
 * The accuracy scenarios: every root cause this machine can produce for real, and noisy variants of
 * them. Each label is set by how the fault is made (which port was left closed, which process answers
 * what), never by looking at gatewatch's output.
 *
 * `expected` says whether today's gatewatch gets the scenario right (the vitest suite asserts those);
 * `why` says what goes wrong otherwise. Flip a scenario to `expected: true` when the diagnosis gets it right.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import type { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import {
  concurrent,
  post,
  reconfigure,
  rotateLogs,
  type Scenario,
  type ScenarioContext,
  type Staged,
  sequential,
  sleep,
  windowStartsNow,
} from './harness.ts';

const run = promisify(execFile);
const proxy = (address: string, extra = '') => `location / {\n    proxy_pass http://${address};\n${extra}}`;

// ------------------------------------------------------------------------------------------ building blocks

/** nginx in front of a port nothing listens on. */
async function refused(ctx: ScenarioContext, requests = 3): Promise<Staged> {
  const port = await freePort();
  const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
  await sequential(nginx, '/', requests);
  return { nginx, label: { rootCause: 'upstream-down', upstream: `127.0.0.1:${port}` } };
}

async function readTimeout(ctx: ScenarioContext): Promise<Staged> {
  const port = await freePort();
  await ctx.upstream({ mode: 'slow', port, delayMs: 4000 });
  const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`, '    proxy_read_timeout 1s;\n') });
  await sequential(nginx, '/', 2);
  return { nginx, label: { rootCause: 'upstream-timeout', upstream: `127.0.0.1:${port}` } };
}

async function healthy(ctx: ScenarioContext): Promise<Staged> {
  const port = await freePort();
  await ctx.upstream({ mode: 'ok', port });
  const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
  await sequential(nginx, '/', 5);
  return { nginx, label: { rootCause: 'healthy' } };
}

/** Adds noise after staging: the label does not move. */
function withNoise(
  stage: (ctx: ScenarioContext) => Promise<Staged>,
  noise: (ctx: ScenarioContext, staged: Staged) => Promise<void>,
): (ctx: ScenarioContext) => Promise<Staged> {
  return async (ctx) => {
    const staged = await stage(ctx);
    await noise(ctx, staged);
    return staged;
  };
}

const freshOom = async (ctx: ScenarioContext) => ctx.unrelatedOomKill();
const fullDisk = async (ctx: ScenarioContext) => {
  await ctx.fullFilesystem('noise');
};

/** Sets main- or events-level directives the lab's template has no option for, then reloads. */
async function mainDirectives(nginx: NginxLab, main: string, workerConnections?: number): Promise<void> {
  await reconfigure(nginx, (config) => {
    let out = config.replace('worker_processes 1;', `worker_processes 1;\n${main}`);
    if (workerConnections !== undefined)
      out = out.replace('worker_connections 256;', `worker_connections ${workerConnections};`);
    return out;
  });
}

// ------------------------------------------------------------------------------------------ the table

export const SCENARIOS: Scenario[] = [
  // ---------------------------------------------------------------- the existing faults (test/integration)
  { name: 'healthy', expected: true, stage: healthy },
  {
    name: 'upstream-down',
    expected: true,
    stage: refused,
  },
  {
    name: 'wrong-address-port',
    expected: true,
    async stage(ctx) {
      const [nginxPort, actualPort] = [await freePort(), await freePort()];
      const label = `gw-acc-wrong-port-${process.pid}-${actualPort}`;
      await ctx.upstream({ mode: 'ok', port: actualPort, label });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${nginxPort}`) });
      await sequential(nginx, '/', 2);
      return {
        nginx,
        target: { upstreams: [{ address: `127.0.0.1:${nginxPort}`, service: { process: label } }] },
        label: { rootCause: 'upstream-wrong-address', upstream: `127.0.0.1:${nginxPort}` },
      };
    },
  },
  { name: 'timeout', expected: true, stage: readTimeout },
  {
    name: 'closed-early',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'close', port });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await sequential(nginx, '/', 2);
      return { nginx, label: { rootCause: 'upstream-closed-early', upstream: `127.0.0.1:${port}` } };
    },
  },
  {
    name: 'invalid-response',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'garbage', port });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await nginx.firstLine('/');
      await nginx.firstLine('/');
      return { nginx, label: { rootCause: 'upstream-invalid-response', upstream: `127.0.0.1:${port}` } };
    },
  },
  {
    name: 'header-too-big',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'big-header', port });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await sequential(nginx, '/', 2);
      return { nginx, label: { rootCause: 'upstream-header-too-big', upstream: `127.0.0.1:${port}` } };
    },
  },
  {
    name: 'tls-to-plain-http',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'ok', port });
      const nginx = await ctx.lab({ server: `location / { proxy_pass https://127.0.0.1:${port}; }` });
      await sequential(nginx, '/', 2);
      return { nginx, label: { rootCause: 'upstream-tls', upstream: `127.0.0.1:${port}` } };
    },
  },
  {
    name: 'unix-socket-missing',
    expected: true,
    async stage(ctx) {
      const path = ctx.socketPath('missing');
      const nginx = await ctx.lab({ server: `location / { proxy_pass http://unix:${path}:/; }` });
      await sequential(nginx, '/', 2);
      return { nginx, label: { rootCause: 'unix-socket-missing', upstream: `unix:${path}` } };
    },
  },
  {
    name: 'unix-socket-permission',
    expected: true,
    needs: ['root'],
    async stage(ctx) {
      const path = ctx.socketPath('private');
      // Created by root with mode 0600; nginx's workers run as nobody when the master is root.
      await ctx.upstream({ mode: 'ok', socket: path, socketMode: '600' });
      const nginx = await ctx.lab({ server: `location / { proxy_pass http://unix:${path}:/; }` });
      await sequential(nginx, '/', 2);
      return { nginx, label: { rootCause: 'unix-socket-permission', upstream: `unix:${path}` } };
    },
  },
  {
    name: 'group-all-down',
    expected: true,
    async stage(ctx) {
      const [a, b] = [await freePort(), await freePort()];
      const nginx = await ctx.lab({
        server: 'location / { proxy_pass http://backend; }',
        http: `upstream backend {\n    server 127.0.0.1:${a} max_fails=1 fail_timeout=60s;\n    server 127.0.0.1:${b} max_fails=1 fail_timeout=60s;\n}`,
      });
      await sequential(nginx, '/', 4);
      // Either server is the place: both refuse. Score the one of the two that gatewatch names.
      return { nginx, label: { rootCause: 'upstream-down' } };
    },
  },
  {
    name: 'nginx-config-invalid',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'ok', port });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await sequential(nginx, '/', 2);
      const good = await nginx.readConfigOnDisk();
      await nginx.writeConfigOnDisk(
        good.replace(
          'server_name lab.local;',
          'server_name lab.local;\n        proxy_pas http://127.0.0.1:1;',
        ),
      );
      return { nginx, label: { rootCause: 'nginx-config-invalid' } };
    },
  },
  {
    name: 'host-firewall-upstream-host',
    expected: true,
    needs: ['netns'],
    async stage(ctx) {
      const pair = await ctx.namespaces(1);
      await ctx.upstream({
        mode: 'ok',
        port: 8080,
        host: pair.upstreamIp,
        wrap: pair.prefix(pair.upstreamNs),
      });
      const nginx = await ctx.lab({
        server: proxy(`${pair.upstreamIp}:8080`, '    proxy_connect_timeout 1s;\n'),
        wrap: pair.prefix(pair.nginxNs),
      });
      await pair.inNs(
        pair.upstreamNs,
        'iptables',
        '-A',
        'INPUT',
        '-p',
        'tcp',
        '--dport',
        '8080',
        '-j',
        'DROP',
      );
      await sequential(nginx, '/', 2);
      const nginxHost = await ctx.dispatcherIn(pair.nginxNs);
      const upstreamHost = await ctx.dispatcherIn(pair.upstreamNs);
      return {
        nginx,
        target: { upstreams: [{ address: `${pair.upstreamIp}:8080`, host: 'i-0acc0acc0acc0acc0' }] },
        dispatcher: {
          send: (request) =>
            (request.host === 'local' ? nginxHost : upstreamHost).send({ ...request, host: 'local' }),
          collect: (request) =>
            (request.host === 'local' ? nginxHost : upstreamHost).collect({ ...request, host: 'local' }),
        },
        label: { rootCause: 'network-blocked-host-firewall', upstream: `${pair.upstreamIp}:8080` },
      };
    },
  },

  // ---------------------------------------------------------------- more causes this machine can produce
  {
    name: 'wrong-address-ipv6-localhost',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      const label = `gw-acc-v6-${process.pid}-${port}`;
      await ctx.upstream({ mode: 'ok', port, host: '::1', label });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await sequential(nginx, '/', 3);
      return {
        nginx,
        target: { upstreams: [{ address: `127.0.0.1:${port}`, service: { process: label } }] },
        label: { rootCause: 'upstream-wrong-address', upstream: `127.0.0.1:${port}` },
      };
    },
  },
  {
    name: 'wrong-address-ipv6-no-hint',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'ok', port, host: '::1' });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await sequential(nginx, '/', 3);
      return { nginx, label: { rootCause: 'upstream-wrong-address', upstream: `127.0.0.1:${port}` } };
    },
  },
  {
    name: 'wrong-address-hint-on-app-address',
    expected: true,
    async stage(ctx) {
      const [nginxPort, actualPort] = [await freePort(), await freePort()];
      const label = `gw-acc-hint-${process.pid}-${actualPort}`;
      await ctx.upstream({ mode: 'ok', port: actualPort, label });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${nginxPort}`) });
      await sequential(nginx, '/', 2);
      return {
        nginx,
        target: { upstreams: [{ address: `127.0.0.1:${actualPort}`, service: { process: label } }] },
        label: { rootCause: 'upstream-wrong-address', upstream: `127.0.0.1:${nginxPort}` },
      };
    },
  },
  {
    name: 'connect-timeout-dropped-on-the-way',
    expected: true,
    needs: ['netns'],
    async stage(ctx) {
      const pair = await ctx.namespaces(2);
      await ctx.upstream({
        mode: 'ok',
        port: 8080,
        host: pair.upstreamIp,
        wrap: pair.prefix(pair.upstreamNs),
      });
      const nginx = await ctx.lab({
        server: proxy(`${pair.upstreamIp}:8080`, '    proxy_connect_timeout 1s;\n'),
        wrap: pair.prefix(pair.nginxNs),
      });
      // Dropped on a host gatewatch is not told about: from nginx's host, the packets vanish on the way.
      await pair.inNs(
        pair.upstreamNs,
        'iptables',
        '-A',
        'INPUT',
        '-p',
        'tcp',
        '--dport',
        '8080',
        '-j',
        'DROP',
      );
      await sequential(nginx, '/', 2);
      return {
        nginx,
        dispatcher: await ctx.dispatcherIn(pair.nginxNs),
        label: { rootCause: 'upstream-connect-timeout', upstream: `${pair.upstreamIp}:8080` },
      };
    },
  },
  {
    name: 'host-firewall-nginx-host-reject',
    expected: true,
    needs: ['netns'],
    async stage(ctx) {
      const pair = await ctx.namespaces(3);
      await ctx.upstream({
        mode: 'ok',
        port: 8080,
        host: pair.upstreamIp,
        wrap: pair.prefix(pair.upstreamNs),
      });
      const nginx = await ctx.lab({
        server: proxy(`${pair.upstreamIp}:8080`, '    proxy_connect_timeout 2s;\n'),
        wrap: pair.prefix(pair.nginxNs),
      });
      await pair.inNs(
        pair.nginxNs,
        'iptables',
        '-A',
        'OUTPUT',
        '-p',
        'tcp',
        '-d',
        pair.upstreamIp,
        '--dport',
        '8080',
        '-j',
        'REJECT',
        '--reject-with',
        'tcp-reset',
      );
      await sequential(nginx, '/', 3);
      return {
        nginx,
        dispatcher: await ctx.dispatcherIn(pair.nginxNs),
        label: { rootCause: 'network-blocked-host-firewall', upstream: `${pair.upstreamIp}:8080` },
      };
    },
  },
  {
    name: 'host-firewall-nginx-host-drop',
    expected: true,
    needs: ['netns'],
    async stage(ctx) {
      const pair = await ctx.namespaces(4);
      await ctx.upstream({
        mode: 'ok',
        port: 8080,
        host: pair.upstreamIp,
        wrap: pair.prefix(pair.upstreamNs),
      });
      const nginx = await ctx.lab({
        server: proxy(`${pair.upstreamIp}:8080`, '    proxy_connect_timeout 1s;\n'),
        wrap: pair.prefix(pair.nginxNs),
      });
      await pair.inNs(
        pair.nginxNs,
        'iptables',
        '-A',
        'OUTPUT',
        '-p',
        'tcp',
        '-d',
        pair.upstreamIp,
        '--dport',
        '8080',
        '-j',
        'DROP',
      );
      await sequential(nginx, '/', 2);
      return {
        nginx,
        dispatcher: await ctx.dispatcherIn(pair.nginxNs),
        label: { rootCause: 'network-blocked-host-firewall', upstream: `${pair.upstreamIp}:8080` },
      };
    },
  },
  {
    name: 'unreachable-no-route',
    expected: true,
    needs: ['netns'],
    async stage(ctx) {
      const pair = await ctx.namespaces(5);
      await pair.inNs(pair.nginxNs, 'ip', 'route', 'add', 'unreachable', '10.201.5.0/24');
      const nginx = await ctx.lab({
        server: proxy('10.201.5.9:8080', '    proxy_connect_timeout 2s;\n'),
        wrap: pair.prefix(pair.nginxNs),
      });
      await sequential(nginx, '/', 2);
      return {
        nginx,
        dispatcher: await ctx.dispatcherIn(pair.nginxNs),
        label: { rootCause: 'upstream-unreachable', upstream: '10.201.5.9:8080' },
      };
    },
  },
  {
    name: 'port-exhaustion',
    expected: true,
    needs: ['netns'],
    async stage(ctx) {
      const pair = await ctx.namespaces(6);
      await pair.inNs(pair.nginxNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=40000 40001');
      await ctx.upstream({
        mode: 'slow',
        port: 8080,
        delayMs: 3000,
        host: pair.upstreamIp,
        wrap: pair.prefix(pair.upstreamNs),
      });
      const nginx = await ctx.lab({
        server: proxy(`${pair.upstreamIp}:8080`, '    proxy_read_timeout 10s;\n'),
        wrap: pair.prefix(pair.nginxNs),
      });
      // The clients bind ports outside the range: only nginx's connections to the upstream run short.
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          run('ip', [
            ...['netns', 'exec', pair.nginxNs, 'curl', '-s', '-o', '/dev/null', '--max-time', '20'],
            ...['--local-port', `${30000 + i * 10}-${30009 + i * 10}`, `http://127.0.0.1:${nginx.port}/`],
          ]).catch(() => undefined),
        ),
      );
      return {
        nginx,
        dispatcher: await ctx.dispatcherIn(pair.nginxNs),
        proof: /\(99: /,
        label: { rootCause: 'resource-port-exhaustion', upstream: `${pair.upstreamIp}:8080` },
      };
    },
  },
  {
    name: 'dns-no-resolver',
    expected: true,
    async stage(ctx) {
      const nginx = await ctx.lab({
        server:
          'location / {\n    set $app gw-accuracy-missing.invalid;\n    proxy_pass http://$app:8080;\n}',
      });
      await sequential(nginx, '/', 2);
      return { nginx, label: { rootCause: 'upstream-dns' } };
    },
  },
  {
    name: 'dns-resolver-unanswered',
    expected: true,
    async stage(ctx) {
      const dnsPort = await freePort();
      const nginx = await ctx.lab({
        http: `resolver 127.0.0.1:${dnsPort} valid=1s;\nresolver_timeout 2s;`,
        server:
          'location / {\n    set $app gw-accuracy-missing.invalid;\n    proxy_pass http://$app:8080;\n}',
      });
      await sequential(nginx, '/', 2);
      return { nginx, label: { rootCause: 'upstream-dns' } };
    },
  },
  {
    name: 'overloaded-unix-backlog',
    expected: true,
    async stage(ctx) {
      const path = ctx.socketPath('backlog');
      // A real listener that never accepts: its backlog of 1 fills, further connects get EAGAIN.
      await ctx.spawnReady([
        'python3',
        '-c',
        `import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(1)
print('ready', flush=True); time.sleep(3600)`,
        path,
      ]);
      const nginx = await ctx.lab({
        server: `location / {\n    proxy_pass http://unix:${path}:/;\n    proxy_read_timeout 2s;\n}`,
      });
      await concurrent(nginx, '/', 10);
      return { nginx, label: { rootCause: 'upstream-overloaded', upstream: `unix:${path}` } };
    },
  },
  {
    name: 'no-live-upstreams-after-recovery',
    expected: true,
    async stage(ctx) {
      const [a, b] = [await freePort(), await freePort()];
      const nginx = await ctx.lab({
        server: 'location / { proxy_pass http://backend; }',
        http: `upstream backend {\n    server 127.0.0.1:${a} max_fails=1 fail_timeout=120s;\n    server 127.0.0.1:${b} max_fails=1 fail_timeout=120s;\n}`,
      });
      await sequential(nginx, '/', 2);
      const from = await windowStartsNow();
      await ctx.upstream({ mode: 'ok', port: a });
      await ctx.upstream({ mode: 'ok', port: b });
      await sequential(nginx, '/', 4);
      return { nginx, from, label: { rootCause: 'no-live-upstreams' } };
    },
  },
  {
    name: 'upstream-error-response',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.modeUpstream('status', { port, status: 502 });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await sequential(nginx, '/', 4);
      return { nginx, label: { rootCause: 'upstream-error-response', upstream: `127.0.0.1:${port}` } };
    },
  },
  {
    name: 'upstream-error-response-504',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.modeUpstream('status', { port, status: 504 });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await sequential(nginx, '/', 4);
      return { nginx, label: { rootCause: 'upstream-error-response', upstream: `127.0.0.1:${port}` } };
    },
  },
  {
    name: 'oom-killed-upstream',
    expected: true,
    needs: ['memory-cgroup'],
    async stage(ctx) {
      const port = await freePort();
      const cgroup = await ctx.memoryCgroup(160 * 1024 * 1024);
      const app = await ctx.spawnReady([
        'bash',
        '-c',
        `echo $$ > '${cgroup.procs}' && exec "$0" "$@"`,
        process.execPath,
        new URL('./upstream-modes.ts', import.meta.url).pathname,
        '--mode',
        'hog',
        '--port',
        String(port),
      ]);
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await sequential(nginx, '/', 2);
      await nginx.get('/grow').catch(() => 0);
      // On a loaded host the cgroup may take a while to fill: wait up to 30 s, and never go on unkilled.
      for (let i = 0; i < 300 && !app.exited; i++) await sleep(100);
      if (!app.exited) throw new Error('staging did not produce the fault: the kernel did not kill the app');
      await sequential(nginx, '/', 3);
      return { nginx, label: { rootCause: 'resource-memory-oom', upstream: `127.0.0.1:${port}` } };
    },
  },
  {
    name: 'nginx-worker-connections',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'slow', port, delayMs: 3000 });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`, '    proxy_read_timeout 10s;\n') });
      await mainDirectives(nginx, '', 8);
      // Three requests in flight hold 7 of the 8 connections (listener, 3 clients, 3 upstreams) in a state
      // nginx cannot reuse; the next clients find none free.
      const first = concurrent(nginx, '/', 3);
      await sleep(1000);
      await Promise.all([first, concurrent(nginx, '/', 10)]);
      return {
        nginx,
        proof: /\[alert\].*worker_connections are not enough/,
        label: { rootCause: 'nginx-worker-connections' },
      };
    },
  },
  {
    name: 'fd-exhausted',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'slow', port, delayMs: 3000 });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`, '    proxy_read_timeout 10s;\n') });
      await mainDirectives(nginx, 'worker_rlimit_nofile 24;');
      await concurrent(nginx, '/', 24);
      return { nginx, proof: /\(24: /, label: { rootCause: 'resource-fd-exhausted' } };
    },
  },
  {
    name: 'nginx-body-temp-disk-full',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'ok', port });
      const full = await ctx.fullFilesystem('body-temp');
      const nginx = await ctx.lab({
        server: proxy(
          `127.0.0.1:${port}`,
          `    client_body_temp_path ${full}/body;\n    client_max_body_size 8m;\n`,
        ),
      });
      for (let i = 0; i < 3; i++) await post(nginx, '/', 1024 * 1024);
      return { nginx, proof: /\(28: /, label: { rootCause: 'resource-disk-full' } };
    },
  },
  {
    name: 'nginx-body-temp-permission',
    expected: true,
    needs: ['root'],
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'ok', port });
      const dir = await ctx.tempDir('temp');
      const nginx = await ctx.lab({
        server: proxy(
          `127.0.0.1:${port}`,
          `    client_body_temp_path ${dir}/body;\n    client_max_body_size 8m;\n`,
        ),
      });
      // nginx made the folder for its worker (nobody) at start; take it back.
      await mkdir(join(dir, 'body'), { recursive: true });
      await chown(join(dir, 'body'), 0, 0);
      await chmod(join(dir, 'body'), 0o700);
      for (let i = 0; i < 3; i++) await post(nginx, '/', 1024 * 1024);
      return { nginx, proof: /\(13: /, label: { rootCause: 'nginx-file-permission' } };
    },
  },
  {
    name: 'insufficient-evidence-logs-missing',
    expected: true,
    async stage(ctx) {
      const staged = await refused(ctx);
      const dir = await ctx.tempDir('nologs');
      return {
        ...staged,
        target: {
          nginx: {
            errorLog: join(dir, 'missing-error.log'),
            accessLog: join(dir, 'missing-access.log'),
            conf: staged.nginx.confPath,
            prefix: staged.nginx.prefix,
            binary: staged.nginx.binary,
          },
        },
        label: { rootCause: 'insufficient-evidence' },
      };
    },
  },
  {
    name: 'insufficient-evidence-logs-unreadable-bytes',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'ok', port });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      const dir = await ctx.tempDir('garbage');
      const bytes = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919 + 13) % 256));
      await writeFile(join(dir, 'error.log'), bytes);
      await writeFile(join(dir, 'access.log'), bytes);
      return {
        nginx,
        target: {
          nginx: {
            errorLog: join(dir, 'error.log'),
            accessLog: join(dir, 'access.log'),
            conf: nginx.confPath,
            prefix: nginx.prefix,
            binary: nginx.binary,
          },
        },
        label: { rootCause: 'insufficient-evidence' },
      };
    },
  },

  // ---------------------------------------------------------------- noise: the label must not move
  {
    name: 'upstream-down+fresh-unrelated-oom',
    noise: 'a fresh OOM kill of an unrelated node process, after the refusals',
    expected: true,
    needs: ['memory-cgroup'],
    stage: withNoise(refused, freshOom),
  },
  {
    name: 'timeout+fresh-unrelated-oom',
    noise: 'a fresh OOM kill of an unrelated node process',
    expected: true,
    needs: ['memory-cgroup'],
    stage: withNoise(readTimeout, freshOom),
  },
  {
    name: 'healthy+fresh-unrelated-oom',
    noise: 'a fresh OOM kill of an unrelated node process',
    expected: true,
    needs: ['memory-cgroup'],
    stage: withNoise(healthy, freshOom),
  },
  {
    name: 'upstream-down+full-unrelated-filesystem',
    noise: 'another filesystem at 100%',
    expected: true,
    stage: withNoise(refused, fullDisk),
  },
  {
    name: 'timeout+full-unrelated-filesystem',
    noise: 'another filesystem at 100%',
    expected: true,
    stage: withNoise(readTimeout, fullDisk),
  },
  {
    name: 'healthy+full-unrelated-filesystem',
    noise: 'another filesystem at 100%',
    expected: true,
    stage: withNoise(healthy, fullDisk),
  },
  {
    name: 'healthy+old-failures-before-window',
    noise: 'refusals before the window, then the upstream came back',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await sequential(nginx, '/', 3);
      const from = await windowStartsNow();
      await ctx.upstream({ mode: 'ok', port });
      await sequential(nginx, '/', 3);
      return { nginx, from, label: { rootCause: 'healthy' } };
    },
  },
  {
    name: 'healthy+recovered-in-window',
    noise: 'refusals inside the window, then the upstream came back and answered',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await sequential(nginx, '/', 3);
      await sleep(1500);
      await ctx.upstream({ mode: 'ok', port });
      await sequential(nginx, '/', 10);
      return { nginx, label: { rootCause: 'healthy' } };
    },
  },
  {
    name: 'timeout-now+recovered-refusals',
    noise: 'many refusals earlier in the window that stopped; a few timeouts now',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`, '    proxy_read_timeout 1s;\n') });
      await sequential(nginx, '/', 8);
      await sleep(1500);
      await ctx.upstream({ mode: 'slow', port, delayMs: 4000 });
      await sequential(nginx, '/', 2);
      return { nginx, label: { rootCause: 'upstream-timeout', upstream: `127.0.0.1:${port}` } };
    },
  },
  {
    name: 'upstream-down+second-healthy-upstream',
    noise: 'a second upstream answering on another location',
    expected: true,
    async stage(ctx) {
      const [down, up] = [await freePort(), await freePort()];
      await ctx.upstream({ mode: 'ok', port: up });
      const nginx = await ctx.lab({
        server: `location /a { proxy_pass http://127.0.0.1:${down}; }\nlocation /b { proxy_pass http://127.0.0.1:${up}; }`,
      });
      for (let i = 0; i < 3; i++) {
        await nginx.get('/a');
        await nginx.get('/b');
        await nginx.get('/b');
      }
      return { nginx, label: { rootCause: 'upstream-down', upstream: `127.0.0.1:${down}` } };
    },
  },
  {
    name: 'timeout+second-healthy-upstream',
    noise: 'a second upstream answering on another location',
    expected: true,
    async stage(ctx) {
      const [slow, up] = [await freePort(), await freePort()];
      await ctx.upstream({ mode: 'slow', port: slow, delayMs: 4000 });
      await ctx.upstream({ mode: 'ok', port: up });
      const nginx = await ctx.lab({
        server: `location /a {\n    proxy_pass http://127.0.0.1:${slow};\n    proxy_read_timeout 1s;\n}\nlocation /b { proxy_pass http://127.0.0.1:${up}; }`,
      });
      for (let i = 0; i < 2; i++) {
        await nginx.get('/a');
        await sequential(nginx, '/b', 3);
      }
      return { nginx, label: { rootCause: 'upstream-timeout', upstream: `127.0.0.1:${slow}` } };
    },
  },
  {
    name: 'timeout+rotation-mid-window',
    noise: 'both logs rotated (rename + nginx -s reopen) between failures',
    expected: true,
    async stage(ctx) {
      const staged = await readTimeout(ctx);
      await rotateLogs(staged.nginx);
      await sequential(staged.nginx, '/', 1);
      return staged;
    },
  },
  {
    name: 'closed-early+rotation-all-failures-rotated',
    noise: 'every failure is in the rotated file error.log.1; only successes after it',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'close', port });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await sequential(nginx, '/', 4);
      await rotateLogs(nginx);
      return {
        nginx,
        proof: /prematurely closed|\(104: /,
        label: { rootCause: 'upstream-closed-early', upstream: `127.0.0.1:${port}` },
      };
    },
  },
  {
    name: 'upstream-error-response+combined-format',
    noise: 'the access log in `combined` (no $upstream_status)',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.modeUpstream('status', { port, status: 502 });
      const nginx = await ctx.lab({ server: proxy(`127.0.0.1:${port}`) });
      await reconfigure(nginx, (config) => config.replace(/access\.log gatewatch;/, 'access.log combined;'));
      await sequential(nginx, '/', 4);
      return { nginx, label: { rootCause: 'upstream-error-response', upstream: `127.0.0.1:${port}` } };
    },
  },
  {
    name: 'timeout+combined-format',
    noise: 'the access log in `combined`',
    expected: true,
    async stage(ctx) {
      const staged = await readTimeout(ctx);
      await reconfigure(staged.nginx, (config) =>
        config.replace(/access\.log gatewatch;/, 'access.log combined;'),
      );
      await sequential(staged.nginx, '/', 1);
      return staged;
    },
  },
  {
    name: 'timeout+error-log-in-utc+0530',
    noise: 'nginx runs with TZ=Asia/Kolkata: the error log is written in +05:30',
    expected: true,
    async stage(ctx) {
      const port = await freePort();
      await ctx.upstream({ mode: 'slow', port, delayMs: 4000 });
      const nginx = await ctx.lab({
        server: proxy(`127.0.0.1:${port}`, '    proxy_read_timeout 1s;\n'),
        wrap: ['env', 'TZ=Asia/Kolkata'],
      });
      await sequential(nginx, '/', 2);
      return { nginx, label: { rootCause: 'upstream-timeout', upstream: `127.0.0.1:${port}` } };
    },
  },
  {
    name: 'unix-socket-missing+error-log-in-utc-0700',
    noise: 'nginx runs with TZ=America/Los_Angeles: the error log is written in -07:00/-08:00',
    expected: true,
    async stage(ctx) {
      const path = ctx.socketPath('tz-missing');
      const nginx = await ctx.lab({
        server: `location / { proxy_pass http://unix:${path}:/; }`,
        wrap: ['env', 'TZ=America/Los_Angeles'],
      });
      await sequential(nginx, '/', 2);
      return { nginx, label: { rootCause: 'unix-socket-missing', upstream: `unix:${path}` } };
    },
  },
  {
    name: 'upstream-down+error-log-missing',
    noise: 'the error log is missing; the access log is full of 502',
    expected: true,
    async stage(ctx) {
      const staged = await refused(ctx, 6);
      const dir = await ctx.tempDir('noerr');
      return {
        ...staged,
        target: {
          nginx: {
            errorLog: join(dir, 'missing-error.log'),
            accessLog: staged.nginx.accessLog,
            conf: staged.nginx.confPath,
            prefix: staged.nginx.prefix,
            binary: staged.nginx.binary,
          },
        },
      };
    },
  },
  {
    name: 'upstream-down+docker-timestamp-prefix',
    noise: 'both logs as `docker logs --timestamps` prints them (an RFC 3339 prefix on every line)',
    expected: true,
    async stage(ctx) {
      const staged = await refused(ctx, 4);
      const dir = await ctx.tempDir('docker');
      for (const [from, to] of [
        [staged.nginx.errorLog, 'error.log'],
        [staged.nginx.accessLog, 'access.log'],
      ] as const) {
        const stamp = new Date().toISOString().replace('Z', '123456Z');
        const lines = (await readFile(from, 'utf8')).split('\n').filter((l) => l !== '');
        await writeFile(join(dir, to), lines.map((l) => `${stamp} ${l}\n`).join(''));
      }
      return {
        ...staged,
        target: {
          nginx: {
            errorLog: join(dir, 'error.log'),
            accessLog: join(dir, 'access.log'),
            conf: staged.nginx.confPath,
            prefix: staged.nginx.prefix,
            binary: staged.nginx.binary,
          },
        },
      };
    },
  },
];

/** What this machine allows, checked once: scenarios that need more are reported as not run. */
export async function machineAllows(): Promise<Set<string>> {
  const allowed = new Set<string>();
  if (process.getuid?.() === 0) allowed.add('root');
  try {
    const probe = `accuracy-probe-${process.pid}`;
    await run('ip', ['netns', 'add', probe]);
    try {
      await run('ip', ['netns', 'exec', probe, 'iptables-save']);
      allowed.add('netns');
    } finally {
      await run('ip', ['netns', 'del', probe]).catch(() => undefined);
    }
  } catch {}
  try {
    await readFile('/sys/fs/cgroup/memory/cgroup.procs', 'utf8');
    allowed.add('memory-cgroup');
  } catch {
    try {
      if ((await readFile('/sys/fs/cgroup/cgroup.controllers', 'utf8')).includes('memory'))
        allowed.add('memory-cgroup');
    } catch {}
  }
  return allowed;
}
