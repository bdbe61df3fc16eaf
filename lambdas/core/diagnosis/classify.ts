/**
 * From the evidence to a verdict: which root cause, which upstream, how sure, what it rests on, what
 * was ruled out and what to do next. The nginx error log says what nginx saw; the host diagnostics say
 * why; the classifier joins the two the way an operator running the checklist would.
 */
import type { UpstreamConfig } from '../config.ts';
import type { HostFacts, Listener } from '../diagnostics/host-facts.ts';
import { listenerFor } from '../diagnostics/host-facts.ts';
import { type NginxConfig, passesForPeer, quoteSetting, type UpstreamPass } from '../nginx/config.ts';
import type { FailureGroup, SymptomLink } from '../nginx/error-log.ts';
import { isUnixPeer, peerHostPort } from '../nginx/peer.ts';
import { redactText } from '../redact.ts';
import type { RootCause } from '../root-causes.ts';
import type { CheckSummary, Evidence, Finding, UpstreamFailure, Verdict } from '../types.ts';
import type { DiagnosisEvidence, HostEvidence } from './evidence.ts';

export interface Classification {
  verdict: Verdict;
  findings: Finding[];
  ruledOut: string[];
  nextSteps: string[];
  checks: CheckSummary[];
}

/** Disk use at or above this share of a filesystem is reported. */
const DISK_WARN_PERCENT = 90;
const DISK_FULL_PERCENT = 98;
const MEMORY_LOW_SHARE = 0.05;
const FD_WARN_SHARE = 0.9;
/** Evidence lines quoted per finding: enough to see the pattern, few enough to read at 3 a.m. */
const MAX_QUOTED_LINES = 3;

interface Cause {
  rootCause: RootCause;
  peer: string | undefined;
  confidence: number;
  summary: string;
  findings: Finding[];
  nextSteps: string[];
  ruledOut: string[];
}

/** Classifies the evidence of one diagnosis. Pure and deterministic. */
export function classify(evidence: DiagnosisEvidence): Classification {
  const checks = summarizeChecks(evidence);
  const ctx = new Context(evidence);
  const cause = primaryCause(ctx);
  const findings = [...cause.findings, ...resourceFindings(ctx, cause), ...coverageFindings(ctx)];
  const nextSteps = unique([...cause.nextSteps, ...coverageNextSteps(ctx)]);
  const ruledOut = unique([...cause.ruledOut, ...ctx.ruledOutResources(cause)]);
  const verdict: Verdict = {
    rootCause: cause.rootCause,
    confidence: round(cause.confidence),
    summary: cause.summary,
  };
  if (cause.peer !== undefined) verdict.upstream = cause.peer;
  return { verdict, findings: dedupeFindings(findings), ruledOut, nextSteps, checks };
}

/** Lookups over the evidence that several rules need. */
class Context {
  readonly evidence: DiagnosisEvidence;
  readonly facts: HostFacts[];
  readonly nginxFacts: HostFacts | undefined;
  readonly groups: FailureGroup[];
  readonly symptoms: SymptomLink[];

  constructor(evidence: DiagnosisEvidence) {
    this.evidence = evidence;
    this.facts = evidence.hosts.flatMap((h) => (h.facts ? [h.facts] : []));
    this.nginxFacts = this.facts[0];
    this.groups = evidence.errorLog?.groups ?? [];
    this.symptoms = evidence.errorLog?.symptoms ?? [];
  }

  get config(): NginxConfig | undefined {
    return this.evidence.nginxConfig;
  }

  /** The configured upstream entry (with its service hint) for a peer, if the user listed it. */
  upstreamConfig(peer: string | undefined): UpstreamConfig | undefined {
    if (peer === undefined) return undefined;
    return this.evidence.target.upstreams.find((u) => u.address.toLowerCase() === peer.toLowerCase());
  }

  /** The facts of the host an upstream runs on: its configured host, else the nginx host. */
  factsFor(peer: string | undefined): HostFacts | undefined {
    const host = this.upstreamConfig(peer)?.host;
    if (host !== undefined && host !== 'local') return this.facts.find((f) => f.host === host);
    return this.nginxFacts;
  }

  passes(peer: string | undefined): UpstreamPass[] {
    if (!this.config || peer === undefined) return [];
    return passesForPeer(this.config, peer);
  }

  quote(peer: string | undefined, suffix: string): { text: string; evidence: Evidence } | undefined {
    const pass = this.passes(peer)[0];
    if (!pass) return undefined;
    const key = Object.keys(pass.settings).find(
      (name) => name.endsWith(suffix) && name.startsWith(prefixOf(pass)),
    );
    const setting = key ? pass.settings[key] : undefined;
    if (!key || !setting) return undefined;
    const text = quoteSetting(key, setting);
    return { text, evidence: { source: 'nginx -T', excerpt: text } };
  }

  ruledOutResources(cause: Cause): string[] {
    const out: string[] = [];
    for (const facts of this.facts) {
      const label = this.facts.length > 1 ? ` on ${facts.host}` : '';
      if (facts.disks.length > 0 && facts.disks.every((d) => d.usePercent < DISK_WARN_PERCENT)) {
        out.push(`disk space${label}: every filesystem below ${DISK_WARN_PERCENT}% used (df)`);
      }
      if (facts.memory && facts.memory.availableBytes / facts.memory.totalBytes >= MEMORY_LOW_SHARE) {
        out.push(
          `memory${label}: ${formatBytes(facts.memory.availableBytes)} of ${formatBytes(facts.memory.totalBytes)} available`,
        );
      }
      const oomCheck = facts.checks.find((c) => c.name === 'oom');
      if (oomCheck?.status === 'ok' && facts.oomKills.length === 0) {
        out.push(`OOM killer${label}: no "Killed process" messages in the kernel log`);
      }
      if (facts.nginxTest?.ok && cause.rootCause !== 'nginx-config-invalid') {
        out.push(`nginx configuration${label}: \`nginx -t\` passes`);
      }
    }
    for (const item of this.evidence.network?.ruledOut ?? []) out.push(item);
    return out;
  }
}

