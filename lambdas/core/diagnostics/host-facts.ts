/**
 * Turns the diagnostics script's checks into facts about the host: who listens where, how the service is
 * doing, whether the nginx worker may open each upstream socket, and the host's resources.
 *
 * Reading rules, because check output contains text other people control (process names, command lines,
 * log lines): the script's own lines start with `#gw ` (command output that does is escaped by the
 * script), structured values are read only from those lines, `ss` lines must have `ss`'s full shape, and a
 * process is attributed to a socket only through a well-formed `("name",pid=N,fd=N)` entry.
 *
 * The text kept for evidence (check output, logs, the `nginx -T` dump) is raw here; callers redact it
 * before storing (see `redactText`).
 */
import { peerHostPort } from '../nginx/peer.ts';
import { SERVICE_KINDS } from './params.ts';
import { type CheckResult, type DiagnosticsRun, decodeField } from './parse.ts';

export interface Listener {
  proto: 'tcp' | 'unix';
  /**
   * Normalised peer: `127.0.0.1:3000`, `[::1]:3000`, `0.0.0.0:3000`, `[::]:3000`, `unix:/path`. A
   * dual-stack wildcard (`ss` prints `*:3000`) is two listeners, `0.0.0.0:3000` and `[::]:3000`.
   */
  address: string;
  port?: number;
  pids: number[];
  processes: string[];
}

export interface ServiceFacts {
  kind: 'process' | 'systemd' | 'docker' | 'pm2';
  name: string;
  running: boolean;
  pids: number[];
  /** `active (running)`, `failed (failed)`, `not-found` (systemd); `exited` (docker); `online` (pm2). */
  state?: string;
  restarts?: number;
  /** Exit status of the last exit; a process killed by signal N counts as 128+N, as shells write it. */
  lastExitStatus?: number;
  recentLog: string[];
  /** Addresses the service's pids listen on (and, for docker, the host addresses of published ports). */
  listening: string[];
}

export interface SocketFacts {
  path: string;
  exists: boolean;
  isSocket: boolean;
  /** Permission bits in octal, four digits: `0660`. */
  mode?: string;
  owner?: string;
  group?: string;
  /**
   * Whether the worker user may connect: write permission on the socket and search permission on every
   * parent directory, from mode/owner/group against the worker's uid and gids. Undefined when unknown.
   * ACLs and SELinux/AppArmor are not taken into account.
   */
  accessibleToWorker?: boolean;
  /** The socket or the parent directory that denies the worker. */
  blockingPath?: string;
}

/**
 * One kill by the kernel's OOM killer, from the kernel log. The classifier weighs it by when it happened
 * (relative to the first failure) and whom it hit (pid, command name, cgroup) before it may explain a
 * failure: a kernel log keeps kills of unrelated processes for weeks.
 */
export interface OomKill {
  /** The `Killed process` line as the kernel log printed it. */
  line: string;
  /** The victim's command name (`comm`, at most 15 characters: `node`, `python3`, `MainThread`). */
  process?: string;
  pid?: number;
  /** Wall-clock time of the kill, ISO-8601 UTC; absent when the log line had no usable time. */
  at?: string;
  /** The victim's memory cgroup (`task_memcg=` of the kernel's `oom-kill:` line): `/system.slice/shop.service`. */
  cgroup?: string;
  /** The cgroup whose limit was hit (`oom_memcg=`); `/` or absent for a host-wide out-of-memory. */
  limitCgroup?: string;
  uid?: number;
}

export interface HostFacts {
  host: string;
  checks: CheckResult[];
  listeners: Listener[];
  service?: ServiceFacts;
  nginxTest?: { ok: boolean; output: string };
  nginxDump?: string;
  workerUser?: string;
  sockets: SocketFacts[];
  disks: { mount: string; usePercent: number; availBytes: number; inodeUsePercent?: number }[];
  memory?: { totalBytes: number; availableBytes: number; swapTotalBytes: number; swapFreeBytes: number };
  fileDescriptors?: {
    systemAllocated: number;
    systemMax: number;
    processes: { pid: number; name: string; open: number; limit: number }[];
  };
  oomKills: OomKill[];
  firewall?: { tool: 'iptables' | 'nft' | 'both'; ruleset: string };
}

