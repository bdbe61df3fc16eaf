// The state machine definition CloudFormation would deploy (synthesized from the stack, substitutions
// applied), executed on this machine by aws-local-stepfunctions with every Task bound to its local step.
import { readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Report } from '../../lambdas/core/types.ts';
import { freePort } from '../../lambdas/local/lab/free-port.ts';
import {
  localTaskHandlers,
  MissingLocalHandlerError,
  runDiagnosisWorkflow,
  taskStateNames,
} from '../../lambdas/local/workflow-runner.ts';
import type { StepDeps } from '../../lambdas/steps/deps.ts';
import { WORKFLOW_TASK_NAMES } from '../../lib/workflow/definition.ts';
import {
  Cleanup,
  deployedDefinition,
  labDeps,
  RecordingNotifier,
  requests,
  startLab,
  workflowInput,
} from './support.ts';

type State = Record<string, unknown>;
type Definition = { States: Record<string, State> };

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Ports that remember being touched: a run refused up front must not have used any. */
function untouchedDeps(): { deps: StepDeps; touched: string[] } {
  const touched: string[] = [];
  const deps = {
    config: { targets: [], reports: { dir: '/nonexistent' }, notify: { email: [] } },
    logs: {
      chunks: () => {
        touched.push('logs');
        return (async function* () {})();
      },
    },
    dispatcher: {
      send: async () => {
        touched.push('dispatcher');
        return { commandId: 'x' };
      },
      collect: async () => {
        touched.push('dispatcher');
        return { status: 'pending' as const };
      },
    },
    store: {
      put: async () => {
        touched.push('store');
        return '';
      },
      get: async () => {
        touched.push('store');
        return undefined;
      },
      locate: (key: string) => key,
    },
    notifier: {
      notify: async () => {
        touched.push('notifier');
      },
    },
    clock: { now: () => new Date() },
    logLocations: () => ({ error: '/nonexistent/error.log' }),
    nginxHost: () => 'local',
    defaultUtcOffsetMinutes: 0,
  } as unknown as StepDeps;
  return { deps, touched };
}

const LAMBDA_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:gatewatch-archive';

describe('the synthesized workflow definition, run locally', () => {
  it('binds every Task of the deployed definition, each a Lambda ARN, to a local step', () => {
    const definition = deployedDefinition();
    const tasks = taskStateNames(definition);

    expect([...tasks].sort()).toEqual([...WORKFLOW_TASK_NAMES].sort());
    // Each of those Tasks names a real Lambda ARN: without its local handler the engine would invoke it.
    // (AwaitApproval names its Lambda in the waitForTaskToken integration's FunctionName.)
    const text = JSON.stringify(definition);
    const direct = text.match(/"Resource":"arn:aws:lambda:[^"]+"/g) ?? [];
    const viaToken = text.match(/"FunctionName":"arn:aws:lambda:[^"]+"/g) ?? [];
    expect(direct.length + viaToken.length).toBe(tasks.length);
    expect(viaToken).toHaveLength(1);
    const handlers = localTaskHandlers(definition, untouchedDeps().deps);
    expect(Object.keys(handlers).sort()).toEqual([...tasks].sort());
    expect(Object.values(handlers).every((h) => typeof h === 'function')).toBe(true);
  });

  it.each([
    {
      where: 'after Notify',
      inject: (d: Definition) => {
        d.States.Notify!.Next = 'Archive';
        d.States.Archive = { Type: 'Task', Resource: LAMBDA_ARN, Next: 'Done' };
        return 'Archive';
      },
    },
    {
      where: 'inside the DiagnoseHosts Map',
      inject: (d: Definition) => {
        const iteration = (d.States.DiagnoseHosts!.ItemProcessor as Definition).States;
        delete iteration.HostDone!.End;
        iteration.HostDone!.Next = 'ArchiveHost';
        iteration.ArchiveHost = { Type: 'Task', Resource: LAMBDA_ARN, End: true };
        return 'ArchiveHost';
      },
    },
  ])(
    'refuses, before any step runs, a Task injected $where that has no local handler',
    async ({ inject }) => {
      const definition = deployedDefinition() as Definition;
      const name = inject(definition);
      const { deps, touched } = untouchedDeps();

      const run = runDiagnosisWorkflow(workflowInput(), deps, {
        definition: definition as unknown as Record<string, unknown>,
      });

      await expect(run).rejects.toThrow(MissingLocalHandlerError);
      await expect(run).rejects.toThrow(`"${name}"`);
      expect(touched).toEqual([]);
    },
  );

  it('diagnoses a real nginx with nothing listening on its upstream as upstream-down and writes the report', async () => {
    const port = await freePort();
    const lab = await startLab(cleanup, `location / { proxy_pass http://127.0.0.1:${port}; }`);
    expect(await requests(lab, 3)).toEqual([502, 502, 502]);
    const config = lab.gatewatchConfig();
    const notifier = new RecordingNotifier();
    const input = workflowInput();

    const outcome = await runDiagnosisWorkflow(input, labDeps(config, { notifier }), {
      definition: deployedDefinition(),
    });

    expect(outcome.report).toMatchObject({
      rootCause: 'upstream-down',
      upstream: `127.0.0.1:${port}`,
      degraded: false,
    });
    const folder = dirname(outcome.report!.location);
    expect((await readdir(folder)).filter((f) => f.startsWith('report.')).sort()).toEqual([
      'report.html',
      'report.json',
      'report.md',
    ]);
    const report = JSON.parse(await readFile(outcome.report!.location, 'utf8')) as Report;
    expect(report.incidentId).toBe(input.incidentId);
    expect(report.verdict).toMatchObject({ rootCause: 'upstream-down', upstream: `127.0.0.1:${port}` });
    expect(report.findings.flatMap((f) => f.evidence.map((e) => e.excerpt)).join('\n')).toMatch(
      /connect\(\) failed \(111: /,
    );
    // The diagnostics script ran on this host through the Map, and nothing listens on the upstream port.
    expect(report.checks.find((c) => c.name === 'listen')?.status).toBe('ok');
    expect(report.traffic.status5xx).toBe(3);
    expect(await readFile(`${folder}/report.md`, 'utf8')).toContain('upstream-down');
    expect(notifier.sent).toHaveLength(1);
    expect(notifier.sent[0]!.subject).toBe(`[gatewatch] lab: upstream-down 127.0.0.1:${port}`);
  });
});