// ------------------------------------------------------------------------------------------ the cause

function primaryCause(ctx: Context): Cause {
  const nginxTest = ctx.nginxFacts?.nginxTest;
  const configInvalid = nginxTest !== undefined && !nginxTest.ok;
  const group = leadingGroup(ctx);

  if (!group) {
    const fromTraffic = upstreamAnsweredErrors(ctx);
    if (configInvalid) return configInvalidCause(ctx, 'verdict');
    if (fromTraffic) return fromTraffic;
    return healthyCause(ctx);
  }

  const cause = withNoLiveUpstreams(ctx, causeForGroup(ctx, group));
  if (configInvalid) {
    const extra = configInvalidCause(ctx, 'finding');
    cause.findings.push(...extra.findings);
    cause.nextSteps.push(...extra.nextSteps);
  }
  // Other upstreams failing differently in the same window: each is a finding of its own.
  for (const other of ctx.groups) {
    if (other === group || other.kind === 'no-live-upstreams' || other.kind === 'server-disabled') continue;
    if (other.peer === group.peer && other.rootCause === group.rootCause) continue;
    cause.findings.push({
      category: other.rootCause,
      severity: 'warning',
      title: `Also: ${describeKind(other.kind)} for ${other.peer ?? 'an upstream'} (${other.count}×)`,
      evidence: [lineEvidence(ctx, other.example)],
    });
  }
  return cause;
}

/** The failure group that explains the incident: symptoms resolved to their cause, then by count and recency. */
function leadingGroup(ctx: Context): FailureGroup | undefined {
  const causes = ctx.groups.filter((g) => !isSymptom(g));
  if (causes.length > 0) return causes[0];
  return ctx.groups[0];
}

function isSymptom(group: FailureGroup): boolean {
  return group.kind === 'no-live-upstreams' || group.kind === 'server-disabled';
}

function causeForGroup(ctx: Context, group: FailureGroup): Cause {
  // A firewall REJECT reaches nginx as "connection refused", a DROP as a connect timeout: a block found on
  // the path explains either.
  const blocked = (ctx.evidence.network?.blockedBy.length ?? 0) > 0;
  if (
    blocked &&
    (group.kind === 'refused' || group.kind === 'connect-timeout' || group.kind === 'unreachable')
  ) {
    return pathCause(ctx, group);
  }
  switch (group.kind) {
    case 'refused':
      return refusedCause(ctx, group);
    case 'read-timeout':
    case 'send-timeout':
      return timeoutCause(ctx, group);
    case 'connect-timeout':
    case 'unreachable':
      return pathCause(ctx, group);
    case 'closed-early':
      return closedEarlyCause(ctx, group);
    case 'invalid-response':
      return invalidResponseCause(ctx, group);
    case 'header-too-big':
      return headerTooBigCause(ctx, group);
    case 'tls':
      return tlsCause(ctx, group);
    case 'socket-missing':
      return socketMissingCause(ctx, group);
    case 'socket-permission':
      return socketPermissionCause(ctx, group);
    case 'no-live-upstreams':
    case 'server-disabled':
      return noLiveUpstreamsCause(ctx, group);
    default:
      return genericCause(ctx, group);
  }
}

function baseCause(ctx: Context, group: FailureGroup, rootCause: RootCause, confidence: number): Cause {
  return {
    rootCause,
    peer: group.peer,
    confidence,
    summary: '',
    findings: [
      {
        category: rootCause,
        severity: 'critical',
        title: `nginx: ${describeKind(group.kind)} for ${group.peer ?? 'the upstream'} (${group.count}× between ${hhmmss(group.firstAt)} and ${hhmmss(group.lastAt)})`,
        evidence: groupEvidence(ctx, group),
      },
    ],
    nextSteps: [],
    ruledOut: [],
  };
}