/** Reads the facts out of a parsed run. Checks that did not run leave their facts empty or absent. */
export function interpretHostFacts(run: DiagnosticsRun): HostFacts {
  const check = (name: string): CheckResult | undefined => run.checks.find((c) => c.name === name);
  const usable = (c: CheckResult | undefined): c is CheckResult =>
    c !== undefined && (c.status === 'ok' || c.status === 'failed');

  const listen = check('listen');
  const listeners = usable(listen) ? readListeners(sectionLines(listen.output, ['tcp', 'unix'])) : [];
  const facts: HostFacts = {
    host: run.host,
    checks: run.checks,
    listeners,
    sockets: [],
    disks: [],
    oomKills: [],
  };

  const service = check('service');
  if (usable(service)) {
    const found = readService(service.output, listeners);
    if (found) facts.service = found;
  }
  const nginxTest = check('nginx-test');
  if (usable(nginxTest)) facts.nginxTest = { ok: nginxTest.status === 'ok', output: nginxTest.output };
  const nginxConfig = check('nginx-config');
  if (nginxConfig?.status === 'ok') facts.nginxDump = nginxConfig.output;
  const sockets = check('sockets');
  if (usable(sockets)) {
    const read = readSockets(sockets.output);
    facts.sockets = read.sockets;
    if (read.workerUser !== undefined) facts.workerUser = read.workerUser;
  }
  const disk = check('disk');
  if (usable(disk)) facts.disks = readDisks(disk.output);
  const memory = check('memory');
  if (usable(memory)) {
    const m = readMemory(memory.output);
    if (m) facts.memory = m;
  }
  const fds = check('fds');
  if (usable(fds)) {
    const f = readFileDescriptors(fds.output);
    if (f) facts.fileDescriptors = f;
  }
  const oom = check('oom');
  if (usable(oom)) facts.oomKills = readOomKills(oom.output);
  const firewall = check('firewall');
  if (usable(firewall)) {
    const fw = readFirewall(firewall.output);
    if (fw) facts.firewall = fw;
  }
  return facts;
}

/**
 * The listener that accepts connections to `peer` (`127.0.0.1:3000`, `[::1]:3000`, `localhost:3000`,
 * `unix:/run/app.sock`): an exact address first, then a wildcard of the same family on the same port
 * (`0.0.0.0:P` covers every IPv4 address, `[::]:P` every IPv6 address).
 */
export function listenerFor(facts: HostFacts, peer: string): Listener | undefined {
  const wanted = peer.trim();
  if (wanted.startsWith('unix:'))
    return facts.listeners.find((l) => l.proto === 'unix' && l.address === wanted);
  const hostPort = peerHostPort(wanted.toLowerCase());
  if (!hostPort) return undefined;
  const { port } = hostPort;
  let hosts = [hostPort.host];
  if (hostPort.host === 'localhost') hosts = ['127.0.0.1', '[::1]'];
  const mapped = /^\[::ffff:(\d+\.\d+\.\d+\.\d+)\]$/.exec(hostPort.host);
  if (mapped) hosts.push(mapped[1]!);
  const tcp = facts.listeners.filter((l) => l.proto === 'tcp' && l.port === port);
  for (const host of hosts) {
    const exact = tcp.find((l) => l.address === `${host}:${port}`);
    if (exact) return exact;
  }
  for (const host of hosts) {
    const wildcard = isIpv4(host) ? `0.0.0.0:${port}` : host.startsWith('[') ? `[::]:${port}` : undefined;
    const found = wildcard === undefined ? undefined : tcp.find((l) => l.address === wildcard);
    if (found) return found;
  }
  return undefined;
}

// ---------------------------------------------------------------- structure of a check's output

interface GwLine {
  kind: string;
  rest: string;
  fields: Map<string, string>;
}

/** The script's own `#gw <kind> key=value …` line, or undefined for command output. */
function gwLine(line: string): GwLine | undefined {
  if (!line.startsWith('#gw ')) return undefined;
  const body = line.slice(4);
  const space = body.indexOf(' ');
  const kind = space === -1 ? body : body.slice(0, space);
  const rest = space === -1 ? '' : body.slice(space + 1);
  const fields = new Map<string, string>();
  for (const part of rest.split(' ')) {
    const eq = part.indexOf('=');
    if (eq > 0 && !fields.has(part.slice(0, eq)))
      fields.set(part.slice(0, eq), decodeField(part.slice(eq + 1)));
  }
  return { kind, rest, fields };
}

