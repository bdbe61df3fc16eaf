// LocalWorkflowStarter keeps Step Functions' rule for execution names: one name, one execution, ever.
// Each start runs the deployed workflow for real (logs only, against an empty nginx error log).
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import {
  ExecutionNamesFileError,
  LocalWorkflowStartError,
  LocalWorkflowStarter,
} from '../../lambdas/local/local-workflow-starter.ts';
import {
  Cleanup,
  deployedDefinition,
  labDeps,
  RecordingNotifier,
  removeAfter,
  workflowInput,
} from './support.ts';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface Setup {
  dir: string;
  notifier: RecordingNotifier;
  starter: (options?: { namesFile?: string; failReports?: boolean }) => LocalWorkflowStarter;
}

/**
 * A target whose nginx error log holds one refused connection a minute ago: each run is a short, real,
 * logs-only diagnosis with a verdict that notifies (a healthy one notifies nobody).
 */
async function setup(): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'gatewatch-starter-'));
  removeAfter(cleanup, dir);
  const at = new Date(Date.now() - 60_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getFullYear()}/${pad(at.getMonth() + 1)}/${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
  await writeFile(
    join(dir, 'error.log'),
    `${stamp} [error] 12#12: *69 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: lab, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:3000/", host: "127.0.0.1"\n`,
  );
  const config: GatewatchConfig = {
    targets: [
      {
        name: 'lab',
        nginx: { errorLog: join(dir, 'error.log') },
        upstreams: [],
        alarm: {
          failedProbes: { datapoints: 2, evaluationPeriods: 3 },
          errorRate: { percent: 5, minutes: 5 },
        },
      },
    ],
    reports: { dir: join(dir, 'incidents') },
    notify: { email: [] },
  };
  const notifier = new RecordingNotifier();
  const failing = async () => {
    throw new Error('the report store is unavailable');
  };
  return {
    dir,
    notifier,
    starter: (options = {}) => {
      const starter = new LocalWorkflowStarter({
        deps: labDeps(config, { notifier }),
        run: {
          definition: deployedDefinition(),
          ...(options.failReports
            ? { overrides: { ClassifyAndReport: failing, WriteDegradedReport: failing } }
            : {}),
        },
        ...(options.namesFile === undefined ? {} : { namesFile: options.namesFile }),
      });
      // Runs still writing when a test fails must end before their folder is removed.
      cleanup.add(() => starter.settled());
      return starter;
    },
  };
}

function start(name: string) {
  return { name, input: { ...workflowInput(), logsOnly: true } };
}

async function incidentFolders(dir: string): Promise<string[]> {
  // Folders only: index.json and its pages live next to them.
  const entries = await readdir(join(dir, 'incidents'), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

describe('LocalWorkflowStarter', () => {
  it('runs the workflow for a new name and answers already-started for a name it has used', async () => {
    const { dir, notifier, starter: make } = await setup();
    const starter = make();
    const request = start('lab-20261124T051148Z-0123456789abcdef');

    const first = await starter.start(request);
    const second = await starter.start({ ...request, input: { ...workflowInput(), logsOnly: true } });
    await starter.settled();

    expect(first.status).toBe('started');
    expect(second).toEqual({ status: 'already-started', executionArn: first.executionArn });
    expect(first.executionArn).toMatch(/:execution:gatewatch-local:lab-20261124T051148Z-0123456789abcdef$/);
    expect(starter.executions().map((e) => [e.name, e.status])).toEqual([[request.name, 'succeeded']]);
    expect(await incidentFolders(dir)).toEqual([request.input.incidentId]);
    expect(notifier.sent).toHaveLength(1);
  });

  it.each([
    { keeping: 'in memory', file: false },
    { keeping: 'in a names file', file: true },
  ])('starts one run for concurrent starts of one name, names kept $keeping', async ({ file }) => {
    const { dir, notifier, starter: make } = await setup();
    const starter = make(file ? { namesFile: join(dir, 'executions.json') } : {});
    const request = start('lab-concurrent');

    const outcomes = await Promise.all(Array.from({ length: 5 }, () => starter.start(request)));
    await starter.settled();

    expect(outcomes.map((o) => o.status).sort()).toEqual([
      'already-started',
      'already-started',
      'already-started',
      'already-started',
      'started',
    ]);
    expect(starter.executions()).toHaveLength(1);
    expect(await incidentFolders(dir)).toHaveLength(1);
    expect(notifier.sent).toHaveLength(1);
  });

  it('remembers used names across a restart through its names file', async () => {
    const { dir, notifier, starter: make } = await setup();
    const namesFile = join(dir, 'state', 'executions.json');
    const request = start('lab-restart');
    const before = make({ namesFile });
    expect((await before.start(request)).status).toBe('started');
    await before.settled();

    const after = make({ namesFile });
    const again = await after.start(request);
    const other = await after.start(start('lab-other'));
    await after.settled();

    expect(again.status).toBe('already-started');
    expect(other.status).toBe('started');
    expect(after.executions().map((e) => e.name)).toEqual(['lab-other']);
    const file = JSON.parse(await readFile(namesFile, 'utf8')) as { executions: Record<string, unknown> };
    expect(Object.keys(file.executions).sort()).toEqual(['lab-other', 'lab-restart']);
    expect(notifier.sent).toHaveLength(2);
  });

  it('refuses an invalid execution name or workflow input and records neither', async () => {
    const { starter: make } = await setup();
    const starter = make();

    await expect(starter.start(start('lab episode/1'))).rejects.toThrow(LocalWorkflowStartError);
    await expect(starter.start({ name: 'lab-bad-input', input: { target: 'lab' } })).rejects.toThrow(
      /invalid workflow input: incidentId: /,
    );
    expect((await starter.start(start('lab-bad-input'))).status).toBe('started');
    await starter.settled();
    expect(starter.executions().map((e) => e.name)).toEqual(['lab-bad-input']);
  });

  it('refuses to start when its names file is not JSON rather than risk a second diagnosis', async () => {
    const { dir, starter: make } = await setup();
    const namesFile = join(dir, 'executions.json');
    await writeFile(namesFile, '{"version":1,"executions":{"lab-a":');
    const starter = make({ namesFile });

    await expect(starter.start(start('lab-a'))).rejects.toThrow(ExecutionNamesFileError);
    expect(starter.executions()).toEqual([]);
  });

  it('keeps the name of a failed execution used, as Step Functions does', async () => {
    const { notifier, starter: make } = await setup();
    const starter = make({ failReports: true });
    const request = start('lab-failing');

    expect((await starter.start(request)).status).toBe('started');
    await starter.settled();
    const [execution] = starter.executions();
    expect(execution?.status).toBe('failed');
    // The workflow's own Fail state: neither the report nor the degraded report could be written.
    expect((execution?.error as Error | undefined)?.cause).toMatchObject({ name: 'ReportFailed' });
    expect((await starter.start(request)).status).toBe('already-started');
    expect(starter.executions()).toHaveLength(1);
    // Nothing to say without a report: the workflow ends in its Fail state before Notify.
    expect(notifier.sent).toEqual([]);
  });
});
