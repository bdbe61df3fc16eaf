/**
 * The host's resources as context around any verdict: filesystems (see disk-full.ts), memory, file
 * descriptors, and OOM kills that no cause claimed — each said with when and whom, so that a stale kill of
 * another process reads as what it is.
 */
import type { Finding } from '../types.ts';
import { type Cause, type Context, formatBytes, hasCategory } from './context.ts';
import { diskFindings, diskRuledOut } from './disk-full.ts';
import { oomContextFinding, weighOomKills } from './memory-oom.ts';

const MEMORY_LOW_SHARE = 0.05;
const FD_WARN_SHARE = 0.9;

export function resourceFindings(ctx: Context, cause: Cause): Finding[] {
  const out: Finding[] = [];
  for (const facts of ctx.facts) {
    const where = ctx.facts.length > 1 ? ` on ${facts.host}` : '';
    out.push(...diskFindings(ctx, facts, cause));
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
    if (facts.oomKills.length > 0 && !hasCategory(cause, 'resource-memory-oom')) {
      // No cause weighed these kills against its upstream: weigh them against the failures as a whole.
      const weighed = weighOomKills(facts.oomKills, {
        firstAt: ctx.firstFailureAt,
        lastAt: cause.rootCause === 'healthy' ? ctx.evidence.window.to : lastFailureAt(ctx),
        windowFrom: ctx.evidence.window.from,
        firstWhat: ctx.groups.length > 0 ? 'the first failure' : 'the start of the window',
      });
      out.push(
        oomContextFinding(
          weighed.map((w) => (w.explains ? { ...w, reason: `${w.reason}; no upstream named it` } : w)),
          facts.host,
          ctx.facts.length > 1,
        ),
      );
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

function lastFailureAt(ctx: Context): string {
  return (
    ctx.groups
      .map((g) => g.lastAt)
      .sort()
      .at(-1) ?? ctx.evidence.window.to
  );
}

/** What the host's resources rule out. */
export function resourcesRuledOut(ctx: Context, cause: Cause, configTested: boolean): string[] {
  const out: string[] = [];
  for (const facts of ctx.facts) {
    const label = ctx.facts.length > 1 ? ` on ${facts.host}` : '';
    const disk = diskRuledOut(ctx, facts);
    if (disk) out.push(disk);
    if (facts.memory && facts.memory.availableBytes / facts.memory.totalBytes >= MEMORY_LOW_SHARE) {
      out.push(
        `memory${label}: ${formatBytes(facts.memory.availableBytes)} of ${formatBytes(facts.memory.totalBytes)} available`,
      );
    }
    const oomCheck = facts.checks.find((c) => c.name === 'oom');
    if (oomCheck?.status === 'ok' && facts.oomKills.length === 0) {
      out.push(`OOM killer${label}: no "Killed process" messages in the kernel log`);
    } else if (oomCheck?.status === 'ok' && cause.rootCause !== 'resource-memory-oom') {
      out.push(
        `OOM killer${label}: no kill fits the failures in time and identity (kills weighed as context)`,
      );
    }
    if (configTested && facts.nginxTest?.ok && cause.rootCause !== 'nginx-config-invalid') {
      out.push(`nginx configuration${label}: \`nginx -t\` passes`);
    }
  }
  for (const item of ctx.evidence.network?.ruledOut ?? []) out.push(item);
  return out;
}
