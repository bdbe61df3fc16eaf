import {
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
  type StartExecutionCommandInput,
} from '@aws-sdk/client-sfn';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidAlarmEventError, parseAlarmTime } from '../../lambdas/handlers/alarm-episode.ts';
import type { StarterResult } from '../../lambdas/handlers/starter.ts';
import { WorkflowInputSchema } from '../../lambdas/steps/contracts.ts';
import { lambdaContext, STATE_MACHINE_ARN, setStackEnvironment } from './support.ts';

const ALARM_ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:gatewatch-probe-failed-1';

/**
 * A CloudWatch alarm event as EventBridge delivers it (AWS documentation's shape): a contributor event of
 * gatewatch's multi-time-series alarm for `target`, or — for a user's alarm routed by name — a plain
 * state change.
 */
function alarmEvent(
  state: 'ALARM' | 'OK',
  timestamp: string,
  alarmName = 'gatewatch-probe-failed-1',
  target: string | undefined = 'shop',
) {
  const contributor = alarmName.startsWith('gatewatch-') && target !== undefined;
  return {
    version: '0',
    id: `c4c1c1c9-6542-e61b-6ef0-8c4d36933a92-${timestamp}`,
    'detail-type': contributor
      ? 'CloudWatch Alarm Contributor State Change'
      : 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: timestamp.replace(/\.\d{3}\+0000$/, 'Z'),
    region: 'us-east-1',
    resources: [ALARM_ARN.replace('gatewatch-probe-failed-1', alarmName)],
    detail: {
      alarmName,
      ...(contributor
        ? { alarmContributor: { id: 'a1b2c3d4e5f60718', attributes: { Target: target } } }
        : {}),
      state: {
        value: state,
        reason:
          'Threshold Crossed: 2 out of the last 3 datapoints [1.0 (24/11/26 05:10:00), 1.0 (24/11/26 05:11:00)] were greater than or equal to the threshold (1.0).',
        timestamp,
      },
      previousState: { value: state === 'ALARM' ? 'OK' : 'ALARM', timestamp: '2026-11-24T04:00:00.000+0000' },
      configuration: { description: 'gatewatch probe-failed, one contributor per target', metrics: [] },
    },
  };
}

