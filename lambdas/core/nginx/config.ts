/**
 * The model of nginx's configuration gatewatch needs, read from `nginx -T` output: which upstreams nginx
 * passes requests to (so they are found without being listed), and the directives a finding quotes with file
 * and line (`proxy_read_timeout 2s (/etc/nginx/conf.d/shop.conf:14)`), resolved per location the way nginx
 * inherits them (http → server → location → nested location / `if`), falling back to nginx's defaults.
 *
 * Pure: the caller runs `nginx -T` and passes its text.
 */
import {
  defaultsFor,
  IMPLICIT_SCHEME,
  LIST_SETTING_NAMES,
  PASS_DIRECTIVES,
  type PassDirective,
  SETTING_NAMES,
  type UpstreamModule,
} from './config-defaults.ts';
import { globMatch, hasGlobWildcard } from './config-glob.ts';
import {
  MAX_NESTING,
  NginxConfigParseError,
  type NginxDirective,
  nginxVersionIn,
  parseNginxFile,
  splitNginxDump,
} from './config-syntax.ts';
import { parseUpstream } from './peer.ts';

export type { PassDirective, UpstreamModule } from './config-defaults.ts';
export {
  NginxConfigParseError,
  type NginxDirective,
  parseNginxFile,
  splitNginxDump,
} from './config-syntax.ts';
export { parseNginxDuration, parseNginxSize } from './config-units.ts';

/** A value with the place it is written. `line` is the line of the directive's name. */
export type Located<T> = T & { file: string; line: number };

/** One `server` line of an `upstream` block. */
export interface UpstreamServer {
  /** Normalised peer: `127.0.0.1:3000`, `127.0.0.1:80` for `server 127.0.0.1;`, `[::1]:3000`, `unix:/run/app.sock`. */
  address: string;
  /** `weight`, `max_fails`, `fail_timeout`, … as written; flags (`backup`, `down`, `resolve`) are `'true'`. */
  params: Record<string, string>;
}

/** An `upstream NAME { … }` block of the http context. */
export interface UpstreamGroup {
  name: string;
  servers: Located<UpstreamServer>[];
  /** The block's other directives, name → arguments: `keepalive: '16'`, `least_conn: ''`. */
  options: Record<string, string>;
  file: string;
  line: number;
}

/** An http `server { … }` block. */
export interface ServerBlock {
  /** The address of each `listen` as written (`127.0.0.1:8080`, `[::1]:8080`, `8081`). Empty: nginx listens on `*:80` (`*:8000` when not started as root). */
  listen: string[];
  serverNames: string[];
  file: string;
  line: number;
}

/** The effective value of a directive for one location. */
export interface Setting {
  /** Arguments joined by one space; `''` for `resolver` when none is configured. */
  value: string;
  /** Where the value is written; absent for defaults. */
  file?: string;
  line?: number;
  isDefault: boolean;
}

/** One directive that passes requests upstream, with everything a finding about it needs. */
export interface UpstreamPass {
  directive: PassDirective;
  /** The target as written (`http://shop_app`, `unix:/run/php.sock`, `http://$backend`). */
  target: string;
  /**
   * `http`, `https`, `grpcs`, `uwsgi`, … as written, or the module's own when the target names none
   * (`fastcgi`, `scgi`, `memcached`, `grpc`, `uwsgi`), which is how nginx writes it in the error log.
   * Absent when the scheme is a variable.
   */
  scheme?: string;
  /** The upstream group the target names, spelled as in its `upstream` block. */
  group?: string;
  /** Normalised peers: the group's servers or the single address; empty when the address has variables. */
  peers: string[];
  /**
   * The target contains variables: nginx builds it per request, and a host name that is no upstream group is
   * then resolved with `resolver` at run time.
   */
  variables: boolean;
  file: string;
  line: number;
  /** The server's first `server_name`. */
  server?: string;
  listen?: string[];
  /** The innermost enclosing location as written: `/api/`, `~ \.php$`, `= /upload`, `@fallback`. */
  location?: string;
  /** The `if (…)` or `limit_except …` block the directive is in, as written. */
  condition?: string;
  /**
   * Effective values for this location, by directive name: the module's timeouts, buffers and
   * `*_next_upstream*` (plus TLS and HTTP version where the module has them), `resolver` and `resolver_timeout`.
   */
  settings: Record<string, Setting>;
}

