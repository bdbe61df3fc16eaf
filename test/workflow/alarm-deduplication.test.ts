// Issue 3, "one alarm episode is one incident", end to end on this machine: the starter Lambda's own
// handler (event validation, episode → execution name, start) with the local starter in place of Step
// Functions, the deployed workflow against a real failing nginx, and e-mail through a real SMTP server.
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FolderReportStore } from '../../lambdas/adapters/local/folder-report-store.ts';
import { SmtpNotifier } from '../../lambdas/adapters/local/smtp-notifier.ts';
import { EPISODE_MINUTES } from '../../lambdas/handlers/alarm-episode.ts';
import type { StarterResult } from '../../lambdas/handlers/starter.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import type { NginxLab } from '../../lambdas/local/lab/nginx-lab.ts';
import { LocalWorkflowStarter } from '../../lambdas/local/local-workflow-starter.ts';
import type { WorkflowStarter } from '../../lambdas/ports.ts';
import { LAMBDA_ENV } from '../../lib/workflow/lambda-wiring.ts';
import { lambdaContext } from '../handlers/support.ts';
import {
  Cleanup,
  deployedDefinition,
  labDeps,
  type Mailbox,
  removeAfter,
  requests,
  startLab,
  startMailbox,
  subjectOf,
} from './support.ts';

// The one line of wiring that differs from AWS: the handler's starter is the local one, not SFN's.
const wiring = vi.hoisted(() => ({ starter: undefined as WorkflowStarter | undefined }));
vi.mock('../../lambdas/handlers/wiring/workflow-starter.ts', () => ({
  workflowStarterFromEnvironment: (): WorkflowStarter => ({
    start: (start) => {
      if (!wiring.starter) throw new Error('no local starter wired for this test');
      return wiring.starter.start(start);
    },
  }),
}));

const ALARM_NAME = 'gatewatch-lab-probe-failed';
const ALARM_ARN = `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${ALARM_NAME}`;

/** CloudWatch's timestamp spelling: `2026-11-24T05:11:48.123+0000`. */
function cloudWatchTime(at: Date): string {
  return at.toISOString().replace('Z', '+0000');
}

/** A CloudWatch "Alarm State Change" event as EventBridge delivers it. */
function alarmEvent(state: 'ALARM' | 'OK', at: Date) {
  return {
    version: '0',
    id: `7bf73129-1428-4cd3-a780-95db273d1602-${at.getTime()}`,
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: [ALARM_ARN],
    detail: {
      alarmName: ALARM_NAME,
      state: {
        value: state,
        reason:
          'Threshold Crossed: 2 out of the last 3 datapoints were greater than or equal to the threshold (1.0).',
        timestamp: cloudWatchTime(at),
      },
      previousState: { value: state === 'ALARM' ? 'OK' : 'ALARM' },
      configuration: { description: 'lab: 2 of the last 3 probe runs failed', metrics: [] },
    },
  };
}

