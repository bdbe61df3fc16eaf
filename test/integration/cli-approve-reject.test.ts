// `gatewatch approve ID --reject --by NAME` through the shipped CLI, locally: a real nginx in front of a
// dead upstream whose service is a systemd unit, remediation in approve mode. `gatewatch diagnose` (a
// process) proposes restart-service and waits; the rejection answers it once, nothing runs, and the
// report's remediation says who rejected it.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Report } from '../../lambdas/core/types.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { type RunningGatewatch, runGatewatch, startGatewatch } from '../support/cli.ts';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

let nginx: NginxLab;
let config: string;
let reports: string;
let diagnose: RunningGatewatch | undefined;
// A unit that does not exist on this host: were the restart run, it would fail and say so in the report.
const UNIT = 'gatewatch-cliflags-shop.service';

beforeAll(async () => {
  const dead = await freePort();
  nginx = await NginxLab.start({ server: `location / { proxy_pass http://127.0.0.1:${dead}; }` });
  for (let i = 0; i < 5; i++) expect(await nginx.get('/checkout')).toBe(502);
  reports = join(nginx.prefix, 'reports');
  const base = nginx.gatewatchConfig(
    { upstreams: [{ address: `127.0.0.1:${dead}`, service: { systemd: UNIT } }] },
    reports,
  );
  // The configuration file as a user writes it: remediation's defaults are filled in by the CLI.
  const file = {
    ...base,
    targets: [
      {
        ...base.targets[0],
        remediation: {
          mode: 'approve',
          actions: ['restart-service'],
          approvalSeconds: 120,
          verifySeconds: 5,
        },
      },
    ],
  };
  config = join(nginx.prefix, 'gatewatch.json');
  await writeFile(config, JSON.stringify(file));
});

afterAll(async () => {
  if (diagnose && diagnose.child.exitCode === null && diagnose.child.signalCode === null) {
    diagnose.child.kill('SIGKILL');
    await diagnose.exited;
  }
  await nginx?.stop();
});

async function pendingRequest(): Promise<string> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const names = await readdir(join(reports, '.gatewatch-approvals')).catch(() => [] as string[]);
    const request = names.find((n) => n.endsWith('.request.json'));
    if (request) return request.replace('.request.json', '');
    if (diagnose!.child.exitCode !== null) throw new Error(`diagnose exited:\n${diagnose!.stderr}`);
    await sleep(200);
  }
  throw new Error(`no approval request within 120 s:\n${diagnose!.stdout}\n${diagnose!.stderr}`);
}

describe('gatewatch approve ID --reject (local, approve mode)', () => {
  it('answers the waiting diagnosis once with a rejection by bob; nothing runs and diagnose exits', async () => {
    diagnose = startGatewatch(['diagnose', '--config', config, '--since', '10m']);
    const incidentId = await pendingRequest();
    const pending = JSON.parse(await readFile(join(reports, incidentId, 'report.json'), 'utf8')) as Report;
    expect(pending.remediation?.status).toBe('awaiting-approval');
    expect(diagnose.child.exitCode).toBeNull();

    const reject = await runGatewatch(['approve', incidentId, '--reject', '--by', 'bob', '--config', config]);
    expect(reject.code, reject.stderr).toBe(0);
    expect(reject.stdout).toContain(`rejected: restart-service for ${incidentId} will not run`);
    const exit = await diagnose.exited;
    expect(exit.code, diagnose.stderr).toBe(0);

    const done = JSON.parse(await readFile(join(reports, incidentId, 'report.json'), 'utf8')) as Report;
    expect(done.remediation).toMatchObject({
      status: 'not-approved',
      reason: 'rejected by bob: nothing ran',
      proposed: { action: 'restart-service', command: `systemctl restart -- ${UNIT}` },
      approval: { status: 'rejected', by: 'bob' },
    });
    expect(done.remediation?.ran).toBeUndefined();

    const again = await runGatewatch(['approve', incidentId, '--by', 'alice', '--config', config]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already answered|no approval is pending/);
  });
});
