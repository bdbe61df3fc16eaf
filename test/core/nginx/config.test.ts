import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type NginxConfig,
  NginxConfigParseError,
  parseNginxDump,
  parseNginxDuration,
  parseNginxFile,
  parseNginxSize,
  passesForPeer,
  quoteSetting,
  type UpstreamPass,
} from '../../../lambdas/core/nginx/config.ts';
import { LIST_SETTING_NAMES } from '../../../lambdas/core/nginx/config-defaults.ts';

const NGINX = '/usr/sbin/nginx';
const FIXTURES = join(import.meta.dirname, '../../fixtures/nginx-config');
/** The prefix generate.sh copies each fixture configuration to before running `nginx -T`. */
const GENERATED_UNDER = '/tmp/gatewatch-nginx-fixtures';

const readFixture = (name: string, file: string): string => readFileSync(join(FIXTURES, name, file), 'utf8');
const dumpOf = (name: string): NginxConfig => parseNginxDump(readFixture(name, 'nginx-T.stdout.txt'));
const pathIn = (name: string, file: string): string => `${GENERATED_UNDER}/${name}/${file}`;

/** The line of the generating configuration a dumped file name and line point at. */
function confLine(file: string, line: number): string {
  const match = new RegExp(`^${GENERATED_UNDER}/([^/]+)/(.+)$`).exec(file);
  if (!match) throw new Error(`not a fixture file: ${file}`);
  const text = readFixture(match[1]!, `conf/${match[2]!}`);
  return text.split('\n')[line - 1] ?? '';
}

/** The 1-based line of the first line of a fixture configuration file that contains `needle`. */
function lineOf(name: string, file: string, needle: string): number {
  const index = readFixture(name, `conf/${file}`)
    .split('\n')
    .findIndex((line) => line.includes(needle));
  if (index === -1) throw new Error(`${needle} not in ${name}/${file}`);
  return index + 1;
}

const passAt = (
  config: NginxConfig,
  server: string | undefined,
  location: string,
  condition?: string,
): UpstreamPass => {
  const pass = config.passes.find(
    (p) => p.server === server && p.location === location && p.condition === condition,
  );
  if (!pass) throw new Error(`no pass for ${server} ${location} ${condition ?? ''}`);
  return pass;
};

const SHOP_APP = ['127.0.0.1:3000', '127.0.0.1:80', 'unix:/run/shop/app.sock'];