interface OutputLine {
  section: string;
  text: string;
  gw?: GwLine;
}

/** Every line with the `#gw section` it belongs to (`''` before the first). */
function outputLines(output: string): OutputLine[] {
  let section = '';
  const lines: OutputLine[] = [];
  for (const text of output === '' ? [] : output.split('\n')) {
    const gw = gwLine(text);
    if (gw?.kind === 'section') {
      section = gw.rest.trim();
      continue;
    }
    lines.push(gw ? { section, text, gw } : { section, text });
  }
  return lines;
}

/** Command output lines of the named sections. */
function sectionLines(output: string, sections: readonly string[]): OutputLine[] {
  return outputLines(output).filter((l) => l.gw === undefined && sections.includes(l.section));
}

function gwLines(output: string, kind: string): GwLine[] {
  return outputLines(output)
    .map((l) => l.gw)
    .filter((g): g is GwLine => g?.kind === kind);
}

const int = (value: string | undefined): number | undefined =>
  value !== undefined && /^-?\d{1,15}$/.test(value) ? Number(value) : undefined;
/** Counters the kernel may set to LONG_MAX (`fs.file-max` under systemd): precise enough as a double. */
const counter = (value: string | undefined): number | undefined =>
  value !== undefined && /^\d{1,20}$/.test(value) ? Number(value) : undefined;

// ---------------------------------------------------------------- listeners

const TCP_LINE = /^([A-Z-]+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)(?:\s+(users:[\s\S]*?))?\s*$/;
const UNIX_LINE =
  /^(u_str|u_seq|u_dgr)\s+([A-Z-]+)\s+(\d+)\s+(\d+)\s+(.+?)\s+(\d+)\s+(\S+)\s+(\d+)(?:\s+(users:[\s\S]*?))?\s*$/;
/** How every `ss` line starts; anything else continues the line before (a newline in a process name). */
const SS_LINE_START = /^(?:u_str|u_seq|u_dgr|[A-Z][A-Z-]*)\s+(?:[A-Z][A-Z-]*\s+)?\d+\s+\d+\s/;
const USER_ENTRY = /\("([^"]*)",pid=(\d+),fd=\d+\)/g;

function readUsers(users: string | undefined): { pids: number[]; processes: string[] } {
  const pids: number[] = [];
  const processes: string[] = [];
  for (const match of (users ?? '').matchAll(USER_ENTRY)) {
    const pid = Number(match[2]);
    // A process names itself (15 bytes, any byte but NUL): keep it printable.
    const name = match[1]!.replace(/[\u0000-\u001f\u007f]/g, '?');
    if (!pids.includes(pid)) pids.push(pid);
    if (!processes.includes(name)) processes.push(name);
  }
  return { pids, processes };
}

/**
 * `ss` prints process names raw, so a name with a newline splits its line. Such a name has at most 15
 * bytes, too few to make a whole `ss` line, so rejoining every line that does not start like one restores
 * the socket and its owner.
 */
function joinSsLines(lines: readonly string[]): string[] {
  const joined: string[] = [];
  for (const line of lines) {
    if (joined.length > 0 && !SS_LINE_START.test(line)) joined[joined.length - 1] += `\n${line}`;
    else joined.push(line);
  }
  return joined;
}

/** `ss` local address → normalised addresses (two for a dual-stack `*`). */
function normaliseLocal(local: string): { addresses: string[]; port: number } | undefined {
  const match = /^(\[[^\]]*\]|[^[\]%]+?)(?:%[^:\]]+)?:(\d{1,5})$/.exec(local);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65_535) return undefined;
  const host = match[1]!.toLowerCase();
  if (host === '*') return { addresses: [`0.0.0.0:${port}`, `[::]:${port}`], port };
  return { addresses: [`${host}:${port}`], port };
}

