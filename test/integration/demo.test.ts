// `gatewatch demo` end to end, as the README's first command runs it: a real nginx, real upstream
// processes, the watch pipeline with 1 s probes, four faults injected one after the other.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../../lambdas/local/cli/io.ts';
import { type DemoOutcome, runDemo } from '../../lambdas/local/demo.ts';

let out: string;
let stdout = '';
let stderr = '';
let outcomes: DemoOutcome[] = [];

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'gatewatch-demo-'));
  const io: Io = {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
  };
  outcomes = await runDemo(io, { out, keep: false });
}, 240_000);

afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('gatewatch demo', () => {
  it('detects, diagnoses and resolves each injected fault with the right verdict', () => {
    expect(outcomes.map((o) => [o.fault, o.target, o.report.verdict.rootCause])).toEqual([
      ['the upstream is killed', 'lab', 'upstream-down'],
      ['the upstream restarts on the wrong port', 'lab', 'upstream-wrong-address'],
      ['the upstream becomes slower than proxy_read_timeout', 'lab', 'upstream-timeout'],
      ["the upstream's unix socket is removed", 'lab-socket', 'unix-socket-missing'],
    ]);
    for (const outcome of outcomes) {
      expect(outcome.alarmIds).toEqual([`${outcome.target}-probe-failed`]);
      expect(outcome.report.trigger.kind).toBe('probe');
      expect(outcome.report.resolvedAt).toBeDefined();
      expect(outcome.report.durationSeconds).toBe(
        (Date.parse(outcome.report.resolvedAt!) - Date.parse(outcome.report.openedAt)) / 1000,
      );
    }
  });

  it('writes every report (JSON, Markdown, HTML) into the reports folder', async () => {
    for (const outcome of outcomes) {
      expect(outcome.location.startsWith(`${out}/${outcome.target}-`)).toBe(true);
      for (const file of ['report.json', 'report.md', 'report.html']) {
        await stat(outcome.location.replace(/report\.json$/, file));
      }
    }
  });

  it('prints each detection, verdict, report path and resolution on stdout and its progress on stderr', () => {
    for (const [index, outcome] of outcomes.entries()) {
      const v = outcome.report.verdict;
      expect(stdout).toContain(`[${index + 1}/4] ${outcome.fault}\n`);
      expect(stdout).toContain(
        `verdict: ${v.rootCause}${v.upstream ? ` (${v.upstream})` : ''}, confidence ${v.confidence}\n`,
      );
      expect(stdout).toContain(`report:  ${outcome.location}\n`);
    }
    expect(stdout.match(/detected: alarm \S+-probe-failed after \d+\.\d s\n/g)).toHaveLength(4);
    expect(stdout.match(/resolved: after \d+ s .*; report updated\n/g)).toHaveLength(4);
    expect(stdout).toContain('4 faults detected, diagnosed and resolved in');
    expect(stderr).toMatch(/nginx \S+ on http:\/\/127\.0\.0\.1:\d+/);
    expect(stderr).not.toContain('verdict:');
  });
});
