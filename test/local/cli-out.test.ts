/** `gatewatch diagnose --out` on a folder that cannot be written: exit 2 with a message, fast, no spin. */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutFileOverride } from '../support/unprivileged.ts';

const BIN = new URL('../../bin/gatewatch.mjs', import.meta.url).pathname;
let dir: string;
let config: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gw-logs-out-'));
  writeFileSync(join(dir, 'error.log'), '');
  config = join(dir, 'gatewatch.yaml');
  writeFileSync(
    config,
    `targets:\n  - name: shop\n    probe: { url: "http://127.0.0.1:1/" }\n    nginx:\n      errorLog: ${join(dir, 'error.log')}\nreports: { dir: ${join(dir, 'reports')} }\n`,
  );
  writeFileSync(join(dir, 'a-file'), 'x');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the shipped CLI; kills it after `limitMs` (a spin would otherwise hang the test). */
function run(
  args: string[],
  limitMs = 60_000,
  unprivileged = false,
): Promise<{ code: number | null; stderr: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const [command, argv] = unprivileged
      ? withoutFileOverride(process.execPath, [BIN, ...args])
      : [process.execPath, [BIN, ...args]];
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', reject);
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.resume();
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, killed });
    });
  });
}

describe('gatewatch diagnose --out', () => {
  it.each([
    ['/proc/nope', /cannot write reports to \/proc\/nope \(ENOENT\)/],
    ['/proc/nope/deeper/still', /cannot write reports to \/proc\/nope\/deeper\/still/],
    ['<a file>/reports', /cannot write reports to .*a-file\/reports \(ENOTDIR\)/],
  ])(
    'exits 2 with a message on %s',
    async (out, message) => {
      const path = out.replace('<a file>', join(dir, 'a-file'));
      const result = await run(['diagnose', '--config', config, '--logs-only', '--out', path]);
      expect(result.killed).toBe(false);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toContain('→ pass --out');
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    },
    120_000,
  );

  it('exits 2 with a message on a folder this user may not write (EACCES)', async () => {
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    chmodSync(dir, 0o755);
    chmodSync(config, 0o644);
    // root writes anywhere: without CAP_DAC_OVERRIDE when the tests run as root
    const result = await run(
      ['diagnose', '--config', config, '--logs-only', '--out', join(locked, 'reports')],
      60_000,
      true,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot write reports to .*locked\/reports \(EACCES\)/);
  }, 120_000);

  it('creates a missing nested folder and writes the report there', async () => {
    const result = await run([
      'diagnose',
      '--config',
      config,
      '--logs-only',
      '--out',
      join(dir, 'new', 'a', 'b'),
    ]);
    expect(result.code).toBe(0);
  }, 120_000);
});
