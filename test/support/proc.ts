/**
 * Processes as /proc shows them (Linux), for tests that assert nothing a command started outlives it.
 * A zombie (state Z) has ended: it only waits for its parent (here often a PID 1 that does not reap) to
 * collect its exit status, so it counts as gone.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

function stat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid …: comm may hold spaces and parentheses
    const close = text.lastIndexOf(')');
    const [state, ppid] = text.slice(close + 2).split(' ');
    return { pid, ppid: Number(ppid), state: state!, comm: text.slice(text.indexOf('(') + 1, close) };
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live process (not gone, not a zombie). */
export function isRunning(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z';
}

/** Every live process below `pid` (children, their children, …), with its command name. */
export function descendants(pid: number): { pid: number; comm: string }[] {
  const all: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s !== undefined && s.state !== 'Z') all.push(s);
  }
  const found: { pid: number; comm: string }[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const s of all) {
      if (s.ppid === parent) {
        found.push({ pid: s.pid, comm: s.comm });
        queue.push(s.pid);
      }
    }
  }
  return found;
}
