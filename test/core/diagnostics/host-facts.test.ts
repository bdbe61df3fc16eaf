import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type HostFacts,
  interpretHostFacts,
  listenerFor,
} from '../../../lambdas/core/diagnostics/host-facts.ts';
import type { CheckResult, DiagnosticsRun } from '../../../lambdas/core/diagnostics/parse.ts';
import { parseDiagnosticsOutput } from '../../../lambdas/core/diagnostics/parse.ts';
import type { CheckStatus } from '../../../lambdas/core/types.ts';

const fixture = (name: string) =>
  parseDiagnosticsOutput(
    readFileSync(new URL(`../../fixtures/diagnostics/${name}`, import.meta.url), 'utf8'),
  );

/** A run made of checks written as the script writes them. */
function runOf(...checks: { name: string; lines: string[]; status?: CheckStatus }[]): DiagnosticsRun {
  return {
    nonce: '0123456789abcdef0123456789abcdef',
    host: 'web-1',
    at: '2026-11-24T05:11:48Z',
    complete: true,
    checks: checks.map(
      (c): CheckResult => ({
        name: c.name,
        status: c.status ?? 'ok',
        durationMs: 1,
        output: c.lines.join('\n'),
        truncated: false,
      }),
    ),
  };
}

const facts = (...checks: Parameters<typeof runOf>) => interpretHostFacts(runOf(...checks));

describe('interpretHostFacts on a recorded local run', () => {
  // Recorded by test/fixtures/diagnostics/record.ts: a node upstream (pid 24681) on 127.0.0.1:44613 and on
  // a 0660 root:root unix socket, an nginx configuration with `user nobody nogroup;`.
  const recorded = interpretHostFacts(fixture('local-run.txt'));
  const socketDir = '/tmp/gw-sock-GOlC8w/run';

  it('finds the upstream listening on TCP and on its unix socket, with its pid', () => {
    expect(listenerFor(recorded, '127.0.0.1:44613')).toEqual({
      proto: 'tcp',
      address: '127.0.0.1:44613',
      port: 44613,
      pids: [24681],
      processes: ['MainThread'],
    });
    expect(listenerFor(recorded, `unix:${socketDir}/app.sock`)).toEqual({
      proto: 'unix',
      address: `unix:${socketDir}/app.sock`,
      pids: [24681],
      processes: ['MainThread'],
    });
  });

  it('describes the service found by the process hint', () => {
    expect(recorded.service).toEqual({
      kind: 'process',
      name: '--gw-fixture-upstream',
      running: true,
      pids: [24681],
      state: 'running',
      recentLog: [],
      listening: ['127.0.0.1:44613', `unix:${socketDir}/app.sock`],
    });
  });

  it('finds the 0660 root:root socket closed to nobody, and the other socket missing', () => {
    expect(recorded.workerUser).toBe('nobody');
    expect(recorded.sockets).toEqual([
      {
        path: `${socketDir}/app.sock`,
        exists: true,
        isSocket: true,
        mode: '0660',
        owner: 'root',
        group: 'root',
        accessibleToWorker: false,
        blockingPath: `${socketDir}/app.sock`,
      },
      { path: `${socketDir}/gone.sock`, exists: false, isSocket: false },
    ]);
  });

  it('keeps the nginx test result and the configuration dump', () => {
    expect(recorded.nginxTest?.ok).toBe(true);
    expect(recorded.nginxDump).toMatch(/^nginx: the configuration file .* syntax is ok\n/);
    expect(recorded.nginxDump).toContain(`server unix:${socketDir}/app.sock;`);
  });

  it('reads disks, memory, descriptors and the firewall', () => {
    expect(recorded.disks.find((d) => d.mount === '/')).toEqual({
      mount: '/',
      usePercent: 24,
      availBytes: 81_458_200 * 1024,
      inodeUsePercent: 3,
    });
    expect(recorded.memory?.totalBytes).toBe(24_684_092 * 1024);
    expect(recorded.memory?.swapTotalBytes).toBe(0);
    expect(recorded.fileDescriptors?.processes).toContainEqual({
      pid: 24681,
      name: 'MainThread',
      open: 24,
      limit: 20_000,
    });
    expect(recorded.fileDescriptors?.processes.filter((p) => p.name === 'nginx').length).toBeGreaterThan(0);
    expect(recorded.oomKills).toEqual([]);
    expect(recorded.firewall).toEqual({
      tool: 'both',
      ruleset: '# iptables-save\n# ip6tables-save\n# nft list ruleset',
    });
  });
});

