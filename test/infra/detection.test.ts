import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_CONTRIBUTORS_PER_ALARM,
  MAX_EXPRESSION_LENGTH,
  MAX_METRICS_INSIGHTS_ALARMS,
} from '../../lambdas/core/alarm/contributor-alarms.ts';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import {
  ALARM_STATE_CHANGE,
  alarmEventPatterns,
  CONTRIBUTOR_STATE_CHANGE,
} from '../../lib/constructs/alarm-trigger.ts';
import { CONTRIBUTORS_METADATA } from '../../lib/constructs/gatewatch-alarms.ts';
import type { GatewatchStack } from '../../lib/gatewatch-stack.ts';
import { AWS_SCHEDULE_SECONDS, LAMBDA_ENV } from '../../lib/workflow/lambda-wiring.ts';
import { scaledConfig } from '../cost/configs.ts';
import { exampleConfig, synthesizeStack } from './synth.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

function logicalId(stack: GatewatchStack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

function statementsOf(template: Template, roleId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Resource>)
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

function actions(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

function alarms(template: Template): Resource[] {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[];
}

describe('detection in the gatewatch stack', () => {
  let stack: GatewatchStack;
  let template: Template;

  beforeAll(() => {
    ({ stack, template } = synthesizeStack());
  }, 300_000);

  it('runs the probe and the log-rate Lambdas every minute, failed runs straight to the dead-letter queue', () => {
    for (const fn of [stack.probes!.prober.function, stack.logWatch!.watcher.function]) {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack, fn), 'Arn'] } })],
      });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(stack, fn) },
        MaximumRetryAttempts: 0,
      });
    }
    const watcher = template.findResources('AWS::Lambda::Function')[
      logicalId(stack, stack.logWatch!.watcher.function)
    ] as Resource;
    expect(watcher.Properties.Timeout as number).toBeLessThan(AWS_SCHEDULE_SECONDS);
  });

  it('deploys the per-target alarms as Metrics Insights multi-time-series alarms, one contributor per target', () => {
    const contributorAlarms = alarms(template).filter((a) => a.Metadata?.[CONTRIBUTORS_METADATA]);
    expect(contributorAlarms.map((a) => a.Properties.AlarmName).sort()).toEqual([
      'gatewatch-error-rate-1',
      'gatewatch-probe-failed-1',
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'gatewatch-probe-failed-1',
      Metrics: [
        {
          Id: 'contributors',
          Expression:
            'SELECT MAX(ProbeFailed) FROM SCHEMA("Gatewatch", Target) GROUP BY Target ORDER BY MAX() DESC LIMIT 500',
          Period: 60,
          ReturnData: true,
        },
      ],
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'gatewatch-error-rate-1',
      Metrics: [Match.objectLike({ Expression: Match.stringLikeRegexp('^SELECT MAX\\(Status5xxShare\\)') })],
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: 5,
    });
    // Both per-target metrics are published only around failures: the template says so for `npm run cost`.
    expect(
      contributorAlarms.map(
        (a) => (a.Metadata![CONTRIBUTORS_METADATA] as { publication: string }).publication,
      ),
    ).toEqual(['sparse', 'sparse']);
    // The heartbeat is an ordinary alarm, named so no route catches it, on the probe function's own
    // Invocations (an AWS metric, free): fewer than 1 in 2 of 2 minutes, missing = breaching.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'gatewatch-prober_heartbeat',
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack, stack.probes!.prober.function) } }],
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    // No custom metric is alarmed on outside the Metrics Insights alarms.
    expect(alarms(template).filter((a) => a.Properties.Namespace === 'Gatewatch')).toEqual([]);
  });

  it('routes contributor events of its own alarms by one prefix and users’ alarms by exact name', {
    timeout: 300_000,
  }, () => {
    const { stack: withOptIn, template: t } = synthesizeStack({
      props: { optInAlarms: { 'team-shop-latency': 'shop' } },
    });
    const patterns = alarmEventPatterns(withOptIn.alarmRoutes);
    expect(patterns).toEqual([
      {
        source: ['aws.cloudwatch'],
        detailType: [CONTRIBUTOR_STATE_CHANGE],
        detail: { alarmName: [{ prefix: 'gatewatch-' }], state: { value: ['ALARM'] } },
      },
      {
        source: ['aws.cloudwatch'],
        detailType: [ALARM_STATE_CHANGE],
        detail: { alarmName: ['team-shop-latency'], state: { value: ['ALARM'] } },
      },
    ]);
    const starterRules = Object.values(
      t.findResources('AWS::Events::Rule') as Record<string, Resource>,
    ).filter(
      (r) =>
        (r.Properties.EventPattern as { source?: string[] } | undefined)?.source?.[0] === 'aws.cloudwatch',
    );
    expect(starterRules).toHaveLength(2);
  });

  it('lets the log-rate Lambda start Logs Insights queries on the nginx log groups only, and no FilterLogEvents', () => {
    const statements = statementsOf(template, logicalId(stack, stack.logWatch!.watcher.role));
    const start = statements.filter((s) => actions(s).includes('logs:StartQuery'));
    expect(start).toHaveLength(1);
    // One grant by log-group name prefix, whatever the number of targets (issue 9, IAM policy sizes).
    expect(JSON.stringify(start[0]!.Resource)).toContain('log-group:/gatewatch/*');
    expect(JSON.stringify(start[0]!.Resource)).not.toContain('"*"');
    expect(statements.flatMap(actions)).not.toContain('logs:FilterLogEvents');
    expect(statements.flatMap(actions).filter((a) => a.startsWith('s3:'))).toEqual([]);
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as Resource[]) {
      expect(JSON.stringify(policy.Properties.PolicyDocument)).not.toContain('PutMetricData');
    }
  });

  it('leaves the log-rate Lambda out when no target has an access-log group', { timeout: 300_000 }, () => {
    const config: GatewatchConfig = exampleConfig();
    delete config.targets[0]!.aws!.logGroups.access;
    const { stack: other } = synthesizeStack({ config });
    expect(other.logWatch).toBeUndefined();
    expect(Object.keys(other.alarms.contributorAlarms)).toEqual(['probe-failed-1']);
  });

  describe('at 1, 50 and 500 targets', () => {
    const sizes = [1, 50, 500];
    const synthesized = new Map<number, { stack: GatewatchStack; template: Template }>();
    beforeAll(() => {
      for (const n of sizes) synthesized.set(n, synthesizeStack({ config: scaledConfig(n) }));
    }, 1_200_000);

    it('keeps the number of alarms, rules and resources the same whatever the number of targets', () => {
      const counts = sizes.map((n) => {
        const t = synthesized.get(n)!.template;
        return {
          alarms: Object.keys(t.findResources('AWS::CloudWatch::Alarm')).length,
          rules: Object.keys(t.findResources('AWS::Events::Rule')).length,
          resources: Object.keys(t.toJSON().Resources as object).length,
        };
      });
      // 2 contributor alarms + heartbeat + the dead-letter queue's alarm; 2 schedules, the trigger, the
      // execution-failure alert.
      expect(counts.map((c) => c.alarms)).toEqual([4, 4, 4]);
      expect(new Set(counts.map((c) => c.rules)).size).toBe(1);
      // CloudFormation: 500 resources per stack (CloudFormation quotas page).
      for (const c of counts) expect(c.resources).toBeLessThan(500);
      expect(counts[2]!.resources).toBe(counts[1]!.resources);
    });

    it('fits the Metrics Insights alarm limits: ≤ 500 series per query, ≤ 200 such alarms, a query ≤ 2,048 characters', () => {
      for (const n of sizes) {
        const { stack: s } = synthesized.get(n)!;
        const groups = s.alarms.contributorGroups;
        expect(groups.length).toBeLessThanOrEqual(MAX_METRICS_INSIGHTS_ALARMS);
        for (const group of groups) {
          expect(group.targets.length).toBeLessThanOrEqual(MAX_CONTRIBUTORS_PER_ALARM);
          expect(group.query.length).toBeLessThanOrEqual(MAX_EXPRESSION_LENGTH);
        }
        expect(groups.find((g) => g.kind === 'probe-failed')!.targets).toHaveLength(n);
      }
    });

    it('keeps the trigger’s event pattern and the starter’s routes the same size at any number of targets', () => {
      const sizesOf = sizes.map((n) => {
        const { stack: s, template: t } = synthesized.get(n)!;
        const starter = t.findResources('AWS::Lambda::Function')[
          logicalId(s, s.trigger.starter.function)
        ] as Resource;
        const env = (starter.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
        return {
          pattern: JSON.stringify(alarmEventPatterns(s.alarmRoutes)).length,
          routes: JSON.stringify(env[LAMBDA_ENV.alarmRoutes] ?? '').length,
        };
      });
      expect(new Set(sizesOf.map((s) => s.pattern)).size).toBe(1);
      expect(new Set(sizesOf.map((s) => s.routes)).size).toBe(1);
      // EventBridge's default event-pattern size quota is 2,048 characters (EventBridge quotas page).
      expect(sizesOf[0]!.pattern).toBeLessThan(2048);
    });
  });
});
