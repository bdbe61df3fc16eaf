/**
 * The diagnostics script itself, run with bash against real processes, sockets, nginx configurations and
 * PATH directories: what it finds, how it reports tools it cannot use, its limits, and that it refuses bad
 * parameters before running anything.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type HostFacts,
  interpretHostFacts,
  listenerFor,
} from '../../lambdas/core/diagnostics/host-facts.ts';
import {
  DiagnosticsParamsError,
  PATTERN_SOURCES,
  parseDiagnosticsEnvironment,
  SCRIPT_PATTERN_VARIABLES,
} from '../../lambdas/core/diagnostics/params.ts';
import { type DiagnosticsRun, parseDiagnosticsOutput } from '../../lambdas/core/diagnostics/parse.ts';
import { HOSTILE_TEXT } from '../fixtures/diagnostics/hostile-values.ts';
import {
  alive,
  cleanupLasting,
  cleanupScenario,
  NGINX,
  nginxConfig,
  pathWithout,
  runScript,
  SCRIPT_PATH,
  type ScriptRun,
  socketDir,
  startUpstream,
  tempDir,
} from '../fixtures/diagnostics/scenario.ts';

const script = readFileSync(SCRIPT_PATH, 'utf8');

afterEach(() => cleanupScenario());
afterAll(() => cleanupLasting());

async function diagnose(env: Record<string, string>, options: { path?: string } = {}) {
  const result = await runScript(env, options);
  const run = parseDiagnosticsOutput(result.stdout);
  return { result, run, facts: interpretHostFacts(run) };
}

/** The name the kernel knows a process by (node 24 renames its main thread `MainThread`). */
function commOf(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

function checkOf(run: DiagnosticsRun, name: string) {
  const check = run.checks.find((c) => c.name === name);
  if (!check) throw new Error(`no ${name} check in the output`);
  return check;
}

describe('the script as written', () => {
  it('validates with exactly the patterns params.ts exports', () => {
    const inScript = Object.fromEntries(
      [...script.matchAll(/^readonly (GW_PATTERN_[A-Z_]+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    const expected = Object.fromEntries(
      Object.entries(SCRIPT_PATTERN_VARIABLES).map(([variable, name]) => [variable, PATTERN_SOURCES[name]]),
    );
    expect(inScript).toEqual(expected);
  });

  it('uses no here-document or here-string (older bash writes those to temporary files)', () => {
    expect(script).not.toMatch(/<<[<-]?\s*['"A-Za-z_]/);
  });

  it('redirects output only to /dev/null or to another descriptor', () => {
    const code = script
      .replace(/^(?:readonly )?GW_[A-Z_]+='[^']*'$/gm, '') // awk and JavaScript programs held in variables
      .split('\n')
      .filter((line) => !/^\s*#/.test(line))
      .join('\n')
      .replace(/\(\([^()]*(?:\([^()]*\)[^()]*)*\)\)/g, '') // arithmetic: (( a > b ))
      .replace(/'[^'\n]*'/g, "''"); // single-quoted text
    const redirections = [...code.matchAll(/\d*>>?\s*(&\s*[0-9-]+|[^\s;|&)]+)?/g)].map((m) => m[0]);
    const toFiles = redirections.filter(
      (r) => !/^\d*>(?:&[0-9-]+|\s*\/dev\/null)$/.test(r.replace(/\s+/g, '')),
    );
    expect(toFiles).toEqual([]);
  });

  it('calls no command that changes the host', () => {
    const code = script
      .split('\n')
      .filter((line) => !/^\s*#/.test(line))
      .join('\n');
    const changing =
      /(?:^|[;&|({]\s*|\$\(\s*|\bthen\s+|\bdo\s+|\|\|\s*|&&\s*)(?:rm|mv|cp|tee|touch|mkdir|rmdir|chmod|chown|chgrp|kill|pkill|killall|reboot|shutdown|truncate|dd|ln|install|apt|apt-get|yum|dnf|setsid|sysctl)\s/m;
    expect(code).not.toMatch(changing);
    expect(code).not.toMatch(
      /systemctl\s+(?:start|stop|restart|reload|kill|enable|disable|mask|reset-failed)/,
    );
    expect(code).not.toMatch(/docker\s+(?:run|start|stop|restart|kill|rm|exec|pull|create|update)\b/);
    expect(code).not.toMatch(/pm2\s+(?:start|stop|restart|reload|delete|kill|save|resurrect|flush)\b/);
    expect(code).not.toMatch(/nginx\S*\s+-s\b|gw_nginx\s+-s\b/);
    expect(code).not.toMatch(/(?:iptables|nft)\s+(?:-A|-I|-D|-F|add|delete|flush|insert)\b/);
  });
});

describe('parameter validation inside the script', () => {
  const canaryDir = tempDir('gw-canary-', { lasting: true });
  const canary = join(canaryDir, 'executed');
  const injections = [
    ...HOSTILE_TEXT,
    `$(touch ${canary})`,
    `;touch ${canary}`,
    `\`touch ${canary}\``,
    '-x --help',
  ];

  // Every tool a check would run, wrapped so that running it leaves a trace.
  const trace = join(canaryDir, 'trace');
  const tools = [
    'ss',
    'pgrep',
    'ps',
    'systemctl',
    'journalctl',
    'docker',
    'pm2',
    'nginx',
    'stat',
    'id',
    'df',
    'dmesg',
  ];
  const tracedPath = pathWithout(
    [...tools, 'timeout', 'iptables-save', 'ip6tables-save', 'nft', 'getent'],
    Object.fromEntries(
      [...tools, 'timeout', 'iptables-save', 'ip6tables-save', 'nft', 'getent'].map((t) => [
        t,
        `echo ${t} >> ${trace}`,
      ]),
    ),
    { lasting: true },
  );

  const valid = {
    GW_CHECKS: 'listen,service,nginx-test,nginx-config,sockets,disk,memory,fds,oom,firewall',
    GW_SERVICE_KIND: 'systemd',
    GW_SERVICE_NAME: 'shop.service',
  };
  const rows: { variable: string; value: string; env: Record<string, string> }[] = [];
  for (const value of injections) {
    const cases: [string, Record<string, string>][] = [
      ['GW_CHECKS', { GW_CHECKS: value }],
      ['GW_CHECKS', { GW_CHECKS: `listen,${value}` }],
      ['GW_NGINX_BIN', { GW_NGINX_BIN: value }],
      ['GW_NGINX_BIN', { GW_NGINX_BIN: `/usr/sbin/${value}` }],
      ['GW_NGINX_CONF', { GW_NGINX_CONF: `/etc/nginx/${value}` }],
      ['GW_NGINX_PREFIX', { GW_NGINX_PREFIX: `/srv/${value}` }],
      ['GW_SERVICE_KIND', { GW_SERVICE_KIND: value }],
      ['GW_SERVICE_NAME', { GW_SERVICE_NAME: value }],
      ['GW_SERVICE_NAME', { GW_SERVICE_KIND: 'docker', GW_SERVICE_NAME: value }],
      ['GW_SERVICE_NAME', { GW_SERVICE_KIND: 'pm2', GW_SERVICE_NAME: value }],
      ['GW_PORTS', { GW_PORTS: `80,${value}` }],
      ['GW_SINCE_MINUTES', { GW_SINCE_MINUTES: `15${value}` }],
      ['GW_CHECK_TIMEOUT', { GW_CHECK_TIMEOUT: value }],
      ['GW_OUTPUT_CAP', { GW_OUTPUT_CAP: `4096${value}` }],
    ];
    if (value !== '../../etc/passwd' && value !== '-x --help') {
      cases.push(['GW_SERVICE_NAME', { GW_SERVICE_KIND: 'process', GW_SERVICE_NAME: value }]);
    }
    for (const [variable, env] of cases) rows.push({ variable, value, env: { ...valid, ...env } });
  }
  rows.push({ variable: 'GW_CHECKS', value: '', env: { ...valid, GW_CHECKS: '' } });
  rows.push({ variable: 'GW_PORTS', value: '0', env: { ...valid, GW_PORTS: '0' } });
  rows.push({ variable: 'GW_PORTS', value: '65536', env: { ...valid, GW_PORTS: '65536' } });
  rows.push({ variable: 'GW_OUTPUT_CAP', value: '1023', env: { ...valid, GW_OUTPUT_CAP: '1023' } });
  rows.push({
    variable: 'GW_SERVICE_KIND',
    value: '(name without kind)',
    env: { GW_CHECKS: 'service', GW_SERVICE_NAME: 'x' },
  });

  it.each(rows)(
    'refuses $variable=$value: exit 2, a params block naming it, nothing run',
    async ({ variable, env }) => {
      expect(() => parseDiagnosticsEnvironment(env)).toThrow(DiagnosticsParamsError);

      const result = await runScript(env, { path: tracedPath });
      expect(result.code).toBe(2);
      const run = parseDiagnosticsOutput(result.stdout);
      expect(run.checks.map((c) => c.name)).toEqual(['params']);
      expect(run.checks[0]!.status).toBe('error');
      expect(run.checks[0]!.output).toContain(`${variable}: `);
      expect(run.checks[0]!.detail).toContain(variable);
      expect(existsSync(canary)).toBe(false);
      expect(existsSync(trace) ? readFileSync(trace, 'utf8') : '').toBe('');
    },
  );

  it('runs every check with valid parameters on the same traced PATH (the trace works)', async () => {
    const result = await runScript({ ...valid, GW_CHECK_TIMEOUT: '5' }, { path: tracedPath });
    expect(result.code).toBe(0);
    expect(readFileSync(trace, 'utf8')).toMatch(/timeout/);
    writeFileSync(trace, '');
  });
});

describe('listen', () => {
  it('finds a TCP server on a loopback port with its pid and process name', async () => {
    const upstream = await startUpstream({ host: '127.0.0.1' });
    const { facts, run } = await diagnose({ GW_CHECKS: 'listen' });
    expect(checkOf(run, 'listen').status).toBe('ok');
    const listener = listenerFor(facts, `127.0.0.1:${upstream.port}`);
    expect(listener).toMatchObject({
      proto: 'tcp',
      address: `127.0.0.1:${upstream.port}`,
      port: upstream.port,
    });
    expect(listener?.pids).toEqual([upstream.pid]);
    expect(listener?.processes).toEqual([commOf(upstream.pid)]);
    expect(listenerFor(facts, `127.0.0.2:${upstream.port}`)).toBeUndefined();
  });

  it('lets a dual-stack wildcard listener cover 127.0.0.1 and [::1] on its port', async () => {
    const upstream = await startUpstream({ host: '::' });
    const { facts } = await diagnose({ GW_CHECKS: 'listen' });
    expect(listenerFor(facts, `127.0.0.1:${upstream.port}`)?.address).toBe(`0.0.0.0:${upstream.port}`);
    expect(listenerFor(facts, `[::1]:${upstream.port}`)?.address).toBe(`[::]:${upstream.port}`);
    expect(listenerFor(facts, `localhost:${upstream.port}`)?.pids).toEqual([upstream.pid]);
  });

  it('lists unix sockets with their owner', async () => {
    const path = join(socketDir(0o755), 'app.sock');
    const upstream = await startUpstream({ socketPath: path });
    const { facts } = await diagnose({ GW_CHECKS: 'listen' });
    expect(listenerFor(facts, `unix:${path}`)).toMatchObject({ proto: 'unix', pids: [upstream.pid] });
  });

  it('counts connections by state for the given ports', async () => {
    const upstream = await startUpstream({ host: '127.0.0.1' });
    const { run } = await diagnose({ GW_CHECKS: 'listen', GW_PORTS: String(upstream.port) });
    expect(checkOf(run, 'listen').output).toContain(`#gw conn port=${upstream.port} state=LISTEN count=1`);
  });
});

describe('service (process hint)', () => {
  it('finds the process by a fragment of its command line and reports where it listens', async () => {
    const marker = `--gw-test-marker-${randomBytes(4).toString('hex')}`;
    const upstream = await startUpstream({ host: '127.0.0.1', args: [marker] });
    const { facts, run } = await diagnose({
      GW_CHECKS: 'service',
      GW_SERVICE_KIND: 'process',
      GW_SERVICE_NAME: marker,
    });
    expect(checkOf(run, 'service').status).toBe('ok');
    expect(facts.service).toMatchObject({
      kind: 'process',
      name: marker,
      running: true,
      pids: [upstream.pid],
      listening: [`127.0.0.1:${upstream.port}`],
    });
  });

  it('reports a service that is not running as failed, running false', async () => {
    const marker = `--gw-test-absent-${randomBytes(4).toString('hex')}`;
    const { facts, run } = await diagnose({
      GW_CHECKS: 'service',
      GW_SERVICE_KIND: 'process',
      GW_SERVICE_NAME: marker,
    });
    expect(checkOf(run, 'service')).toMatchObject({
      status: 'failed',
      detail: expect.stringContaining(marker),
    });
    expect(facts.service).toMatchObject({ running: false, pids: [], listening: [] });
  });

  it('does not take the diagnostics script itself for the service', async () => {
    const { facts } = await diagnose({
      GW_CHECKS: 'service',
      GW_SERVICE_KIND: 'process',
      GW_SERVICE_NAME: 'gatewatch-diagnostics.sh',
    });
    expect(facts.service?.running).toBe(false);
  });

  it('skips a systemd hint on a host without systemd, saying why', async () => {
    const { run } = await diagnose({
      GW_CHECKS: 'service',
      GW_SERVICE_KIND: 'systemd',
      GW_SERVICE_NAME: 'shop.service',
    });
    const check = checkOf(run, 'service');
    // This machine has systemctl but was not booted with systemd.
    expect(check.status).toBe('skipped');
    expect(check.detail).toMatch(/systemctl show exited 1: System has not been booted with systemd/);
  });
});

describe('sockets', () => {
  async function socketFacts(
    dirMode: number,
    socketMode: number,
  ): Promise<{ facts: HostFacts; sock: string; dir: string }> {
    const dir = socketDir(dirMode);
    const sock = join(dir, 'app.sock');
    await startUpstream({ socketPath: sock, socketMode });
    // Debian has no group "nobody": nginx would refuse `user nobody;` (getgrnam("nobody") failed).
    const nginx = await nginxConfig({
      user: 'nobody nogroup',
      upstreams: [`unix:${sock}`, `unix:${dir}/missing.sock`],
    });
    const { facts, run } = await diagnose({
      GW_CHECKS: 'sockets',
      GW_NGINX_BIN: NGINX,
      GW_NGINX_PREFIX: nginx.prefix,
      GW_NGINX_CONF: nginx.conf,
    });
    expect(checkOf(run, 'sockets').status).toBe('ok');
    return { facts, sock, dir };
  }

  it('finds that the worker user may not write to a root-owned 0600 socket', async () => {
    const { facts, sock } = await socketFacts(0o755, 0o600);
    expect(facts.workerUser).toBe('nobody');
    expect(facts.sockets.find((s) => s.path === sock)).toEqual({
      path: sock,
      exists: true,
      isSocket: true,
      mode: '0600',
      owner: 'root',
      group: 'root',
      accessibleToWorker: false,
      blockingPath: sock,
    });
  });

  it('names the parent directory when it denies the worker search permission', async () => {
    const { facts, sock, dir } = await socketFacts(0o700, 0o666);
    expect(facts.sockets.find((s) => s.path === sock)).toMatchObject({
      accessibleToWorker: false,
      blockingPath: dir,
    });
  });

  it('finds a 0666 socket under searchable directories accessible', async () => {
    const { facts, sock } = await socketFacts(0o755, 0o666);
    const socket = facts.sockets.find((s) => s.path === sock);
    expect(socket).toMatchObject({ exists: true, accessibleToWorker: true });
    expect(socket?.blockingPath).toBeUndefined();
  });

  it('reports a socket path from the configuration that does not exist', async () => {
    const { facts, dir } = await socketFacts(0o755, 0o600);
    expect(facts.sockets.find((s) => s.path === `${dir}/missing.sock`)).toEqual({
      path: `${dir}/missing.sock`,
      exists: false,
      isSocket: false,
    });
  });
});

describe('nginx-test and nginx-config', () => {
  it('passes a good configuration and dumps it', async () => {
    const nginx = await nginxConfig({ upstreams: ['127.0.0.1:9'] });
    const env = { GW_NGINX_BIN: NGINX, GW_NGINX_PREFIX: nginx.prefix, GW_NGINX_CONF: nginx.conf };
    const { facts, run } = await diagnose({ GW_CHECKS: 'nginx-test,nginx-config', ...env });
    expect(checkOf(run, 'nginx-test').status).toBe('ok');
    expect(facts.nginxTest?.ok).toBe(true);
    expect(facts.nginxTest?.output).toContain('syntax is ok');
    expect(facts.nginxDump).toContain(`# configuration file ${nginx.conf}:`);
    expect(facts.nginxDump).toContain('server 127.0.0.1:9;');
  });

  it("fails a broken configuration with nginx's error line", async () => {
    const nginx = await nginxConfig({ upstreams: ['127.0.0.1:9'], extra: 'bogus_directive on;' });
    const env = { GW_NGINX_BIN: NGINX, GW_NGINX_PREFIX: nginx.prefix, GW_NGINX_CONF: nginx.conf };
    const { facts, run } = await diagnose({ GW_CHECKS: 'nginx-test,nginx-config', ...env });
    const check = checkOf(run, 'nginx-test');
    expect(check).toMatchObject({ status: 'failed', exitCode: 10 });
    expect(check.detail).toMatch(/^nginx -t exited 1: .*\[emerg\].*unknown directive "bogus_directive"/);
    expect(facts.nginxTest).toEqual({
      ok: false,
      output: expect.stringContaining('unknown directive "bogus_directive"'),
    });
    expect(checkOf(run, 'nginx-config').status).toBe('failed');
    expect(facts.nginxDump).toBeUndefined();
  });

  it('skips when the nginx binary is not there', async () => {
    const { run } = await diagnose({ GW_CHECKS: 'nginx-test', GW_NGINX_BIN: '/opt/none/sbin/nginx' });
    expect(checkOf(run, 'nginx-test')).toMatchObject({
      status: 'skipped',
      detail: expect.stringContaining('/opt/none/sbin/nginx'),
    });
  });
});

describe('tools that are missing', () => {
  it('skips the checks whose tool is missing, with the reason, and runs the others', async () => {
    const path = pathWithout(['ss', 'systemctl']);
    const { run, facts } = await diagnose(
      {
        GW_CHECKS: 'listen,service,memory,disk',
        GW_SERVICE_KIND: 'systemd',
        GW_SERVICE_NAME: 'shop.service',
      },
      { path },
    );
    expect(run.checks.map((c) => [c.name, c.status])).toEqual([
      ['listen', 'skipped'],
      ['service', 'skipped'],
      ['memory', 'ok'],
      ['disk', 'ok'],
    ]);
    expect(checkOf(run, 'listen').detail).toBe(`ss not found (PATH=${path})`);
    expect(checkOf(run, 'service').detail).toBe(`systemctl not found (PATH=${path})`);
    expect(facts.memory?.totalBytes).toBeGreaterThan(0);
    expect(facts.disks.some((d) => d.mount === '/')).toBe(true);
    expect(facts.listeners).toEqual([]);
    expect(facts.service).toBeUndefined();
  });

  it('reads the kernel log from the journal when dmesg is missing, else skips with both reasons', async () => {
    const { run } = await diagnose({ GW_CHECKS: 'oom' }, { path: pathWithout(['dmesg']) });
    // This machine has journalctl but no journal files.
    expect(checkOf(run, 'oom')).toMatchObject({
      status: 'skipped',
      detail: expect.stringMatching(/^dmesg not found; journalctl -k: No journal files were found/),
    });
  });
});

/**
 * The checks run side by side (a diagnosis waits for the slowest, not the sum); their frames still come
 * out whole, in the order asked for. Stand-ins make the overlap certain without measuring time.
 */
describe('checks side by side', () => {
  it('runs a later check while an earlier one still runs, and prints their frames in the order asked for', async () => {
    const dir = tempDir();
    const headRan = join(dir, 'head-ran');
    // df (disk, asked first) waits up to 5 s for the memory check's head: it only sees it if both run at once.
    const path = pathWithout([], {
      df: `for i in $(seq 50); do [ -e ${headRan} ] && { echo saw-memory-check; exit 0; }; sleep 0.1; done; echo memory-check-not-seen`,
      head: `case "$*" in *meminfo*) : > ${headRan} ;; esac; exec /usr/bin/head "$@"`,
    });
    const { run } = await diagnose({ GW_CHECKS: 'disk,memory' }, { path });
    expect(run.complete).toBe(true);
    expect(run.checks.map((c) => c.name)).toEqual(['disk', 'memory']);
    expect(checkOf(run, 'disk').output).toContain('saw-memory-check');
    expect(checkOf(run, 'memory').output.startsWith('MemTotal:')).toBe(true);
  });

  it('does not let a large output block a check into a timeout while its frame waits behind a slow one', async () => {
    // 600 kB from iptables-save, far more than a pipe holds, while df (asked first) hangs until its timeout.
    const path = pathWithout(['ip6tables-save', 'nft'], {
      df: 'exec sleep 30',
      'iptables-save': `/usr/bin/head -c 600000 /dev/zero | tr '\\0' 'x' | fold -w 99; echo COMMIT`,
    });
    const { run, facts } = await diagnose(
      { GW_CHECKS: 'disk,firewall', GW_CHECK_TIMEOUT: '2', GW_OUTPUT_CAP: '1048576' },
      { path },
    );
    expect(run.checks.map((c) => [c.name, c.status])).toEqual([
      ['disk', 'error'],
      ['firewall', 'ok'],
    ]);
    expect(checkOf(run, 'disk').detail).toBe('timed out after 2s');
    const firewall = checkOf(run, 'firewall');
    expect(firewall.truncated).toBe(false);
    expect(firewall.output).toContain('COMMIT');
    expect(firewall.output.split('\n').filter((l) => /^x{99}$/.test(l))).toHaveLength(6060);
    expect(facts.checks.find((c) => c.name === 'firewall')?.status).toBe('ok');
  });

  it("does not count another check's transient nginx (nginx -t) among the host's nginx processes", async () => {
    const dir = tempDir();
    const stubPid = join(dir, 'nginx.pid');
    // The nginx-test check's nginx stays up for 3 s; the fds check's pgrep runs only once it is there.
    const path = pathWithout([], {
      nginx: `echo $$ > ${stubPid}; sleep 3`,
      pgrep: `for i in $(seq 50); do [ -s ${stubPid} ] && break; sleep 0.1; done; exec /usr/bin/pgrep "$@"`,
    });
    const { run, facts } = await diagnose({ GW_CHECKS: 'nginx-test,fds' }, { path });
    expect(checkOf(run, 'fds').status).toBe('ok');
    const pid = Number(readFileSync(stubPid, 'utf8'));
    expect(pid).toBeGreaterThan(1);
    expect(facts.fileDescriptors?.processes.map((p) => p.pid)).not.toContain(pid);
    expect(checkOf(run, 'fds').output).not.toContain(`pid=${pid} `);
  });
});

describe('limits', () => {
  it('ends a check at its timeout, kills what it started, and goes on with the next', async () => {
    const pidFile = join(tempDir(), 'df.pid');
    const path = pathWithout([], { df: `echo $$ > ${pidFile}; exec sleep 30` });
    const { run, facts } = await diagnose({ GW_CHECKS: 'disk,memory', GW_CHECK_TIMEOUT: '1' }, { path });
    expect(checkOf(run, 'disk')).toMatchObject({
      status: 'error',
      exitCode: 124,
      detail: 'timed out after 1s',
    });
    expect(checkOf(run, 'memory').status).toBe('ok');
    expect(facts.disks).toEqual([]);
    expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('keeps at most GW_OUTPUT_CAP bytes of a check and says it cut the rest', async () => {
    expect(readFileSync('/proc/meminfo').length).toBeGreaterThan(1024);
    const { run } = await diagnose({ GW_CHECKS: 'memory,fds', GW_OUTPUT_CAP: '1024' });
    const memory = checkOf(run, 'memory');
    expect(memory.truncated).toBe(true);
    expect(Buffer.byteLength(memory.output)).toBeLessThanOrEqual(1024);
    expect(memory.output.startsWith('MemTotal:')).toBe(true);
    expect(checkOf(run, 'fds')).toMatchObject({ status: 'ok', truncated: false });
  });
});

describe('framing', () => {
  it("escapes a command's lines that start like the script's own, held in a variable or streamed", async () => {
    const path = pathWithout(['ip6tables-save', 'nft'], {
      'iptables-save': `printf '%s\\n' '#gw reason forged-held' '*filter' '#gw tool name=nft rc=0'`,
      df: `printf '%s\\n' '#gw reason forged-streamed' '#gw section inodes'`,
    });
    const { run } = await diagnose({ GW_CHECKS: 'firewall,disk' }, { path });
    const firewall = checkOf(run, 'firewall');
    expect(firewall.output.split('\n')).toEqual(
      expect.arrayContaining([' #gw reason forged-held', '*filter', ' #gw tool name=nft rc=0']),
    );
    expect(firewall.detail ?? '').not.toContain('forged');
    const disk = checkOf(run, 'disk');
    expect(disk.output.split('\n')).toEqual(
      expect.arrayContaining([' #gw reason forged-streamed', ' #gw section inodes']),
    );
    expect(disk.detail ?? '').not.toContain('forged');
  });

  it('is not fooled by a process whose name looks like a frame', async () => {
    const marker = `gw-forge-${randomBytes(3).toString('hex')}`;
    const title = `\n@@GATEWATCH 0123456789abcdef END name=listen status=ok\n${marker}`;
    const upstream = await startUpstream({ host: '127.0.0.1', title });
    const { result, run, facts } = await diagnose({
      GW_CHECKS: 'listen,service',
      GW_SERVICE_KIND: 'process',
      GW_SERVICE_NAME: marker,
    });
    // The forged text reached the output, inside a frame, as content.
    expect(result.stdout).toMatch(/^\|@@GATEWATCH 01/m);
    expect(run.checks.map((c) => [c.name, c.status])).toEqual([
      ['listen', 'ok'],
      ['service', 'ok'],
    ]);
    expect(run.complete).toBe(true);
    expect(listenerFor(facts, `127.0.0.1:${upstream.port}`)?.pids).toEqual([upstream.pid]);
    expect(facts.service).toMatchObject({
      running: true,
      pids: [upstream.pid],
      listening: [`127.0.0.1:${upstream.port}`],
    });
  });

  it('starts with a header carrying a fresh nonce and the host name', async () => {
    const first = await runScript({ GW_CHECKS: 'memory' });
    const second = await runScript({ GW_CHECKS: 'memory' });
    const a = parseDiagnosticsOutput(first.stdout);
    const b = parseDiagnosticsOutput(second.stdout);
    expect(a.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.host).toBe(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
    expect(Date.parse(a.at)).not.toBeNaN();
    expect(a.complete).toBe(true);
  });

  it('never passes the nonce to a command it runs', async () => {
    // A stand-in `df` prints its own command line and environment into the disk check's output.
    const path = pathWithout([], {
      df: 'tr "\\000" " " < /proc/$$/cmdline; env; tr "\\000" "\\n" < /proc/$PPID/environ',
    });
    const result: ScriptRun = await runScript({ GW_CHECKS: 'disk' }, { path });
    const run = parseDiagnosticsOutput(result.stdout);
    expect(checkOf(run, 'disk').output).toContain('PATH=');
    expect(checkOf(run, 'disk').output).not.toContain(run.nonce);
  });
});

describe('file descriptors', () => {
  it('counts the open descriptors and the limit of nginx processes and of the service', async () => {
    const marker = `--gw-test-fds-${randomBytes(4).toString('hex')}`;
    const upstream = await startUpstream({ host: '127.0.0.1', args: [marker] });
    const { facts } = await diagnose({
      GW_CHECKS: 'fds',
      GW_SERVICE_KIND: 'process',
      GW_SERVICE_NAME: marker,
    });
    const limits = readFileSync(`/proc/${upstream.pid}/limits`, 'utf8');
    const soft = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1]);
    const proc = facts.fileDescriptors?.processes.find((p) => p.pid === upstream.pid);
    expect(proc).toMatchObject({ name: commOf(upstream.pid), limit: soft });
    expect(proc?.open).toBeGreaterThan(3);
    expect(facts.fileDescriptors?.systemMax).toBeGreaterThan(0);
  });
});

/**
 * systemd, docker and pm2 are not running on this machine: stand-ins print what the real tools print
 * (systemctl show's Key=Value lines, docker inspect's formatted fields, pm2 jlist's JSON) and record the
 * arguments the script passed them.
 */
describe('service hints through stand-in tools', () => {
  /** A PATH where each named tool is a stand-in that records its arguments; `calls(name)` reads them. */
  function standIns(tools: Record<string, string>): { path: string; calls: (name: string) => string[] } {
    const logs = tempDir();
    const path = pathWithout(
      [],
      Object.fromEntries(
        Object.entries(tools).map(([name, body]) => [
          name,
          `printf '%s\\n' "$*" >> ${join(logs, name)}\n${body}`,
        ]),
      ),
    );
    const calls = (name: string) =>
      existsSync(join(logs, name)) ? readFileSync(join(logs, name), 'utf8').trim().split('\n') : [];
    return { path, calls };
  }

  it('reads a failed systemd unit, its restarts, exit status and journal', async () => {
    const tools = standIns({
      systemctl: `printf 'LoadState=loaded\\nActiveState=failed\\nSubState=failed\\nNRestarts=5\\nMainPID=0\\nExecMainPID=4242\\nExecMainStatus=1\\nExecMainCode=1\\nResult=exit-code\\nControlGroup=/system.slice/shop-api.service\\n'`,
      journalctl: `printf '%s\\n' '2026-11-24T05:11:40+0000 web-1 node[4242]: Error: listen EADDRINUSE: address already in use 127.0.0.1:3000' '2026-11-24T05:11:40+0000 web-1 systemd[1]: shop-api.service: Main process exited, code=exited, status=1/FAILURE'`,
    });
    const { run, facts } = await diagnose(
      {
        GW_CHECKS: 'service',
        GW_SERVICE_KIND: 'systemd',
        GW_SERVICE_NAME: 'shop-api.service',
        GW_SINCE_MINUTES: '30',
      },
      { path: tools.path },
    );
    expect(checkOf(run, 'service')).toMatchObject({
      status: 'failed',
      detail: 'unit shop-api.service is failed',
    });
    expect(facts.service).toEqual({
      kind: 'systemd',
      name: 'shop-api.service',
      running: false,
      pids: [],
      state: 'failed (failed)',
      restarts: 5,
      lastExitStatus: 1,
      recentLog: [
        '2026-11-24T05:11:40+0000 web-1 node[4242]: Error: listen EADDRINUSE: address already in use 127.0.0.1:3000',
        '2026-11-24T05:11:40+0000 web-1 systemd[1]: shop-api.service: Main process exited, code=exited, status=1/FAILURE',
      ],
      listening: [],
    });
    expect(tools.calls('systemctl')[0]).toBe(
      'show -p LoadState -p ActiveState -p SubState -p NRestarts -p MainPID -p ExecMainPID -p ExecMainStatus -p ExecMainCode -p Result -- shop-api.service',
    );
    expect(tools.calls('journalctl')).toEqual([
      '-q -u shop-api.service --since -30 min -n 50 --no-pager -o short-iso',
    ]);
  });

  it('reads an exited container, its published ports and its logs', async () => {
    const tools = standIns({
      docker: `case "$1" in
  inspect) case "$*" in *'{{.State.Status}}'*) echo 'exited false 0 137 3 true' ;; *) echo 0 ;; esac ;;
  port) echo '3000/tcp -> 0.0.0.0:3001' ;;
  logs) echo '2026-11-24T05:11:39.512345678Z FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory' >&2 ;;
esac`,
    });
    const { run, facts } = await diagnose(
      { GW_CHECKS: 'service', GW_SERVICE_KIND: 'docker', GW_SERVICE_NAME: 'shop-api' },
      { path: tools.path },
    );
    expect(checkOf(run, 'service')).toMatchObject({
      status: 'failed',
      detail: 'container shop-api is exited',
    });
    expect(facts.service).toMatchObject({
      running: false,
      state: 'exited (OOM killed)',
      restarts: 3,
      lastExitStatus: 137,
      listening: ['0.0.0.0:3001'],
      recentLog: [
        '2026-11-24T05:11:39.512345678Z FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
      ],
    });
    expect(tools.calls('docker')).toContain('logs --timestamps --since 15m --tail 50 shop-api');
  });

  it('skips a docker hint when the docker daemon does not answer (the real docker CLI here)', async () => {
    const { run } = await diagnose({
      GW_CHECKS: 'service',
      GW_SERVICE_KIND: 'docker',
      GW_SERVICE_NAME: 'shop-api',
    });
    expect(checkOf(run, 'service')).toMatchObject({
      status: 'skipped',
      detail: expect.stringMatching(/^docker is not reachable: Cannot connect to the Docker daemon/),
    });
  });

  it('reads a pm2 app from the running pm2 daemon, and the port its process listens on', async () => {
    const upstream = await startUpstream({ host: '127.0.0.1' });
    const home = tempDir('gw-pm2-');
    await startUpstream({ socketPath: join(home, 'rpc.sock') }); // stands in for the pm2 daemon's socket
    const jlist = JSON.stringify([
      {
        pid: upstream.pid,
        name: 'shop-api',
        pm_id: 0,
        monit: { memory: 1, cpu: 0 },
        pm2_env: {
          status: 'online',
          restart_time: 4,
          unstable_restarts: 0,
          exit_code: 0,
          env: { DB_PASSWORD: 'x' },
        },
      },
      { pid: 0, name: 'worker', pm_id: 1, pm2_env: { status: 'stopped', restart_time: 0 } },
    ]);
    const tools = standIns({
      pm2: `case "$1" in
  jlist) printf '%s\\n' '${jlist}' ;;
  logs) printf '%s\\n' '/root/.pm2/logs/shop-api-error.log last 50 lines:' 'Error: connect ECONNREFUSED 127.0.0.1:5432' ;;
esac`,
    });
    const { run, facts } = await diagnose(
      { GW_CHECKS: 'service', GW_SERVICE_KIND: 'pm2', GW_SERVICE_NAME: 'shop-api', PM2_HOME: home },
      { path: tools.path },
    );
    expect(checkOf(run, 'service').status).toBe('ok');
    expect(checkOf(run, 'service').output).not.toContain('DB_PASSWORD');
    expect(facts.service).toMatchObject({
      running: true,
      state: 'online',
      restarts: 4,
      pids: [upstream.pid],
      listening: [`127.0.0.1:${upstream.port}`],
    });
    expect(facts.service?.recentLog).toContain('Error: connect ECONNREFUSED 127.0.0.1:5432');
    expect(tools.calls('pm2')).toContain('logs shop-api --lines 50 --nostream --raw');
  });

  it('never runs pm2 when no pm2 daemon runs (any pm2 command would start one)', async () => {
    const tools = standIns({ pm2: 'echo started' });
    const { run } = await diagnose(
      {
        GW_CHECKS: 'service,fds',
        GW_SERVICE_KIND: 'pm2',
        GW_SERVICE_NAME: 'shop-api',
        PM2_HOME: tempDir('gw-pm2-'),
      },
      { path: tools.path },
    );
    expect(checkOf(run, 'service')).toMatchObject({
      status: 'skipped',
      detail: expect.stringContaining('no pm2 daemon runs'),
    });
    expect(tools.calls('pm2')).toEqual([]);
  });

  it('reads the kernel log from the journal when dmesg is not permitted', async () => {
    const tools = standIns({
      dmesg: "echo 'dmesg: read kernel buffer failed: Operation not permitted' >&2; exit 1",
      journalctl: `printf '%s\\n' '2026-11-24T05:11:38+0000 web-1 kernel: node invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0' '2026-11-24T05:11:38+0000 web-1 kernel: Out of memory: Killed process 4242 (node) total-vm:1812540kB, anon-rss:1523412kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:3292kB oom_score_adj:0'`,
    });
    const { run, facts } = await diagnose({ GW_CHECKS: 'oom' }, { path: tools.path });
    expect(checkOf(run, 'oom')).toMatchObject({
      status: 'ok',
      detail:
        'dmesg: dmesg: read kernel buffer failed: Operation not permitted; read the kernel log from the journal instead',
    });
    expect(facts.oomKills).toEqual([
      {
        line: '2026-11-24T05:11:38+0000 web-1 kernel: Out of memory: Killed process 4242 (node) total-vm:1812540kB, anon-rss:1523412kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:3292kB oom_score_adj:0',
        pid: 4242,
        process: 'node',
        at: '2026-11-24T05:11:38Z',
        uid: 1000,
      },
    ]);
    expect(tools.calls('journalctl')).toEqual(['-k --since -15 min --no-pager -o short-iso']);
  });

  it('gives every OOM kill its wall-clock time and cgroup from dmesg --time-format iso', async () => {
    const tools = standIns({
      dmesg: `[ "$1" = --time-format ] || exit 9; printf '%s\\n' '2026-12-06T20:08:01,419746+00:00 oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/noise,task_memcg=/noise,task=node,pid=21370,uid=0' '2026-12-06T20:08:01,419790+00:00 Memory cgroup out of memory: Killed process 21370 (node) total-vm:754964kB, anon-rss:32000kB, file-rss:33536kB, shmem-rss:0kB, UID:0 pgtables:436kB oom_score_adj:0'`,
    });
    const { run, facts } = await diagnose({ GW_CHECKS: 'oom' }, { path: tools.path });
    expect(checkOf(run, 'oom')).toMatchObject({ status: 'ok' });
    expect(tools.calls('dmesg')).toEqual(['--time-format iso']);
    expect(facts.oomKills).toEqual([
      expect.objectContaining({
        pid: 21370,
        process: 'node',
        at: '2026-12-06T20:08:01Z',
        cgroup: '/noise',
        limitCgroup: '/noise',
        uid: 0,
      }),
    ]);
  });

  it('falls back to dmesg -T when dmesg has no --time-format (busybox, old util-linux)', async () => {
    const tools = standIns({
      dmesg: `[ "$1" = -T ] || { echo "dmesg: unrecognized option '$1'" >&2; exit 1; }; printf '%s\\n' '[Sun Dec  6 20:08:01 2026] Out of memory: Killed process 4242 (python3) total-vm:1kB, UID:33 pgtables:1kB'`,
    });
    const { facts } = await diagnose({ GW_CHECKS: 'oom' }, { path: tools.path });
    expect(tools.calls('dmesg')).toEqual(['--time-format iso', '-T']);
    expect(facts.oomKills.map(({ pid, at }) => ({ pid, at }))).toEqual([
      { pid: 4242, at: '2026-12-06T20:08:01Z' },
    ]);
  });

  it('dates every OOM kill of this host kernel log (the noisy host has some)', async () => {
    const { run, facts } = await diagnose({ GW_CHECKS: 'oom' });
    const oom = checkOf(run, 'oom');
    if (oom?.status !== 'ok') return; // no permission to read the kernel log: nothing to date
    for (const kill of facts.oomKills) expect(kill.at, kill.line).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });
});