/** An `include` directive and the dumped files it matched, in nginx's (sorted) order. */
export interface IncludeDirective {
  pattern: string;
  files: string[];
  file: string;
  line: number;
}

/** What gatewatch knows about nginx's configuration. Plain JSON. */
export interface NginxConfig {
  /** Every file in the dump, main file first. */
  files: string[];
  user?: Located<{ user: string; group?: string }>;
  /**
   * Every `error_log` directive, in any context, with its level (`error` when none is written: nginx's
   * default). A level above `error` (`crit`, `alert`, `emerg`) hides upstream failures from the log.
   */
  errorLogs?: Located<{ target: string; level: string }>[];
  upstreamGroups: UpstreamGroup[];
  servers: ServerBlock[];
  passes: UpstreamPass[];
  includes: IncludeDirective[];
  /** The nginx version the defaults were chosen for, when known. */
  nginxVersion?: string;
}

export interface ParseNginxDumpOptions {
  /**
   * The running nginx's version (`1.22.1` or `nginx/1.22.1`, from `nginx -v`); some defaults changed over
   * time (`proxy_http_version` is 1.1 from 1.29.7). Read from an `nginx version:` line in the text when
   * absent; without either, defaults are those of nginx before 1.29.7.
   */
  nginxVersion?: string;
}

/**
 * Reads `nginx -T` output (stdout; nginx's `syntax is ok` lines may be mixed in anywhere) into the model.
 * Included files are read where their `include` stands, so inheritance follows nginx's; a dumped file no
 * `include` reaches is read as if included in the http block.
 *
 * @throws NginxConfigParseError when the text is not a dump or a file in it is not valid nginx syntax.
 */