describe('parseNginxDump on the shop fixture (real nginx -T output)', () => {
  const config = dumpOf('shop');

  it('lists every dumped file once, the main file first', () => {
    expect(config.files).toEqual([
      pathIn('shop', 'nginx.conf'),
      pathIn('shop', 'conf.d/legacy.conf'),
      pathIn('shop', 'snippets/proxy-timeouts.conf'),
      pathIn('shop', 'conf.d/shop.conf'),
      pathIn('shop', 'snippets/fastcgi.conf'),
    ]);
  });

  it('reads the user nginx runs its workers as, with its place', () => {
    expect(config.user).toEqual({
      user: 'www-data',
      file: pathIn('shop', 'nginx.conf'),
      line: lineOf('shop', 'nginx.conf', 'user www-data'),
    });
  });

  it('reads upstream groups with normalised peers, port 80 for a bare address, and server parameters', () => {
    const shopApp = config.upstreamGroups.find((group) => group.name === 'shop_app');
    expect(shopApp?.servers.map(({ address, params }) => ({ address, params }))).toEqual([
      { address: '127.0.0.1:3000', params: { weight: '5', max_fails: '3', fail_timeout: '30s' } },
      { address: '127.0.0.1:80', params: { backup: 'true' } },
      { address: 'unix:/run/shop/app.sock', params: { down: 'true' } },
    ]);
    expect(shopApp?.options).toEqual({ keepalive: '16' });
    expect(shopApp?.servers[1]?.line).toBe(lineOf('shop', 'conf.d/shop.conf', 'server 127.0.0.1 backup'));
    const apiPool = config.upstreamGroups.find((group) => group.name === 'Api_Pool');
    expect(apiPool?.servers.map((server) => server.address)).toEqual(['[::1]:3002', 'localhost:3003']);
    expect(apiPool?.options).toEqual({ least_conn: '' });
  });

  it('reads server blocks with their listen addresses and names', () => {
    expect(config.servers.map(({ listen, serverNames }) => ({ listen, serverNames }))).toEqual([
      { listen: ['8081'], serverNames: ['legacy.example.com'] },
      { listen: ['127.0.0.1:8080', '[::1]:8080'], serverNames: ['shop.example.com', 'www.shop.example.com'] },
    ]);
  });

  it('discovers every upstream nginx passes to, in configuration order, through includes and nested blocks', () => {
    const seen = config.passes.map((p) => [
      p.server,
      p.location,
      p.condition,
      p.directive,
      p.scheme,
      p.group,
      p.peers,
    ]);
    expect(seen).toEqual([
      ['legacy.example.com', '/', undefined, 'proxy_pass', 'https', undefined, ['10.0.0.12:8443']],
      ['legacy.example.com', '/wsgi/', undefined, 'uwsgi_pass', 'uwsgi', undefined, ['127.0.0.1:3031']],
      ['legacy.example.com', '/scgi/', undefined, 'scgi_pass', 'scgi', undefined, ['127.0.0.1:4000']],
      [
        'legacy.example.com',
        '/cache/',
        undefined,
        'memcached_pass',
        'memcached',
        undefined,
        ['127.0.0.1:11211'],
      ],
      ['legacy.example.com', '@backend', undefined, 'proxy_pass', 'http', 'shop_app', SHOP_APP],
      ['legacy.example.com', '/rpc/', undefined, 'grpc_pass', 'grpc', undefined, ['127.0.0.1:50051']],
      ['legacy.example.com', '/rpcs/', undefined, 'grpc_pass', 'grpcs', undefined, ['[::1]:50052']],
      [
        'legacy.example.com',
        '/old-php/',
        undefined,
        'fastcgi_pass',
        'fastcgi',
        undefined,
        ['127.0.0.1:9000'],
      ],
      ['shop.example.com', '/', undefined, 'proxy_pass', 'http', 'shop_app', SHOP_APP],
      [
        'shop.example.com',
        '/api/',
        undefined,
        'proxy_pass',
        'http',
        'Api_Pool',
        ['[::1]:3002', 'localhost:3003'],
      ],
      ['shop.example.com', '/api/admin/', undefined, 'proxy_pass', 'http', undefined, ['127.0.0.1:3005']],
      [
        'shop.example.com',
        '~ \\.php$',
        undefined,
        'fastcgi_pass',
        'fastcgi',
        undefined,
        ['unix:/run/php/php8.2-fpm.sock'],
      ],
      ['shop.example.com', '@fallback', undefined, 'proxy_pass', 'http', 'shop_app', SHOP_APP],
      [
        'shop.example.com',
        '= /upload',
        'if ($request_method = POST)',
        'proxy_pass',
        'http',
        undefined,
        ['127.0.0.1:3006'],
      ],
      ['shop.example.com', '= /upload', undefined, 'proxy_pass', 'http', 'shop_app', SHOP_APP],
      ['shop.example.com', '/geo/', undefined, 'proxy_pass', 'http', undefined, []],
    ]);
  });

  it('places every pass at the file and line where its directive is written', () => {
    for (const pass of config.passes) {
      expect(confLine(pass.file, pass.line)).toContain(`${pass.directive} ${pass.target};`);
    }
  });

  it('places every configured setting at the file and line where it is written', () => {
    const settings = config.passes
      .flatMap((pass) => Object.entries(pass.settings))
      // A list setting (`proxy_set_header`) holds every occurrence of its level, one per line, placed at the first.
      .filter(([name, s]) => !s.isDefault && !LIST_SETTING_NAMES.has(name));
    expect(settings.length).toBeGreaterThan(20);
    for (const [name, setting] of settings) {
      expect(confLine(setting.file!, setting.line!).trim()).toMatch(
        new RegExp(`^${name}\\s+${setting.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')};`),
      );
    }
  });

  it('matches a group name case-insensitively, as nginx does', () => {
    expect(passAt(config, 'shop.example.com', '/api/')).toMatchObject({
      target: 'http://api_pool/v1/',
      group: 'Api_Pool',
    });
  });

  it('gives no peers for a target with variables and marks it', () => {
    expect(passAt(config, 'shop.example.com', '/geo/')).toMatchObject({
      target: 'http://$geo_backend',
      peers: [],
      variables: true,
    });
    expect(config.passes.filter((p) => p.variables)).toHaveLength(1);
  });

  it('inherits a timeout set in http into a location that sets none', () => {
    expect(passAt(config, 'shop.example.com', '/').settings.proxy_read_timeout).toEqual({
      value: '30s',
      file: pathIn('shop', 'nginx.conf'),
      line: lineOf('shop', 'nginx.conf', 'proxy_read_timeout 30s'),
      isDefault: false,
    });
  });

  it('lets a location override the timeout it would inherit from http', () => {
    expect(passAt(config, 'shop.example.com', '/api/').settings.proxy_read_timeout).toEqual({
      value: '2s',
      file: pathIn('shop', 'conf.d/shop.conf'),
      line: lineOf('shop', 'conf.d/shop.conf', 'proxy_read_timeout 2s'),
      isDefault: false,
    });
  });

  it('lets a server override http, and a location override its server', () => {
    const legacy = passAt(config, 'legacy.example.com', '/').settings;
    expect(legacy.proxy_read_timeout).toMatchObject({
      value: '120s',
      file: pathIn('shop', 'conf.d/legacy.conf'),
    });
    const shopRoot = passAt(config, 'shop.example.com', '/').settings;
    expect(shopRoot.proxy_connect_timeout).toMatchObject({
      value: '2s',
      file: pathIn('shop', 'conf.d/shop.conf'),
    });
    // The snippet included in the location wins over the server's value.
    expect(legacy.proxy_connect_timeout).toMatchObject({
      value: '1s',
      file: pathIn('shop', 'snippets/proxy-timeouts.conf'),
    });
  });

  it('inherits from the enclosing location into a nested location and an if block', () => {
    const admin = passAt(config, 'shop.example.com', '/api/admin/').settings;
    expect(admin.proxy_read_timeout).toMatchObject({
      value: '2s',
      line: lineOf('shop', 'conf.d/shop.conf', 'proxy_read_timeout 2s'),
    });
    expect(admin.proxy_http_version).toMatchObject({ value: '1.1', isDefault: false });
    expect(admin.proxy_next_upstream).toMatchObject({ value: 'off', isDefault: false });
    const inIf = passAt(config, 'shop.example.com', '= /upload', 'if ($request_method = POST)').settings;
    expect(inIf.proxy_connect_timeout).toMatchObject({
      value: '2s',
      file: pathIn('shop', 'conf.d/shop.conf'),
    });
    expect(inIf.proxy_next_upstream).toMatchObject({
      value: 'error timeout http_502',
      file: pathIn('shop', 'nginx.conf'),
    });
  });

  it('falls back to the documented default when no level sets a value', () => {
    const root = passAt(config, 'shop.example.com', '/').settings;
    expect(root.proxy_send_timeout).toEqual({ value: '60s', isDefault: true });
    expect(root.proxy_http_version).toEqual({ value: '1.0', isDefault: true });
    expect(root.proxy_ssl_verify).toEqual({ value: 'off', isDefault: true });
    expect(root.resolver_timeout).toEqual({ value: '30s', isDefault: true });
    expect(root.resolver).toMatchObject({ value: '127.0.0.53 valid=30s', isDefault: false });
  });

  it('resolves the settings of the module that passes, by their own names', () => {
    const php = passAt(config, 'shop.example.com', '~ \\.php$').settings;
    expect(php.fastcgi_read_timeout).toMatchObject({ value: '90s', isDefault: false });
    expect(php.fastcgi_buffers).toMatchObject({
      value: '16 16k',
      file: pathIn('shop', 'snippets/fastcgi.conf'),
    });
    expect(php.fastcgi_connect_timeout).toEqual({ value: '60s', isDefault: true });
    expect(php.proxy_read_timeout).toBeUndefined();
    const oldPhp = passAt(config, 'legacy.example.com', '/old-php/').settings;
    expect(oldPhp.fastcgi_connect_timeout).toMatchObject({
      value: '3s',
      file: pathIn('shop', 'conf.d/legacy.conf'),
    });
    const grpc = passAt(config, 'legacy.example.com', '/rpc/').settings;
    expect(grpc.grpc_read_timeout).toMatchObject({ value: '5m', isDefault: false });
    expect(Object.keys(grpc)).not.toContain('grpc_buffers');
    const wsgi = passAt(config, 'legacy.example.com', '/wsgi/').settings;
    expect(wsgi.uwsgi_read_timeout).toMatchObject({ value: '45s', isDefault: false });
    expect(Object.keys(passAt(config, 'legacy.example.com', '/cache/').settings).sort()).toEqual([
      'memcached_buffer_size',
      'memcached_connect_timeout',
      'memcached_next_upstream',
      'memcached_next_upstream_timeout',
      'memcached_next_upstream_tries',
      'memcached_read_timeout',
      'memcached_send_timeout',
      'resolver',
      'resolver_timeout',
    ]);
  });

  it('reads a file included in two locations at both, quoting the included file', () => {
    const snippet = pathIn('shop', 'snippets/proxy-timeouts.conf');
    for (const location of ['/', '@backend']) {
      expect(passAt(config, 'legacy.example.com', location).settings.proxy_send_timeout).toEqual({
        value: '10s',
        file: snippet,
        line: 2,
        isDefault: false,
      });
    }
  });

  it('records each include directive and the files it matched, sorted as glob(3) sorts them', () => {
    expect(config.includes.map(({ pattern, files, file }) => ({ pattern, files, file }))).toEqual([
      {
        pattern: 'conf.d/*.conf',
        files: [pathIn('shop', 'conf.d/legacy.conf'), pathIn('shop', 'conf.d/shop.conf')],
        file: pathIn('shop', 'nginx.conf'),
      },
      {
        pattern: 'snippets/proxy-timeouts.conf',
        files: [pathIn('shop', 'snippets/proxy-timeouts.conf')],
        file: pathIn('shop', 'conf.d/legacy.conf'),
      },
      {
        pattern: 'snippets/proxy-timeouts.conf',
        files: [pathIn('shop', 'snippets/proxy-timeouts.conf')],
        file: pathIn('shop', 'conf.d/legacy.conf'),
      },
      {
        pattern: 'snippets/fastcgi.conf',
        files: [pathIn('shop', 'snippets/fastcgi.conf')],
        file: pathIn('shop', 'conf.d/shop.conf'),
      },
    ]);
  });

  it('finds the passes for a peer as the error log spells it, or for a group name', () => {
    const where = (passes: UpstreamPass[]) =>
      passes.map((p) => `${p.server} ${p.location}${p.condition ? ` ${p.condition}` : ''}`);
    expect(where(passesForPeer(config, '127.0.0.1:3000'))).toEqual([
      'legacy.example.com @backend',
      'shop.example.com /',
      'shop.example.com @fallback',
      'shop.example.com = /upload',
    ]);
    expect(where(passesForPeer(config, 'unix:/run/php/php8.2-fpm.sock'))).toEqual([
      'shop.example.com ~ \\.php$',
    ]);
    expect(where(passesForPeer(config, 'fastcgi://127.0.0.1:9000'))).toEqual([
      'legacy.example.com /old-php/',
    ]);
    // `no live upstreams` names the group: upstream: "http://api_pool/v1/…"
    expect(where(passesForPeer(config, 'http://api_pool/v1/orders'))).toEqual(['shop.example.com /api/']);
    expect(passesForPeer(config, '127.0.0.1:9')).toEqual([]);
  });

  it('quotes a setting with its place, or as nginx default', () => {
    const api = passAt(config, 'shop.example.com', '/api/').settings;
    expect(quoteSetting('proxy_read_timeout', api.proxy_read_timeout!)).toBe(
      `proxy_read_timeout 2s (${pathIn('shop', 'conf.d/shop.conf')}:${lineOf('shop', 'conf.d/shop.conf', 'proxy_read_timeout 2s')})`,
    );
    expect(quoteSetting('proxy_send_timeout', api.proxy_send_timeout!)).toBe(
      'proxy_send_timeout 60s (nginx default)',
    );
    expect(quoteSetting('resolver', { value: '', isDefault: true })).toBe('resolver not set (nginx default)');
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(config))).toEqual(config);
  });
});

