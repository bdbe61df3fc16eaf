/**
 * What every cause module shares: the {@link Cause} it returns, the {@link Context} of lookups over the
 * evidence, and the small helpers that quote evidence and word findings the same way everywhere.
 */
import type { UpstreamConfig } from '../config.ts';
import type { HostFacts, Listener } from '../diagnostics/host-facts.ts';
import { type NginxConfig, passesForPeer, quoteSetting, type UpstreamPass } from '../nginx/config.ts';
import type { FailureGroup, SymptomLink } from '../nginx/error-log.ts';
import { isUnixPeer, peerHostPort } from '../nginx/peer.ts';
import { redactText } from '../redact.ts';
import type { RootCause } from '../root-causes.ts';
import type { Evidence, Finding, UpstreamFailure } from '../types.ts';
import type { DiagnosisEvidence } from './evidence.ts';

/** Evidence lines quoted per finding: enough to see the pattern, few enough to read at 3 a.m. */
export const MAX_QUOTED_LINES = 3;

/** What one cause module concludes: a candidate verdict with its findings, next steps and exclusions. */
export interface Cause {
  rootCause: RootCause;
  peer: string | undefined;
  confidence: number;
  summary: string;
  findings: Finding[];
  nextSteps: string[];
  ruledOut: string[];
}

/** Lookups over the evidence that several causes need. */
export class Context {
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
    const prefix = pass.directive.replace(/_pass$/, '_');
    const key = Object.keys(pass.settings).find((name) => name.endsWith(suffix) && name.startsWith(prefix));
    const setting = key ? pass.settings[key] : undefined;
    if (!key || !setting) return undefined;
    const text = quoteSetting(key, setting);
    return { text, evidence: { source: 'nginx -T', excerpt: text } };
  }

  /** When the failures to explain began: the earliest failure that is not a symptom, else the window start. */
  get firstFailureAt(): string {
    const causes = this.groups.filter((g) => !isSymptom(g));
    const firsts = (causes.length > 0 ? causes : this.groups).map((g) => g.firstAt).sort();
    return firsts[0] ?? this.evidence.window.from;
  }
}

export function isSymptom(group: FailureGroup): boolean {
  return group.kind === 'no-live-upstreams' || group.kind === 'server-disabled';
}

/** The cause with the leading finding every error-log-based cause starts from. */
export function baseCause(
  ctx: Context,
  group: FailureGroup,
  rootCause: RootCause,
  confidence: number,
): Cause {
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
        evidence: [lineEvidence(ctx, group.example)],
      },
    ],
    nextSteps: [],
    ruledOut: [],
  };
}

export function lineEvidence(ctx: Context, failure: UpstreamFailure): Evidence {
  return {
    source: ctx.evidence.errorLogSource,
    excerpt: redactText(failure.entry.raw),
    at: failure.entry.at,
  };
}

export function listenEvidence(facts: HostFacts, peer: string | undefined): Evidence {
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

export function listenerFinding(
  facts: HostFacts,
  listener: Listener,
  severity: Finding['severity'],
  title: string,
  category: RootCause = 'upstream-down',
): Finding {
  return {
    category,
    severity,
    title,
    evidence: [
      { source: `ss -tlnp (${facts.host})`, excerpt: `${listener.address} ${describeListener(listener)}` },
    ],
  };
}

export function serviceEvidence(service: NonNullable<HostFacts['service']>): Evidence[] {
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

/**
 * The process manager already in charge of the upstream, if any: the hint's kind, or what the service's
 * facts and log show (a `process` hint for an app that pm2, systemd, docker or supervisord runs).
 */
export function processManagerOf(
  hint: UpstreamConfig['service'] | undefined,
  service: HostFacts['service'] | undefined,
): 'systemd' | 'docker' | 'pm2' | 'supervisord' | undefined {
  if (hint && 'systemd' in hint) return 'systemd';
  if (hint && 'docker' in hint) return 'docker';
  if (hint && 'pm2' in hint) return 'pm2';
  const text = `${hint && 'process' in hint ? hint.process : ''}\n${(service?.recentLog ?? []).join('\n')}`;
  if (/\bPM2\b|pm2[ -]/i.test(text)) return 'pm2';
  if (/supervisord|supervisorctl/i.test(text)) return 'supervisord';
  return undefined;
}

/** How to look at and restart the service, in the words of what already manages it. */
export function withServiceSteps(
  cause: Cause,
  hint: UpstreamConfig['service'] | undefined,
  service?: HostFacts['service'],
): Cause {
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
    const manager = processManagerOf(hint, service);
    cause.nextSteps.push(
      manager === 'pm2'
        ? `\`${hint.process}\` already runs under pm2: \`pm2 list\` and \`pm2 logs --lines 100\` show why it stopped; \`pm2 restart all\` (or the app's name) starts it again.`
        : manager === 'supervisord'
          ? `\`${hint.process}\` already runs under supervisord: \`supervisorctl status\` and \`supervisorctl tail -f <program> stderr\` show why it stopped; \`supervisorctl restart <program>\` starts it again.`
          : `Start \`${hint.process}\` again under a process manager that restarts it, and read its output for why it stopped.`,
    );
  }
  return cause;
}

export function describeKind(kind: UpstreamFailure['kind']): string {
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
    'file-permission': "permission denied on nginx's own file",
    'disk-full': "no space left for nginx's own file",
    rejected: 'upstream rejected the request (HTTP/2 error code)',
  };
  return words[kind];
}

export function describeListener(listener: Listener): string {
  return listener.processes.length > 0
    ? `${listener.processes.join(', ')} (pid ${listener.pids.join(', ')})`
    : 'a process';
}

export function quoteService(kind: string, name: string): string {
  return kind === 'process' ? `"${name}"` : `${kind} ${name}`;
}

export function portOf(peer: string | undefined): number | undefined {
  if (peer === undefined || isUnixPeer(peer)) return undefined;
  return peerHostPort(peer)?.port;
}

export function hasCategory(cause: Cause, category: RootCause): boolean {
  return cause.findings.some((f) => f.category === category);
}

export function hhmmss(iso: string): string {
  return iso.slice(11, 19) || iso;
}

export function hhmm(iso: string): string {
  return iso.slice(11, 16) || iso;
}

/** `12 minutes`, `40 seconds`, `3 hours`: a distance in time in words. */
export function distance(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 90) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} minutes`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} hours`;
  return `${Math.round(h / 24)} days`;
}

export function firstLine(text: string | undefined): string {
  return (text ?? '')
    .split('\n')[0]!
    .replace(/^nginx: /, '')
    .slice(0, 200);
}

export function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 10 || unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function unique(values: string[]): string[] {
  return [...new Set(values)];
}