export function parseNginxDump(text: string, options: ParseNginxDumpOptions = {}): NginxConfig {
  const nginxVersion = options.nginxVersion?.replace(/^nginx\//, '') ?? nginxVersionIn(text);
  const sections = splitNginxDump(text);
  const parsed = new Map<string, NginxDirective[]>();
  for (const section of sections) {
    const directives = parseNginxFile(section.text, section.file);
    if (!parsed.has(section.file)) parsed.set(section.file, directives);
  }
  const reader = new ConfigReader(parsed, sections[0]!.file, nginxVersion);
  return reader.read();
}

/** The passes that reach a peer (`127.0.0.1:3000`, `unix:/run/app.sock`) or name a group (`backend`). */
export function passesForPeer(config: NginxConfig, peer: string): UpstreamPass[] {
  const wanted = parseUpstream(peer).peer;
  return config.passes.filter(
    (pass) =>
      pass.peers.includes(wanted) || (pass.group !== undefined && pass.group.toLowerCase() === wanted),
  );
}

/**
 * A setting as a report quotes it: `proxy_read_timeout 2s (/etc/nginx/conf.d/shop.conf:14)`,
 * `proxy_read_timeout 60s (nginx default)`, `resolver not set (nginx default)`.
 */
export function quoteSetting(name: string, setting: Setting): string {
  if (setting.isDefault) {
    return setting.value === ''
      ? `${name} not set (nginx default)`
      : `${name} ${setting.value} (nginx default)`;
  }
  const where =
    setting.file === undefined
      ? ''
      : ` (${setting.file}${setting.line === undefined ? '' : `:${setting.line}`})`;
  return `${name} ${setting.value}${where}`;
}

// ---------------------------------------------------------------------------------------------------------

type LevelKind = 'main' | 'http' | 'server' | 'location';

interface Level {
  kind: LevelKind;
  /** Directives written at this level or inherited from outer ones (defaults are applied per pass). */
  settings: ReadonlyMap<string, Setting>;
  server?: ServerBlock;
  location?: string;
  condition?: string;
  depth: number;
}

interface PendingPass {
  directive: NginxDirective & { name: PassDirective };
  level: Level;
}

const PASS_NAMES: ReadonlySet<string> = new Set(PASS_DIRECTIVES);
/** Far above any real configuration; bounds the work a crafted dump (includes that fan out) can cause. */
const MAX_SPLICED_DIRECTIVES = 2_000_000;

/** Walks the parsed files from the main file, splicing includes, and collects the model. */
class ConfigReader {
  private readonly files: Map<string, NginxDirective[]>;
  private readonly mainFile: string;
  private readonly confPrefix: string;
  private readonly nginxVersion: string | undefined;
  private readonly reached = new Set<string>();
  private readonly includes = new Map<string, IncludeDirective>();
  private readonly groups: UpstreamGroup[] = [];
  private readonly servers: ServerBlock[] = [];
  private readonly pending: PendingPass[] = [];
  private user: NginxConfig['user'];
  private readonly errorLogs: NonNullable<NginxConfig['errorLogs']> = [];
  private httpSettings: ReadonlyMap<string, Setting> | undefined;
  private spliced = 0;
  private groupsByName: Map<string, UpstreamGroup> | undefined;

  constructor(files: Map<string, NginxDirective[]>, mainFile: string, nginxVersion: string | undefined) {
    this.files = files;
    this.mainFile = mainFile;
    // nginx resolves a relative `include` against the directory of the main configuration file.
    this.confPrefix = mainFile.slice(0, mainFile.lastIndexOf('/') + 1);
    this.nginxVersion = nginxVersion;
  }

  read(): NginxConfig {
    this.reached.add(this.mainFile);
    this.walk(this.files.get(this.mainFile)!, { kind: 'main', settings: new Map(), depth: 0 });
    for (const [file, directives] of this.files) {
      if (this.reached.has(file)) continue;
      this.reached.add(file);
      const isMain = directives.some((d) => d.name === 'http' || d.name === 'events');
      this.walk(
        directives,
        isMain
          ? { kind: 'main', settings: new Map(), depth: 0 }
          : { kind: 'http', settings: this.httpSettings ?? new Map(), depth: 0 },
      );
    }
    const config: NginxConfig = {
      files: [...this.files.keys()],
      upstreamGroups: this.groups,
      servers: this.servers,
      passes: this.pending.map((pending) => this.resolvePass(pending)),
      includes: [...this.includes.values()],
    };
    if (this.user) config.user = this.user;
    if (this.errorLogs.length > 0) config.errorLogs = this.errorLogs;
    if (this.nginxVersion !== undefined) config.nginxVersion = this.nginxVersion;
    return config;
  }

  private walk(block: NginxDirective[], parent: Level): void {
    if (parent.depth > MAX_NESTING * 2) {
      const first = block[0];
      throw new NginxConfigParseError(
        'blocks and includes nested too deeply',
        first?.file ?? this.mainFile,
        first?.line ?? 1,
      );
    }
    const items = this.splice(block, []);
    const level: Level = { ...parent, settings: collectSettings(items, parent.settings) };
    if (level.kind === 'http' && this.httpSettings === undefined) this.httpSettings = level.settings;
    const child = (kind: LevelKind, extra: Partial<Level> = {}): Level => ({
      ...level,
      kind,
      ...extra,
      depth: level.depth + 1,
    });

    for (const directive of items) {
      const { name, block: body } = directive;
      if (body === undefined) {
        if (
          name === 'user' &&
          level.kind === 'main' &&
          this.user === undefined &&
          directive.args[0] !== undefined
        ) {
          this.user = { user: directive.args[0], file: directive.file, line: directive.line };
          if (directive.args[1] !== undefined) this.user.group = directive.args[1];
        } else if (name === 'error_log' && directive.args[0] !== undefined) {
          this.errorLogs.push({
            target: directive.args[0],
            level: directive.args[1] ?? 'error',
            file: directive.file,
            line: directive.line,
          });
        } else if (PASS_NAMES.has(name) && level.kind !== 'main' && directive.args[0] !== undefined) {
          this.pending.push({ directive: directive as PendingPass['directive'], level });
        }
        continue;
      }
      if (name === 'http' && level.kind === 'main') {
        this.walk(body, child('http'));
      } else if (name === 'upstream' && level.kind === 'http' && directive.args[0] !== undefined) {
        this.groups.push(this.readGroup(directive, body));
      } else if (name === 'server' && level.kind === 'http') {
        this.walkServer(directive, body, child('server'));
      } else if (name === 'location' && level.kind !== 'main') {
        this.walk(body, child('location', { location: directive.args.join(' '), condition: undefined }));
      } else if ((name === 'if' || name === 'limit_except') && level.kind !== 'main') {
        this.walk(body, child(level.kind, { condition: [name, ...directive.args].join(' ') }));
      } else {
        // events, map, types, geo, stream, mail, Lua blocks…: not interpreted, but their includes are followed
        // so that the files they pull in are not mistaken for files no include reaches.
        this.touch(body, level.depth + 1);
      }
    }
  }

  private walkServer(directive: NginxDirective, body: NginxDirective[], level: Level): void {
    const items = this.splice(body, []);
    const server: ServerBlock = {
      listen: items.filter((d) => d.name === 'listen' && d.args[0] !== undefined).map((d) => d.args[0]!),
      serverNames: items.filter((d) => d.name === 'server_name').flatMap((d) => d.args),
      file: directive.file,
      line: directive.line,
    };
    this.servers.push(server);
    this.walk(items, { ...level, server, location: undefined, condition: undefined });
  }

  private readGroup(directive: NginxDirective, body: NginxDirective[]): UpstreamGroup {
    const group: UpstreamGroup = {
      name: directive.args[0]!,
      servers: [],
      options: {},
      file: directive.file,
      line: directive.line,
    };
    for (const item of this.splice(body, [])) {
      if (item.block !== undefined) continue;
      const [address, ...rest] = item.args;
      if (item.name === 'server' && address !== undefined) {
        const params: Record<string, string> = {};
        for (const param of rest) {
          const eq = param.indexOf('=');
          if (eq === -1) params[param] = 'true';
          else params[param.slice(0, eq)] = param.slice(eq + 1);
        }
        group.servers.push({
          address: parseUpstream(address, { defaultPort: true }).peer,
          params,
          file: item.file,
          line: item.line,
        });
      } else if (item.name !== 'server' && !(item.name in group.options)) {
        group.options[item.name] = item.args.join(' ');
      }
    }
    return group;
  }

  /** Follows includes inside a block that is not interpreted. */
  private touch(block: NginxDirective[], depth: number): void {
    if (depth > MAX_NESTING * 2) return;
    for (const directive of this.splice(block, [])) {
      if (directive.block) this.touch(directive.block, depth + 1);
    }
  }

  /** The block's directives with every `include` replaced by the directives of the files it matches. */
  private splice(block: NginxDirective[], chain: string[]): NginxDirective[] {
    const out: NginxDirective[] = [];
    for (const directive of block) {
      if (directive.name !== 'include' || directive.block !== undefined || directive.args.length !== 1) {
        this.spliced += 1;
        if (this.spliced > MAX_SPLICED_DIRECTIVES) {
          throw new NginxConfigParseError(
            'includes expand to too many directives',
            directive.file,
            directive.line,
          );
        }
        out.push(directive);
        continue;
      }
      for (const file of this.resolveInclude(directive)) {
        // An include that reaches its own file would make nginx recurse until it fails; stop here instead.
        if (chain.includes(file) || chain.length > MAX_NESTING) continue;
        this.reached.add(file);
        out.push(...this.splice(this.files.get(file)!, [...chain, file]));
      }
    }
    return out;
  }

  private resolveInclude(directive: NginxDirective): string[] {
    const key = `${directive.file}:${directive.line}`;
    const known = this.includes.get(key);
    if (known) return known.files;
    const pattern = directive.args[0]!;
    const full = pattern.startsWith('/') ? pattern : `${this.confPrefix}${pattern}`;
    const files = hasGlobWildcard(full)
      ? [...this.files.keys()].filter((file) => globMatch(full, file)).sort(byteOrder)
      : this.files.has(full)
        ? [full]
        : [];
    this.includes.set(key, { pattern, files, file: directive.file, line: directive.line });
    return files;
  }

  private resolvePass({ directive, level }: PendingPass): UpstreamPass {
    const module = directive.name.slice(0, -'_pass'.length) as UpstreamModule;
    const target = directive.args[0]!;
    const variables = target.includes('$');
    const schemeEnd = target.indexOf('://');
    const writtenScheme = schemeEnd === -1 ? undefined : target.slice(0, schemeEnd);
    const rest = schemeEnd === -1 ? target : target.slice(schemeEnd + 3);
    const unix = rest.startsWith('unix:');
    const authority = unix ? rest : (rest.split('/')[0] ?? '');
    const dynamic = (writtenScheme?.includes('$') ?? false) || authority.includes('$');

    const pass: UpstreamPass = {
      directive: directive.name,
      target,
      peers: [],
      variables,
      file: directive.file,
      line: directive.line,
      settings: this.settingsFor(module, level.settings),
    };
    // Without `://` the scheme is the module's own, unless a variable may carry one (`proxy_pass $target`,
    // `grpc_pass $backend` → `grpcs://…`).
    const fixedProtocol = module === 'fastcgi' || module === 'scgi' || module === 'memcached';
    const scheme =
      writtenScheme !== undefined
        ? writtenScheme.toLowerCase()
        : dynamic && !fixedProtocol
          ? undefined
          : IMPLICIT_SCHEME[module];
    if (scheme !== undefined && !scheme.includes('$')) pass.scheme = scheme;
    if (!dynamic) {
      // nginx only matches an upstream block when the target has no port (`upstream "x" may not have port`).
      const group = unix || /:\d+$/.test(authority) ? undefined : this.findGroup(authority);
      if (group) {
        pass.group = group.name;
        pass.peers = [...new Set(group.servers.map((server) => server.address))];
      } else {
        pass.peers = [
          parseUpstream(schemeEnd === -1 ? rest : `${scheme ?? ''}://${rest}`, { defaultPort: true }).peer,
        ];
      }
    }
    if (level.server) {
      const name = level.server.serverNames[0];
      if (name !== undefined) pass.server = name;
      pass.listen = level.server.listen;
    }
    if (level.location !== undefined) pass.location = level.location;
    if (level.condition !== undefined) pass.condition = level.condition;
    return pass;
  }

  private findGroup(host: string): UpstreamGroup | undefined {
    if (this.groupsByName === undefined) {
      // Built once all files are read: a group may be defined after the location that names it.
      this.groupsByName = new Map();
      for (const group of this.groups) {
        const key = group.name.toLowerCase();
        if (!this.groupsByName.has(key)) this.groupsByName.set(key, group);
      }
    }
    return this.groupsByName.get(host.toLowerCase());
  }

  private settingsFor(
    module: UpstreamModule,
    written: ReadonlyMap<string, Setting>,
  ): Record<string, Setting> {
    const settings: Record<string, Setting> = {};
    for (const [name, value] of Object.entries(defaultsFor(module, this.nginxVersion))) {
      settings[name] = written.get(name) ?? { value, isDefault: true };
    }
    return settings;
  }
}

/** The outer level's settings, replaced by those written at this level (nginx's merge: inner wins). */
function collectSettings(
  items: NginxDirective[],
  inherited: ReadonlyMap<string, Setting>,
): ReadonlyMap<string, Setting> {
  let settings: Map<string, Setting> | undefined;
  const seen = new Set<string>();
  for (const directive of items) {
    if (directive.block !== undefined || !SETTING_NAMES.has(directive.name)) continue;
    if (seen.has(directive.name)) {
      // A list directive's later occurrences at the same level add a line; a plain one's are ignored.
      const first = settings?.get(directive.name);
      if (LIST_SETTING_NAMES.has(directive.name) && first) first.value += `\n${directive.args.join(' ')}`;
      continue;
    }
    seen.add(directive.name);
    settings ??= new Map(inherited);
    settings.set(directive.name, {
      value: directive.args.join(' '),
      file: directive.file,
      line: directive.line,
      isDefault: false,
    });
  }
  return settings ?? inherited;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