describe('parseNginxDump on other real dumps', () => {
  it('reads the same model whether nginx messages are absent, first (2>&1) or appended after the dump', () => {
    for (const name of ['shop', 'syntax', 'minimal']) {
      const stdout = readFixture(name, 'nginx-T.stdout.txt');
      const expected = parseNginxDump(stdout);
      expect(parseNginxDump(readFixture(name, 'nginx-T.combined.txt'))).toEqual(expected);
      expect(parseNginxDump(stdout + readFixture(name, 'nginx-T.stderr.txt'))).toEqual(expected);
    }
  });

  it('reads Windows line endings the same way', () => {
    const stdout = readFixture('shop', 'nginx-T.stdout.txt');
    expect(parseNginxDump(stdout.replaceAll('\n', '\r\n'))).toEqual(parseNginxDump(stdout));
  });

  it('resolves a group defined after the location that uses it, and defaults everywhere', () => {
    const config = dumpOf('minimal');
    expect(config.user).toBeUndefined();
    expect(config.servers).toEqual([
      {
        listen: ['127.0.0.1:8095'],
        serverNames: [],
        file: pathIn('minimal', 'nginx.conf'),
        line: lineOf('minimal', 'nginx.conf', 'server {'),
      },
    ]);
    const [pass, ...others] = config.passes;
    expect(others).toEqual([]);
    expect(pass).toMatchObject({
      group: 'plain',
      peers: ['127.0.0.1:80', '127.0.0.2:8080'],
      location: '/',
      listen: ['127.0.0.1:8095'],
    });
    expect(pass?.server).toBeUndefined();
    expect(Object.values(pass!.settings).every((setting) => setting.isDefault)).toBe(true);
    expect(pass?.settings).toMatchObject({
      proxy_connect_timeout: { value: '60s' },
      proxy_read_timeout: { value: '60s' },
      proxy_buffer_size: { value: '4k|8k' },
      proxy_buffers: { value: '8 4k|8k' },
      proxy_busy_buffers_size: { value: '8k|16k' },
      proxy_next_upstream: { value: 'error timeout' },
      proxy_next_upstream_tries: { value: '0' },
      proxy_next_upstream_timeout: { value: '0' },
      proxy_ssl_server_name: { value: 'off' },
      resolver: { value: '' },
    });
  });

  it('reads quotes, escapes, comments, variables and regexes the way nginx does', () => {
    const config = dumpOf('syntax');
    const file = pathIn('syntax', 'nginx.conf');
    expect(config.passes.map((p) => [p.location, p.target, p.peers, p.line])).toEqual([
      [
        '~ ^/items/\\d{3}$',
        'http://backend',
        ['127.0.0.1:3100'],
        lineOf('syntax', 'nginx.conf', 'location ~ "^/items') + 1,
      ],
      ['/if', 'http://backend', ['127.0.0.1:3100'], lineOf('syntax', 'nginx.conf', 'if ($request_uri') + 1],
      [
        '/escaped',
        'http://127.0.0.1:3101',
        ['127.0.0.1:3101'],
        lineOf('syntax', 'nginx.conf', 'proxy_pass http://127.0.0.1:3101'),
      ],
      ['/vars', '$target', [], lineOf('syntax', 'nginx.conf', 'proxy_pass $target')],
      [
        '/multi',
        'http://unix:/run/multi.sock:/prefix/',
        ['unix:/run/multi.sock'],
        lineOf('syntax', 'nginx.conf', 'http://unix:/run/multi.sock') - 1,
      ],
    ]);
    expect(config.passes.find((p) => p.location === '/vars')?.scheme).toBeUndefined();
    expect(config.passes.find((p) => p.location === '/multi')?.settings.proxy_read_timeout).toEqual({
      value: '5s',
      file,
      line: lineOf('syntax', 'nginx.conf', 'proxy_read_timeout'),
      isDefault: false,
    });
    expect(config.servers[0]?.serverNames).toEqual(['quoted.example.com', '~^(?<sub>\\w+)\\.example\\.com$']);
  });

  it('gives each directive the words nginx gives it', () => {
    const text = readFixture('syntax', 'conf/nginx.conf');
    const http = parseNginxFile(text, 'nginx.conf').find((d) => d.name === 'http')!;
    const find = (name: string, first?: string) =>
      http.block!.find((d) => d.name === name && (first === undefined || d.args[0] === first))!;
    expect(find('log_format', 'odd').args).toEqual([
      'odd',
      'escape=json',
      '{"time":"$time_iso8601","req":"$request"; }',
    ]);
    expect(find('log_format', 'single').args).toEqual([
      'single',
      "it's $remote_addr; {braces} #not-a-comment",
    ]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx's ${var} syntax, not a template
    expect(find('map').args).toEqual(['${host}:$server_port', '$site']);
    expect(find('map').block!.map((d) => [d.name, ...d.args])).toEqual([
      ['default', 'unknown'],
      ['~^shop\\.example\\.com:80$', 'shop'],
      ['a;b', 'semicolon'],
    ]);
    expect(find('split_clients').block!.map((d) => [d.name, ...d.args])).toEqual([
      ['50%', 'one'],
      ['*', ''],
    ]);
    const server = find('server');
    const location = (arg: string) =>
      server.block!.find((d) => d.name === 'location' && d.args.includes(arg))!;
    expect(location('/if').block!.map((d) => [d.name, ...d.args])).toEqual([
      ['if', '($http_x_debug', '~*', '^(on|yes)\\;?$', ')'],
      ['if', '($request_uri', '~', '\\.(gif|jpe?g)$)'],
      ['proxy_pass', 'http://backend'],
    ]);
    expect(location('/if').block![0]!.block).toEqual([
      {
        name: 'return',
        args: ['200', 'debug; {on}'],
        file: 'nginx.conf',
        line: lineOf('syntax', 'nginx.conf', 'return 200'),
      },
    ]);
    expect(location('/escaped').block!.map((d) => d.args)).toEqual([
      ['X-Quote', 'say "hi"'],
      ['X-Path', 'C:\\temp'],
      ['http://127.0.0.1:3101'],
    ]);
    expect(server.block!.some((d) => d.args.includes('/commented'))).toBe(false);
  });
});

describe('parseNginxDump on configurations nginx never dumps as such', () => {
  const shop = readFixture('shop', 'nginx-T.stdout.txt');

  it('reads a dumped file that no include reaches as if included in the http block', () => {
    const orphan = `${shop}# configuration file /opt/elsewhere/extra.conf:\nserver {\n    listen 8099;\n    location / { proxy_pass http://shop_app; }\n}\n\n`;
    const config = parseNginxDump(orphan);
    expect(config.files.at(-1)).toBe('/opt/elsewhere/extra.conf');
    const pass = config.passes.find((p) => p.file === '/opt/elsewhere/extra.conf');
    expect(pass).toMatchObject({ line: 3, group: 'shop_app', peers: SHOP_APP, listen: ['8099'] });
    expect(pass?.settings.proxy_read_timeout).toMatchObject({
      value: '30s',
      file: pathIn('shop', 'nginx.conf'),
    });
  });

  it('stops at an include that reaches its own file', () => {
    const dump = [
      '# configuration file /e/nginx.conf:',
      'events {}',
      'http { include loop.conf; }',
      '# configuration file /e/loop.conf:',
      'include loop.conf;',
      'upstream u { server 10.0.0.1:81; }',
      '',
    ].join('\n');
    const config = parseNginxDump(dump);
    expect(config.upstreamGroups.map((g) => g.name)).toEqual(['u']);
    expect(config.includes.map((i) => [i.file, i.line, i.files])).toEqual([
      ['/e/nginx.conf', 2, ['/e/loop.conf']],
      ['/e/loop.conf', 1, ['/e/loop.conf']],
    ]);
  });

  it('reads the nginx version from `nginx -v` output mixed in, or takes it as an option', () => {
    const minimal = readFixture('minimal', 'nginx-T.stdout.txt');
    const version = (config: NginxConfig) => [
      config.nginxVersion,
      config.passes[0]?.settings.proxy_http_version?.value,
    ];
    expect(version(parseNginxDump(`${readFixture('.', 'nginx-version.txt')}${minimal}`))).toEqual([
      '1.22.1',
      '1.0',
    ]);
    expect(version(parseNginxDump(`nginx version: nginx/1.29.7\n${minimal}`))).toEqual(['1.29.7', '1.1']);
    expect(version(parseNginxDump(minimal, { nginxVersion: 'nginx/1.30.0' }))).toEqual(['1.30.0', '1.1']);
    expect(version(parseNginxDump(minimal, { nginxVersion: '1.29.6' }))).toEqual(['1.29.6', '1.0']);
  });

  it('refuses text that is not a dump, and says so', () => {
    expect(() => parseNginxDump('')).toThrow(NginxConfigParseError);
    expect(() =>
      parseNginxDump('nginx: [emerg] unknown directive "foo" in /etc/nginx/nginx.conf:3\n'),
    ).toThrow(/not the output of `nginx -T`/);
  });
});

describe('parseNginxFile', () => {
  it.each([
    ['a "b c" \'d;e\' f\\;g;', ['b c', 'd;e', 'f\\;g']],
    ['a b#c;', ['b#c']],
    ['a "x\\"y" \'it\\\'s\' "t\\tn\\n" \\d;', ['x"y', "it's", 't\tn\n', '\\d']],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx's ${var} syntax, not a template
    ['a ${host}x${b}y;', ['${host}x${b}y']],
    ['a b}c;', ['b}c']],
    ['a ($x = "b");', ['($x', '=', 'b', ')']],
    ['a\r\nb\tc;', ['b', 'c']],
  ])('reads %j as nginx does', (text, args) => {
    expect(parseNginxFile(text, 'f.conf')).toEqual([{ name: 'a', args, file: 'f.conf', line: 1 }]);
  });

  it('reads block parameters and nested blocks with their lines', () => {
    const text = 'location ~* \\.(png|jpg)$ {\n  # { not a block ;\n  if ($x) {\n    return 204;\n  }\n}\n';
    expect(parseNginxFile(text, 'f.conf')).toEqual([
      {
        name: 'location',
        args: ['~*', '\\.(png|jpg)$'],
        file: 'f.conf',
        line: 1,
        block: [
          {
            name: 'if',
            args: ['($x)'],
            file: 'f.conf',
            line: 3,
            block: [{ name: 'return', args: ['204'], file: 'f.conf', line: 4 }],
          },
        ],
      },
    ]);
  });

  it('skips a Lua block by Lua rules, strings, long brackets and comments included', () => {
    const text = [
      'content_by_lua_block {',
      '  ngx.say("}") -- a } in a comment',
      "  local t = { [[ } ]], '{', [==[ ]] } ]==] }",
      '  --[[ } ',
      '  ]]',
      '}',
      'proxy_read_timeout 3s;',
    ].join('\n');
    expect(parseNginxFile(text, 'lua.conf')).toEqual([
      { name: 'content_by_lua_block', args: [], file: 'lua.conf', line: 1, block: [] },
      { name: 'proxy_read_timeout', args: ['3s'], file: 'lua.conf', line: 7 },
    ]);
  });

  it.each([
    ['a "b"c;', 'unexpected "c" in f.conf:1'],
    [';', 'unexpected ";" in f.conf:1'],
    ['\n{', 'unexpected "{" in f.conf:2'],
    ['a;\n}', 'unexpected "}" in f.conf:2'],
    ['a b }', 'unexpected "}" in f.conf:1'],
    ['a {\n b;\n', 'unexpected end of file, expecting "}" in f.conf:3'],
    ['a "b;\n', 'unexpected end of file, expecting ";" or "}" in f.conf:2'],
    ['content_by_lua_block { "}" ', 'unexpected end of file in a Lua block, expecting "}" in f.conf:1'],
  ])('rejects %j with the file and line', (text, message) => {
    const attempt = () => parseNginxFile(text, 'f.conf');
    expect(attempt).toThrow(NginxConfigParseError);
    expect(attempt).toThrow(message);
  });
});

describe('parseNginxDuration and parseNginxSize', () => {
  it.each([
    ['60s', 60_000],
    ['60', 60_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['1m30', 90_000],
    ['1h 30m', 5_400_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['1M', 2_592_000_000],
    ['1y', 31_536_000_000],
    ['0', 0],
    ['30m1h', undefined],
    ['1s1s', undefined],
    ['1.5s', undefined],
    ['-1s', undefined],
    ['1x', undefined],
    ['s', undefined],
    ['', undefined],
    ['$timeout', undefined],
  ])('reads the duration %j as %j ms', (value, ms) => {
    expect(parseNginxDuration(value)).toBe(ms);
  });

  it.each([
    ['4096', 4096],
    ['4k', 4096],
    ['16K', 16_384],
    ['1m', 1_048_576],
    ['2M', 2_097_152],
    ['1g', 1_073_741_824],
    ['1G', 1_073_741_824],
    ['4k|8k', undefined],
    ['8 4k', undefined],
    ['1.5k', undefined],
    ['1t', undefined],
    ['', undefined],
  ])('reads the size %j as %j bytes', (value, bytes) => {
    expect(parseNginxSize(value)).toBe(bytes);
  });
});

describe('parseNginxDump on any input', () => {
  const expectParsesOrRefuses = (text: string): void => {
    try {
      parseNginxDump(text);
    } catch (error) {
      expect(error).toBeInstanceOf(NginxConfigParseError);
    }
  };
  const nginxish = fc.string({
    unit: fc.constantFrom(
      'a',
      'b',
      ' ',
      '\n',
      ';',
      '{',
      '}',
      '"',
      "'",
      '\\',
      '#',
      '$',
      '(',
      ')',
      'server',
      'location',
      'include',
      'upstream',
      'http',
      'proxy_pass',
      'http://',
      'unix:',
      ':80',
      '*',
      '_by_lua_block',
      '--',
      '[[',
      ']]',
    ),
    maxLength: 80,
  });

  it('either parses any text or throws NginxConfigParseError', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), expectParsesOrRefuses), {
      numRuns: 300,
    });
  });

  it('either parses any dump-shaped text or throws NginxConfigParseError', () => {
    const dump = fc
      .array(fc.tuple(fc.constantFrom('/c/nginx.conf', '/c/a.conf', '/c/conf.d/b.conf', 'x'), nginxish), {
        minLength: 1,
        maxLength: 4,
      })
      .map((sections) => sections.map(([file, body]) => `# configuration file ${file}:\n${body}\n`).join(''));
    fc.assert(fc.property(dump, expectParsesOrRefuses), { numRuns: 500 });
  });
});