function refusedCause(ctx: Context, group: FailureGroup): Cause {
  const peer = group.peer;
  const facts = ctx.factsFor(peer);
  const hint = ctx.upstreamConfig(peer)?.service;
  const cause = baseCause(ctx, group, 'upstream-down', facts ? 0.85 : 0.7);
  const pass = ctx.passes(peer)[0];
  const target = pass ? ` (${pass.directive} ${pass.target} in ${pass.file}:${pass.line})` : '';

  if (!facts) {
    cause.summary = `nginx's connections to ${peer} were refused ${group.count} times: nothing was listening there${target}. The host was not examined, so whether the service is down or listening elsewhere is not established.`;
    cause.nextSteps.push(`On the upstream host: \`ss -tlnp | grep ':${portOf(peer)}'\` to see what listens.`);
    return withServiceSteps(cause, hint);
  }

  const listener = peer ? listenerFor(facts, peer) : undefined;
  if (listener) {
    cause.confidence = 0.6;
    cause.findings.push(listenerFinding(facts, listener, 'info', `${peer} is listening again now`));
    cause.summary = `${peer} refused nginx's connections ${group.count} times (last at ${hhmmss(group.lastAt)}), but ${describeListener(listener)} listens there now: the upstream was down and has come back (restart or crash loop).`;
    cause.nextSteps.push(
      'Find out why it stopped: the service log around the last refused connection, and its restart count.',
    );
    return withServiceSteps(withOom(facts, cause, hint, 'found nothing listening'), hint);
  }

  cause.findings.push({
    category: 'upstream-down',
    severity: 'critical',
    title: `Nothing listens on ${peer}`,
    evidence: [listenEvidence(facts, peer)],
  });

  // The host's service facts come from this upstream's hint only; another upstream's service says nothing here.
  const service = hint ? facts.service : undefined;
  if (service?.running && service.listening.length > 0) {
    const elsewhere = service.listening.filter((address) => address !== peer);
    if (elsewhere.length > 0) {
      cause.rootCause = 'upstream-wrong-address';
      cause.confidence = 0.9;
      cause.summary = `The service ${quoteService(service.kind, service.name)} is running but listens on ${elsewhere.join(', ')}, while nginx connects to ${peer}${target}: the addresses do not match.`;
      cause.findings.push({
        category: 'upstream-wrong-address',
        severity: 'critical',
        title: `${quoteService(service.kind, service.name)} listens on ${elsewhere.join(', ')}, not ${peer}`,
        evidence: [
          {
            source: `service (${service.kind})`,
            excerpt: `pids ${service.pids.join(', ')} listening on ${service.listening.join(', ')}`,
          },
        ],
      });
      cause.nextSteps.push(
        pass
          ? `Make them agree: change \`${pass.directive} ${pass.target}\` in ${pass.file}:${pass.line} to the address the service uses, or start the service on ${peer}; then \`nginx -t && nginx -s reload\`.`
          : `Make them agree: point nginx at ${elsewhere[0]} or start the service on ${peer}.`,
      );
      return cause;
    }
  }

  if (service && !service.running) {
    cause.confidence = 0.95;
    cause.findings.push({
      category: 'upstream-down',
      severity: 'critical',
      title: `The service ${quoteService(service.kind, service.name)} is not running`,
      evidence: serviceEvidence(service),
    });
  } else if (service?.running) {
    cause.confidence = 0.8;
    cause.findings.push({
      category: 'upstream-down',
      severity: 'warning',
      title: `The service ${quoteService(service.kind, service.name)} runs but listens on no TCP port`,
      evidence: serviceEvidence(service),
    });
  }
  const withOomCause = withOom(facts, cause, hint, 'found nothing listening');
  if (withOomCause.rootCause === 'upstream-down') {
    const who = service ? `the service ${quoteService(service.kind, service.name)}` : 'no process';
    withOomCause.summary = `Nothing listens on ${peer}${target}: ${who}${service && !service.running ? ' is not running' : service ? ' listens elsewhere or not at all' : ' was found on that port'}, so nginx's connections are refused (${group.count}× since ${hhmmss(group.firstAt)}).`;
    if (!hint) {
      withOomCause.nextSteps.push(
        `Add a \`service\` hint for ${peer} in gatewatch.yaml (process, systemd, docker or pm2) so gatewatch can tell "down" from "listening elsewhere".`,
      );
    }
  }
  return withServiceSteps(withOomCause, hint);
}

/** An OOM kill of the upstream turns "down" or "closed early" into "killed by the OOM killer". */
function withOom(
  facts: HostFacts,
  cause: Cause,
  hint: UpstreamConfig['service'],
  consequence: string,
): Cause {
  if (facts.oomKills.length === 0) return cause;
  const service = hint ? facts.service : undefined;
  const processName = hint && 'process' in hint ? hint.process.split(/\s+/)[0] : undefined;
  const matching = facts.oomKills.filter(
    (kill) =>
      (kill.pid !== undefined && service?.pids.includes(kill.pid)) ||
      (processName !== undefined && kill.process !== undefined && processName.endsWith(kill.process)) ||
      (service?.name !== undefined && kill.process !== undefined && service.name.includes(kill.process)),
  );
  const kills = matching.length > 0 ? matching : facts.oomKills;
  cause.findings.push({
    category: 'resource-memory-oom',
    severity: matching.length > 0 ? 'critical' : 'warning',
    title: `The kernel's OOM killer ended ${kills.map((k) => k.process ?? `pid ${k.pid}`).join(', ')}`,
    evidence: kills
      .slice(0, MAX_QUOTED_LINES)
      .map((kill) => ({ source: 'kernel log (dmesg)', excerpt: kill.line })),
  });
  if (matching.length > 0 || !service) {
    cause.rootCause = 'resource-memory-oom';
    cause.confidence = matching.length > 0 ? 0.9 : 0.7;
    cause.summary = `The upstream ${cause.peer ?? ''} was killed by the kernel's OOM killer (${kills[0]!.line.trim().slice(0, 160)}); nginx then ${consequence}.`;
    cause.nextSteps.unshift(
      'Give the upstream more memory or lower its usage (limits, leaks); `free -h` and `dmesg -T | grep -i "killed process"` on the host.',
    );
  }
  return cause;
}

function timeoutCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'upstream-timeout', 0.9);
  const setting = ctx.quote(group.peer, group.kind === 'send-timeout' ? 'send_timeout' : 'read_timeout');
  const slowest = group.peer ? ctx.evidence.traffic?.byUpstream[group.peer]?.maxResponseTime : undefined;
  const limit = setting ? ` (${setting.text})` : '';
  cause.summary = `${group.peer} accepted nginx's connections but did not answer in time${limit}: nginx gave up ${group.count} times${group.kind === 'read-timeout' ? ' waiting for the response header' : ' sending the request'} and answered 504.${slowest !== undefined ? ` Slowest upstream response in the access log: ${slowest}s.` : ''}`;
  if (setting) cause.findings[0]!.evidence.push(setting.evidence);
  cause.ruledOut.push(`connectivity to ${group.peer}: nginx connected (the timeout came after connecting)`);
  cause.nextSteps.push(
    `Find why ${group.peer} is slow for these requests (its own logs, CPU, database), then decide the limit.`,
    setting
      ? `If the upstream legitimately needs longer, raise the limit: ${setting.text} → e.g. 30s, then \`nginx -t && nginx -s reload\`.`
      : 'If the upstream legitimately needs longer, raise `proxy_read_timeout` for this location.',
  );
  return cause;
}

