import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AlarmEpisode,
  EPISODE_MINUTES,
  EXECUTION_NAME,
  executionNameFor,
  incidentIdFor,
  lookbackMinutes,
} from '../../lambdas/handlers/alarm-episode.ts';
import { WorkflowInputSchema } from '../../lambdas/steps/contracts.ts';
import { exampleConfig } from '../infra/synth.ts';

const episode = (alarmArn: string, at: number): AlarmEpisode => ({
  alarmArn,
  alarmName: alarmArn.split(':alarm:')[1] ?? 'x',
  enteredAt: new Date(at),
  reason: '',
});

describe('execution names and incident ids of alarm episodes', () => {
  const targetName = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/);
  const arn = fc
    .stringMatching(/^[A-Za-z0-9 ._:/-]{1,200}$/)
    .map((n) => `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${n}`);
  const moment = fc.integer({
    min: Date.parse('2000-01-01T00:00:00Z'),
    max: Date.parse('2099-12-31T23:59:59Z'),
  });

  it('are valid Step Functions execution names of at most 80 characters, for any target and alarm', () => {
    fc.assert(
      fc.property(targetName, arn, moment, (target, alarmArn, at) =>
        EXECUTION_NAME.test(executionNameFor(target, episode(alarmArn, at))),
      ),
    );
  });

  it('are valid incident ids of the workflow contract', () => {
    fc.assert(
      fc.property(targetName, arn, moment, (target, alarmArn, at) => {
        const id = incidentIdFor(target, episode(alarmArn, at));
        return WorkflowInputSchema.shape.incidentId.safeParse(id).success;
      }),
    );
  });

  it('are one per target and episode slot, whichever alarm of the target fired first', () => {
    fc.assert(
      fc.property(targetName, arn, arn, moment, (target, a, b, at) => {
        const slotStart = Math.floor(at / (EPISODE_MINUTES * 60_000)) * EPISODE_MINUTES * 60_000;
        const inSlot = slotStart + ((at * 7) % (EPISODE_MINUTES * 60_000));
        return (
          executionNameFor(target, episode(a, at)) === executionNameFor(target, episode(b, inSlot)) &&
          incidentIdFor(target, episode(a, at)) === incidentIdFor(target, episode(b, inSlot))
        );
      }),
    );
  });

  it('differ for another target or another episode slot', () => {
    fc.assert(
      fc.property(
        targetName,
        targetName,
        arn,
        moment,
        fc.integer({ min: 1, max: 1000 }),
        (t, u, a, at, slots) => {
          const later = at + slots * EPISODE_MINUTES * 60_000;
          return (
            executionNameFor(t, episode(a, at)) !== executionNameFor(t, episode(a, later)) &&
            (t === u || executionNameFor(t, episode(a, at)) !== executionNameFor(u, episode(a, at)))
          );
        },
      ),
    );
  });
});

describe('lookbackMinutes', () => {
  it('reads at least 15 minutes before the alarm', () => {
    expect(lookbackMinutes(exampleConfig().targets[0]!)).toBe(15);
  });

  it('covers the span the alarm evaluated over, plus five minutes of lead-up', () => {
    const target = exampleConfig().targets[0]!;
    target.alarm.failedProbes = { datapoints: 3, evaluationPeriods: 10 };
    target.probe!.intervalSeconds = 300;
    expect(lookbackMinutes(target)).toBe(55);
  });
});