describe('parseNginxFile against nginx itself', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatewatch-nginx-syntax-'));
    mkdirSync(join(dir, 'logs'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * nginx's verdict on words placed in a `types` block, the one place nginx accepts any directive name with
   * any arguments, so that only its tokenizer can object.
   */
  const nginxVerdict = (snippet: string): { line: number } | 'ok' | string => {
    const conf = join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      `pid logs/nginx.pid; error_log logs/error.log; events {} http { types {\n${snippet}\n}}\n`,
    );
    const run = spawnSync(NGINX, ['-t', '-q', '-p', `${dir}/`, '-c', conf], { encoding: 'utf8' });
    if (run.status === 0) return 'ok';
    const syntax = /(?:unexpected .*) in .*:(\d+)$/m.exec(run.stderr);
    return syntax ? { line: Number(syntax[1]) } : run.stderr;
  };
  const ourVerdict = (snippet: string): { line: number } | 'ok' => {
    try {
      parseNginxFile(
        `pid logs/nginx.pid; error_log logs/error.log; events {} http { types {\n${snippet}\n}}\n`,
        'nginx.conf',
      );
      return 'ok';
    } catch (error) {
      if (!(error instanceof NginxConfigParseError)) throw error;
      return { line: error.line };
    }
  };

  it('accepts and rejects what nginx accepts and rejects, at the same line', () => {
    const words = fc.string({
      unit: fc.constantFrom(
        'a',
        'b',
        ' ',
        '\t',
        '\n',
        '\r',
        ';',
        '"',
        "'",
        '\\',
        '#',
        '$',
        '(',
        ')',
        '\\"',
        '"a"',
        "'b'",
        'a;',
      ),
      maxLength: 24,
    });
    fc.assert(
      fc.property(words, (snippet) => {
        expect(ourVerdict(snippet)).toEqual(nginxVerdict(snippet));
      }),
      { numRuns: 150 },
    );
  });
});