describe('interpretHostFacts on degraded and cut-off runs', () => {
  it('has no listeners or sockets when those checks were skipped, and a failing nginx test', () => {
    const degraded = interpretHostFacts(fixture('degraded-run.txt'));
    expect(degraded.listeners).toEqual([]);
    expect(degraded.sockets).toEqual([]);
    expect(degraded.workerUser).toBeUndefined();
    expect(degraded.nginxTest?.ok).toBe(false);
    expect(degraded.nginxTest?.output).toContain('unknown directive "bogus_directive"');
    expect(degraded.nginxDump).toBeUndefined();
    expect(degraded.checks.map((c) => c.status)).toEqual(['skipped', 'failed', 'failed', 'skipped', 'ok']);
  });

  it('ignores the output of a check that never finished', () => {
    const killed = interpretHostFacts(fixture('killed-run.txt'));
    expect(killed.disks).toEqual([]);
    expect(killed.memory?.totalBytes).toBeGreaterThan(0);
  });
});

describe('listeners', () => {
  const listen = (...lines: string[]) => facts({ name: 'listen', lines: ['#gw section tcp', ...lines] });

  it.each([
    ['LISTEN 0 511 127.0.0.1:3000 0.0.0.0:* users:(("node",pid=10,fd=3))', ['127.0.0.1:3000']],
    ['LISTEN 0 511 *:3000 *:* users:(("node",pid=10,fd=3))', ['0.0.0.0:3000', '[::]:3000']],
    ['LISTEN 0 511 [::]:3000 [::]:* users:(("node",pid=10,fd=3))', ['[::]:3000']],
    ['LISTEN 0 511 [::1]:3000 [::]:*', ['[::1]:3000']],
    ['LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=10,fd=14))', ['127.0.0.53:53']],
    ['LISTEN 0 128 [FE80::1]%eth0:22 [::]:*', ['[fe80::1]:22']],
    ['LISTEN 0 128 0.0.0.0:22 0.0.0.0:*', ['0.0.0.0:22']],
  ])('normalises %s', (line, addresses) => {
    expect(listen(line).listeners.map((l) => l.address)).toEqual(addresses);
  });

  it('merges the sockets nginx workers share (reuseport) into one listener with every pid', () => {
    const result = listen(
      'LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=11,fd=6),("nginx",pid=10,fd=6))',
      'LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=12,fd=6))',
    );
    expect(result.listeners).toEqual([
      { proto: 'tcp', address: '0.0.0.0:80', port: 80, pids: [11, 10, 12], processes: ['nginx'] },
    ]);
  });

  it('rejoins a line split by a newline in a process name, and keeps the owner', () => {
    const result = listen(
      'LISTEN 0 511 127.0.0.1:3000 0.0.0.0:* users:(("',
      '@@GATEWATCH 01",pid=77,fd=21))',
    );
    expect(result.listeners).toEqual([
      { proto: 'tcp', address: '127.0.0.1:3000', port: 3000, pids: [77], processes: ['?@@GATEWATCH 01'] },
    ]);
  });

  it('does not credit a pid written inside a process name', () => {
    // The name is `x",pid=1,fd=3` (13 bytes): the entry no longer has the `("name",pid=N,fd=N)` shape.
    const result = listen('LISTEN 0 511 127.0.0.1:3000 0.0.0.0:* users:(("x",pid=1,fd=3",pid=99,fd=5))');
    expect(result.listeners[0]?.pids).toEqual([]);
  });

  it('reads unix sockets, also with a space in the path', () => {
    const result = facts({
      name: 'listen',
      lines: [
        '#gw section unix',
        'u_str LISTEN 0 511 /run/php/php8.2-fpm.sock 2217 * 0 users:(("php-fpm8.2",pid=700,fd=8))',
        'u_str LISTEN 0 5 /run/my app.sock 2218 * 0',
        'u_seq LISTEN 0 4096 * 2219 * 0',
      ],
    });
    expect(result.listeners.map((l) => [l.address, l.pids])).toEqual([
      ['unix:/run/php/php8.2-fpm.sock', [700]],
      ['unix:/run/my app.sock', []],
    ]);
  });

  it('ignores the listen output when the check did not run', () => {
    const result = facts({
      name: 'listen',
      status: 'error',
      lines: ['#gw section tcp', 'LISTEN 0 5 0.0.0.0:80 0.0.0.0:*'],
    });
    expect(result.listeners).toEqual([]);
  });
});

