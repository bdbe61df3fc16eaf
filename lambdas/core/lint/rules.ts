/**
 * The settings behind 502s and 504s, one rule each: what it looks at, why it makes a failure likely,
 * which verdicts it explains, and the change that removes it. Every finding names the directive's file
 * and line as `nginx -T` shows them (or nginx's default when the directive is not written).
 */
import {
  type NginxConfig,
  parseNginxDuration,
  quoteSetting,
  type UpstreamGroup,
  type UpstreamPass,
} from '../nginx/config.ts';
import { peerHostPort } from '../nginx/peer.ts';
import type { RootCause } from '../root-causes.ts';
import type { AppServerSettings } from './app-settings.ts';

export type LintSeverity = 'error' | 'warning' | 'info';

export const LINT_SEVERITIES: readonly LintSeverity[] = ['error', 'warning', 'info'];

export interface LintFinding {
  rule: LintRuleId;
  severity: LintSeverity;
  /** One line: what is set and what happens. */
  title: string;
  /** Why this makes a 502/504 likely. */
  detail: string;
  /** The change that removes the finding. */
  fix: string;
  /** Where the directive (or the block that lacks it) is written. */
  file?: string;
  line?: number;
  /** The upstream group or peer concerned. */
  upstream?: string;
  /** The peers concerned (a group's servers, or the one address). */
  peers: string[];
  /** The verdicts this setting makes likely: at incident time the report quotes it for them. */
  explains: RootCause[];
  /** The settings quoted, as the report shows them. */
  evidence: string[];
}

/** What the rules read besides nginx's configuration. All optional: a rule without its input stays silent. */
export interface LintInput {
  config: NginxConfig;
  /** The application server behind each peer (`127.0.0.1:3000`), read from its command line. */
  apps?: Record<string, AppServerSettings>;
  /** Observed from the logs: the slowest upstream response per peer, in seconds. */
  maxResponseSeconds?: Record<string, number>;
  /** Peers nginx logged `upstream sent too big header` for. */
  tooBigHeader?: string[];
}

export const LINT_RULES = {
  'read-timeout-below-app':
    'the read timeout is shorter than the time the application lets a request run (504 while it still works)',
  'read-timeout-below-observed':
    'the read timeout is close to (or under) the slowest responses the access log shows',
  'keepalive-race':
    'nginx keeps idle upstream connections longer than the application does (the keep-alive race: 502)',
  'keepalive-ineffective':
    '`keepalive` without `proxy_http_version 1.1` and `proxy_set_header Connection ""` does nothing',
  'variable-pass-without-resolver':
    'a `proxy_pass` built from variables needs a `resolver` for host names (502 "no resolver defined")',
  'localhost-in-pass':
    '`localhost` is 127.0.0.1 and ::1: an application bound to one family refuses the other',
  'single-server-no-failover': 'an upstream group with one server and no backup: every restart is a 502',
  'next-upstream-non-idempotent':
    '`proxy_next_upstream … non_idempotent` retries POSTs on another server: side effects can run twice',
  'buffer-below-observed-headers':
    'the proxy buffer is smaller than response headers the upstream sent (502 "upstream sent too big header")',
} as const;

export type LintRuleId = keyof typeof LINT_RULES;

/** nginx's upstream `keepalive_timeout` default since 1.15.3 (ngx_http_upstream_module). */
const UPSTREAM_KEEPALIVE_TIMEOUT_DEFAULT = 60;
/** "Close to the timeout": the slowest observed response is at least this share of it. */
const OBSERVED_SHARE = 0.8;

type Rule = (input: LintInput) => LintFinding[];

function moduleOf(pass: UpstreamPass): string {
  return pass.directive.slice(0, -'_pass'.length);
}

function place(pass: UpstreamPass): string {
  const where = [pass.server, pass.location].filter((p) => p !== undefined).join(' ');
  return where === '' ? `${pass.directive} ${pass.target}` : `${pass.directive} ${pass.target} (${where})`;
}

