/**
 * `resource-disk-full` on the host: a full filesystem counts only when nginx or the upstream writes to it
 * (nginx's logs and temp paths, the upstream's socket, `/`, or a filesystem the service's own log says
 * it could not write to). A full unrelated mount stays in the report as context. When the service's log
 * shows it died of a full disk, the story is told as one: the disk is full, so the service died, so nginx
 * is refused.
 */
import type { HostFacts } from '../diagnostics/host-facts.ts';
import type { Finding } from '../types.ts';
import { type Cause, type Context, formatBytes, quoteService } from './context.ts';
import { diskOf } from './nginx-own.ts';

/** Disk use at or above this share of a filesystem is reported. */
export const DISK_WARN_PERCENT = 90;
export const DISK_FULL_PERCENT = 98;

const NGINX_PATHS = ['/var/lib/nginx', '/var/cache/nginx', '/var/log/nginx', '/run', '/tmp'];
const ENOSPC = /No space left on device|ENOSPC|disk (?:is )?full|Disk quota exceeded/i;

type Disk = HostFacts['disks'][number];

function isFull(disk: Disk): boolean {
  return disk.usePercent >= DISK_FULL_PERCENT || (disk.inodeUsePercent ?? 0) >= DISK_FULL_PERCENT;
}

function isNearlyFull(disk: Disk): boolean {
  return disk.usePercent >= DISK_WARN_PERCENT || (disk.inodeUsePercent ?? 0) >= DISK_WARN_PERCENT;
}

/** Paths nginx or the upstream are known to write to on this host. */
function knownPaths(ctx: Context, facts: HostFacts): string[] {
  const paths = [...NGINX_PATHS];
  for (const source of [ctx.evidence.errorLogSource, ctx.evidence.accessLogSource]) {
    if (source?.startsWith('/')) paths.push(source);
  }
  for (const socket of facts.sockets) paths.push(socket.path);
  for (const group of ctx.groups) if (group.peer?.startsWith('unix:')) paths.push(group.peer.slice(5));
  return paths;
}

/** Filesystems the service's own log says it could not write to (a path quoted near ENOSPC). */
function filesystemsTheServiceFilled(facts: HostFacts): { disks: Disk[]; line: string } | undefined {
  const line = facts.service?.recentLog.find((l) => ENOSPC.test(l));
  if (!line) return undefined;
  const paths = [...line.matchAll(/(\/[\w.@%+=:,/-]+)/g)].map((m) => m[1]!);
  const named = paths.flatMap((p) => {
    const disk = diskOf(facts, p);
    return disk && disk.mount !== '/' ? [disk] : [];
  });
  const disks = named.length > 0 ? named : facts.disks.filter(isFull);
  return { disks: [...new Set(disks)], line };
}

/** Whom a filesystem concerns: nginx or the upstream (`relevant`), or nobody known. */
function relevance(ctx: Context, facts: HostFacts, disk: Disk): 'relevant' | 'unrelated' {
  if (disk.mount === '/') return 'relevant';
  if (knownPaths(ctx, facts).some((p) => diskOf(facts, p)?.mount === disk.mount)) return 'relevant';
  if (filesystemsTheServiceFilled(facts)?.disks.includes(disk)) return 'relevant';
  return 'unrelated';
}

/** Findings for nearly full filesystems: critical or warning when they concern nginx or the upstream, else context. */
export function diskFindings(ctx: Context, facts: HostFacts, cause: Cause): Finding[] {
  const out: Finding[] = [];
  const where = ctx.facts.length > 1 ? ` on ${facts.host}` : '';
  for (const disk of facts.disks) {
    if (!isNearlyFull(disk)) continue;
    if (cause.findings.some((f) => f.category === 'resource-disk-full' && f.title.startsWith(disk.mount)))
      continue;
    const related = relevance(ctx, facts, disk) === 'relevant';
    const inodes = disk.inodeUsePercent !== undefined ? ` (inodes ${disk.inodeUsePercent}%)` : '';
    out.push({
      category: 'resource-disk-full',
      severity: !related ? 'info' : isFull(disk) ? 'critical' : 'warning',
      title: related
        ? `${disk.mount} is ${disk.usePercent}% full${inodes}${where}`
        : `Context, not the cause: ${disk.mount} is ${disk.usePercent}% full${inodes}${where}, but neither nginx nor the upstream is known to write there`,
      evidence: [
        {
          source: 'df -P',
          excerpt: `${disk.mount} ${disk.usePercent}% used, ${formatBytes(disk.availBytes)} free`,
        },
      ],
    });
    if (related && isFull(disk) && cause.rootCause === 'upstream-down') {
      cause.nextSteps.push(
        `Free space on ${disk.mount} (\`du -xh ${disk.mount} | sort -h | tail\`): a full disk stops services from starting or logging.`,
      );
    }
  }
  return out;
}

/** Every nearly full filesystem is unrelated or absent: disk space is ruled out as far as it concerns us. */
export function diskRuledOut(ctx: Context, facts: HostFacts): string | undefined {
  if (facts.disks.length === 0) return undefined;
  const label = ctx.facts.length > 1 ? ` on ${facts.host}` : '';
  if (facts.disks.every((d) => !isNearlyFull(d))) {
    return `disk space${label}: every filesystem below ${DISK_WARN_PERCENT}% used (df)`;
  }
  if (facts.disks.every((d) => !isNearlyFull(d) || relevance(ctx, facts, d) === 'unrelated')) {
    return `disk space${label}: every filesystem nginx or the upstream writes to is below ${DISK_WARN_PERCENT}% used (df)`;
  }
  return undefined;
}

/**
 * "The data disk is full, so the service died, so nginx is refused": an upstream found down or closing
 * connections whose own log says it could not write to a full filesystem.
 */
export function withDiskStory(ctx: Context, cause: Cause): Cause {
  if (cause.rootCause !== 'upstream-down' && cause.rootCause !== 'upstream-closed-early') return cause;
  const facts = ctx.factsFor(cause.peer);
  const hint = ctx.upstreamConfig(cause.peer)?.service;
  if (!facts?.service || !hint) return cause;
  const filled = filesystemsTheServiceFilled(facts);
  const disk = filled?.disks.find(isFull);
  if (!filled || !disk) return cause;
  const service = quoteService(facts.service.kind, facts.service.name);
  const consequence =
    cause.rootCause === 'upstream-down'
      ? `so nginx's connections to ${cause.peer} are refused`
      : `so nginx lost its connections to ${cause.peer} mid-request`;
  cause.rootCause = 'resource-disk-full';
  cause.confidence = 0.9;
  cause.summary = `${disk.mount} is full (${disk.usePercent}%), so the service ${service} ${facts.service.running ? 'failed' : 'died'} (its log: "${filled.line.trim().slice(0, 160)}"), ${consequence}.`;
  cause.findings.push({
    category: 'resource-disk-full',
    severity: 'critical',
    title: `${disk.mount} is ${disk.usePercent}% full and ${service} could not write to it`,
    evidence: [
      {
        source: 'df -P',
        excerpt: `${disk.mount} ${disk.usePercent}% used, ${formatBytes(disk.availBytes)} free`,
      },
      { source: `${facts.service.kind} log`, excerpt: filled.line },
    ],
  });
  cause.nextSteps.unshift(
    `Free space on ${disk.mount} first (\`du -xh ${disk.mount} | sort -h | tail\`), then restart ${service}: it will fail again while the disk is full.`,
  );
  return cause;
}