describe('starter Lambda', () => {
  let sfn: AwsClientStub<SFNClient>;
  let handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<StarterResult>;
  /** Step Functions' rule, as the fake applies it: an execution name is used once per state machine. */
  let executions: Map<string, StartExecutionCommandInput>;

  beforeAll(async () => {
    setStackEnvironment();
    sfn = mockClient(SFNClient);
    ({ handler } = (await import('../../lambdas/handlers/starter.ts')) as unknown as {
      handler: typeof handler;
    });
  });
  afterAll(() => sfn.restore());

  beforeEach(() => {
    sfn.reset();
    executions = new Map();
    sfn.on(StartExecutionCommand).callsFake(async (input: StartExecutionCommandInput) => {
      // Yield first, so concurrent deliveries really interleave before either is recorded.
      await new Promise((resolve) => setImmediate(resolve));
      if (executions.has(input.name!)) {
        throw new ExecutionAlreadyExists({
          message: `Execution Already Exists: '${input.name}'`,
          $metadata: {},
        });
      }
      executions.set(input.name!, input);
      return {
        executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${input.name}`,
        startDate: new Date(),
      };
    });
  });

  it('starts one diagnosis of the alarm’s target, with a valid execution name and workflow input', async () => {
    const result = await handler(alarmEvent('ALARM', '2026-11-24T05:11:48.123+0000'), lambdaContext());

    expect(result).toMatchObject({
      status: 'started',
      // The episode slot (15 minutes) the alarm fell in.
      incidentId: expect.stringMatching(/^shop-20261124T050000Z-[0-9a-f]{8}$/),
    });
    expect(executions.size).toBe(1);
    const [name, input] = [...executions][0]!;
    expect(name).toMatch(/^shop-20261124T050000Z-[0-9a-f]{16}$/);
    expect(input.stateMachineArn).toBe(STATE_MACHINE_ARN);
    const workflowInput = WorkflowInputSchema.parse(JSON.parse(input.input!));
    expect(workflowInput).toMatchObject({
      target: 'shop',
      openedAt: '2026-11-24T05:11:48Z',
      window: { to: '2026-11-24T05:11:48Z' },
      trigger: {
        kind: 'alarm',
        detail: expect.stringContaining('gatewatch-probe-failed-1 entered ALARM for shop'),
      },
      logsOnly: false,
    });
    expect(
      Date.parse(workflowInput.window.to) - Date.parse(workflowInput.window.from),
    ).toBeGreaterThanOrEqual(15 * 60_000);
  });

  it('handles the same event delivered twice as one execution: the second finds it already started', async () => {
    const event = alarmEvent('ALARM', '2026-11-24T05:11:48.123+0000');

    const first = await handler(event, lambdaContext());
    const second = await handler(structuredClone(event), lambdaContext());

    expect(first.status).toBe('started');
    expect(second.status).toBe('already-started');
    expect(executions.size).toBe(1);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(2);
    const [a, b] = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input);
    expect(b).toEqual(a); // same name and the same input: nothing in it depends on when it was delivered
    expect(second).toMatchObject({
      executionName: (first as { executionName: string }).executionName,
      executionArn: (first as { executionArn: string }).executionArn,
    });
  });

  it('handles the same event delivered twice concurrently as one execution', async () => {
    const event = alarmEvent('ALARM', '2026-11-24T05:11:48.123+0000');

    const results = await Promise.all([
      handler(event, lambdaContext()),
      handler(structuredClone(event), lambdaContext()),
      handler(structuredClone(event), lambdaContext()),
    ]);

    expect(results.map((r) => r.status).sort()).toEqual(['already-started', 'already-started', 'started']);
    expect(executions.size).toBe(1);
  });

  it('opens a new incident for ALARM → OK → ALARM in a later episode slot, and starts nothing for OK', async () => {
    const first = await handler(alarmEvent('ALARM', '2026-11-24T05:11:48.123+0000'), lambdaContext());
    const recovered = await handler(alarmEvent('OK', '2026-11-24T05:20:02.000+0000'), lambdaContext());
    const again = await handler(alarmEvent('ALARM', '2026-11-24T06:02:10.456+0000'), lambdaContext());

    expect(recovered.status).toBe('ignored');
    expect(first.status).toBe('started');
    expect(again.status).toBe('started');
    expect(executions.size).toBe(2);
    expect((first as { incidentId: string }).incidentId).not.toBe(
      (again as { incidentId: string }).incidentId,
    );
  });

  it('opens one incident when the probe-failed and the error-rate alarm of one target fire in one episode', async () => {
    const probe = await handler(alarmEvent('ALARM', '2026-11-24T05:11:48.123+0000'), lambdaContext());
    const errors = await handler(
      alarmEvent('ALARM', '2026-11-24T05:13:02.000+0000', 'gatewatch-error-rate-1'),
      lambdaContext(),
    );

    expect(probe.status).toBe('started');
    expect(errors.status).toBe('already-started');
    expect(executions.size).toBe(1);
  });

  it('starts one diagnosis per target when two targets are contributors of the same alarm', async () => {
    const config = JSON.parse(process.env.GATEWATCH_CONFIG!) as { targets: { name: string }[] };
    expect(config.targets.map((t) => t.name)).toContain('shop');
    const shop = await handler(alarmEvent('ALARM', '2026-11-24T05:11:48.123+0000'), lambdaContext());
    const unknown = await handler(
      alarmEvent('ALARM', '2026-11-24T05:11:48.123+0000', 'gatewatch-probe-failed-1', 'not-configured'),
      lambdaContext(),
    );

    expect(shop.status).toBe('started');
    expect(unknown).toMatchObject({ status: 'ignored', reason: expect.stringContaining('not configured') });
    expect(executions.size).toBe(1);
  });

  it('routes a user’s alarm opted in by name to its target', async () => {
    const result = await handler(
      alarmEvent('ALARM', '2026-11-24T05:11:48.123+0000', 'shop-api-5xx'),
      lambdaContext(),
    );

    expect(result.status).toBe('started');
    expect(JSON.parse([...executions.values()][0]!.input!)).toMatchObject({ target: 'shop' });
  });

  it('ignores an alarm no target is routed to, without starting anything', async () => {
    const result = await handler(
      alarmEvent('ALARM', '2026-11-24T05:11:48.123+0000', 'billing-cpu-high'),
      lambdaContext(),
    );

    expect(result).toEqual({
      status: 'ignored',
      reason: 'alarm billing-cpu-high is not routed to any configured target',
    });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('throws on an event that is not an alarm state change, so the on-failure destination keeps it', async () => {
    const broken = alarmEvent('ALARM', '2026-11-24T05:11:48.123+0000') as Record<string, unknown>;
    (broken.detail as Record<string, unknown>).state = { value: 'ALARM', timestamp: 'yesterday' };

    await expect(handler(broken, lambdaContext())).rejects.toBeInstanceOf(InvalidAlarmEventError);
    await expect(handler({ source: 'aws.ec2' }, lambdaContext())).rejects.toThrow(
      /not a CloudWatch alarm state change/,
    );
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('throws when Step Functions refuses for another reason, so Lambda retries the event', async () => {
    sfn.reset();
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(
      handler(alarmEvent('ALARM', '2026-11-24T05:11:48.123+0000'), lambdaContext()),
    ).rejects.toMatchObject({
      name: 'WorkflowStartError',
    });
  });
});

describe('parseAlarmTime', () => {
  it.each([
    ['2026-11-24T05:11:48.123+0000', '2026-11-24T05:11:48.123Z'],
    ['2026-11-24T05:11:48.123+00:00', '2026-11-24T05:11:48.123Z'],
    ['2026-11-24T06:11:48.123+0100', '2026-11-24T05:11:48.123Z'],
    ['2026-11-24T05:11:48Z', '2026-11-24T05:11:48.000Z'],
  ])('reads CloudWatch’s %s', (text, iso) => {
    expect(parseAlarmTime(text)?.toISOString()).toBe(iso);
  });

  it.each(['yesterday', '2026-11-24 05:11:48', '2026-11-24T05:11:48', '2026-13-24T05:11:48Z'])(
    'refuses %s',
    (text) => {
      expect(parseAlarmTime(text)).toBeUndefined();
    },
  );
});