function readListeners(lines: readonly OutputLine[]): Listener[] {
  const byKey = new Map<string, Listener>();
  const add = (listener: Listener): void => {
    const key = `${listener.proto} ${listener.address}`;
    const existing = byKey.get(key);
    if (!existing) {
      byKey.set(key, listener);
      return;
    }
    for (const pid of listener.pids) if (!existing.pids.includes(pid)) existing.pids.push(pid);
    for (const p of listener.processes) if (!existing.processes.includes(p)) existing.processes.push(p);
  };
  for (const text of joinSsLines(lines.map((l) => l.text))) {
    const unix = UNIX_LINE.exec(text);
    if (unix) {
      const path = unix[5]!;
      if (path === '*' || path === '') continue;
      add({ proto: 'unix', address: `unix:${path}`, ...readUsers(unix[9]) });
      continue;
    }
    const tcp = TCP_LINE.exec(text);
    if (tcp?.[1] !== 'LISTEN') continue;
    const local = normaliseLocal(tcp[4]!);
    if (!local) continue;
    for (const address of local.addresses) {
      const users = readUsers(tcp[6]);
      add({ proto: 'tcp', address, port: local.port, pids: users.pids, processes: users.processes });
    }
  }
  return [...byKey.values()];
}

// ---------------------------------------------------------------- service

function readService(output: string, hostListeners: readonly Listener[]): ServiceFacts | undefined {
  const lines = outputLines(output);
  const header = lines.find((l) => l.gw?.kind === 'service')?.gw;
  const kind = header?.fields.get('kind');
  if (!header || !(SERVICE_KINDS as readonly string[]).includes(kind ?? '')) return undefined;
  const gw = (k: string) => lines.map((l) => l.gw).filter((g): g is GwLine => g?.kind === k);
  const raw = (section: string) =>
    lines.filter((l) => l.gw === undefined && l.section === section).map((l) => l.text);

  const pids: number[] = [];
  for (const g of gw('pid')) {
    const pid = int(g.rest.split(' ')[0]);
    if (pid !== undefined && pid > 0 && !pids.includes(pid)) pids.push(pid);
  }
  const facts: ServiceFacts = {
    kind: kind as ServiceFacts['kind'],
    name: header.fields.get('name') ?? '',
    running: false,
    pids,
    recentLog: [],
    listening: [],
  };

  if (facts.kind === 'process') {
    facts.running = pids.length > 0;
    facts.state = facts.running ? 'running' : 'not running';
  } else if (facts.kind === 'systemd') {
    const show = new Map<string, string>();
    for (const line of raw('show')) {
      const eq = line.indexOf('=');
      if (eq > 0 && !show.has(line.slice(0, eq))) show.set(line.slice(0, eq), line.slice(eq + 1));
    }
    const active = show.get('ActiveState') ?? '';
    const load = show.get('LoadState');
    facts.running = active === 'active' || active === 'reloading';
    facts.state =
      load === 'not-found'
        ? 'not-found'
        : `${active || 'unknown'}${show.get('SubState') ? ` (${show.get('SubState')})` : ''}`;
    const restarts = int(show.get('NRestarts'));
    if (restarts !== undefined) facts.restarts = restarts;
    // ExecMainCode: 1 exited (status is the exit code), 2 killed / 3 dumped (status is the signal).
    const code = int(show.get('ExecMainCode'));
    const status = int(show.get('ExecMainStatus'));
    if (status !== undefined && code !== undefined && code > 0) {
      facts.lastExitStatus = code === 1 ? status : 128 + status;
    }
    facts.recentLog = raw('journal');
  } else if (facts.kind === 'docker') {
    const state = gw('state')[0]?.fields;
    if (state?.get('exists') === '0') {
      facts.state = 'not found';
    } else if (state) {
      facts.running = state.get('running') === 'true';
      facts.state = `${state.get('status') ?? 'unknown'}${state.get('oom') === 'true' ? ' (OOM killed)' : ''}`;
      const restarts = int(state.get('restarts'));
      if (restarts !== undefined) facts.restarts = restarts;
      const exit = int(state.get('exit'));
      if (exit !== undefined && !facts.running) facts.lastExitStatus = exit;
    }
    for (const line of raw('ports')) {
      const published = /->\s*(\S+)\s*$/.exec(line);
      const local = published ? normaliseLocal(published[1]!) : undefined;
      for (const address of local?.addresses ?? [])
        if (!facts.listening.includes(address)) facts.listening.push(address);
    }
    facts.recentLog = raw('logs');
  } else {
    const apps = gw('pm2').map((g) => g.fields);
    if (apps.length === 0) facts.state = 'not found';
    else {
      facts.running = apps.some((a) => a.get('status') === 'online');
      facts.state = [...new Set(apps.map((a) => a.get('status') ?? 'unknown'))].join(', ');
      facts.restarts = apps.reduce((sum, a) => sum + (int(a.get('restarts')) ?? 0), 0);
      const stopped = apps.find((a) => a.get('status') !== 'online');
      const exit = int(stopped?.get('exit'));
      if (exit !== undefined) facts.lastExitStatus = exit;
    }
    facts.recentLog = raw('logs');
  }
  facts.recentLog = facts.recentLog.filter((l) => l.trim() !== '').slice(-50);

  // Only sockets whose owner entry names one of the service's pids count.
  const own = readListeners(lines.filter((l) => l.gw === undefined && l.section.startsWith('listen-')));
  for (const listener of [...own, ...hostListeners]) {
    if (listener.pids.some((p) => pids.includes(p)) && !facts.listening.includes(listener.address)) {
      facts.listening.push(listener.address);
    }
  }
  return facts;
}

