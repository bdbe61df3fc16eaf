// Must show 4: the evidence bundle of a real-nginx diagnosis replays, offline and after nginx and the
// upstream are gone, to the same verdict and the same report.json bytes as the live run.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Report } from '../../lambdas/core/types.ts';
import { diagnoseOnce } from '../../lambdas/local/diagnose.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { UpstreamProcess } from '../../lambdas/local/lab/upstream-process.ts';
import { diagnosisPart, reportJsonText } from '../../lambdas/steps/evidence-bundle.ts';
import { runGatewatch } from '../support/cli.ts';
import { replayMatchesLive } from '../support/replay.ts';

const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const scenarios: {
  name: string;
  expected: string;
  setup: (port: number) => Promise<{ server: string; http?: string }>;
}[] = [
  {
    name: 'connection refused (nothing listens)',
    expected: 'upstream-down',
    setup: async (port) => ({ server: `location / { proxy_pass http://127.0.0.1:${port}; }` }),
  },
  {
    name: 'an upstream slower than proxy_read_timeout',
    expected: 'upstream-timeout',
    setup: async (port) => {
      const up = await UpstreamProcess.start({ mode: 'slow', port, delayMs: 2500 });
      cleanup.push(() => up.kill());
      return { server: `location / { proxy_pass http://127.0.0.1:${port}; proxy_read_timeout 1s; }` };
    },
  },
  {
    name: 'an upstream that closes the connection early',
    expected: 'upstream-closed-early',
    setup: async (port) => {
      const up = await UpstreamProcess.start({ mode: 'close', port });
      cleanup.push(() => up.kill());
      return { server: `location / { proxy_pass http://127.0.0.1:${port}; }` };
    },
  },
];

describe('replay of bundles from real-nginx diagnoses', () => {
  it.each(scenarios)(
    'reproduces the live report of $name offline, byte for byte',
    async ({ expected, setup }) => {
      const port = await freePort();
      const lab = await NginxLab.start(await setup(port));
      cleanup.push(() => lab.stop());
      for (let i = 0; i < 4; i++) await lab.get('/');
      const config = lab.gatewatchConfig();
      // Reports outside the lab's folder, so they outlive the lab.
      const out = await mkdtemp(join(tmpdir(), 'gatewatch-replay-'));
      const result = await diagnoseOnce({
        config,
        target: config.targets[0]!,
        from: new Date(Date.now() - 5 * 60_000),
        deps: { notify: 'silent', out },
      });
      // Whatever the verdict on this (noisy) host, the replay must agree with it; the scenario's own cause is
      // asserted by the classifier's tests, but say which it was when it differs.
      const live = result.report;
      // Offline: nginx and the upstream are stopped before the replay.
      for (const step of cleanup.splice(0).reverse()) await step();
      const comparison = await replayMatchesLive(result.dir);
      expect(comparison.firstDifference).toBeUndefined();
      expect(comparison.matches).toBe(true);
      expect(comparison.verdictMatches).toBe(true);
      expect(comparison.hashMatches).toBe(true);
      expect(comparison.replayed.verdict.rootCause).toBe(live.verdict.rootCause);
      // The bundle holds what the classifier saw: the host's diagnostics and nginx -T, not only the logs.
      const bundle = JSON.parse(
        (await import('node:zlib'))
          .gunzipSync(await readFile(join(result.dir, 'bundle.json.gz')))
          .toString('utf8'),
      ) as {
        evidence: { hosts: { facts?: { nginxDump?: string; checks: unknown[] } }[]; errorLog?: unknown };
      };
      expect(bundle.evidence.hosts[0]?.facts?.checks.length).toBeGreaterThan(0);
      expect(bundle.evidence.hosts[0]?.facts?.nginxDump).toContain('proxy_pass');
      expect(bundle.evidence.errorLog).toBeDefined();
      // And through the command as shipped.
      const run = await runGatewatch(['replay', join(result.dir, 'bundle.json.gz'), '--json']);
      expect(run.code, run.stderr).toBe(0);
      // report.json as the diagnosis wrote it; the Notify step then recorded its outcome (lifecycle).
      const written = JSON.parse(await readFile(join(result.dir, 'report.json'), 'utf8')) as Report;
      expect(written.notifications?.length).toBeGreaterThan(0);
      expect(run.stdout).toBe(reportJsonText(diagnosisPart(written)));
      expect([expected, live.verdict.rootCause]).toContain(
        (JSON.parse(run.stdout) as Report).verdict.rootCause,
      );
      await rm(out, { recursive: true, force: true });
    },
    180_000,
  );
});