function setting(
  pass: UpstreamPass,
  suffix: string,
): { name: string; seconds?: number; quote: string } | undefined {
  const name = `${moduleOf(pass)}_${suffix}`;
  const value = pass.settings[name];
  if (!value) return undefined;
  const seconds = parseNginxDuration(value.value);
  return {
    name,
    ...(seconds === undefined ? {} : { seconds: seconds / 1000 }),
    quote: quoteSetting(name, value),
  };
}

function settingPlace(pass: UpstreamPass, name: string): { file: string; line: number } {
  const value = pass.settings[name];
  if (value && !value.isDefault && value.file !== undefined && value.line !== undefined) {
    return { file: value.file, line: value.line };
  }
  return { file: pass.file, line: pass.line };
}

function groupOf(config: NginxConfig, pass: UpstreamPass): UpstreamGroup | undefined {
  if (pass.group === undefined) return undefined;
  return config.upstreamGroups.find((g) => g.name === pass.group);
}

function seconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseNginxDuration(text);
  return ms === undefined ? undefined : ms / 1000;
}

const readTimeoutBelowApp: Rule = ({ config, apps }) => {
  if (!apps) return [];
  const out: LintFinding[] = [];
  for (const pass of config.passes) {
    const read = setting(pass, 'read_timeout');
    if (read?.seconds === undefined) continue;
    for (const peer of pass.peers) {
      const app = apps[peer];
      // Only a timeout the application sets on purpose: Node's 300 s default would flag every Node app
      // behind nginx's 60 s default, which is how most are meant to run.
      if (app?.requestTimeout === undefined || app.requestTimeout.isDefault) continue;
      if (app.requestTimeout.seconds <= read.seconds) continue;
      out.push({
        rule: 'read-timeout-below-app',
        severity: 'warning',
        title: `${read.name} ${read.seconds} s is shorter than ${app.server}'s request timeout ${app.requestTimeout.seconds} s for ${peer}`,
        detail: `nginx answers 504 after ${read.seconds} s while ${app.server} may still be working on the request for up to ${app.requestTimeout.seconds} s (${app.requestTimeout.source}).`,
        fix: `Raise \`${read.name}\` to at least ${app.requestTimeout.seconds}s for ${place(pass)}, or lower the application's own timeout below ${read.seconds} s so it answers first.`,
        ...settingPlace(pass, read.name),
        upstream: pass.group ?? peer,
        peers: [peer],
        explains: ['upstream-timeout'],
        evidence: [read.quote, `${app.command} → ${app.requestTimeout.source}`],
      });
    }
  }
  return out;
};

const readTimeoutBelowObserved: Rule = ({ config, maxResponseSeconds }) => {
  if (!maxResponseSeconds) return [];
  const out: LintFinding[] = [];
  for (const pass of config.passes) {
    const read = setting(pass, 'read_timeout');
    if (read?.seconds === undefined) continue;
    for (const peer of pass.peers) {
      const slowest = maxResponseSeconds[peer];
      if (slowest === undefined || slowest < read.seconds * OBSERVED_SHARE) continue;
      out.push({
        rule: 'read-timeout-below-observed',
        severity: 'warning',
        title: `${peer} took up to ${slowest} s to answer; ${read.name} is ${read.seconds} s`,
        detail: `The slowest responses in the access log are within ${Math.round((1 - OBSERVED_SHARE) * 100)}% of the read timeout: a little more load and they become 504s.`,
        fix: `Raise \`${read.name}\` above the slowest legitimate response (e.g. ${Math.ceil(slowest * 2)}s) for ${place(pass)}, or make the slow endpoint faster.`,
        ...settingPlace(pass, read.name),
        upstream: pass.group ?? peer,
        peers: [peer],
        explains: ['upstream-timeout'],
        evidence: [read.quote, `slowest $upstream_response_time for ${peer}: ${slowest} s`],
      });
    }
  }
  return out;
};

