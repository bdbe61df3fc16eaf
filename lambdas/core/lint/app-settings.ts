/**
 * What an upstream application server does with time, read from its command line: how long it keeps an
 * idle keep-alive connection open, and how long it lets one request run. Each value says where it came
 * from: the command line, or the server's documented default when the command line does not set it.
 *
 * Pure: the caller reads `/proc/<pid>/cmdline` (or a service's command) and passes the argument vector.
 */

/** A duration in seconds and where it was read. */
export interface AppSetting {
  seconds: number;
  /** `--keep-alive 5 (command line)`, `gunicorn's default keep-alive 2 s`. */
  source: string;
  isDefault: boolean;
}

export interface AppServerSettings {
  /** `node`, `gunicorn`, `uvicorn`, `uwsgi`, `php-fpm`, `puma`. */
  server: string;
  /** The command line as read (joined with spaces), for the report. */
  command: string;
  /** The app closes an idle keep-alive connection after this long. */
  keepAlive?: AppSetting;
  /** The app gives up on (or kills the worker of) a request after this long. */
  requestTimeout?: AppSetting;
}

/**
 * Documented defaults:
 * - Node.js `server.keepAliveTimeout` 5000 ms, `server.requestTimeout` 300000 ms (since v18):
 *   https://nodejs.org/api/http.html#serverkeepalivetimeout
 * - gunicorn `--keep-alive` 2 s, `--timeout` 30 s: https://docs.gunicorn.org/en/stable/settings.html
 * - uvicorn `--timeout-keep-alive` 5 s: https://www.uvicorn.org/settings/#timeouts
 * - uWSGI `--http-keepalive` off, `--harakiri` off: https://uwsgi-docs.readthedocs.io/en/latest/Options.html
 * - puma `persistent_timeout` 20 s: https://puma.io/puma/Puma/DSL.html
 */
const DEFAULTS: Record<string, { keepAlive?: number; requestTimeout?: number }> = {
  node: { keepAlive: 5, requestTimeout: 300 },
  gunicorn: { keepAlive: 2, requestTimeout: 30 },
  uvicorn: { keepAlive: 5 },
  puma: { keepAlive: 20 },
  uwsgi: {},
  'php-fpm': {},
};

/** Flags that set each value, per server: flag → which value. */
const FLAGS: Record<string, Record<string, 'keepAlive' | 'requestTimeout'>> = {
  gunicorn: { '--keep-alive': 'keepAlive', '--timeout': 'requestTimeout', '-t': 'requestTimeout' },
  uvicorn: { '--timeout-keep-alive': 'keepAlive' },
  uwsgi: { '--harakiri': 'requestTimeout', '--http-keepalive': 'keepAlive' },
};

/** Which application server an argument vector starts, or undefined when it is none gatewatch knows. */
export function serverOf(argv: readonly string[]): string | undefined {
  const words = argv.slice(0, 4).map((a) => a.split('/').pop() ?? a);
  const first = words[0] ?? '';
  if (/^php-fpm/.test(first) || /^php-fpm/.test(argv[0] ?? '')) return 'php-fpm';
  for (const word of words) {
    if (word === 'gunicorn' || word.startsWith('gunicorn:')) return 'gunicorn';
    if (word === 'uvicorn') return 'uvicorn';
    if (word === 'uwsgi') return 'uwsgi';
    if (word === 'puma' || word.startsWith('puma ')) return 'puma';
  }
  if (/^node(\d+)?$/.test(first) || first === 'nodejs' || first.startsWith('PM2 ')) return 'node';
  return undefined;
}

/** The settings an application server runs with, from its argument vector (`/proc/<pid>/cmdline` split on NUL). */
export function appServerSettings(argv: readonly string[]): AppServerSettings | undefined {
  const server = serverOf(argv);
  if (server === undefined) return undefined;
  const settings: AppServerSettings = { server, command: argv.join(' ').slice(0, 300) };
  const flags = FLAGS[server] ?? {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const which = flags[flag];
    if (which === undefined) continue;
    const raw = eq === -1 ? argv[i + 1] : arg.slice(eq + 1);
    const seconds = Number(raw);
    if (raw === undefined || !Number.isFinite(seconds) || seconds < 0) continue;
    settings[which] = { seconds, source: `${flag} ${raw} (command line)`, isDefault: false };
  }
  const defaults = DEFAULTS[server] ?? {};
  if (settings.keepAlive === undefined && defaults.keepAlive !== undefined) {
    settings.keepAlive = {
      seconds: defaults.keepAlive,
      source: `${server}'s default keep-alive timeout, ${defaults.keepAlive} s`,
      isDefault: true,
    };
  }
  if (settings.requestTimeout === undefined && defaults.requestTimeout !== undefined) {
    settings.requestTimeout = {
      seconds: defaults.requestTimeout,
      source: `${server}'s default request timeout, ${defaults.requestTimeout} s`,
      isDefault: true,
    };
  }
  return settings;
}

/**
 * php-fpm's `request_terminate_timeout` from a pool configuration file's text (`0` = off). Units as php-fpm
 * takes them: plain seconds, or a `s`/`m`/`h`/`d` suffix.
 */
export function phpFpmRequestTimeout(poolText: string, file: string): AppSetting | undefined {
  const match = /^\s*request_terminate_timeout\s*=\s*(\d+)\s*([smhd]?)\s*$/m.exec(poolText);
  if (!match) return undefined;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  if (seconds === 0) return undefined;
  return {
    seconds,
    source: `request_terminate_timeout = ${match[1]}${match[2]} (${file})`,
    isDefault: false,
  };
}