describe('listenerFor', () => {
  const host: HostFacts = facts({
    name: 'listen',
    lines: [
      '#gw section tcp',
      'LISTEN 0 511 127.0.0.1:3000 0.0.0.0:* users:(("api",pid=1,fd=3))',
      'LISTEN 0 511 0.0.0.0:8080 0.0.0.0:* users:(("web",pid=2,fd=3))',
      'LISTEN 0 511 [::]:9090 [::]:* users:(("v6",pid=3,fd=3))',
      'LISTEN 0 511 *:7070 *:* users:(("dual",pid=4,fd=3))',
      'LISTEN 0 511 [::ffff:127.0.0.1]:6060 [::]:* users:(("mapped",pid=5,fd=3))',
      '#gw section unix',
      'u_str LISTEN 0 511 /run/app.sock 2217 * 0 users:(("app",pid=6,fd=8))',
    ],
  });

  it.each([
    ['127.0.0.1:3000', 'api'],
    ['127.0.0.2:3000', undefined],
    ['[::1]:3000', undefined],
    ['localhost:3000', 'api'],
    ['127.0.0.1:8080', 'web'],
    ['10.0.0.5:8080', 'web'],
    ['[::1]:8080', undefined],
    ['[::1]:9090', 'v6'],
    ['127.0.0.1:9090', undefined],
    ['127.0.0.1:7070', 'dual'],
    ['[::1]:7070', 'dual'],
    ['[::ffff:127.0.0.1]:6060', 'mapped'],
    ['unix:/run/app.sock', 'app'],
    ['unix:/run/other.sock', undefined],
    ['backend', undefined],
    ['127.0.0.1:3001', undefined],
  ])('%s → %s', (peer, process) => {
    expect(listenerFor(host, peer)?.processes[0]).toBe(process);
  });
});

