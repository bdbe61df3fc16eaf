/**
 * nginx's own failures, which no upstream caused: `nginx-worker-connections` (its connection table is
 * full), `nginx-file-permission` (EACCES on its own temp, cache or body files) and `resource-disk-full`
 * for ENOSPC on them. A `(13: Permission denied)` on nginx's proxy_temp file is a file permission, never
 * SELinux denying a connect.
 */
import type { HostFacts } from '../diagnostics/host-facts.ts';
import type { FailureGroup } from '../nginx/error-log.ts';
import { baseCause, type Cause, type Context, formatBytes } from './context.ts';

/** The path nginx quotes in `open() "/var/lib/nginx/proxy/…" failed`. */
function quotedPath(group: FailureGroup): string | undefined {
  return /"([^"]+)"/.exec(group.example.entry.message)?.[1];
}

/** The filesystem a path is on: the mount with the longest prefix. */
export function diskOf(facts: HostFacts | undefined, path: string): HostFacts['disks'][number] | undefined {
  if (!facts) return undefined;
  return facts.disks
    .filter((d) => path === d.mount || path.startsWith(d.mount.endsWith('/') ? d.mount : `${d.mount}/`))
    .sort((a, b) => b.mount.length - a.mount.length)[0];
}

export function workerConnectionsCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'nginx-worker-connections', 0.9);
  const limit = /(\d+) worker_connections/.exec(group.example.entry.message)?.[1];
  cause.peer = group.peer;
  cause.summary = `nginx ran out of connections: ${limit ? `${limit} worker_connections` : 'worker_connections'} are not enough (${group.count}× in the window). Clients beyond the limit get no answer or a 502/500; each proxied request uses two connections (client and upstream).`;
  cause.nextSteps.push(
    `Raise \`worker_connections\` in the \`events {}\` block${limit ? ` (now ${limit})` : ''}, e.g. to 4096, and \`worker_rlimit_nofile\` to at least twice that; then \`nginx -t && nginx -s reload\`.`,
    'Check whether the connections are legitimate load or held open (slow clients, long upstream responses, `keepalive_timeout`).',
  );
  cause.ruledOut.push('the upstream: nginx itself refused the work before reaching it');
  return cause;
}

export function filePermissionCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'nginx-file-permission', 0.9);
  const path = quotedPath(group);
  const dir = path?.replace(/\/[^/]*$/, '');
  const worker = ctx.nginxFacts?.workerUser ?? 'the nginx worker user';
  cause.summary = `nginx's worker (${worker}) may not write its own file ${path ?? ''} (${group.count}×): the temp, cache or body directory belongs to another user, so buffered requests or responses fail. This is a file permission, not SELinux denying a connection.`;
  cause.nextSteps.push(
    `Give ${worker} its directories back: \`ls -ld ${dir ?? '/var/lib/nginx'}\`, then \`chown -R ${worker === 'the nginx worker user' ? 'WORKER' : worker} ${topTempDir(path) ?? '/var/lib/nginx'}\` (or point \`proxy_temp_path\`/\`client_body_temp_path\` at a directory it owns); then \`nginx -s reload\`.`,
  );
  cause.ruledOut.push('the upstream: the failure is in nginx writing its own file');
  return cause;
}

/** `/var/lib/nginx/proxy/1/00/0000000001` → `/var/lib/nginx/proxy`. */
function topTempDir(path: string | undefined): string | undefined {
  if (!path) return undefined;
  const m = /^(.*?\/[^/]*(?:_temp|proxy|fastcgi|uwsgi|scgi|body|cache)[^/]*)(?:\/|$)/.exec(path);
  return m?.[1];
}

export function ownDiskFullCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'resource-disk-full', 0.9);
  const path = quotedPath(group);
  const disk = path ? diskOf(ctx.nginxFacts, path) : undefined;
  if (disk) {
    cause.confidence = disk.usePercent >= 98 || (disk.inodeUsePercent ?? 0) >= 98 ? 0.95 : 0.85;
    cause.findings.push({
      category: 'resource-disk-full',
      severity: 'critical',
      title: `${disk.mount}, where nginx writes ${path}, is ${disk.usePercent}% full${disk.inodeUsePercent !== undefined ? ` (inodes ${disk.inodeUsePercent}%)` : ''}`,
      evidence: [
        {
          source: 'df -P',
          excerpt: `${disk.mount} ${disk.usePercent}% used, ${formatBytes(disk.availBytes)} free`,
        },
      ],
    });
  }
  cause.summary = `nginx could not write its own file ${path ?? ''}: no space left on ${disk?.mount ?? 'its filesystem'} (${group.count}×). Requests whose body or response nginx buffers to disk fail.`;
  cause.nextSteps.push(
    `Free space on ${disk?.mount ?? "the filesystem of nginx's temp paths"} (\`du -xh ${disk?.mount ?? '/var'} | sort -h | tail\`), or move \`proxy_temp_path\`/\`client_body_temp_path\` to a filesystem with room.`,
  );
  return cause;
}