const keepaliveRace: Rule = ({ config, apps }) => {
  const out: LintFinding[] = [];
  for (const group of config.upstreamGroups) {
    if (group.options.keepalive === undefined) continue;
    const written = seconds(group.options.keepalive_timeout);
    const nginxIdle = written ?? UPSTREAM_KEEPALIVE_TIMEOUT_DEFAULT;
    const idleQuote =
      written === undefined
        ? `keepalive_timeout ${UPSTREAM_KEEPALIVE_TIMEOUT_DEFAULT}s (nginx default, upstream ${group.name})`
        : `keepalive_timeout ${group.options.keepalive_timeout} (upstream ${group.name}, ${group.file})`;
    const peers = group.servers.map((s) => s.address);
    const known = peers.flatMap((peer) => {
      const app = apps?.[peer];
      return app?.keepAlive ? [{ peer, app, keepAlive: app.keepAlive }] : [];
    });
    const racing = known.filter((k) => k.keepAlive.seconds <= nginxIdle);
    const base = {
      rule: 'keepalive-race' as const,
      file: group.file,
      line: group.line,
      upstream: group.name,
      explains: ['upstream-closed-early'] as RootCause[],
    };
    if (racing.length > 0) {
      const shortest = Math.min(...racing.map((r) => r.keepAlive.seconds));
      out.push({
        ...base,
        severity: 'error',
        title: `upstream ${group.name} reuses idle connections for ${nginxIdle} s; ${racing[0]!.app.server} closes them after ${shortest} s`,
        detail: `nginx sends a request on a kept-alive connection the application is closing at that very moment: the application resets it and nginx answers 502 ("upstream prematurely closed connection" or "recv() failed (104: Connection reset by peer)"), mostly for POSTs, which nginx does not retry.`,
        fix: `In \`upstream ${group.name}\`, set \`keepalive_timeout ${Math.max(1, Math.floor(shortest) - 1)}s;\` (below the application's ${shortest} s), or raise the application's keep-alive above ${nginxIdle} s (Node: \`server.keepAliveTimeout = ${(nginxIdle + 5) * 1000}\`; gunicorn: \`--keep-alive ${nginxIdle + 5}\`; uvicorn: \`--timeout-keep-alive ${nginxIdle + 5}\`).`,
        peers: racing.map((r) => r.peer),
        evidence: [idleQuote, ...racing.map((r) => `${r.peer}: ${r.app.command} → ${r.keepAlive.source}`)],
      });
    } else if (known.length === 0) {
      out.push({
        ...base,
        severity: 'warning',
        title: `upstream ${group.name} keeps idle connections ${nginxIdle} s; most application servers close them sooner`,
        detail: `Node.js closes idle connections after 5 s, gunicorn after 2 s, uvicorn after 5 s by default. When the application closes first, a request sent on the closing connection fails with 502.`,
        fix: `Set \`keepalive_timeout\` in \`upstream ${group.name}\` below the application's keep-alive timeout (e.g. \`keepalive_timeout 4s;\` for a Node.js default).`,
        peers,
        evidence: [idleQuote],
      });
    }
  }
  return out;
};

const keepaliveIneffective: Rule = ({ config }) => {
  const out: LintFinding[] = [];
  for (const pass of config.passes) {
    if (pass.directive !== 'proxy_pass') continue;
    const group = groupOf(config, pass);
    if (group?.options.keepalive === undefined) continue;
    const version = pass.settings.proxy_http_version;
    const headers = pass.settings.proxy_set_header;
    const http10 = version !== undefined && version.value !== '1.1';
    const connection = (headers?.value ?? '')
      .split('\n')
      .find((line) => line.toLowerCase().startsWith('connection '));
    const closes = connection === undefined || connection.slice('connection '.length).trim() !== '';
    if (!http10 && !closes) continue;
    const missing = [
      ...(http10 ? ['`proxy_http_version 1.1;`'] : []),
      ...(closes ? ['`proxy_set_header Connection "";`'] : []),
    ];
    out.push({
      rule: 'keepalive-ineffective',
      severity: 'warning',
      title: `upstream ${group.name} has keepalive, but ${place(pass)} ${http10 ? 'speaks HTTP/1.0' : 'sends "Connection: close"'}`,
      detail:
        'nginx opens a new connection for every request: the keepalive cache stays empty, and under load the host runs out of local ports (99: Cannot assign requested address) or the application its accept backlog.',
      fix: `Add ${missing.join(' and ')} where ${pass.directive} is (${pass.file}:${pass.line}).`,
      file: pass.file,
      line: pass.line,
      upstream: group.name,
      peers: pass.peers,
      explains: ['resource-port-exhaustion', 'upstream-overloaded'],
      evidence: [
        ...(version ? [quoteSetting('proxy_http_version', version)] : []),
        headers
          ? quoteSetting('proxy_set_header', { ...headers, value: headers.value.replace(/\n/g, '; ') })
          : '',
      ].filter((e) => e !== ''),
    });
  }
  return out;
};