function pathCause(ctx: Context, group: FailureGroup): Cause {
  const rootCause: RootCause =
    group.kind === 'unreachable' ? 'upstream-unreachable' : 'upstream-connect-timeout';
  const cause = baseCause(ctx, group, rootCause, 0.75);
  const network = ctx.evidence.network;
  const blocks = network?.blockedBy ?? [];
  if (blocks.length > 0) {
    const first = blocks[0]!;
    cause.rootCause =
      first.kind === 'security-group'
        ? 'network-blocked-security-group'
        : first.kind === 'network-acl'
          ? 'network-blocked-nacl'
          : first.kind === 'host-firewall'
            ? 'network-blocked-host-firewall'
            : 'upstream-unreachable';
    cause.confidence = 0.9;
    cause.summary = `nginx could not reach ${group.peer}: ${first.kind} ${first.id} ${first.direction} blocks it (${first.rule}).`;
    for (const block of blocks) {
      cause.findings.push({
        category: cause.rootCause,
        severity: 'critical',
        title: `${block.kind} ${block.id} blocks ${block.direction}`,
        evidence: [{ source: block.kind, excerpt: block.rule }],
      });
      cause.nextSteps.push(block.fix);
    }
    return cause;
  }
  const setting = ctx.quote(group.peer, 'connect_timeout');
  if (setting) cause.findings[0]!.evidence.push(setting.evidence);
  cause.summary =
    group.kind === 'unreachable'
      ? `The network reported no route to ${group.peer} (${group.count}×): the host is down or a route is missing.`
      : `Connecting to ${group.peer} timed out ${group.count} times${setting ? ` (${setting.text})` : ''}: packets are dropped on the way (security group, network ACL, firewall) or the host is down.`;
  if (network?.status === 'skipped') {
    cause.nextSteps.push(
      `The network path was not checked (${network.reason ?? 'no network inventory'}): run \`gatewatch network --from <nginx host> --to ${group.peer}\`.`,
    );
  }
  cause.nextSteps.push(
    `From the nginx host: \`nc -vz -w 3 ${(group.peer ?? '').replace(/:(\d+)$/, ' $1')}\`; check security groups, network ACLs and \`iptables -S\` on both hosts.`,
  );
  return cause;
}

function closedEarlyCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'upstream-closed-early', 0.85);
  cause.summary = `${group.peer} accepted the requests but closed or reset the connection before a complete response (${group.count}×): the upstream crashed, restarted or aborted mid-request.`;
  const facts = ctx.factsFor(group.peer);
  const hint = ctx.upstreamConfig(group.peer)?.service;
  if (facts) {
    const service = hint ? facts.service : undefined;
    if (service?.restarts !== undefined && service.restarts > 0) {
      cause.findings.push({
        category: 'upstream-closed-early',
        severity: 'warning',
        title: `${quoteService(service.kind, service.name)} restarted ${service.restarts} times`,
        evidence: serviceEvidence(service),
      });
    }
    withOom(facts, cause, hint, 'lost the connection mid-request');
  }
  cause.nextSteps.push(
    `Read the upstream's own log at ${hhmmss(group.lastAt)} for a crash, an uncaught exception or a worker timeout (gunicorn/uwsgi/php-fpm kill slow workers).`,
    "Check the upstream's keep-alive timeout is longer than nginx's (`keepalive_timeout` upstream side) when the failures follow idle periods.",
  );
  return withServiceSteps(cause, hint);
}

function invalidResponseCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'upstream-invalid-response', 0.85);
  const pass = ctx.passes(group.peer)[0];
  cause.summary = `${group.peer} answered with something that is not valid HTTP (${group.count}×): nginx could not read the response header.`;
  cause.nextSteps.push(
    pass
      ? `Check that the upstream speaks what \`${pass.directive} ${pass.target}\` (${pass.file}:${pass.line}) expects: an HTTP server for proxy_pass over http://, TLS for https://, FastCGI for fastcgi_pass, uwsgi for uwsgi_pass.`
      : 'Check that the upstream speaks the protocol nginx uses for it (HTTP, TLS, FastCGI, uwsgi).',
    `\`curl -sv http://${group.peer ?? 'UPSTREAM'}/\` from the nginx host shows what it answers.`,
  );
  return cause;
}

function headerTooBigCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'upstream-header-too-big', 0.95);
  const setting = ctx.quote(group.peer, 'buffer_size');
  if (setting) cause.findings[0]!.evidence.push(setting.evidence);
  cause.summary = `${group.peer}'s response headers do not fit nginx's buffer${setting ? ` (${setting.text})` : ''}: nginx rejects the response (${group.count}×). Usually large cookies or many Set-Cookie headers.`;
  cause.nextSteps.push(
    setting
      ? `Raise the buffer: ${setting.text} → e.g. 16k (and proxy_buffers 8 16k), or shrink the upstream's headers; then \`nginx -t && nginx -s reload\`.`
      : 'Raise `proxy_buffer_size` (e.g. 16k) and `proxy_buffers` (e.g. 8 16k), or shrink the response headers.',
  );
  return cause;
}

function tlsCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'upstream-tls', 0.9);
  const pass = ctx.passes(group.peer)[0];
  const plainHttp = /wrong version number|packet length too long|unknown protocol|http request/i.test(
    group.example.entry.message,
  );
  cause.summary = plainHttp
    ? `nginx speaks TLS to ${group.peer} (https://) but the upstream answers plain HTTP: the TLS handshake fails (${group.count}×).`
    : `The TLS handshake between nginx and ${group.peer} failed (${group.count}×): protocol, cipher, SNI or certificate mismatch.`;
  cause.nextSteps.push(
    plainHttp && pass
      ? `Use http:// in \`${pass.directive} ${pass.target}\` (${pass.file}:${pass.line}) or enable TLS on the upstream.`
      : "Compare the upstream's TLS setup with nginx's `proxy_ssl_protocols`, `proxy_ssl_server_name on` and `proxy_ssl_verify`: `openssl s_client -connect HOST:PORT -servername NAME`.",
  );
  return cause;
}

function socketMissingCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'unix-socket-missing', 0.9);
  const path = group.peer?.replace(/^unix:/, '');
  const facts = ctx.factsFor(group.peer);
  const socket = facts?.sockets.find((s) => s.path === path);
  if (socket && !socket.exists) {
    cause.confidence = 0.95;
    cause.findings.push({
      category: 'unix-socket-missing',
      severity: 'critical',
      title: `${path} does not exist`,
      evidence: [{ source: 'stat', excerpt: `stat ${path}: No such file or directory` }],
    });
  } else if (socket?.exists) {
    cause.confidence = 0.6;
    cause.findings.push({
      category: 'unix-socket-missing',
      severity: 'info',
      title: `${path} exists now (the upstream has recreated it)`,
      evidence: [
        {
          source: 'stat',
          excerpt: `${socket.mode ?? ''} ${socket.owner ?? ''}:${socket.group ?? ''} ${path}`,
        },
      ],
    });
  }
  cause.summary = `The upstream's unix socket ${path} is missing (${group.count}×): the service that creates it is not running, or it creates it elsewhere.`;
  cause.nextSteps.push(
    `Start the service that creates ${path} and check its socket path matches nginx's (\`ls -l ${path}\`).`,
  );
  return withServiceSteps(cause, ctx.upstreamConfig(group.peer)?.service);
}

function socketPermissionCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'unix-socket-permission', 0.9);
  const path = group.peer?.replace(/^unix:/, '');
  const facts = ctx.factsFor(group.peer);
  const socket = facts?.sockets.find((s) => s.path === path);
  const worker = facts?.workerUser ?? 'the nginx worker user';
  if (socket?.exists) {
    cause.confidence = socket.accessibleToWorker === false ? 0.95 : 0.75;
    cause.findings.push({
      category: 'unix-socket-permission',
      severity: socket.accessibleToWorker === false ? 'critical' : 'info',
      title:
        socket.accessibleToWorker === false
          ? `${worker} may not open ${socket.blockingPath ?? path}`
          : `${path} looks accessible to ${worker} now`,
      evidence: [
        {
          source: 'stat',
          excerpt: `${socket.mode ?? '?'} ${socket.owner ?? '?'}:${socket.group ?? '?'} ${path}`,
        },
      ],
    });
  }
  cause.summary = `nginx's worker (${worker}) is denied access to the upstream socket ${path} (${group.count}×)${socket?.blockingPath && socket.blockingPath !== path ? `: the directory ${socket.blockingPath} blocks it` : socket?.mode ? `: it is ${socket.mode} ${socket.owner}:${socket.group}` : ''}.`;
  cause.nextSteps.push(
    `Let ${worker} write to the socket: create it with mode 0660 and group ${worker === 'the nginx worker user' ? 'of the worker' : worker} (e.g. \`listen.owner\`/\`listen.group\`/\`listen.mode\` for php-fpm, \`--chmod-socket=660\` for uwsgi, \`--umask\` for gunicorn), or add ${worker} to the socket's group; every parent directory needs search (x) permission.`,
  );
  return cause;
}

function noLiveUpstreamsCause(ctx: Context, group: FailureGroup): Cause {
  // Only symptoms in the window: the failures that disabled the servers happened before it.
  const cause = baseCause(ctx, group, 'no-live-upstreams', 0.5);
  cause.summary = `nginx has no live server left in upstream "${group.peer}" (${group.count}×), and the failures that disabled them are not in the window: widen --since to find the first one.`;
  cause.nextSteps.push(
    `Re-run with a wider window (\`gatewatch diagnose --since 2h\`) to find what first failed in "${group.peer}"; check \`max_fails\`/\`fail_timeout\` on its servers.`,
  );
  return cause;
}

/**
 * "no live upstreams" is a symptom: when its group's servers failed in the window, the cause found for
 * them is the verdict, and the symptom becomes a finding that explains why later requests failed fast.
 */
function withNoLiveUpstreams(ctx: Context, cause: Cause): Cause {
  const symptom = ctx.groups.find((g) => g.kind === 'no-live-upstreams');
  if (!symptom || cause.rootCause === 'no-live-upstreams') return cause;
  const members = ctx.config?.upstreamGroups
    .find((g) => g.name === symptom.peer)
    ?.servers.map((s) => s.address);
  const linked = ctx.symptoms
    .filter((s) => s.group === symptom.peer)
    .flatMap((s) => s.causes.map((c) => c.peer));
  const related =
    cause.peer === undefined ||
    members?.includes(cause.peer) === true ||
    linked.includes(cause.peer) ||
    (members === undefined && linked.length === 0);
  if (!related) return cause;
  const failing = ctx.groups.filter(
    (g) => !isSymptom(g) && g.peer !== undefined && (members ?? linked).includes(g.peer),
  );
  const servers = failing.length > 1 ? ` (${failing.map((g) => g.peer).join(', ')} all failing)` : '';
  cause.findings.push({
    category: 'no-live-upstreams',
    severity: 'warning',
    title: `nginx marked every server of upstream "${symptom.peer}" as failed${servers}: ${symptom.count}× "no live upstreams"`,
    evidence: [lineEvidence(ctx, symptom.example)],
  });
  cause.summary = `Every server of upstream "${symptom.peer}" is failing, so nginx has none left (${symptom.count}× "no live upstreams"). The cause: ${lowerFirst(cause.summary)}`;
  return cause;
}