// ---------------------------------------------------------------- unix sockets

interface StatFacts {
  exists: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
  owner?: string;
  group?: string;
  type?: string;
}

function readSockets(output: string): { sockets: SocketFacts[]; workerUser?: string } {
  const lines = outputLines(output);
  const stats = new Map<string, StatFacts>();
  let workerUser: string | undefined;
  let worker: { uid: number; gids: number[] } | undefined;
  let groupGid: number | undefined;
  const socketPaths: string[] = [];
  for (const { gw } of lines) {
    if (!gw) continue;
    const f = gw.fields;
    if (gw.kind === 'worker' && f.get('usable') !== '0') workerUser ??= f.get('user');
    else if (gw.kind === 'worker-id' && worker === undefined) {
      const uid = int(f.get('uid'));
      const gid = int(f.get('gid'));
      const groups = (f.get('groups') ?? '')
        .split(',')
        .map((g) => int(g))
        .filter((g): g is number => g !== undefined);
      if (uid !== undefined && gid !== undefined) worker = { uid, gids: [gid, ...groups] };
    } else if (gw.kind === 'worker-group') groupGid ??= int(f.get('gid'));
    else if (gw.kind === 'socket' && f.get('usable') !== '0') {
      const path = f.get('path');
      if (path?.startsWith('/') && !socketPaths.includes(path)) socketPaths.push(path);
    } else if (gw.kind === 'stat') {
      const path = f.get('path');
      if (!path || stats.has(path)) continue;
      const mode = f.get('mode');
      stats.set(
        path,
        f.get('exists') === '1'
          ? {
              exists: true,
              ...(mode !== undefined && /^[0-7]{1,5}$/.test(mode) ? { mode: Number.parseInt(mode, 8) } : {}),
              ...optionalNumber('uid', int(f.get('uid'))),
              ...optionalNumber('gid', int(f.get('gid'))),
              owner: f.get('owner') ?? '',
              group: f.get('group') ?? '',
              type: f.get('type') ?? '',
            }
          : { exists: false },
      );
    }
  }
  // nginx's `user u g;` makes g the primary group; the supplementary groups stay u's.
  if (worker && groupGid !== undefined && !worker.gids.includes(groupGid)) worker.gids.unshift(groupGid);

  const sockets = socketPaths.map((path): SocketFacts => {
    const stat = stats.get(path);
    const facts: SocketFacts = { path, exists: stat?.exists === true, isSocket: stat?.type === 'socket' };
    if (stat?.exists) {
      if (stat.mode !== undefined) facts.mode = stat.mode.toString(8).padStart(4, '0');
      if (stat.owner) facts.owner = stat.owner;
      if (stat.group) facts.group = stat.group;
    }
    if (worker) {
      const access = workerAccess(path, stats, worker);
      if (access.blockingPath !== undefined) {
        facts.accessibleToWorker = false;
        facts.blockingPath = access.blockingPath;
      } else if (facts.exists && access.known) facts.accessibleToWorker = true;
    }
    return facts;
  });
  return workerUser === undefined ? { sockets } : { sockets, workerUser };
}

function optionalNumber<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

