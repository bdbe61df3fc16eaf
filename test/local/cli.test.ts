// The CLI contract of DESIGN.md: exit 0 done (an incident found is still 0), 2 usage or configuration
// error with a message that says what to change, `--json` prints the report JSON and nothing else.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Io } from '../../lambdas/local/cli/io.ts';
import { runCli } from '../../lambdas/local/cli/program.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';

const BIN = fileURLToPath(new URL('../../bin/gatewatch.ts', import.meta.url));

function capture(): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    stdout: () => out,
    stderr: () => err,
  };
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gatewatch-cli-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('gatewatch validate', () => {
  it.each([
    [
      'a relative nginx.conf',
      'targets:\n  - name: shop\n    nginx: { errorLog: /var/log/nginx/error.log, conf: nginx.conf }\n',
      'targets[0].nginx.conf: must be an absolute path',
    ],
    [
      'a misspelt field',
      'targets:\n  - name: shop\n    nginx: { errorLog: /x.log }\n    upstream: []\n',
      'targets[0].upstream: unknown field',
    ],
    [
      'a bad port',
      'targets:\n  - name: shop\n    nginx: { errorLog: /x.log }\n    upstreams: [{ address: "127.0.0.1:99999" }]\n',
      'targets[0].upstreams[0].address: must be host:port or unix:/path',
    ],
  ])('exits 2 on %s and names the field and the fix', async (_name, yaml, expected) => {
    const file = join(work, `bad-${Math.random().toString(16).slice(2)}.yaml`);
    await writeFile(file, yaml);
    const io = capture();
    expect(await runCli(['validate', '--config', file], io)).toBe(2);
    expect(io.stderr()).toContain(expected);
    expect(io.stderr()).toContain('→ fix the fields above');
    expect(io.stdout()).toBe('');
  });

  it('exits 2 with a hint when the file does not exist', async () => {
    const io = capture();
    expect(await runCli(['validate', '--config', join(work, 'missing.yaml')], io)).toBe(2);
    expect(io.stderr()).toMatch(/no configuration at .*missing\.yaml/);
    expect(io.stderr()).toContain('gatewatch.example.yaml');
  });

  it('exits 0 on the example configuration shipped with the project', async () => {
    const io = capture();
    expect(
      await runCli(
        ['validate', '--config', fileURLToPath(new URL('../../gatewatch.example.yaml', import.meta.url))],
        io,
      ),
    ).toBe(0);
    expect(io.stdout()).toContain('is valid');
  });

  it('exits 2 on an unknown flag', async () => {
    const io = capture();
    expect(await runCli(['validate', '--confg', 'x'], io)).toBe(2);
  });
});

describe('gatewatch diagnose', () => {
  let nginx: NginxLab;
  let config: string;

  beforeAll(async () => {
    const port = await freePort();
    nginx = await NginxLab.start({ server: `location / { proxy_pass http://127.0.0.1:${port}; }` });
    for (let i = 0; i < 3; i++) await nginx.get('/');
    config = join(work, 'gatewatch.yaml');
    await writeFile(config, stringify(nginx.gatewatchConfig({}, join(work, 'incidents'))));
  });
  afterAll(async () => {
    await nginx.stop();
  });

  it('exits 0 with an incident found and prints the verdict and the report path', () => {
    const run = spawnSync(process.execPath, [BIN, 'diagnose', '--config', config], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^lab: upstream-down \(127\.0\.0\.1:\d+\)/);
    expect(run.stdout).toMatch(/report: .*incidents\/lab-\d{8}T\d{6}Z-[0-9a-f]{4}\/report\.json/);
  });

  it('prints only the report JSON with --json', () => {
    const run = spawnSync(process.execPath, [BIN, 'diagnose', '--config', config, '--json'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({
      schemaVersion: 1,
      target: 'lab',
      verdict: { rootCause: 'upstream-down' },
    });
  });

  it('runs no host command with --logs-only, and says so', async () => {
    const io = capture();
    expect(await runCli(['diagnose', '--config', config, '--logs-only', '--json'], io)).toBe(0);
    const report = JSON.parse(io.stdout());
    expect(report.checks).toEqual([]);
    expect(report.verdict.rootCause).toBe('upstream-down');
    expect(report.nextSteps.join('\n')).toContain('--logs-only');
  });

  it.each(['15', 'yesterday', '2999-01-01T00:00:00Z'])('exits 2 on --since %s', async (since) => {
    const io = capture();
    expect(await runCli(['diagnose', '--config', config, '--since', since], io)).toBe(2);
    expect(io.stderr()).toContain('--since');
  });

  it('exits 2 on an unknown --target, listing the known ones', async () => {
    const io = capture();
    expect(await runCli(['diagnose', '--config', config, '--target', 'nope'], io)).toBe(2);
    expect(io.stderr()).toContain('known targets: lab');
  });
});