describe('unix socket access for the nginx worker', () => {
  const worker = [
    '#gw worker user=www-data group=www-data source=config',
    '#gw worker-id user=www-data uid=33 gid=33 groups=33,4',
  ];
  const dirs = [
    '#gw stat path=/ exists=1 mode=755 uid=0 gid=0 owner=root group=root type=directory',
    '#gw stat path=/run exists=1 mode=755 uid=0 gid=0 owner=root group=root type=directory',
  ];
  const socketWith = (stat: string, extra: string[] = dirs, who: string[] = worker) =>
    facts({ name: 'sockets', lines: [...who, '#gw socket path=/run/app.sock', stat, ...extra] }).sockets[0];

  it.each([
    ['owned by the worker, 0600', 'mode=600 uid=33 gid=0', true],
    ['owned by root, 0600', 'mode=600 uid=0 gid=0', false],
    ["the worker's group may write, 0660", 'mode=660 uid=0 gid=33', true],
    ["a supplementary group of the worker's, 0660", 'mode=660 uid=0 gid=4', true],
    ['group may only read, 0640', 'mode=640 uid=0 gid=33', false],
    ['anyone may write, 0666', 'mode=666 uid=0 gid=0', true],
    ['the owner bits apply to the owner even when others may write, 0066', 'mode=66 uid=33 gid=0', false],
    ['sticky and setgid bits do not matter, 2777', 'mode=2777 uid=0 gid=0', true],
  ])('%s', (_what, fields, accessible) => {
    const socket = socketWith(`#gw stat path=/run/app.sock exists=1 ${fields} owner=o group=g type=socket`);
    expect(socket?.accessibleToWorker).toBe(accessible);
    expect(socket?.blockingPath).toBe(accessible ? undefined : '/run/app.sock');
  });

  it('names the parent directory the worker may not search', () => {
    const socket = socketWith(
      '#gw stat path=/run/app.sock exists=1 mode=666 uid=0 gid=0 owner=root group=root type=socket',
      [dirs[0]!, '#gw stat path=/run exists=1 mode=750 uid=0 gid=0 owner=root group=root type=directory'],
    );
    expect(socket).toMatchObject({ accessibleToWorker: false, blockingPath: '/run' });
  });

  it('uses the group of `user u g;` as the worker group', () => {
    const socket = socketWith(
      '#gw stat path=/run/app.sock exists=1 mode=660 uid=0 gid=1001 owner=root group=app type=socket',
      dirs,
      [
        '#gw worker user=www-data group=app source=config',
        '#gw worker-id user=www-data uid=33 gid=33 groups=33',
        '#gw worker-group name=app gid=1001',
      ],
    );
    expect(socket?.accessibleToWorker).toBe(true);
  });

  it('lets a root worker in anywhere', () => {
    const socket = socketWith(
      '#gw stat path=/run/app.sock exists=1 mode=600 uid=1000 gid=1000 owner=app group=app type=socket',
      dirs,
      ['#gw worker user=root group=root source=config', '#gw worker-id user=root uid=0 gid=0 groups=0'],
    );
    expect(socket?.accessibleToWorker).toBe(true);
  });

  it('leaves access unknown when the worker user could not be looked up', () => {
    const socket = socketWith(
      '#gw stat path=/run/app.sock exists=1 mode=600 uid=0 gid=0 owner=root group=root type=socket',
      dirs,
      [
        '#gw worker user=ghost group=ghost source=config',
        '#gw worker-id user=ghost error=id%3A%20%27ghost%27%3A%20no%20such%20user',
      ],
    );
    expect(socket).toEqual({
      path: '/run/app.sock',
      exists: true,
      isSocket: true,
      mode: '0600',
      owner: 'root',
      group: 'root',
    });
  });

  it('reports a regular file where the socket should be', () => {
    const socket = socketWith(
      '#gw stat path=/run/app.sock exists=1 mode=644 uid=0 gid=0 owner=root group=root type=regular%20file',
    );
    expect(socket).toMatchObject({ exists: true, isSocket: false });
  });

  it('names a denying parent even when the socket is missing (nginx then sees EACCES, not ENOENT)', () => {
    const socket = socketWith('#gw stat path=/run/app.sock exists=0 error=No%20such%20file', [
      dirs[0]!,
      '#gw stat path=/run exists=1 mode=700 uid=0 gid=0 owner=root group=root type=directory',
    ]);
    expect(socket).toEqual({
      path: '/run/app.sock',
      exists: false,
      isSocket: false,
      accessibleToWorker: false,
      blockingPath: '/run',
    });
  });

  it('ignores paths the script found unusable', () => {
    const result = facts({
      name: 'sockets',
      lines: [...worker, '#gw socket path=/run/%24app.sock usable=0'],
    });
    expect(result.sockets).toEqual([]);
  });
});

