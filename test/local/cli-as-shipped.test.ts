import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { runGatewatch } from '../support/cli.ts';

// Each test starts the real CLI (Node 24, TypeScript loaded from source); on a loaded two-core machine one
// start can take many seconds. Speed is measured by `npm run bench`, not here.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

const gatewatch = (args: string[]) => runGatewatch(args);
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The README's CLI table: command name → the flags its row names. */
function readmeCommands(): Map<string, string[]> {
  const section = README.slice(
    README.indexOf('\n## CLI\n'),
    README.indexOf('\n## ', README.indexOf('\n## CLI\n') + 1),
  );
  const rows = new Map<string, string[]>();
  for (const match of section.matchAll(/^\| `gatewatch ([a-z][a-z-]*)([^`]*)` \|/gm)) {
    rows.set(
      match[1]!,
      [...match[2]!.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]),
    );
  }
  return rows;
}

/** The commands `gatewatch --help` lists, without commander's own `help`. */
function helpCommands(help: string): string[] {
  const list = help.slice(help.indexOf('Commands:'));
  return [...list.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}

describe('gatewatch as shipped (bin/gatewatch.mjs)', () => {
  it('lists in --help exactly the commands of the README CLI table', async () => {
    const run = await gatewatch(['--help']);
    expect(run.code).toBe(0);
    expect(helpCommands(run.stdout).sort()).toEqual([...readmeCommands().keys()].sort());
  });

  it("accepts every flag the README's CLI table gives each command", async () => {
    const commands = [...readmeCommands()];
    const runs = await Promise.all(commands.map(([command]) => gatewatch([command, '--help'])));
    commands.forEach(([command, flags], i) => {
      expect(runs[i]!.code, `${command} --help`).toBe(0);
      for (const flag of flags) expect(runs[i]!.stdout, `gatewatch ${command} ${flag}`).toContain(flag);
    });
  });

  it('prints the package version with --version and -V', async () => {
    const runs = await Promise.all([gatewatch(['--version']), gatewatch(['-V'])]);
    for (const run of runs) {
      expect(run.code).toBe(0);
      expect(run.stdout.trim()).toBe(PACKAGE.version);
    }
  });

  it('answers `gatewatch network` from an EC2 snapshot', async () => {
    const snapshot = fileURLToPath(new URL('../fixtures/network/multiple-blocks.json', import.meta.url));
    const run = await gatewatch([
      'network',
      '--snapshot',
      snapshot,
      '--from',
      'i-0ccccccccccccccc1',
      '--to',
      '10.0.2.20:3000',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { verdict: string; blockedBy: unknown[] };
    expect(result.verdict).toBe('blocked');
    expect(result.blockedBy.length).toBeGreaterThan(0);
  });

  it('exits 2 with the fix when `gatewatch network` lacks --to', async () => {
    const run = await gatewatch(['network', '--from', 'i-0ccccccccccccccc1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--to is required with --from');
  });
});

/**
 * The test files that run the shipped CLI as a process: they start `bin/gatewatch.mjs` themselves or through
 * test/support/cli.ts. Tests that call the program in-process, or bin/gatewatch.ts, do not count; nor does
 * this file, whose scan names flags it does not run.
 */
function testsRunningTheCli(): { path: string; text: string }[] {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const files = (readdirSync(root, { recursive: true }) as string[])
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(root, name));
  return files
    .map((path) => ({ path: relative(root, path), text: readFileSync(path, 'utf8') }))
    .filter(({ path }) => path !== relative(root, fileURLToPath(import.meta.url)))
    .filter(({ text }) => /gatewatch\.mjs|GATEWATCH_BIN|runGatewatch\(|startGatewatch\(/.test(text));
}

const quoted = (word: string) => new RegExp(`['"\`]${word.replace(/[-]/g, '\\-')}['"\`]`, 'g');

/**
 * Where `flag` is a string literal within `window` characters of the command's own literal (`'lint'`), in a
 * test that runs the CLI: an argument list like `['lint', '--dump', file]`, or one split over a few lines.
 */
function exercised(
  files: { path: string; text: string }[],
  command: string,
  flag: string,
): string | undefined {
  const window = 1500;
  for (const { path, text } of files) {
    for (const match of text.matchAll(quoted(command))) {
      const near = text.slice(Math.max(0, match.index - window), match.index + match[0].length + window);
      if (quoted(flag).test(near)) return path;
    }
  }
  return undefined;
}

/** Flags of the README table no test runs through the shipped CLI, each with the reason. Keep it empty. */
const NOT_EXERCISED: Record<string, string> = {};

describe('every command and flag of the README CLI table is run by a test of the shipped CLI', () => {
  it('finds each command with each of its flags next to it in a test that runs bin/gatewatch.mjs', () => {
    const files = testsRunningTheCli();
    expect(files.length).toBeGreaterThan(5);
    const missing: string[] = [];
    for (const [command, flags] of readmeCommands()) {
      if (!files.some((f) => quoted(command).test(f.text))) missing.push(`gatewatch ${command}`);
      for (const flag of flags) {
        const key = `${command} ${flag}`;
        if (exercised(files, command, flag) === undefined && NOT_EXERCISED[key] === undefined)
          missing.push(`gatewatch ${key}`);
      }
    }
    expect(missing, 'README CLI flags no test runs through bin/gatewatch.mjs').toEqual([]);
  });

  it('tells a flag no test runs from one that is run (the scan itself can fail)', () => {
    const files = testsRunningTheCli();
    expect(exercised(files, 'lint', '--dump')).toBeDefined();
    expect(exercised(files, 'lint', '--no-such-flag-anywhere')).toBeUndefined();
    // --region is run with `network` and `approve`, never with `replay`.
    expect(exercised(files, 'replay', '--region')).toBeUndefined();
  });
});

describe('gatewatch probe exit codes', () => {
  let work: string;
  let server: Server;
  let okUrl: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatewatch-probe-cli-'));
    server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    okUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(work, { recursive: true, force: true });
  });

  async function config(targets: { name: string; url: string }[]): Promise<string> {
    const file = join(work, `probe-${Math.random().toString(16).slice(2)}.json`);
    const body = {
      targets: targets.map((t) => ({
        name: t.name,
        probe: { url: t.url, allowPrivate: true, timeoutMs: 2000 },
        nginx: { errorLog: join(work, 'error.log') },
      })),
    };
    await writeFile(file, JSON.stringify(body));
    return file;
  }

  it('exits 0 when every probe passes', async () => {
    const run = await gatewatch(['probe', '--config', await config([{ name: 'shop', url: okUrl }])]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('all 1 probes ok');
  });

  it('exits 1 and names the failing target when a probe fails, after printing every result', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/health`;
    const file = await config([
      { name: 'shop', url: okUrl },
      { name: 'billing', url: closed },
    ]);
    const run = await gatewatch(['probe', '--config', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('1 of 2 probes failed');
    expect(run.stderr).toContain('1 of 2 probes failed: billing');
    expect(run.stderr).not.toContain('unexpected failure');
  });
});
