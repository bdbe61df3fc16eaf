// The README CLI table's flags that no other test ran, each through the shipped CLI (bin/gatewatch.mjs in a
// child process): `lint --dump/--fail-on`, `incidents --dir` and `incidents show --dir`.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { IncidentIndexEntry } from '../../lambdas/core/incident/incident-index.ts';
import type { Report } from '../../lambdas/core/types.ts';
import { findNginx } from '../../lambdas/local/lab/nginx-lab.ts';
import { runGatewatch, startGatewatch } from '../support/cli.ts';

// Each run starts the real CLI; on a loaded two-core machine that can take many seconds.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 240_000 });

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gatewatch-cli-flags-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A configuration checked and dumped by the real nginx (`nginx -T -p DIR -c FILE`), saved as a file. */
async function nginxDumpFile(name: string, http: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, 'logs'), { recursive: true });
  const file = join(dir, 'nginx.conf');
  await writeFile(
    file,
    `pid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\nevents {}\nhttp {\n  access_log off;\n${http}\n}\n`,
  );
  const run = spawnSync('nginx', ['-T', '-p', dir, '-c', file], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  const dump = join(dir, 'nginx-dump.txt');
  await writeFile(dump, run.stdout);
  return dump;
}

interface LintJson {
  source: string;
  findings: { rule: string; severity: string; file: string; line: number }[];
}