describe('services', () => {
  it('reads a failed systemd unit with its restarts, exit status and journal', () => {
    const result = facts({
      name: 'service',
      status: 'failed',
      lines: [
        '#gw service kind=systemd name=shop-api.service',
        '#gw section show',
        'LoadState=loaded',
        'ActiveState=failed',
        'SubState=failed',
        'NRestarts=5',
        'MainPID=0',
        'ExecMainPID=4242',
        'ExecMainStatus=1',
        'ExecMainCode=1',
        'Result=exit-code',
        '#gw section journal',
        '2026-11-24T05:11:40+0000 web-1 node[4242]: Error: listen EADDRINUSE: address already in use 127.0.0.1:3000',
        '2026-11-24T05:11:40+0000 web-1 systemd[1]: shop-api.service: Main process exited, code=exited, status=1/FAILURE',
        'ActiveState=active',
      ],
    });
    expect(result.service).toEqual({
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
        'ActiveState=active',
      ],
      listening: [],
    });
  });

  it('counts a systemd main process killed by a signal as 128 + the signal', () => {
    const result = facts({
      name: 'service',
      lines: [
        '#gw service kind=systemd name=a.service',
        '#gw section show',
        'ActiveState=activating',
        'ExecMainCode=2',
        'ExecMainStatus=9',
      ],
    });
    expect(result.service).toMatchObject({ running: false, lastExitStatus: 137, state: 'activating' });
  });

  it('reads a unit that does not exist', () => {
    const result = facts({
      name: 'service',
      lines: [
        '#gw service kind=systemd name=nope.service',
        '#gw section show',
        'LoadState=not-found',
        'ActiveState=inactive',
      ],
    });
    expect(result.service).toMatchObject({ running: false, state: 'not-found' });
  });

  it('reads a running systemd unit with the sockets its pids hold', () => {
    const result = facts({
      name: 'service',
      lines: [
        '#gw service kind=systemd name=shop-api.service',
        '#gw section show',
        'ActiveState=active',
        'SubState=running',
        'NRestarts=0',
        'ExecMainCode=0',
        'ExecMainStatus=0',
        '#gw pid 4242 comm=node cmd=node%20server.js',
        '#gw pid 4243 comm=node cmd=node%20worker.js',
        '#gw section listen-tcp',
        'LISTEN 0 511 127.0.0.1:3001 0.0.0.0:* users:(("node",pid=4243,fd=20))',
        'LISTEN 0 511 127.0.0.1:9999 0.0.0.0:* users:(("other",pid=1,fd=20))',
      ],
    });
    expect(result.service).toMatchObject({
      running: true,
      state: 'active (running)',
      restarts: 0,
      pids: [4242, 4243],
      listening: ['127.0.0.1:3001'],
    });
    expect(result.service?.lastExitStatus).toBeUndefined();
  });

  it('reads an exited, OOM-killed container with its published ports and logs', () => {
    const result = facts({
      name: 'service',
      status: 'failed',
      lines: [
        '#gw service kind=docker name=shop-api',
        '#gw state exists=1 status=exited running=false pid=0 exit=137 restarts=3 oom=true',
        '#gw section ports',
        '3000/tcp -> 0.0.0.0:3001',
        '3000/tcp -> [::]:3001',
        '#gw section logs',
        '2026-11-24T05:11:39.512345678Z FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
      ],
    });
    expect(result.service).toEqual({
      kind: 'docker',
      name: 'shop-api',
      running: false,
      pids: [],
      state: 'exited (OOM killed)',
      restarts: 3,
      lastExitStatus: 137,
      recentLog: [
        '2026-11-24T05:11:39.512345678Z FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
      ],
      listening: ['0.0.0.0:3001', '[::]:3001'],
    });
  });

  it('reads a container that does not exist', () => {
    const result = facts({
      name: 'service',
      status: 'failed',
      lines: ['#gw service kind=docker name=shop-api', '#gw state exists=0'],
    });
    expect(result.service).toMatchObject({ running: false, state: 'not found' });
  });

  it('reads pm2 instances of one app', () => {
    const result = facts({
      name: 'service',
      lines: [
        '#gw service kind=pm2 name=shop-api',
        '#gw pm2 pid=501 status=online restarts=2 unstable=0 exit=0',
        '#gw pm2 pid=0 status=errored restarts=15 unstable=15 exit=1',
        '#gw pid 501 comm=node cmd=node%20/srv/shop/server.js',
        '#gw section logs',
        '',
        'Error: connect ECONNREFUSED 127.0.0.1:5432',
      ],
    });
    expect(result.service).toEqual({
      kind: 'pm2',
      name: 'shop-api',
      running: true,
      pids: [501],
      state: 'online, errored',
      restarts: 17,
      lastExitStatus: 1,
      recentLog: ['Error: connect ECONNREFUSED 127.0.0.1:5432'],
      listening: [],
    });
  });

  it('has no service facts when the check was skipped', () => {
    const result = facts({
      name: 'service',
      status: 'skipped',
      lines: ['#gw service kind=systemd name=a.service'],
    });
    expect(result.service).toBeUndefined();
  });

  it('reads a `#gw` line only from the script: an escaped one in a log is log text', () => {
    const result = facts({
      name: 'service',
      lines: [
        '#gw service kind=docker name=shop',
        '#gw section logs',
        ' #gw state exists=1 status=running running=true pid=1 exit=0 restarts=0 oom=false',
      ],
    });
    expect(result.service).toMatchObject({
      running: false,
      recentLog: [' #gw state exists=1 status=running running=true pid=1 exit=0 restarts=0 oom=false'],
    });
  });
});