/** Search permission on each parent (from `/` down), then write permission on the socket. */
function workerAccess(
  path: string,
  stats: ReadonlyMap<string, StatFacts>,
  worker: { uid: number; gids: number[] },
): { known: boolean; blockingPath?: string } {
  const parents = ['/'];
  const parts = path.split('/').filter((p) => p !== '');
  for (let i = 1; i < parts.length; i++) parents.push(`/${parts.slice(0, i).join('/')}`);
  let known = true;
  for (const dir of parents) {
    const stat = stats.get(dir);
    if (!stat?.exists) {
      known = false;
      break;
    }
    const allowed = permits(stat, worker, 0o1);
    if (allowed === false) return { known: true, blockingPath: dir };
    if (allowed === undefined) known = false;
  }
  const socket = stats.get(path);
  if (!socket?.exists) return { known: false };
  const allowed = permits(socket, worker, 0o2);
  if (allowed === false) return { known: true, blockingPath: path };
  return { known: known && allowed === true };
}

/** The owner, group or other bits that apply to the worker (in that order, as the kernel picks them). */
function permits(stat: StatFacts, worker: { uid: number; gids: number[] }, bit: number): boolean | undefined {
  if (worker.uid === 0) return true;
  if (stat.mode === undefined || stat.uid === undefined || stat.gid === undefined) return undefined;
  if (stat.uid === worker.uid) return (stat.mode & (bit << 6)) !== 0;
  if (worker.gids.includes(stat.gid)) return (stat.mode & (bit << 3)) !== 0;
  return (stat.mode & bit) !== 0;
}

// ---------------------------------------------------------------- resources

const DF_LINE = /^(\S.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s+(\/.*)$/;
const DF_INODE_LINE = /^(\S.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+%|-)\s+(\/.*)$/;

function readDisks(output: string): HostFacts['disks'] {
  const inodes = new Map<string, number>();
  for (const { text } of sectionLines(output, ['inodes'])) {
    const m = DF_INODE_LINE.exec(text);
    if (m && m[5] !== '-') inodes.set(m[6]!, Number.parseInt(m[5]!, 10));
  }
  const disks: HostFacts['disks'] = [];
  for (const { text } of sectionLines(output, ['blocks'])) {
    const m = DF_LINE.exec(text);
    if (!m || disks.some((d) => d.mount === m[6])) continue;
    const disk: HostFacts['disks'][number] = {
      mount: m[6]!,
      usePercent: Number(m[5]),
      availBytes: Number(m[4]) * 1024,
    };
    const inodeUse = inodes.get(m[6]!);
    if (inodeUse !== undefined) disk.inodeUsePercent = inodeUse;
    disks.push(disk);
  }
  return disks;
}

function readMemory(output: string): HostFacts['memory'] {
  const kb = new Map<string, number>();
  for (const line of output.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?: kB)?$/.exec(line.trim());
    if (m && !kb.has(m[1]!)) kb.set(m[1]!, Number(m[2]) * 1024);
  }
  const total = kb.get('MemTotal');
  if (total === undefined) return undefined;
  // Kernels before 3.14 have no MemAvailable; free + buffers + page cache is the old estimate.
  const available =
    kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0);
  return {
    totalBytes: total,
    availableBytes: available,
    swapTotalBytes: kb.get('SwapTotal') ?? 0,
    swapFreeBytes: kb.get('SwapFree') ?? 0,
  };
}