const variablePassWithoutResolver: Rule = ({ config }) => {
  const out: LintFinding[] = [];
  for (const pass of config.passes) {
    if (!pass.variables || pass.target.startsWith('unix:')) continue;
    const resolver = pass.settings.resolver;
    if (resolver && resolver.value !== '') continue;
    out.push({
      rule: 'variable-pass-without-resolver',
      severity: 'error',
      title: `${place(pass)} is built from variables and no resolver is set`,
      detail:
        'nginx resolves a host name in a variable target at request time with `resolver`; without one every such request is a 502 ("no resolver defined to resolve …"), unless the variable always names an `upstream` block.',
      fix: `Add \`resolver <your DNS server> valid=30s;\` (e.g. \`resolver 127.0.0.53;\` with systemd-resolved, \`169.254.169.253\` in an AWS VPC) in the http or server block of ${pass.file}:${pass.line}.`,
      file: pass.file,
      line: pass.line,
      peers: [],
      explains: ['upstream-dns'],
      evidence: [
        `${pass.directive} ${pass.target} (${pass.file}:${pass.line})`,
        'resolver not set (nginx default)',
      ],
    });
  }
  return out;
};

function isLocalhost(peer: string): boolean {
  return peerHostPort(peer)?.host.toLowerCase() === 'localhost';
}

const localhostInPass: Rule = ({ config }) => {
  const out: LintFinding[] = [];
  for (const group of config.upstreamGroups) {
    for (const server of group.servers) {
      if (!isLocalhost(server.address)) continue;
      out.push(
        localhostFinding(
          server.address,
          server.file,
          server.line,
          `server ${server.address} (upstream ${group.name})`,
          group.name,
        ),
      );
    }
  }
  for (const pass of config.passes) {
    if (pass.group !== undefined) continue;
    const peer = pass.peers.find(isLocalhost);
    if (peer === undefined) continue;
    out.push(localhostFinding(peer, pass.file, pass.line, `${pass.directive} ${pass.target}`, undefined));
  }
  return out;
};

function localhostFinding(
  peer: string,
  file: string,
  line: number,
  quote: string,
  group: string | undefined,
): LintFinding {
  const port = peerHostPort(peer)?.port;
  return {
    rule: 'localhost-in-pass',
    severity: 'warning',
    title: `${quote} names localhost: nginx connects to both 127.0.0.1 and [::1]`,
    detail:
      'nginx resolves `localhost` once, at start, to every address it has and treats each as a server. An application that listens on one family only (Node.js ≥ 17 binding "localhost" gets [::1]) refuses the other: some requests fail with 502, and the error log shows `connect() failed (111: Connection refused)` for one of the two.',
    fix: `Write the address the application listens on: \`127.0.0.1:${port ?? 'PORT'}\` or \`[::1]:${port ?? 'PORT'}\` (check with \`ss -tlnp 'sport = :${port ?? 'PORT'}'\`), at ${file}:${line}.`,
    file,
    line,
    ...(group === undefined ? {} : { upstream: group }),
    peers: [peer],
    explains: ['upstream-down', 'upstream-wrong-address'],
    evidence: [`${quote} (${file}:${line})`],
  };
}