function genericCause(ctx: Context, group: FailureGroup): Cause {
  const confidence = group.rootCause === 'unknown' ? 0.3 : 0.8;
  const cause = baseCause(ctx, group, group.rootCause, confidence);
  const steps: Partial<Record<RootCause, string>> = {
    'upstream-dns':
      'Make the name resolvable from the nginx host (`getent hosts NAME`), or define a `resolver` for names in variables.',
    'upstream-overloaded':
      "The upstream's accept queue is full: add workers/instances or raise its `listen` backlog (`somaxconn`).",
    'host-policy-denied':
      'SELinux/AppArmor denies nginx the connection: `ausearch -m avc -ts recent`; on SELinux `setsebool -P httpd_can_network_connect 1`.',
    'resource-fd-exhausted':
      'Raise `worker_rlimit_nofile` and the service limit (`LimitNOFILE`), and look for leaked connections.',
    'resource-port-exhaustion':
      'Reuse upstream connections (`keepalive` in the upstream block with `proxy_http_version 1.1` and `proxy_set_header Connection ""`), or widen `net.ipv4.ip_local_port_range`.',
  };
  cause.summary = `nginx reported ${describeKind(group.kind)} for ${group.peer ?? 'an upstream'} ${group.count} times.`;
  const step = steps[group.rootCause];
  if (step) cause.nextSteps.push(step);
  return cause;
}

function configInvalidCause(ctx: Context, role: 'verdict' | 'finding'): Cause {
  const test = ctx.nginxFacts?.nginxTest;
  const lines = (test?.output ?? '')
    .split('\n')
    .filter((line) => /\[(emerg|alert|crit|error)\]|failed/.test(line))
    .slice(0, MAX_QUOTED_LINES);
  const finding: Finding = {
    category: 'nginx-config-invalid',
    severity: role === 'verdict' ? 'critical' : 'warning',
    title: 'The nginx configuration on disk does not pass `nginx -t`',
    evidence: [
      { source: 'nginx -t', excerpt: redactText(lines.join('\n') || (test?.output ?? '').slice(0, 500)) },
    ],
  };
  return {
    rootCause: 'nginx-config-invalid',
    peer: undefined,
    confidence: 0.95,
    summary: `The configuration on disk fails \`nginx -t\` (${firstLine(lines[0])}). The running nginx still uses the last good one, but a reload or restart will fail.`,
    findings: [finding],
    nextSteps: ['Fix the line `nginx -t` names, run `nginx -t` until it passes, then `nginx -s reload`.'],
    ruledOut: [],
  };
}

function upstreamAnsweredErrors(ctx: Context): Cause | undefined {
  const traffic = ctx.evidence.traffic;
  if (!traffic || traffic.status5xx === 0) return undefined;
  const gateway = Object.entries(traffic.byUpstream)
    .map(([peer, stats]) => ({
      peer,
      count: (stats.byStatus['502'] ?? 0) + (stats.byStatus['504'] ?? 0) + (stats.byStatus['503'] ?? 0),
    }))
    .filter((u) => u.count > 0)
    .sort((a, b) => b.count - a.count)[0];
  if (!gateway) {
    return {
      rootCause: 'unknown',
      peer: undefined,
      confidence: 0.3,
      summary: `${traffic.status5xx} of ${traffic.requests} requests failed with 5xx, but nginx logged no upstream error in the window.`,
      findings: [
        {
          category: 'unknown',
          severity: 'warning',
          title: `${traffic.status5xx} responses with status 5xx and no upstream error in the error log`,
          evidence: traffic.samples.map((s) => ({ source: 'nginx access.log', excerpt: s })),
        },
      ],
      nextSteps: [
        'Check the upstream application logs for the 5xx responses it generated itself, and the error_log level (it must be `error` or lower to show upstream failures).',
      ],
      ruledOut: ['nginx-side upstream failures: the error log has none in the window'],
    };
  }
  return {
    rootCause: 'unknown',
    peer: gateway.peer,
    confidence: 0.5,
    summary: `${gateway.peer} itself answered 502/503/504 ${gateway.count} times (see $upstream_status); nginx passed the answers on. The failure is inside or behind that upstream.`,
    findings: [
      {
        category: 'unknown',
        severity: 'critical',
        title: `${gateway.peer} answered gateway errors itself (${gateway.count}×)`,
        evidence: traffic.samples.map((s) => ({ source: 'nginx access.log', excerpt: s })),
      },
    ],
    nextSteps: [
      `Follow the request into ${gateway.peer}: its logs and whatever it calls (another proxy, a database).`,
    ],
    ruledOut: [`nginx's connection to ${gateway.peer}: no upstream error in the error log`],
  };
}

function healthyCause(ctx: Context): Cause {
  const traffic = ctx.evidence.traffic;
  const requests = traffic
    ? `${traffic.requests} requests, ${traffic.status5xx} with 5xx`
    : 'no access log read';
  return {
    rootCause: 'healthy',
    peer: undefined,
    confidence: ctx.evidence.errorLog ? 0.9 : 0.4,
    summary: ctx.evidence.errorLog
      ? `No upstream failure in the window ${ctx.evidence.window.from} – ${ctx.evidence.window.to} (${requests}).`
      : 'The error log could not be read, and nothing else shows an upstream failure.',
    findings: [],
    nextSteps: [],
    ruledOut: ctx.evidence.errorLog ? ['upstream failures: none in the nginx error log for the window'] : [],
  };
}

// ------------------------------------------------------------------------------------------ the rest

