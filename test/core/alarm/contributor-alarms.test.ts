import { describe, expect, it } from 'vitest';
import {
  ContributorAlarmError,
  contributorAlarms,
  MAX_CONTRIBUTORS_PER_ALARM,
} from '../../../lambdas/core/alarm/contributor-alarms.ts';
import {
  type AlarmTargetInput,
  alarmDefinitionsForTargets,
} from '../../../lambdas/core/alarm/definitions.ts';

const target = (name: string, alarm?: AlarmTargetInput['alarm']): AlarmTargetInput => ({
  name,
  probe: { intervalSeconds: 60 },
  alarm: { errorRate: { percent: 5, minutes: 5 }, ...alarm },
});

function perTarget(targets: AlarmTargetInput[]) {
  return alarmDefinitionsForTargets(targets, { probeIntervalSeconds: 60 }).filter(
    (d) => d.target !== undefined,
  );
}

describe('contributorAlarms', () => {
  it('makes one alarm per kind for targets with the same settings, with no WHERE clause', () => {
    const alarms = contributorAlarms(perTarget([target('shop'), target('api'), target('blog')]));
    expect(alarms.map((a) => [a.id, a.targets])).toEqual([
      ['probe-failed-1', ['shop', 'api', 'blog']],
      ['error-rate-1', ['shop', 'api', 'blog']],
    ]);
    expect(alarms[0]!.query).toBe(
      'SELECT MAX(ProbeFailed) FROM SCHEMA("Gatewatch", Target) GROUP BY Target ORDER BY MAX() DESC LIMIT 500',
    );
    expect(alarms[0]).toMatchObject({
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      threshold: 1,
      periodSeconds: 60,
    });
    expect(alarms[1]).toMatchObject({ evaluationPeriods: 1, datapointsToAlarm: 1, threshold: 5 });
  });

  it('gives targets with other settings their own alarm, each naming its targets', () => {
    const alarms = contributorAlarms(
      perTarget([
        target('shop'),
        target('api', { failedProbes: { datapoints: 3, evaluationPeriods: 5 } }),
        target('blog'),
      ]),
    );
    const probes = alarms.filter((a) => a.kind === 'probe-failed');
    expect(probes.map((a) => a.targets)).toEqual([['shop', 'blog'], ['api']]);
    expect(probes[0]!.query).toContain("WHERE Target = 'shop' OR Target = 'blog' GROUP BY Target");
    expect(probes[1]).toMatchObject({ evaluationPeriods: 5, datapointsToAlarm: 3 });
  });

  it('splits more than 500 targets of one shape, and refuses when the WHERE clause would pass 2,048 characters', () => {
    const many = Array.from({ length: MAX_CONTRIBUTORS_PER_ALARM + 1 }, (_, i) => target(`t${i}`));
    expect(() => contributorAlarms(perTarget(many))).toThrow(ContributorAlarmError);
    expect(() => contributorAlarms(perTarget(many))).toThrow(/2048|second stack/);
    expect(contributorAlarms(perTarget(many.slice(0, 500)))[0]!.targets).toHaveLength(500);
  });

  it('refuses more than 200 Metrics Insights alarms, naming the quota', () => {
    const odd = Array.from({ length: 201 }, (_, i) =>
      target(`t${i}`, {
        failedProbes: { datapoints: 1, evaluationPeriods: 1 + (i % 200) },
        errorRate: { percent: 1 + (i % 99), minutes: 5 },
      }),
    );
    expect(() => contributorAlarms(perTarget(odd.slice(0, 150)))).toThrow(/quota is 200/);
  });

  it('refuses a target name that cannot be quoted in a query', () => {
    const defs = perTarget([
      target('shop'),
      target('api', { failedProbes: { datapoints: 1, evaluationPeriods: 1 } }),
    ]);
    defs[0]!.target = "x' OR '1";
    expect(() => contributorAlarms(defs)).toThrow(ContributorAlarmError);
  });
});