describe('parseNginxDump on live nginx -T output', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatewatch-nginx-T-'));
    for (const sub of ['conf.d', 'snippets', 'logs', 'temp']) mkdirSync(join(dir, sub));
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        'pid logs/nginx.pid;',
        'error_log logs/error.log;',
        'events { worker_connections 16; }',
        'http {',
        '    access_log off;',
        '    client_body_temp_path temp/client_body;',
        '    proxy_temp_path temp/proxy;',
        '    fastcgi_temp_path temp/fastcgi;',
        '    uwsgi_temp_path temp/uwsgi;',
        '    scgi_temp_path temp/scgi;',
        '    proxy_read_timeout 7s;',
        '    include conf.d/*.conf;',
        '}',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'conf.d', 'a-upstreams.conf'),
      'upstream app {\n    server unix:/run/app.sock;\n    server 127.0.0.1:3000;\n}\n',
    );
    writeFileSync(
      join(dir, 'conf.d', 'b-site.conf'),
      [
        'server {',
        '    listen 127.0.0.1:18080;',
        '    server_name live.test;',
        '    location / {',
        '        include snippets/slow.conf;',
        '        proxy_pass http://app;',
        '    }',
        '    location ~ \\.php$ {',
        '        fastcgi_pass unix:/run/php-fpm.sock;',
        '    }',
        '}',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'snippets', 'slow.conf'), 'proxy_read_timeout 90s;\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads what the nginx on this machine dumps', () => {
    const stdout = execFileSync(NGINX, ['-T', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const config = parseNginxDump(stdout);
    expect(config.files).toEqual([
      join(dir, 'nginx.conf'),
      join(dir, 'conf.d', 'a-upstreams.conf'),
      join(dir, 'conf.d', 'b-site.conf'),
      join(dir, 'snippets', 'slow.conf'),
    ]);
    expect(config.passes.map((p) => [p.directive, p.location, p.group, p.peers, p.file, p.line])).toEqual([
      [
        'proxy_pass',
        '/',
        'app',
        ['unix:/run/app.sock', '127.0.0.1:3000'],
        join(dir, 'conf.d', 'b-site.conf'),
        6,
      ],
      [
        'fastcgi_pass',
        '~ \\.php$',
        undefined,
        ['unix:/run/php-fpm.sock'],
        join(dir, 'conf.d', 'b-site.conf'),
        9,
      ],
    ]);
    expect(quoteSetting('proxy_read_timeout', config.passes[0]!.settings.proxy_read_timeout!)).toBe(
      `proxy_read_timeout 90s (${join(dir, 'snippets', 'slow.conf')}:1)`,
    );
    expect(passesForPeer(config, 'unix:/run/app.sock').map((p) => p.server)).toEqual(['live.test']);
  });
});
