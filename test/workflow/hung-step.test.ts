// A step that never answers (a Lambda stuck on a socket) must cost the workflow only that Task's
// TimeoutSeconds: the timeout fires as States.Timeout, is caught, and the report and the notification
// still happen. aws-local-stepfunctions times Tasks with the global setTimeout, so fake timers move its
// clock: the deployed TimeoutSeconds is observed to the millisecond without waiting for it. Only
// setTimeout/clearTimeout are faked; file and process I/O run for real.

import { readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Report } from '../../lambdas/core/types.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import { runDiagnosisWorkflow, type WorkflowOutcome } from '../../lambdas/local/workflow-runner.ts';
import type { WorkflowTaskName } from '../../lib/workflow/definition.ts';
import {
  Cleanup,
  deployedDefinition,
  deployedTaskTimeoutSeconds,
  eventRecorder,
  labDeps,
  RecordingNotifier,
  requests,
  startLab,
  workflowInput,
} from './support.ts';

const cleanup = new Cleanup();
afterEach(async () => {
  vi.useRealTimers();
  await cleanup.run();
});

/** A step handler that never settles, and a promise that resolves when the engine has called it. */
function hangingStep(): { handler: () => Promise<never>; entered: Promise<void> } {
  let enter: () => void = () => undefined;
  const entered = new Promise<void>((resolve) => {
    enter = resolve;
  });
  return {
    handler: () => {
      enter();
      return new Promise<never>(() => undefined);
    },
    entered,
  };
}

interface HungRun {
  outcome: WorkflowOutcome;
  report: Report;
  notifier: RecordingNotifier;
  port: number;
}

/**
 * Runs the deployed workflow against a real failing nginx with `task` hung, and checks the timing on the
 * engine's clock: nothing moves 1 ms before the Task's TimeoutSeconds, the timeout fires at it.
 */
async function runWithHungTask(task: WorkflowTaskName): Promise<HungRun> {
  const port = await freePort();
  const lab = await startLab(cleanup, `location / { proxy_pass http://127.0.0.1:${port}; }`);
  expect(await requests(lab, 2)).toEqual([502, 502]);
  const config = lab.gatewatchConfig();
  const notifier = new RecordingNotifier();
  const hang = hangingStep();
  const recorder = eventRecorder();
  const timeoutMs = deployedTaskTimeoutSeconds(task) * 1000;

  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const run = runDiagnosisWorkflow(workflowInput(), labDeps(config, { notifier }), {
    definition: deployedDefinition(),
    overrides: { [task]: hang.handler },
    onEvents: recorder.onEvents,
  });
  await hang.entered;
  const failed = () => recorder.events.filter((e) => e.type === 'StateFailed' && e.state?.name === task);

  await vi.advanceTimersByTimeAsync(timeoutMs - 1);
  expect(failed(), `${task} must not time out before ${timeoutMs} ms`).toEqual([]);
  expect(notifier.sent).toEqual([]);

  await vi.advanceTimersByTimeAsync(1);
  const outcome = await run;
  await recorder.done();

  expect(failed().map((e) => e.Error)).toEqual(['States.Timeout']);
  expect(recorder.events.some((e) => e.type === 'StateCaught' && e.state?.name === task)).toBe(true);
  expect(recorder.events.at(-1)?.type).toBe('ExecutionSucceeded');
  const folder = dirname(outcome.report!.location);
  expect((await readdir(folder)).filter((f) => f.startsWith('report.')).sort()).toEqual([
    'report.html',
    'report.json',
    'report.md',
  ]);
  const report = JSON.parse(await readFile(outcome.report!.location, 'utf8')) as Report;
  return { outcome, report, notifier, port };
}

describe('a hung step in the deployed workflow', () => {
  it('times out a hung diagnostics poll after its TimeoutSeconds and reports the host as failed', async () => {
    const { outcome, report, notifier, port } = await runWithHungTask('CollectDiagnostics');

    expect(outcome.hosts).toEqual([
      expect.objectContaining({ host: 'local', status: 'failed', error: 'States.Timeout' }),
    ]);
    expect(report.findings.map((f) => f.title)).toContain('Host local: diagnostics failed');
    // The rest of the diagnosis still ran: the verdict rests on nginx's own log.
    expect(report.verdict).toMatchObject({ rootCause: 'upstream-down', upstream: `127.0.0.1:${port}` });
    expect(outcome.report?.degraded).toBe(false);
    expect(notifier.sent).toHaveLength(1);
    // The notice links the HTML report next to report.json (a file URL locally).
    expect(notifier.sent[0]!.text).toContain(
      `Report: ${pathToFileURL(outcome.report!.location.replace(/report\.json$/, 'report.html')).href}`,
    );
  });

  it('times out a hung classification after its TimeoutSeconds, writes the degraded report and notifies', async () => {
    const { outcome, report, notifier } = await runWithHungTask('ClassifyAndReport');

    expect(outcome.reportError).toMatchObject({ Error: 'States.Timeout' });
    expect(outcome.report?.degraded).toBe(true);
    expect(report.verdict.rootCause).toBe('unknown');
    expect(report.findings.map((f) => f.title)).toContain('Step ClassifyAndReport failed: States.Timeout');
    expect(notifier.sent).toHaveLength(1);
    expect(notifier.sent[0]!.text).toContain('The diagnosis did not complete');
  });
});