function readFileDescriptors(output: string): HostFacts['fileDescriptors'] {
  const nr = gwLines(output, 'file-nr')[0]?.fields;
  const allocated = counter(nr?.get('allocated'));
  const max = counter(nr?.get('max'));
  if (allocated === undefined || max === undefined) return undefined;
  const processes: NonNullable<HostFacts['fileDescriptors']>['processes'] = [];
  for (const { fields } of gwLines(output, 'proc')) {
    const pid = int(fields.get('pid'));
    const open = int(fields.get('open'));
    const limitText = fields.get('limit');
    const limit = limitText === 'unlimited' ? Number.MAX_SAFE_INTEGER : int(limitText);
    if (pid === undefined || open === undefined || limit === undefined) continue;
    if (processes.some((p) => p.pid === pid)) continue;
    processes.push({ pid, name: fields.get('name') ?? '', open, limit });
  }
  return { systemAllocated: allocated, systemMax: max, processes };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function readOomKills(output: string): HostFacts['oomKills'] {
  const kills: HostFacts['oomKills'] = [];
  // The `oom-kill:` line newer kernels write just before `Killed process` names the victim's cgroup.
  const cgroups = new Map<number, { cgroup?: string; limitCgroup?: string; uid?: number }>();
  for (const { text } of outputLines(output).filter((l) => l.gw === undefined)) {
    const detail = /oom-kill:(\S+)/.exec(text);
    if (detail) {
      const fields = new Map(
        detail[1]!.split(',').flatMap((part) => {
          const eq = part.indexOf('=');
          return eq > 0 ? [[part.slice(0, eq), part.slice(eq + 1)] as const] : [];
        }),
      );
      const pid = Number(fields.get('pid'));
      if (Number.isInteger(pid) && pid > 0) {
        const info: { cgroup?: string; limitCgroup?: string; uid?: number } = {};
        const task = fields.get('task_memcg');
        const limit = fields.get('oom_memcg');
        if (task) info.cgroup = task;
        if (limit) info.limitCgroup = limit;
        const uid = Number(fields.get('uid'));
        if (fields.has('uid') && Number.isInteger(uid)) info.uid = uid;
        cgroups.set(pid, info);
      }
      continue;
    }
    // One kill, one `Killed process` line; the `Out of memory: Kill process … score` line older kernels
    // write before it is the same kill.
    if (!/Killed process/i.test(text)) continue;
    const kill: OomKill = { line: text };
    // The name is in parentheses and may hold some itself: `((resolved))`.
    const victim = /Killed process (\d+) \((.*?)\)(?=[ ,]|$)/i.exec(text);
    if (victim) {
      kill.pid = Number(victim[1]);
      kill.process = victim[2]!;
      const info = cgroups.get(kill.pid);
      if (info) Object.assign(kill, info);
    }
    if (kill.uid === undefined) {
      const uid = /\bUID:(\d+)/.exec(text);
      if (uid) kill.uid = Number(uid[1]);
    }
    const at = oomTime(text);
    if (at) kill.at = at;
    kills.push(kill);
  }
  return kills;
}

/**
 * `dmesg --time-format iso` (`2026-12-06T21:56:51,419746+00:00`), `journalctl -o short-iso`
 * (`2026-11-24T05:11:38+0000`) or `dmesg -T` (`[Mon Nov 24 05:11:48 2026]`, run with TZ=UTC).
 */
function oomTime(line: string): string | undefined {
  const dmesg = /^\[\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})\]/.exec(line);
  if (dmesg) {
    const month = MONTHS.indexOf(dmesg[1]!);
    if (month === -1) return undefined;
    const ms = Date.UTC(
      Number(dmesg[6]),
      month,
      Number(dmesg[2]),
      Number(dmesg[3]),
      Number(dmesg[4]),
      Number(dmesg[5]),
    );
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace('.000Z', 'Z');
  }
  const iso = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:[.,]\d+)?([+-]\d{2}:?\d{2}|Z)/.exec(line);
  if (iso) {
    const offset = iso[2] === 'Z' ? 'Z' : iso[2]!.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
    const ms = Date.parse(`${iso[1]}${offset}`);
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace('.000Z', 'Z');
  }
  return undefined;
}

function readFirewall(output: string): HostFacts['firewall'] {
  let current: string | undefined;
  const parts: string[] = [];
  const ran = new Set<string>();
  for (const line of outputLines(output)) {
    if (line.gw?.kind === 'tool') {
      const name = line.gw.fields.get('name') ?? '';
      current = line.gw.fields.get('rc') === '0' ? name : undefined;
      if (current) {
        ran.add(current);
        parts.push(`# ${current === 'nft' ? 'nft list ruleset' : current}`);
      }
      continue;
    }
    if (current && !line.gw) parts.push(line.text);
  }
  const iptables = ran.has('iptables-save') || ran.has('ip6tables-save');
  const nft = ran.has('nft');
  if (!iptables && !nft) return undefined;
  return { tool: iptables && nft ? 'both' : iptables ? 'iptables' : 'nft', ruleset: parts.join('\n') };
}

function isIpv4(host: string): boolean {
  return /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
