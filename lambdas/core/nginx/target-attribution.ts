/**
 * Which target an access-log line belongs to, when several targets name the same access log (one nginx
 * writing one `access_log` for several `server` blocks). Without this each target counted the whole log,
 * and one site's 502s raised every site's error-rate alarm.
 *
 * The rule (documented in the README, "Targets that share one access log"):
 *
 * - A log named by one target only: every line is that target's.
 * - A shared log: each target is scored on the line's evidence. One point when `$host` matches one of the
 *   target's host names (`nginx.serverNames`, else the host of its probe URL, or the probe's `Host`
 *   header); one point when an upstream nginx tried for the request (`$upstream_addr`, every attempt) is
 *   one of the target's `upstreams[].address`. The line counts for the target(s) with the highest score,
 *   and for nobody when every score is 0 (it is counted as unattributed, never silently for all).
 * - Names match case-insensitively; `*.example.com` and `.example.com` match any sub-domain, as in
 *   nginx's `server_name`. Ports are not in the log (`$host` has none), so two targets that differ only by
 *   port are told apart by their upstreams.
 * - `combined` lines carry neither `$host` nor `$upstream_addr`: in a shared log they are unattributed.
 *
 * Pure: the watcher feeds it each parsed line's host and peers.
 */
import { parseUpstream } from './peer.ts';

/** What identifies a target's lines in a shared access log. */
export interface TargetIdentity {
  name: string;
  /** Lower-case host names, exact (`shop.example.com`) or wildcard (`*.example.com`, `.example.com`). */
  hosts: readonly string[];
  /** Upstream peers in `parseUpstream` spelling (`127.0.0.1:3000`, `unix:/run/app.sock`). */
  upstreams: readonly string[];
}

/** The parts of a target's configuration the rule reads. */
export interface AttributableTarget {
  name: string;
  probe?: { url?: string | undefined; headers?: Record<string, string> | undefined } | undefined;
  nginx: { serverNames?: readonly string[] | undefined };
  upstreams: readonly { address: string }[];
}

/** A target's identity from its configuration (see the module comment for where each part comes from). */
export function targetIdentity(target: AttributableTarget): TargetIdentity {
  const hosts = new Set<string>();
  const configured = target.nginx.serverNames ?? [];
  for (const name of configured) hosts.add(name.toLowerCase());
  if (configured.length === 0 && target.probe !== undefined) {
    const header = Object.entries(target.probe.headers ?? {}).find(([name]) => name.toLowerCase() === 'host');
    const fromHeader = header?.[1].trim().toLowerCase().replace(/:\d+$/, '');
    if (fromHeader) hosts.add(fromHeader);
    else if (target.probe.url !== undefined) {
      try {
        hosts.add(new URL(target.probe.url).hostname.toLowerCase().replace(/^\[|\]$/g, ''));
      } catch {
        // a probe without a parsable URL (a TCP probe) names no host
      }
    }
  }
  return {
    name: target.name,
    hosts: [...hosts],
    upstreams: [...new Set(target.upstreams.map((u) => parseUpstream(u.address).peer))],
  };
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  if (pattern.startsWith('.')) return host === pattern.slice(1) || host.endsWith(pattern);
  return host === pattern;
}

/** Decides, line by line, which of the targets sharing one access log a line counts for. */
export class TargetAttribution {
  readonly #targets: readonly TargetIdentity[];
  readonly #all: readonly string[];
  readonly #none: readonly string[] = [];

  constructor(targets: readonly TargetIdentity[]) {
    this.#targets = targets;
    this.#all = targets.map((t) => t.name);
  }

  /** Whether the log is shared (with one target, every line is that target's). */
  get shared(): boolean {
    return this.#targets.length > 1;
  }

  /**
   * The targets a line counts for: `host` is `$host` (absent in `combined`), `peers` the upstreams nginx
   * tried (normalised). Empty when no target can claim the line.
   */
  targetsOf(host: string | undefined, peers: readonly string[]): readonly string[] {
    if (!this.shared) return this.#all;
    const lowerHost = host?.toLowerCase().replace(/\.$/, '');
    let best = 0;
    let winners: string[] = [];
    for (const target of this.#targets) {
      let score = 0;
      if (
        lowerHost !== undefined &&
        lowerHost !== '' &&
        target.hosts.some((p) => hostMatches(p, lowerHost))
      ) {
        score++;
      }
      if (peers.length > 0 && target.upstreams.some((u) => peers.includes(u))) score++;
      if (score === 0 || score < best) continue;
      if (score > best) {
        best = score;
        winners = [];
      }
      winners.push(target.name);
    }
    return best === 0 ? this.#none : winners;
  }
}
