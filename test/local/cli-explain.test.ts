// `gatewatch explain` as shipped: quoted error-log lines, from the arguments or stdin, to a logs-only verdict.
import { describe, expect, it, vi } from 'vitest';
import { runGatewatch } from '../support/cli.ts';

vi.setConfig({ testTimeout: 120_000 });

const REFUSED_NO_DATE =
  '[error] 30#30: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.9, server: shop, request: "GET /cart?session=s3cr3t-session HTTP/1.1", upstream: "http://127.0.0.1:3000/cart?session=s3cr3t-session", host: "shop"';
const TIMEOUT_MESSAGE_ONLY =
  'upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.9, server: shop, request: "GET / HTTP/1.1", upstream: "http://10.0.0.5:8080/"';

describe('gatewatch explain', () => {
  it('names the cause of a line quoted without its date, quotes it back as given, with the secret redacted', async () => {
    const run = await runGatewatch(['explain', REFUSED_NO_DATE]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^upstream-down \(127\.0\.0\.1:3000\) — confidence 0\.\d/);
    expect(run.stdout).toContain('    [error] 30#30: *1 connect() failed (111: Connection refused)');
    expect(run.stdout).not.toContain('2000/01/01');
    expect(run.stdout).not.toContain('s3cr3t-session');
    expect(run.stdout).toContain("1 completed with nginx's header");
  });

  it('reads one line per line from stdin, and prints JSON with --json', async () => {
    const run = await runGatewatch(['explain', '--json'], {
      input: `${TIMEOUT_MESSAGE_ONLY}\n\n${TIMEOUT_MESSAGE_ONLY}\nnot an nginx line at all\n`,
    });
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      verdict: { rootCause: string; upstream?: string };
      lines: { given: number; completed: number };
    };
    expect(result.verdict).toMatchObject({ rootCause: 'upstream-timeout', upstream: '10.0.0.5:8080' });
    expect(result.lines).toMatchObject({ given: 3, completed: 3 });
  });

  it('never calls lines without a failure healthy, and shows terminal escapes instead of sending them', async () => {
    const run = await runGatewatch([
      'explain',
      `[error] 1#1: *1 upstream timed out (110: Connection timed out) while reading response header from upstream, client: \u001b[31mred, upstream: "http://10.0.0.5:8080/"`,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('\u001b');
    expect(run.stdout).toContain('client: \\x1b[31mred');
    const plain = await runGatewatch(['explain', '[notice] 1#1: signal process started']);
    expect(plain.stdout).toMatch(/^unknown — confidence 0\.2/);
  });

  it('exits 2 with the fix when there is no line to explain', async () => {
    const run = await runGatewatch(['explain'], { input: '\n\n' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no line to explain');
  });
});
