/**
 * GoAccess on the benchmark logs: one log-format definition for each format gatewatch reads, and one way
 * to run it (wall time from here, peak RSS from `/usr/bin/time -v` when present). Shared by access-log.ts
 * and diagnose-logs-only.ts so both compare against the same GoAccess invocation.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export type LogFormat = 'gatewatch' | 'combined';

const TIME = '/usr/bin/time';

export const GOACCESS_FORMATS: Record<LogFormat, string[]> = {
  // gw1 \t time \t status \t request_time \t 6 upstream/id fields \t remote \t "request" \t bytes \t "referer" \t "ua" \t host
  gatewatch: [
    '--log-format=gw1\\t%dT%t+%^\\t%s\\t%T\\t%^\\t%^\\t%^\\t%^\\t%^\\t%^\\t%h\\t"%r"\\t%b\\t"%R"\\t"%u"\\t%v',
    '--date-format=%Y-%m-%d',
    '--time-format=%T',
  ],
  combined: ['--log-format=COMBINED'],
};

export interface Measured {
  wallMs: number;
  maxRssKb: number;
}

export function hasTimeV(): boolean {
  if (!existsSync(TIME)) return false;
  return spawnSync(TIME, ['-v', 'true'], { encoding: 'utf8' }).status === 0;
}

/** Runs a command; wall time from here, peak RSS from `/usr/bin/time -v` when available. */
export function measure(
  command: string,
  args: string[],
  useTime: boolean,
): Measured & { stdout: string; stderr: string } {
  const started = process.hrtime.bigint();
  const result = useTime
    ? spawnSync(TIME, ['-v', command, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
    : spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${command} exited ${result.status}: ${(result.stderr ?? '').slice(-500)}`);
  }
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr ?? '');
  return {
    wallMs,
    maxRssKb: rss ? Number(rss[1]) : Number.NaN,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

export function goaccessVersion(): string | undefined {
  try {
    return execFileSync('goaccess', ['--version'], { encoding: 'utf8' }).split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

export function runGoAccess(
  file: string,
  format: LogFormat,
  out: string,
  useTime: boolean,
): Measured & { valid: number } {
  const m = measure(
    'goaccess',
    [file, '--no-global-config', ...GOACCESS_FORMATS[format], '-o', out],
    useTime,
  );
  const general = (JSON.parse(readFileSync(out, 'utf8')) as { general?: { valid_requests?: number } })
    .general;
  return { wallMs: m.wallMs, maxRssKb: m.maxRssKb, valid: general?.valid_requests ?? Number.NaN };
}
