/**
 * One spelling for an upstream peer, whether it comes from the error log's `upstream:` field, an access-log
 * `$upstream_addr`, an `nginx -T` directive or the configuration: `127.0.0.1:3000`, `[::1]:3000`,
 * `unix:/run/app.sock`, or a bare name (`backend`) for an upstream group or an unresolved host.
 */
export interface ParsedUpstream {
  /** `http`, `https`, `fastcgi`, `uwsgi`, `scgi`, `grpc`, `grpcs`, `memcached`; absent when the value had none. */
  scheme?: string;
  peer: string;
}

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, grpc: 80, grpcs: 443 };

/**
 * Reads `http://127.0.0.1:3000/x`, `http://unix:/run/app.sock:/uri`, `fastcgi://unix:/run/php.sock:`,
 * `uwsgi://10.0.0.5:3031`, `https://[::1]:8443/`, `127.0.0.1:3000`, `unix:/tmp/s.sock`, `backend`.
 * `defaultPort` applies the scheme's port to a host without one (config values; never the log's, which
 * always carries the port nginx connected to).
 */
export function parseUpstream(value: string, options: { defaultPort?: boolean } = {}): ParsedUpstream {
  let rest = value.trim();
  let scheme: string | undefined;
  const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (schemeMatch) {
    scheme = schemeMatch[1]!.toLowerCase();
    rest = rest.slice(schemeMatch[0].length);
  }
  if (rest.startsWith('unix:')) {
    // nginx writes `unix:/path:` followed by the URI; the path ends at the first ':' after it.
    const path = rest.slice(5);
    const colon = path.indexOf(':');
    return { scheme, peer: `unix:${colon === -1 ? path : path.slice(0, colon)}` };
  }
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const hostPort = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
  return { scheme, peer: withPort(hostPort, scheme, options.defaultPort === true) };
}

function withPort(hostPort: string, scheme: string | undefined, defaultPort: boolean): string {
  const lower = hostPort.toLowerCase();
  const hasPort = lower.startsWith('[') ? /\]:\d+$/.test(lower) : /:\d+$/.test(lower);
  if (hasPort || !defaultPort) return lower;
  const port = DEFAULT_PORTS[scheme ?? 'http'];
  return port === undefined ? lower : `${lower}:${port}`;
}

/** Splits a normalised TCP peer into host and port; `undefined` for unix sockets and bare names. */
export function peerHostPort(peer: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(peer);
  if (!match) return undefined;
  const port = Number(match[2]);
  return port > 0 && port < 65536 ? { host: match[1]!, port } : undefined;
}

/** True for `unix:/…` peers. */
export function isUnixPeer(peer: string): boolean {
  return peer.startsWith('unix:');
}
