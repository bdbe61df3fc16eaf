// Two network namespaces joined by a veth pair: the project's own test "hosts" on this machine.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Empty when this machine lets tests create network namespaces and run iptables in them; else why not. */
export const NETNS_SKIP_REASON = (() => {
  const probe = `gw-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'exec', probe, 'iptables-save'], { stdio: 'ignore' });
    return '';
  } catch {
    return '(skipped: network namespaces are not permitted here: needs root, `ip netns` and iptables)';
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
    } catch {
      // never created
    }
  }
})();

export interface NamespacePair {
  nginxNs: string;
  upstreamNs: string;
  nginxIp: string;
  upstreamIp: string;
  /** Runs a command inside a namespace. */
  inNs(ns: string, ...command: string[]): Promise<{ stdout: string; stderr: string }>;
  /** The `ip netns exec NS` prefix, for spawning long-running processes inside a namespace. */
  prefix(ns: string): string[];
  destroy(): Promise<void>;
}

/** Creates `<name>-nginx` (10.200.N.1) and `<name>-up` (10.200.N.2) with a veth between them. */
export async function createNamespacePair(name: string, subnet = 0): Promise<NamespacePair> {
  const nginxNs = `${name}-nginx`;
  const upstreamNs = `${name}-up`;
  const id = `${process.pid % 100000}${subnet}`;
  const [nginxDev, upstreamDev] = [`gwn${id}`, `gwu${id}`];
  const nginxIp = `10.200.${subnet}.1`;
  const upstreamIp = `10.200.${subnet}.2`;
  const inNs = (ns: string, ...command: string[]) => run('ip', ['netns', 'exec', ns, ...command]);
  await run('ip', ['netns', 'add', nginxNs]);
  await run('ip', ['netns', 'add', upstreamNs]);
  await run('ip', ['link', 'add', nginxDev, 'type', 'veth', 'peer', 'name', upstreamDev]);
  await run('ip', ['link', 'set', nginxDev, 'netns', nginxNs]);
  await run('ip', ['link', 'set', upstreamDev, 'netns', upstreamNs]);
  await inNs(nginxNs, 'ip', 'addr', 'add', `${nginxIp}/24`, 'dev', nginxDev);
  await inNs(upstreamNs, 'ip', 'addr', 'add', `${upstreamIp}/24`, 'dev', upstreamDev);
  for (const [ns, dev] of [
    [nginxNs, nginxDev],
    [upstreamNs, upstreamDev],
  ] as const) {
    await inNs(ns, 'ip', 'link', 'set', dev, 'up');
    await inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
  }
  return {
    nginxNs,
    upstreamNs,
    nginxIp,
    upstreamIp,
    inNs,
    prefix: (ns) => ['ip', 'netns', 'exec', ns],
    async destroy() {
      for (const ns of [nginxNs, upstreamNs]) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    },
  };
}