describe('resources', () => {
  it('reads df, also a mount point with a space, and joins inode use by mount', () => {
    const result = facts({
      name: 'disk',
      lines: [
        '#gw section blocks',
        'Filesystem     1024-blocks      Used Available Capacity Mounted on',
        '/dev/nvme0n1p1    20959212  20959200        12     100% /',
        '/dev/nvme1n1     103081248  51540624  46281960      53% /mnt/data disk',
        '#gw section inodes',
        'Filesystem      Inodes  IUsed   IFree IUse% Mounted on',
        '/dev/nvme0n1p1 10484672 10484672       0  100% /',
        '/dev/nvme1n1          0      0       0     - /mnt/data disk',
      ],
    });
    expect(result.disks).toEqual([
      { mount: '/', usePercent: 100, availBytes: 12 * 1024, inodeUsePercent: 100 },
      { mount: '/mnt/data disk', usePercent: 53, availBytes: 46_281_960 * 1024 },
    ]);
  });

  it('estimates available memory on kernels without MemAvailable', () => {
    const result = facts({
      name: 'memory',
      lines: [
        'MemTotal:        2048000 kB',
        'MemFree:          100000 kB',
        'Buffers:           20000 kB',
        'Cached:           80000 kB',
        'SwapTotal:        1024000 kB',
        'SwapFree:          512000 kB',
      ],
    });
    expect(result.memory).toEqual({
      totalBytes: 2_048_000 * 1024,
      availableBytes: 200_000 * 1024,
      swapTotalBytes: 1_024_000 * 1024,
      swapFreeBytes: 512_000 * 1024,
    });
  });

  it('reads descriptor counts and skips processes it could not read', () => {
    const result = facts({
      name: 'fds',
      lines: [
        '#gw file-nr allocated=3264 unused=0 max=9223372036854775807',
        '#gw proc pid=900 role=nginx open=1021 limit=1024 name=nginx',
        '#gw proc pid=901 role=service open= limit= name=node',
        '#gw proc pid=900 role=service open=1021 limit=1024 name=nginx',
      ],
    });
    expect(result.fileDescriptors).toEqual({
      systemAllocated: 3264,
      systemMax: Number('9223372036854775807'),
      processes: [{ pid: 900, name: 'nginx', open: 1021, limit: 1024 }],
    });
  });

  // Line shapes as the kernel writes them, from public reports: dmesg -T (inducer/relate#1383,
  // RTXteam/RTX#1680), journalctl -o short-iso, kernel 3.x `Killed process N (name), UID`
  // (kubernetes/kubernetes#50632), a process name with parentheses (docker/for-linux#1001).
  it('reads OOM kills from dmesg -T and journal lines', () => {
    const result = facts({
      name: 'oom',
      lines: [
        '#gw source dmesg',
        '[Fri Nov 21 14:22:56 2025] Out of memory: Killed process 3581 (uwsgi) total-vm:517892kB, anon-rss:263092kB, file-rss:29128kB, shmem-rss:0kB, UID:33 pgtables:740kB oom_score_adj:0',
        '[Mon Dec  8 17:51:31 2025] Memory cgroup out of memory: Killed process 2690 (node) total-vm:4838770kB, anon-rss:4704932kB, file-rss:0kB, shmem-rss:0kB, UID:1025 pgtables:9318kB oom_score_adj:0',
        '2026-11-24T05:11:40+0000 web-1 kernel: Killed process 7991 (node), UID 1000, total-vm:606096kB, anon-rss:68308kB, file-rss:13648kB, shmem-rss:0kB',
        '[Tue Nov 24 05:11:41 2026] Out of memory: Killed process 1592 ((resolved)) total-vm:168424kB, anon-rss:4064kB, file-rss:3584kB, shmem-rss:0kB',
        '[Tue Nov 24 05:11:42 2026] Out of memory: Kill process 2398 (robonomics) score 844 or sacrifice child',
      ],
    });
    expect(result.oomKills.map(({ pid, process, at }) => ({ pid, process, at }))).toEqual([
      { pid: 3581, process: 'uwsgi', at: '2025-11-21T14:22:56Z' },
      { pid: 2690, process: 'node', at: '2025-12-08T17:51:31Z' },
      { pid: 7991, process: 'node', at: '2026-11-24T05:11:40Z' },
      { pid: 1592, process: '(resolved)', at: '2026-11-24T05:11:41Z' },
    ]);
    expect(result.oomKills[0]!.line).toMatch(
      /^\[Fri Nov 21 14:22:56 2025\] Out of memory: Killed process 3581/,
    );
  });

  // `dmesg --time-format iso` on this project's noisy CI host (util-linux 2.39, kernel 6.x): the
  // `oom-kill:` line names the victim's cgroup just before its `Killed process` line.
  it('reads the time and cgroup of OOM kills from dmesg --time-format iso', () => {
    const result = facts({
      name: 'oom',
      lines: [
        '#gw source dmesg-iso',
        '2026-12-06T21:56:59,019401+00:00 oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/gatewatch-noise-3011,task_memcg=/gatewatch-noise-3011,task=node,pid=3013,uid=0',
        '2026-12-06T21:56:59,019487+00:00 Memory cgroup out of memory: Killed process 3013 (node) total-vm:754964kB, anon-rss:32000kB, file-rss:33536kB, shmem-rss:0kB, UID:0 pgtables:436kB oom_score_adj:0',
        '2026-12-06T22:10:00,5+05:30 oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/shop-api.service,task=python3,pid=4242,uid=1000',
        '2026-12-06T22:10:00,6+05:30 Out of memory: Killed process 4242 (python3) total-vm:1kB, anon-rss:1kB, UID:1000 pgtables:1kB oom_score_adj:0',
      ],
    });
    expect(result.oomKills.map(({ line: _, ...kill }) => kill)).toEqual([
      {
        pid: 3013,
        process: 'node',
        at: '2026-12-06T21:56:59Z',
        cgroup: '/gatewatch-noise-3011',
        limitCgroup: '/gatewatch-noise-3011',
        uid: 0,
      },
      {
        pid: 4242,
        process: 'python3',
        at: '2026-12-06T16:40:00Z',
        cgroup: '/system.slice/shop-api.service',
        uid: 1000,
      },
    ]);
  });

  it.each([
    [
      [
        '#gw tool name=iptables-save rc=0',
        '*filter',
        ':INPUT ACCEPT [0:0]',
        'COMMIT',
        '#gw tool name=ip6tables-save rc=127 reason=not%20found',
        '#gw tool name=nft rc=1 reason=x',
        'Error: Could not process rule: Operation not permitted',
      ],
      'iptables',
      '# iptables-save\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT',
    ],
    [
      [
        '#gw tool name=iptables-save rc=127 reason=not%20found',
        '#gw tool name=nft rc=0',
        'table inet filter {',
        '}',
      ],
      'nft',
      '# nft list ruleset\ntable inet filter {\n}',
    ],
  ])('reads the rulesets of the tools that ran (%#)', (lines, tool, ruleset) => {
    expect(facts({ name: 'firewall', lines }).firewall).toEqual({ tool, ruleset });
  });
});
