/**
 * nginx's documented defaults for the directives that decide how an upstream failure looks, per module that
 * passes requests upstream. Values are copied from the "Default:" line of each directive in the nginx
 * documentation:
 *
 * - https://nginx.org/en/docs/http/ngx_http_proxy_module.html (proxy_*)
 * - https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html (fastcgi_*)
 * - https://nginx.org/en/docs/http/ngx_http_uwsgi_module.html (uwsgi_*)
 * - https://nginx.org/en/docs/http/ngx_http_scgi_module.html (scgi_*)
 * - https://nginx.org/en/docs/http/ngx_http_grpc_module.html (grpc_*)
 * - https://nginx.org/en/docs/http/ngx_http_memcached_module.html (memcached_*)
 * - https://nginx.org/en/docs/http/ngx_http_core_module.html#resolver (`resolver`: no default;
 *   `resolver_timeout 30s`)
 *
 * `4k|8k` is how the documentation writes "one memory page" (4k on x86-64 Linux); it is kept as written rather
 * than guessed.
 */

/** The directives that send a request upstream, one per module. */
export const PASS_DIRECTIVES = [
  'proxy_pass',
  'fastcgi_pass',
  'uwsgi_pass',
  'scgi_pass',
  'grpc_pass',
  'memcached_pass',
] as const;
export type PassDirective = (typeof PASS_DIRECTIVES)[number];

/** The module prefix of a pass directive: `proxy_pass` → `proxy`. */
export type UpstreamModule = 'proxy' | 'fastcgi' | 'uwsgi' | 'scgi' | 'grpc' | 'memcached';

/**
 * The scheme nginx itself writes for a module in the error log's `upstream:` field when the directive names
 * none (`fastcgi_pass 127.0.0.1:9000` is logged as `fastcgi://127.0.0.1:9000`).
 */
export const IMPLICIT_SCHEME: Record<UpstreamModule, string> = {
  proxy: 'http',
  fastcgi: 'fastcgi',
  uwsgi: 'uwsgi',
  scgi: 'scgi',
  grpc: 'grpc',
  memcached: 'memcached',
};

const TIMEOUTS = { connect_timeout: '60s', read_timeout: '60s', send_timeout: '60s' };
const NEXT_UPSTREAM = {
  next_upstream: 'error timeout',
  next_upstream_tries: '0',
  next_upstream_timeout: '0',
};
const BUFFERS = { buffer_size: '4k|8k', buffers: '8 4k|8k', busy_buffers_size: '8k|16k' };
const TLS = { ssl_server_name: 'off', ssl_verify: 'off' };

/** Defaults without the module prefix (`read_timeout`, not `proxy_read_timeout`). */
const MODULE_DEFAULTS: Record<UpstreamModule, Record<string, string>> = {
  proxy: {
    ...TIMEOUTS,
    ...BUFFERS,
    ...NEXT_UPSTREAM,
    ...TLS,
    http_version: '1.0',
    // One header per line. nginx's default sends `Connection: close`, which defeats upstream keep-alive.
    set_header: 'Host $proxy_host\nConnection close',
  },
  fastcgi: { ...TIMEOUTS, ...BUFFERS, ...NEXT_UPSTREAM },
  uwsgi: { ...TIMEOUTS, ...BUFFERS, ...NEXT_UPSTREAM, ...TLS },
  scgi: { ...TIMEOUTS, ...BUFFERS, ...NEXT_UPSTREAM },
  // ngx_http_grpc_module has one buffer (grpc_buffer_size) and no grpc_buffers / grpc_busy_buffers_size.
  grpc: { ...TIMEOUTS, buffer_size: '4k|8k', ...NEXT_UPSTREAM, ...TLS },
  memcached: { ...TIMEOUTS, buffer_size: '4k|8k', ...NEXT_UPSTREAM },
};

/** `resolver` has no default (an empty value here means "none configured"). */
const CORE_DEFAULTS: Record<string, string> = { resolver: '', resolver_timeout: '30s' };

/**
 * nginx 1.29.7 made HTTP/1.1 with keep-alive the default for proxied requests ("Before version 1.29.7, NGINX
 * used HTTP/1.0 by default", nginx blog, March 2026; in stable since 1.30.0).
 */
const HTTP11_DEFAULT_SINCE = [1, 29, 7] as const;

/** Every directive name whose effective value is resolved for a pass of this module, with its default. */
export function defaultsFor(module: UpstreamModule, nginxVersion?: string): Record<string, string> {
  const defaults: Record<string, string> = {};
  for (const [suffix, value] of Object.entries(MODULE_DEFAULTS[module]))
    defaults[`${module}_${suffix}`] = value;
  if (
    module === 'proxy' &&
    nginxVersion !== undefined &&
    versionAtLeast(nginxVersion, HTTP11_DEFAULT_SINCE)
  ) {
    defaults.proxy_http_version = '1.1';
  }
  return { ...defaults, ...CORE_DEFAULTS };
}

/**
 * Directives that may appear several times at one level and are inherited as a whole, only when the level
 * has none of its own (nginx's rule for `proxy_set_header`): their value is every occurrence, one per line.
 */
export const LIST_SETTING_NAMES: ReadonlySet<string> = new Set(['proxy_set_header']);

/** Every directive name any module's settings are resolved from (what each configuration level collects). */
export const SETTING_NAMES: ReadonlySet<string> = new Set(
  (Object.keys(MODULE_DEFAULTS) as UpstreamModule[]).flatMap((module) => Object.keys(defaultsFor(module))),
);

function versionAtLeast(version: string, minimum: readonly number[]): boolean {
  const parts = version
    .replace(/^nginx\//, '')
    .split('.')
    .map(Number);
  for (let i = 0; i < minimum.length; i += 1) {
    const have = parts[i] ?? 0;
    if (Number.isNaN(have)) return false;
    if (have !== minimum[i]) return have > minimum[i]!;
  }
  return true;
}