describe('one alarm episode, one incident (starter handler → local workflow)', () => {
  const labCleanup = new Cleanup();
  const cleanup = new Cleanup();
  let lab: NginxLab;
  let upstreamPort: number;
  let handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<StarterResult>;
  let mailbox: Mailbox;
  let reportsDir: string;
  let starter: LocalWorkflowStarter;

  beforeAll(async () => {
    upstreamPort = await freePort();
    lab = await startLab(labCleanup, `location / { proxy_pass http://127.0.0.1:${upstreamPort}; }`);
    expect(await requests(lab, 3)).toEqual([502, 502, 502]);
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      [LAMBDA_ENV.config]: JSON.stringify(lab.gatewatchConfig()),
      [LAMBDA_ENV.alarmRoutes]: JSON.stringify({ prefixes: { 'gatewatch-lab-': 'lab' }, names: {} }),
    });
    ({ handler } = (await import('../../lambdas/handlers/starter.ts')) as unknown as {
      handler: typeof handler;
    });
  });
  afterAll(() => labCleanup.run());

  beforeEach(async () => {
    mailbox = await startMailbox();
    cleanup.add(() => mailbox.close());
    reportsDir = await mkdtemp(join(tmpdir(), 'gatewatch-incidents-'));
    removeAfter(cleanup, reportsDir);
    const notifier = new SmtpNotifier({
      host: '127.0.0.1',
      port: mailbox.port,
      from: 'gatewatch@localhost',
      to: ['oncall@example.com'],
      ignoreTLS: true,
    });
    cleanup.add(() => notifier.close());
    starter = new LocalWorkflowStarter({
      deps: labDeps(lab.gatewatchConfig(), { notifier, store: new FolderReportStore(reportsDir) }),
      run: { definition: deployedDefinition() },
      namesFile: join(reportsDir, '.executions.json'),
    });
    wiring.starter = starter;
  });
  afterEach(async () => {
    await starter.settled();
    wiring.starter = undefined;
    await cleanup.run();
  });

  const deliver = (event: unknown) => handler(event, lambdaContext('gatewatch-starter'));

  /** Every incident folder, each with the three report files. */
  async function incidentFolders(): Promise<string[]> {
    // Folders only: index.json and its pages live next to them.
    const folders = (await readdir(reportsDir, { withFileTypes: true }))
      .filter((f) => f.isDirectory() && !f.name.startsWith('.'))
      .map((f) => f.name);
    for (const folder of folders) {
      expect((await readdir(join(reportsDir, folder))).filter((f) => f.startsWith('report.')).sort()).toEqual(
        ['report.html', 'report.json', 'report.md'],
      );
    }
    return folders.sort();
  }

  it('diagnoses an alarm event delivered twice once: one execution, one report, one e-mail', async () => {
    const event = alarmEvent('ALARM', new Date(Date.now() + 1000));

    const first = await deliver(event);
    const second = await deliver(structuredClone(event));
    await starter.settled();

    expect(first).toMatchObject({ status: 'started' });
    expect(second).toMatchObject({ status: 'already-started' });
    const started = first as Extract<StarterResult, { incidentId: string }>;
    expect(second).toMatchObject({ executionName: started.executionName, incidentId: started.incidentId });
    expect(starter.executions().map((e) => [e.name, e.status])).toEqual([
      [started.executionName, 'succeeded'],
    ]);
    expect(await incidentFolders()).toEqual([started.incidentId]);
    expect(mailbox.messages).toHaveLength(1);
    expect(mailbox.messages[0]!.to).toEqual(['oncall@example.com']);
    expect(subjectOf(mailbox.messages[0]!.raw)).toBe(
      `[gatewatch] lab: upstream-down 127.0.0.1:${upstreamPort}`,
    );
  });

  it('diagnoses an alarm event delivered twice concurrently once', async () => {
    const event = alarmEvent('ALARM', new Date(Date.now() + 1000));

    const results = await Promise.all([deliver(event), deliver(structuredClone(event))]);
    await starter.settled();

    expect(results.map((r) => r.status).sort()).toEqual(['already-started', 'started']);
    expect(new Set(results.map((r) => (r as { executionName: string }).executionName)).size).toBe(1);
    expect(starter.executions()).toHaveLength(1);
    expect(await incidentFolders()).toHaveLength(1);
    expect(mailbox.messages).toHaveLength(1);
  });

  it('opens two incidents for ALARM → OK → ALARM in two episode slots, each once however often it is delivered', async () => {
    const base = Date.now() + 1000;
    const firstAlarm = alarmEvent('ALARM', new Date(base));
    const recovered = alarmEvent('OK', new Date(base + 60_000));
    // The next episode slot: within one slot, alarms of a target are one incident (EPISODE_MINUTES).
    const secondAlarm = alarmEvent('ALARM', new Date(base + EPISODE_MINUTES * 60_000));

    const results = [];
    for (const event of [firstAlarm, recovered, secondAlarm, firstAlarm, secondAlarm]) {
      results.push(await deliver(event));
    }
    await starter.settled();

    expect(results.map((r) => r.status)).toEqual([
      'started',
      'ignored',
      'started',
      'already-started',
      'already-started',
    ]);
    const incidents = results.flatMap((r) =>
      'incidentId' in r && r.status === 'started' ? [r.incidentId] : [],
    );
    expect(new Set(incidents).size).toBe(2);
    expect(await incidentFolders()).toEqual([...incidents].sort());
    expect(starter.executions().every((e) => e.status === 'succeeded')).toBe(true);
    expect(mailbox.messages).toHaveLength(2);
  });
});