describe('gatewatch lint --dump FILE --fail-on SEVERITY', () => {
  let racing: string;
  let clean: string;
  beforeAll(async () => {
    // An upstream with keepalive, proxied without `proxy_http_version 1.1`: the keep-alive race, and
    // keepalive that HTTP/1.0 never uses.
    racing = await nginxDumpFile(
      'racing',
      [
        '  upstream app {',
        '    server 127.0.0.1:3001;',
        '    keepalive 8;',
        '  }',
        '  server {',
        '    listen 127.0.0.1:18080;',
        '    location / {',
        '      proxy_pass http://app;',
        '    }',
        '  }',
      ].join('\n'),
    );
    // Plain proxying to one address, no keepalive: nothing to say.
    clean = await nginxDumpFile(
      'clean',
      [
        '  server {',
        '    listen 127.0.0.1:18081;',
        '    location / {',
        '      proxy_pass http://127.0.0.1:3001;',
        '    }',
        '  }',
      ].join('\n'),
    );
  });

  it('exits 1 on findings at or above warning (the default) and names the keepalive upstream with file:line', async () => {
    const run = await runGatewatch(['lint', '--dump', racing, '--json']);
    expect(run.code, run.stderr).toBe(1);
    const [result] = JSON.parse(run.stdout) as LintJson[];
    expect(result!.source).toBe(racing);
    const rules = result!.findings.map((f) => f.rule);
    expect(rules).toContain('keepalive-race');
    const race = result!.findings.find((f) => f.rule === 'keepalive-race')!;
    expect(race.file).toMatch(/racing\/nginx\.conf$/);
    expect(race.line).toBeGreaterThan(0);
    expect(run.stderr).toMatch(/at or above warning/);
  });

  it('reads the same dump from stdin with --dump -', async () => {
    const text = await readFile(racing, 'utf8');
    const fromFile = await runGatewatch(['lint', '--dump', racing, '--json']);
    const fromStdin = await runGatewatch(['lint', '--dump', '-', '--json'], { input: text });
    expect(fromStdin.code, fromStdin.stderr).toBe(1);
    const [a] = JSON.parse(fromFile.stdout) as LintJson[];
    const [b] = JSON.parse(fromStdin.stdout) as LintJson[];
    expect(b!.source).toBe('-');
    expect(b!.findings).toEqual(a!.findings);
  });

  it('exits 0 when no finding reaches --fail-on error, still printing the warnings', async () => {
    const run = await runGatewatch(['lint', '--dump', racing, '--fail-on', 'error']);
    const json = await runGatewatch(['lint', '--dump', racing, '--fail-on', 'error', '--json']);
    const findings = (JSON.parse(json.stdout) as LintJson[])[0]!.findings;
    // The exit code follows the findings: 0 only when none is an error.
    expect(findings.some((f) => f.severity === 'error')).toBe(false);
    expect(run.code, run.stderr).toBe(0);
    expect(json.code).toBe(0);
    expect(run.stdout).toContain('keepalive-race');
  });

  it('exits 1 with --fail-on info on the same warnings', async () => {
    const run = await runGatewatch(['lint', '--dump', racing, '--fail-on', 'info', '--json']);
    expect(run.code).toBe(1);
  });

  it('exits 0 on a clean dump at every --fail-on', async () => {
    for (const severity of ['info', 'warning', 'error']) {
      const run = await runGatewatch(['lint', '--dump', clean, '--fail-on', severity, '--json']);
      expect(run.code, `${severity}: ${run.stdout}${run.stderr}`).toBe(0);
      expect((JSON.parse(run.stdout) as LintJson[])[0]!.findings).toEqual([]);
    }
  });

  it('exits 2 with the choices on --fail-on bogus, and on a --dump that does not exist', async () => {
    const bogus = await runGatewatch(['lint', '--dump', racing, '--fail-on', 'bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/error, warning, info/);
    expect(bogus.stdout).toBe('');
    const missing = await runGatewatch(['lint', '--dump', join(work, 'no-such-dump.txt')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('ENOENT');
  });
});

function nginxTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/-/g, '/').slice(0, 19);
}

describe('gatewatch lint --config F --target NAME and validate --config F', () => {
  let config: string;
  beforeAll(async () => {
    // Two targets whose nginx configurations the real nginx reads with `nginx -T` (not running: -T only
    // reads the files), through the same read-only script a diagnosis uses.
    const target = async (name: string, http: string) => {
      const dump = await nginxDumpFile(`target-${name}`, http);
      const dir = join(dump, '..');
      return {
        name,
        nginx: {
          errorLog: join(dir, 'logs', 'error.log'),
          conf: join(dir, 'nginx.conf'),
          prefix: dir,
          binary: findNginx(),
        },
      };
    };
    const racing = await target(
      'racing',
      '  upstream app {\n    server 127.0.0.1:3001;\n    keepalive 8;\n  }\n  server {\n    listen 127.0.0.1:18082;\n    location / { proxy_pass http://app; }\n  }',
    );
    const clean = await target(
      'clean',
      '  server {\n    listen 127.0.0.1:18083;\n    location / { proxy_pass http://127.0.0.1:3001; }\n  }',
    );
    config = join(work, 'lint-targets.json');
    await writeFile(
      config,
      JSON.stringify({ targets: [racing, clean], reports: { dir: join(work, 'lint-reports') } }),
    );
  });

  it('validates the file given with --config, and exits 2 on one that does not exist', async () => {
    const ok = await runGatewatch(['validate', '--config', config]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('2 target(s) (racing, clean)');
    const missing = await runGatewatch(['validate', '--config', join(work, 'missing.yaml')]);
    expect(missing.code).toBe(2);
  });

  it('lints only the target named with --target', async () => {
    const racing = await runGatewatch(['lint', '--config', config, '--target', 'racing', '--json']);
    expect(racing.code, racing.stderr).toBe(1);
    const [result, ...rest] = JSON.parse(racing.stdout) as LintJson[];
    expect(rest).toEqual([]);
    expect(result!.source).toBe('racing');
    expect(result!.findings.map((f) => f.rule)).toContain('keepalive-race');
    const clean = await runGatewatch(['lint', '--config', config, '--target', 'clean', '--json']);
    expect(clean.code, clean.stderr).toBe(0);
    expect((JSON.parse(clean.stdout) as LintJson[]).map((r) => [r.source, r.findings.length])).toEqual([
      ['clean', 0],
    ]);
    const unknown = await runGatewatch(['lint', '--config', config, '--target', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('racing, clean');
  });
});

describe('gatewatch incidents --dir DIR and incidents show ID --dir DIR', () => {
  let reports: string;
  let elsewhere: string;
  const ids: string[] = [];
  beforeAll(async () => {
    const dir = join(work, 'incidents');
    await mkdir(dir, { recursive: true });
    reports = join(dir, 'reports');
    const errorLog = join(dir, 'error.log');
    const now = Date.now();
    const lines = [0, 1, 2].flatMap((i) => {
      const at = nginxTime(now - (90 - i * 10) * 1000);
      return [
        `${at} [error] 11155#11155: *${6 + i} connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: gatewatch.test, request: "GET /cart HTTP/1.1", upstream: "http://127.0.0.1:41935/cart", host: "127.0.0.1:46661"`,
        // Noise: not an upstream failure.
        `${at} [error] 11155#11155: *${40 + i} open() "/srv/html/missing.css" failed (2: No such file or directory), client: 127.0.0.1, server: gatewatch.test, request: "GET /missing.css HTTP/1.1", host: "127.0.0.1:46661"`,
      ];
    });
    await writeFile(errorLog, `${lines.join('\n')}\n`);
    const config = join(dir, 'gatewatch.yaml');
    await writeFile(
      config,
      [
        'targets:',
        '  - name: shop',
        `    nginx: { errorLog: ${JSON.stringify(errorLog)}, utcOffset: "+00:00" }`,
        '    upstreams: [{ address: "127.0.0.1:41935" }]',
        'reports:',
        `  dir: ${JSON.stringify(reports)}`,
        '',
      ].join('\n'),
    );
    for (let i = 0; i < 2; i++) {
      // Incident ids have one-second resolution: one diagnosis per second.
      await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
      const run = await runGatewatch([
        'diagnose',
        '--config',
        config,
        '--logs-only',
        '--json',
        '--since',
        '30m',
      ]);
      expect(run.code, run.stderr).toBe(0);
      ids.push((JSON.parse(run.stdout) as Report).incidentId);
    }
    // A working directory with no gatewatch.yaml: only --dir says where the record is.
    elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere);
  });

  it('lists the folder given with --dir, newest first, with no configuration file', async () => {
    const run = await runGatewatch(['incidents', '--dir', reports, '--json'], { cwd: elsewhere });
    expect(run.code, run.stderr).toBe(0);
    const entries = JSON.parse(run.stdout) as IncidentIndexEntry[];
    expect(entries.map((e) => e.id)).toEqual([...ids].reverse());
    const text = await runGatewatch(['incidents', '--dir', reports], { cwd: elsewhere });
    expect(text.code, text.stderr).toBe(0);
    for (const id of ids) expect(text.stdout).toContain(id);
  });

  it('says the folder is empty for an empty --dir, and needs the configuration without --dir', async () => {
    const empty = join(work, 'incidents', 'empty');
    await mkdir(empty);
    const run = await runGatewatch(['incidents', '--dir', empty], { cwd: elsewhere });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('no incident');
    expect(run.stdout).not.toContain(ids[0]);
    const without = await runGatewatch(['incidents'], { cwd: elsewhere });
    expect(without.code).not.toBe(0);
  });

  it('shows one incident from --dir, as text and as report.json', async () => {
    const id = ids[0]!;
    const json = await runGatewatch(['incidents', 'show', id, '--dir', reports, '--json'], {
      cwd: elsewhere,
    });
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as Report;
    expect(report.incidentId).toBe(id);
    expect(report.target).toBe('shop');
    const text = await runGatewatch(['incidents', 'show', id, '--dir', reports], { cwd: elsewhere });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(id);
    expect(text.stdout).toContain(report.verdict.rootCause);
    const unknown = await runGatewatch(
      ['incidents', 'show', 'shop-20200101T000000Z-abcd', '--dir', reports],
      { cwd: elsewhere },
    );
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('shop-20200101T000000Z-abcd');
  });

  it('diagnoses only the target named with diagnose --target, and exits 2 on an unknown one', async () => {
    const config = join(work, 'incidents', 'gatewatch.yaml');
    const out = join(work, 'incidents', 'target-reports');
    const run = await runGatewatch([
      'diagnose',
      '--config',
      config,
      '--target',
      'shop',
      '--logs-only',
      '--json',
      '--out',
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as Report).target).toBe('shop');
    const unknown = await runGatewatch(['diagnose', '--config', config, '--target', 'billing', '--out', out]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('billing');
  });

  it('acks, notes and resolves with --dir and no configuration file; show --dir has the activity', async () => {
    const id = ids[1]!;
    const ack = await runGatewatch(['ack', id, '--by', 'alice', '--dir', reports], { cwd: elsewhere });
    expect(ack.code, ack.stderr).toBe(0);
    const note = await runGatewatch(
      ['note', id, 'restarted by hand, token=abc123secret', '--by', 'bob', '--dir', reports],
      {
        cwd: elsewhere,
      },
    );
    expect(note.code, note.stderr).toBe(0);
    const resolve = await runGatewatch(['resolve', id, '--by', 'carol', '--dir', reports], {
      cwd: elsewhere,
    });
    expect(resolve.code, resolve.stderr).toBe(0);
    const show = await runGatewatch(['incidents', 'show', id, '--dir', reports, '--json'], {
      cwd: elsewhere,
    });
    const report = JSON.parse(show.stdout) as Report;
    expect(report.activity?.map((a) => [a.action, a.by])).toEqual([
      ['ack', 'alice'],
      ['note', 'bob'],
      ['resolve', 'carol'],
    ]);
    expect(show.stdout).not.toContain('abc123secret');
    expect(report.resolvedAt).toBeDefined();
  });
});

describe('gatewatch watch --interval-override S', () => {
  let server: Server;
  let config: string;
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    const dir = join(work, 'watch');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'error.log'), '');
    config = join(dir, 'gatewatch.json');
    // Ten minutes between probes in the file: only the override makes several probes in a test.
    await writeFile(
      config,
      JSON.stringify({
        targets: [
          {
            name: 'shop',
            probe: { url, allowPrivate: true, timeoutMs: 2000, intervalSeconds: 600 },
            nginx: { errorLog: join(dir, 'error.log') },
          },
        ],
        reports: { dir: join(dir, 'reports') },
      }),
    );
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function watchUntil(args: string[], probes: number) {
    const watch = startGatewatch(['watch', '--config', config, '--json', ...args]);
    try {
      const started = await watch.waitFor(/^\{"v":1,"type":"started".*$/m, 120_000);
      if (probes > 0) {
        const pattern = new RegExp(`(?:^\\{"v":1,"type":"probe",.*\\n){${probes}}`, 'm');
        await watch.waitFor(pattern, 120_000);
      }
      return JSON.parse(started[0]) as { intervalSeconds: number };
    } finally {
      watch.child.kill('SIGINT');
      await watch.exited;
    }
  }

  it('probes every S seconds instead of probe.intervalSeconds', async () => {
    const state = join(work, 'watch', 'state.json');
    const started = await watchUntil(['--interval-override', '1', '--state', state], 3);
    expect(started.intervalSeconds).toBe(1);
    // Without it, the file's interval (the first probe is not awaited: it is minutes away).
    const plain = await watchUntil(['--state', `${state}.plain`], 0);
    expect(plain.intervalSeconds).toBe(600);
  });
});
