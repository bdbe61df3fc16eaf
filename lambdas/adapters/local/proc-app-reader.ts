/**
 * Reads, on this host, what the application server behind a listening socket runs with: its command line
 * from `/proc/<pid>/cmdline`, and for php-fpm its pool files (named by the master's command line). Read
 * only; nothing is executed, and a process that is gone or unreadable is simply unknown.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type AppServerSettings,
  appServerSettings,
  phpFpmRequestTimeout,
} from '../../core/lint/app-settings.ts';

/** The argument vector of a process, or undefined when it is gone or not readable. */
export async function readCmdline(pid: number, procRoot = '/proc'): Promise<string[] | undefined> {
  try {
    const raw = await readFile(join(procRoot, String(pid), 'cmdline'), 'latin1');
    const argv = raw.split('\0').filter((a) => a !== '');
    // Some servers rewrite their title into argv[0] with spaces (`php-fpm: master process (/etc/…)`).
    return argv.length === 1 ? argv[0]!.split(' ') : argv;
  } catch {
    return undefined;
  }
}

/** The settings of the first of `pids` that is an application server gatewatch knows. */
export async function readAppServer(
  pids: readonly number[],
  procRoot = '/proc',
): Promise<AppServerSettings | undefined> {
  for (const pid of pids) {
    const argv = await readCmdline(pid, procRoot);
    if (argv === undefined) continue;
    const settings = appServerSettings(argv);
    if (settings === undefined) continue;
    if (settings.server === 'php-fpm') {
      const timeout = await phpFpmPoolTimeout(argv);
      if (timeout) settings.requestTimeout = timeout;
    }
    return settings;
  }
  return undefined;
}

async function phpFpmPoolTimeout(argv: readonly string[]): Promise<AppServerSettings['requestTimeout']> {
  const conf = /\((\/[^)]+\.conf)\)/.exec(argv.join(' '))?.[1];
  if (conf === undefined) return undefined;
  const files = [conf];
  try {
    const poolDir = join(dirname(conf), 'pool.d');
    for (const name of (await readdir(poolDir)).sort())
      if (name.endsWith('.conf')) files.push(join(poolDir, name));
  } catch {
    // no pool.d: the main file only
  }
  for (const file of files) {
    try {
      const found = phpFpmRequestTimeout(await readFile(file, 'utf8'), file);
      if (found) return found;
    } catch {
      // unreadable pool file: unknown
    }
  }
  return undefined;
}