const singleServerNoFailover: Rule = ({ config }) => {
  const out: LintFinding[] = [];
  for (const group of config.upstreamGroups) {
    const active = group.servers.filter((s) => s.params.backup === undefined && s.params.down === undefined);
    const backups = group.servers.filter((s) => s.params.backup !== undefined);
    if (
      active.length !== 1 ||
      backups.length > 0 ||
      group.servers.some((s) => s.params.resolve !== undefined)
    )
      continue;
    const server = active[0]!;
    out.push({
      rule: 'single-server-no-failover',
      severity: 'info',
      title: `upstream ${group.name} has one server (${server.address}) and no backup`,
      detail:
        'Every restart, deploy or crash of that one server is a 502 for every request until it listens again; nginx has nowhere else to send them (with one server, `max_fails` and `fail_timeout` are ignored).',
      fix: `Run a second instance and add it to \`upstream ${group.name}\` (or a \`server … backup;\` that serves a maintenance page), and restart the application with a process manager that waits for the new process to listen before stopping the old one.`,
      file: group.file,
      line: group.line,
      upstream: group.name,
      peers: [server.address],
      explains: ['upstream-down', 'no-live-upstreams'],
      evidence: [`server ${server.address} (${server.file}:${server.line})`],
    });
  }
  return out;
};

const nextUpstreamNonIdempotent: Rule = ({ config }) => {
  const out: LintFinding[] = [];
  for (const pass of config.passes) {
    const next = setting(pass, 'next_upstream');
    const value = pass.settings[`${moduleOf(pass)}_next_upstream`];
    if (!next || !value || !/\bnon_idempotent\b/.test(value.value)) continue;
    out.push({
      rule: 'next-upstream-non-idempotent',
      severity: 'warning',
      title: `${next.name} retries non-idempotent requests for ${place(pass)}`,
      detail:
        'After an error or a timeout, nginx sends a POST, LOCK or PATCH again to the next server, although the first one may have acted on it: an order or payment can run twice, and a slow upstream gets each slow request more than once.',
      fix: `Remove \`non_idempotent\` from \`${next.name}\` (${value.file ?? pass.file}:${value.line ?? pass.line}), and make the endpoints that need retries idempotent (request ids).`,
      ...settingPlace(pass, next.name),
      ...(pass.group === undefined ? {} : { upstream: pass.group }),
      peers: pass.peers,
      explains: [],
      evidence: [next.quote],
    });
  }
  return out;
};

const bufferBelowObservedHeaders: Rule = ({ config, tooBigHeader }) => {
  if (!tooBigHeader || tooBigHeader.length === 0) return [];
  const out: LintFinding[] = [];
  for (const pass of config.passes) {
    const peers = pass.peers.filter((p) => tooBigHeader.includes(p));
    if (peers.length === 0) continue;
    const buffer = setting(pass, 'buffer_size');
    if (!buffer) continue;
    out.push({
      rule: 'buffer-below-observed-headers',
      severity: 'error',
      title: `${peers.join(', ')} sent response headers larger than ${buffer.name} (${pass.settings[buffer.name]?.value})`,
      detail:
        'nginx reads the whole response header into one buffer of this size; a larger header (big cookies, long redirects, JWTs) is a 502 with "upstream sent too big header".',
      fix: `Raise \`${buffer.name}\` (e.g. \`${buffer.name} 16k;\` and \`${moduleOf(pass)}_buffers 8 16k;\`) for ${place(pass)}, or make the headers smaller.`,
      ...settingPlace(pass, buffer.name),
      ...(pass.group === undefined ? {} : { upstream: pass.group }),
      peers,
      explains: ['upstream-header-too-big'],
      evidence: [buffer.quote, `nginx error.log: upstream sent too big header (${peers.join(', ')})`],
    });
  }
  return out;
};

/** The rules in the order their findings are listed within one severity. */
export const RULES: Record<LintRuleId, Rule> = {
  'keepalive-race': keepaliveRace,
  'variable-pass-without-resolver': variablePassWithoutResolver,
  'buffer-below-observed-headers': bufferBelowObservedHeaders,
  'read-timeout-below-app': readTimeoutBelowApp,
  'read-timeout-below-observed': readTimeoutBelowObserved,
  'localhost-in-pass': localhostInPass,
  'keepalive-ineffective': keepaliveIneffective,
  'next-upstream-non-idempotent': nextUpstreamNonIdempotent,
  'single-server-no-failover': singleServerNoFailover,
};