function resourceFindings(ctx: Context, cause: Cause): Finding[] {
  const out: Finding[] = [];
  for (const facts of ctx.facts) {
    const where = ctx.facts.length > 1 ? ` on ${facts.host}` : '';
    for (const disk of facts.disks) {
      if (disk.usePercent >= DISK_WARN_PERCENT || (disk.inodeUsePercent ?? 0) >= DISK_WARN_PERCENT) {
        const full = disk.usePercent >= DISK_FULL_PERCENT || (disk.inodeUsePercent ?? 0) >= DISK_FULL_PERCENT;
        out.push({
          category: 'resource-disk-full',
          severity: full ? 'critical' : 'warning',
          title: `${disk.mount} is ${disk.usePercent}% full${disk.inodeUsePercent !== undefined ? ` (inodes ${disk.inodeUsePercent}%)` : ''}${where}`,
          evidence: [
            {
              source: 'df -P',
              excerpt: `${disk.mount} ${disk.usePercent}% used, ${formatBytes(disk.availBytes)} free`,
            },
          ],
        });
        if (full && cause.rootCause === 'upstream-down') {
          cause.nextSteps.push(
            `Free space on ${disk.mount} (\`du -xh ${disk.mount} | sort -h | tail\`): a full disk stops services from starting or logging.`,
          );
        }
      }
    }
    const memory = facts.memory;
    if (memory && memory.availableBytes / memory.totalBytes < MEMORY_LOW_SHARE) {
      out.push({
        category: 'resource-memory-oom',
        severity: 'warning',
        title: `Memory is nearly exhausted${where}: ${formatBytes(memory.availableBytes)} of ${formatBytes(memory.totalBytes)} available`,
        evidence: [
          {
            source: '/proc/meminfo',
            excerpt: `MemAvailable ${memory.availableBytes} of ${memory.totalBytes}`,
          },
        ],
      });
    }
    if (
      cause.rootCause !== 'resource-memory-oom' &&
      facts.oomKills.length > 0 &&
      !hasCategory(cause, 'resource-memory-oom')
    ) {
      out.push({
        category: 'resource-memory-oom',
        severity: 'warning',
        title: `The OOM killer ran${where}`,
        evidence: facts.oomKills
          .slice(0, MAX_QUOTED_LINES)
          .map((k) => ({ source: 'kernel log', excerpt: k.line })),
      });
    }
    const fds = facts.fileDescriptors;
    if (fds) {
      for (const proc of fds.processes) {
        if (proc.limit > 0 && proc.open / proc.limit >= FD_WARN_SHARE) {
          out.push({
            category: 'resource-fd-exhausted',
            severity: proc.open >= proc.limit ? 'critical' : 'warning',
            title: `${proc.name} (pid ${proc.pid}) uses ${proc.open} of ${proc.limit} file descriptors${where}`,
            evidence: [
              {
                source: `/proc/${proc.pid}/limits`,
                excerpt: `open ${proc.open}, Max open files ${proc.limit}`,
              },
            ],
          });
        }
      }
      if (fds.systemMax > 0 && fds.systemAllocated / fds.systemMax >= FD_WARN_SHARE) {
        out.push({
          category: 'resource-fd-exhausted',
          severity: 'critical',
          title: `The system file table is ${Math.round((100 * fds.systemAllocated) / fds.systemMax)}% full${where}`,
          evidence: [
            { source: '/proc/sys/fs/file-nr', excerpt: `${fds.systemAllocated} of ${fds.systemMax}` },
          ],
        });
      }
    }
  }
  return out;
}

/** What could not be looked at is said, not hidden. */
function coverageFindings(ctx: Context): Finding[] {
  const out: Finding[] = [];
  for (const failure of ctx.evidence.stepFailures) {
    out.push({
      category: 'unknown',
      severity: 'warning',
      title: `Step ${failure.step} failed: ${failure.error}`,
      evidence: failure.cause
        ? [{ source: failure.step, excerpt: redactText(failure.cause.slice(0, 2000)) }]
        : [],
    });
  }
  for (const host of ctx.evidence.hosts) {
    if (host.status !== 'done') {
      out.push({
        category: 'unknown',
        severity: 'warning',
        title: `Host ${host.host}: diagnostics ${host.status === 'timed-out' ? 'timed out' : 'failed'}`,
        evidence: host.error ? [{ source: 'diagnostics', excerpt: redactText(host.error) }] : [],
      });
    }
  }
  const notes = ctx.evidence.network?.notes ?? [];
  if (notes.length > 0) {
    out.push({
      category: 'unknown',
      severity: 'info',
      title: 'Network path: what could not be established',
      evidence: [{ source: 'network path check', excerpt: notes.join('\n') }],
    });
  }
  if (ctx.evidence.nginxConfigError) {
    out.push({
      category: 'unknown',
      severity: 'info',
      title: 'The nginx configuration could not be read; directives are not quoted',
      evidence: [{ source: 'nginx -T', excerpt: redactText(ctx.evidence.nginxConfigError) }],
    });
  }
  const malformed = (ctx.evidence.errorLog?.malformed ?? 0) + (ctx.evidence.traffic?.malformed ?? 0);
  if (malformed > 0) {
    out.push({
      category: 'unknown',
      severity: 'info',
      title: `${malformed} log lines were not in a known format and were skipped`,
      evidence: [],
    });
  }
  return out;
}

function coverageNextSteps(ctx: Context): string[] {
  if (ctx.evidence.logsOnly) {
    return [
      'This diagnosis read the logs only (--logs-only): run it on the hosts to confirm with live checks.',
    ];
  }
  return [];
}

