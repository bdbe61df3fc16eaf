/**
 * The reachability answer for a person: the path step by step, then each block with its fix.
 * The CLI and the report use this one renderer.
 */
import type { Endpoint, PathStep, ReachabilityResult } from './types.ts';

const MARK: Record<PathStep['decision'], string> = {
  allow: 'ok  ',
  deny: 'DENY',
  unknown: '?   ',
  'not-applicable': 'n/a ',
};

function endpointText(endpoint: Endpoint, port?: number): string {
  const address = endpoint.ip ?? endpoint.input;
  const hostPort =
    port === undefined ? address : address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  const parts = [
    endpoint.instanceId &&
      (endpoint.instanceName ? `${endpoint.instanceId} "${endpoint.instanceName}"` : endpoint.instanceId),
    endpoint.interfaceId,
    endpoint.subnetId,
  ].filter(Boolean);
  return parts.length > 0 ? `${hostPort} (${parts.join(', ')})` : hostPort;
}

/** Plain text, one line per step; no colours, so it reads the same in a terminal, a log and an e-mail. */
export function renderReachabilityText(result: ReachabilityResult): string {
  const { path } = result;
  const lines: string[] = [];
  lines.push(`${path.protocol} from ${endpointText(path.from)} to ${endpointText(path.to, path.port)}`);
  const verdict = result.verdict.toUpperCase();
  const count = result.blockedBy.length;
  lines.push(`verdict: ${verdict}${count > 0 ? ` by ${count} component${count === 1 ? '' : 's'}` : ''}`);
  if (path.steps.length > 0) {
    lines.push('', 'path:');
    const kindWidth = Math.max(...path.steps.map((s) => s.kind.length));
    const dirWidth = Math.max(...path.steps.map((s) => s.direction.length));
    for (const step of path.steps) {
      lines.push(
        `  ${MARK[step.decision]} ${step.kind.padEnd(kindWidth)}  ${step.direction.padEnd(dirWidth)}  ${step.detail}`,
      );
    }
  }
  if (count > 0) {
    lines.push('', 'blocked by:');
    for (const [i, block] of result.blockedBy.entries()) {
      lines.push(`  ${i + 1}. ${block.kind} ${block.id} (${block.direction}): ${block.reason}`);
      lines.push(`     fix: ${block.fix}`);
    }
  }
  if (result.notes.length > 0) {
    lines.push('', 'notes:');
    for (const note of result.notes) lines.push(`  - ${note}`);
  }
  return `${lines.join('\n')}\n`;
}