function summarizeChecks(evidence: DiagnosisEvidence): CheckSummary[] {
  const many = evidence.hosts.length > 1;
  const out: CheckSummary[] = [];
  for (const host of evidence.hosts) {
    for (const check of host.facts?.checks ?? []) {
      const summary: CheckSummary = {
        name: many ? `${host.host}: ${check.name}` : check.name,
        status: check.status,
        durationMs: check.durationMs,
      };
      if (check.detail) summary.detail = redactText(check.detail);
      out.push(summary);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------ helpers

function groupEvidence(ctx: Context, group: FailureGroup): Evidence[] {
  return [lineEvidence(ctx, group.example)];
}

function lineEvidence(ctx: Context, failure: UpstreamFailure): Evidence {
  return {
    source: ctx.evidence.errorLogSource,
    excerpt: redactText(failure.entry.raw),
    at: failure.entry.at,
  };
}

function listenEvidence(facts: HostFacts, peer: string | undefined): Evidence {
  const port = portOf(peer);
  const tcp = facts.listeners.filter((l) => l.proto === 'tcp');
  const near = tcp
    .map((l) => `${l.address}${l.processes.length ? ` (${l.processes.join(',')})` : ''}`)
    .slice(0, 12)
    .join('\n');
  return {
    source: `ss -tlnp (${facts.host})`,
    excerpt: `no listener on ${peer}${port ? ` (port ${port})` : ''}; listening TCP sockets:\n${near || '(none)'}`,
  };
}

function listenerFinding(
  facts: HostFacts,
  listener: Listener,
  severity: Finding['severity'],
  title: string,
): Finding {
  return {
    category: 'upstream-down',
    severity,
    title,
    evidence: [
      { source: `ss -tlnp (${facts.host})`, excerpt: `${listener.address} ${describeListener(listener)}` },
    ],
  };
}

function serviceEvidence(service: NonNullable<HostFacts['service']>): Evidence[] {
  const state = [
    `${service.kind} ${service.name}: ${service.running ? 'running' : 'not running'}`,
    service.state ? `state ${service.state}` : '',
    service.restarts !== undefined ? `restarts ${service.restarts}` : '',
    service.lastExitStatus !== undefined ? `last exit status ${service.lastExitStatus}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const evidence: Evidence[] = [{ source: `service (${service.kind})`, excerpt: state }];
  if (service.recentLog.length > 0) {
    evidence.push({
      source: `${service.kind} log`,
      excerpt: redactText(service.recentLog.slice(-10).join('\n')),
    });
  }
  return evidence;
}

function withServiceSteps(cause: Cause, hint: UpstreamConfig['service'] | undefined): Cause {
  if (!hint) return cause;
  if ('systemd' in hint) {
    cause.nextSteps.push(
      `\`systemctl status ${hint.systemd}\` and \`journalctl -u ${hint.systemd} -n 200 --no-pager\`; then \`systemctl restart ${hint.systemd}\`.`,
    );
  } else if ('docker' in hint) {
    cause.nextSteps.push(
      `\`docker ps -a --filter name=${hint.docker}\` and \`docker logs --tail 200 ${hint.docker}\`; then \`docker start ${hint.docker}\`.`,
    );
  } else if ('pm2' in hint) {
    cause.nextSteps.push(`\`pm2 logs ${hint.pm2} --lines 100\`; then \`pm2 restart ${hint.pm2}\`.`);
  } else {
    cause.nextSteps.push(
      `Start \`${hint.process}\` again under a process manager that restarts it, and read its output for why it stopped.`,
    );
  }
  return cause;
}

function describeKind(kind: UpstreamFailure['kind']): string {
  const words: Record<UpstreamFailure['kind'], string> = {
    refused: 'connection refused',
    'connect-timeout': 'connect timed out',
    'read-timeout': 'timed out waiting for the response',
    'send-timeout': 'timed out sending the request',
    'closed-early': 'connection closed/reset mid-request',
    'invalid-response': 'invalid HTTP response',
    'header-too-big': 'response header too big',
    tls: 'TLS handshake failed',
    dns: 'name not resolved',
    'socket-missing': 'unix socket missing',
    'socket-permission': 'unix socket permission denied',
    'tcp-permission': 'connect permission denied',
    overloaded: 'accept queue full',
    unreachable: 'no route to host',
    'fd-exhausted': 'too many open files',
    'port-exhaustion': 'no free local port',
    'no-live-upstreams': 'no live upstreams',
    'server-disabled': 'server temporarily disabled',
    'worker-connections': 'worker_connections exhausted',
    'disk-full': 'no space left writing a temp/cache/body file',
    'file-permission': "permission denied on nginx's own temp/cache/body file",
    rejected: 'upstream rejected the request (HTTP/2 error code)',
  };
  return words[kind];
}

function describeListener(listener: Listener): string {
  return listener.processes.length > 0
    ? `${listener.processes.join(', ')} (pid ${listener.pids.join(', ')})`
    : 'a process';
}

function quoteService(kind: string, name: string): string {
  return kind === 'process' ? `"${name}"` : `${kind} ${name}`;
}

function prefixOf(pass: UpstreamPass): string {
  return pass.directive.replace(/_pass$/, '_');
}

function portOf(peer: string | undefined): number | undefined {
  if (peer === undefined || isUnixPeer(peer)) return undefined;
  return peerHostPort(peer)?.port;
}

function hasCategory(cause: Cause, category: RootCause): boolean {
  return cause.findings.some((f) => f.category === category);
}

function hhmmss(iso: string): string {
  return iso.slice(11, 19) || iso;
}

function firstLine(text: string | undefined): string {
  return (text ?? '')
    .split('\n')[0]!
    .replace(/^nginx: /, '')
    .slice(0, 200);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 10 || unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function round(value: number): number {
  return Math.round(Math.max(0, Math.min(1, value)) * 100) / 100;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function dedupeFindings(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.category}|${f.title}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Host evidence in the order the classifier reads it: the nginx host first. */
export function orderHosts(hosts: HostEvidence[], nginxHost: string): HostEvidence[] {
  return [...hosts].sort((a, b) => Number(b.host === nginxHost) - Number(a.host === nginxHost));
}
