import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { alarmDefinitionsForTargets, cloudWatchAlarmProps } from '../../lambdas/core/alarm/definitions.ts';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { GatewatchAlarms, GatewatchAlarmsPropsError } from '../../lib/constructs/gatewatch-alarms.ts';
import { LogWatch, LogWatchPropsError } from '../../lib/constructs/log-watch.ts';
import {
  ProbeSchedule,
  ProbeSchedulePropsError,
  probeRunTimeout,
} from '../../lib/constructs/probe-schedule.ts';
import { ReportBucket } from '../../lib/constructs/report-bucket.ts';
import type { GatewatchStack } from '../../lib/gatewatch-stack.ts';
import {
  AWS_SCHEDULE_SECONDS,
  LAMBDA_ENV,
  LOG_CURSOR_KEY,
  targetForAlarm,
} from '../../lib/workflow/lambda-wiring.ts';
import { exampleConfig, synthesizeStack } from './synth.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

/** Every statement of the policies attached to the role with logical id `roleId`. */
function statementsOf(template: Template, roleId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Resource>)
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

function actions(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

function withTargets(mutate: (config: GatewatchConfig) => void): GatewatchConfig {
  const config = exampleConfig();
  mutate(config);
  return config;
}

describe('detection in the gatewatch stack (probes, log watching, alarms)', () => {
  let stack: GatewatchStack;
  let template: Template;
  let topicId: string;

  beforeAll(() => {
    ({ stack, template } = synthesizeStack());
    topicId = logicalId(stack, stack.notifications.topic);
  }, 300_000);

  describe('schedules', () => {
    it('invokes the probe Lambda every minute, with retries and the dead-letter queue for undeliverable runs', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [logicalId(stack, stack.probes!.prober.function), 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack, stack.deadLetters.queue), 'Arn'] } },
            RetryPolicy: Match.objectLike({ MaximumEventAgeInSeconds: AWS_SCHEDULE_SECONDS }),
          }),
        ],
      });
      expect(AWS_SCHEDULE_SECONDS).toBe(60);
    });

    it('invokes the log watcher every minute', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [logicalId(stack, stack.logWatch.watcher.function), 'Arn'] },
          }),
        ],
      });
    });

    it('sends failed runs of both Lambdas straight to the dead-letter queue, without a late retry', () => {
      for (const fn of [stack.probes!.prober.function, stack.logWatch.watcher.function]) {
        template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
          FunctionName: { Ref: logicalId(stack, fn) },
          MaximumRetryAttempts: 0,
          DestinationConfig: {
            OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack, stack.deadLetters.queue), 'Arn'] } },
          },
        });
      }
    });

    it('stops the log watcher before the next scheduled run and tells it where its cursor is', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Handler: 'index.handler',
        Timeout: Match.anyValue(),
        Environment: {
          Variables: Match.objectLike({
            [LAMBDA_ENV.logCursorBucket]: { Ref: logicalId(stack, stack.reports.bucket) },
            [LAMBDA_ENV.logCursorKey]: LOG_CURSOR_KEY,
          }),
        },
      });
      const watcher =
        template.findResources('AWS::Lambda::Function')[logicalId(stack, stack.logWatch.watcher.function)]!;
      expect((watcher as Resource).Properties.Timeout as number).toBeLessThan(AWS_SCHEDULE_SECONDS);
    });
  });

  describe('alarms', () => {
    const definitions = () =>
      alarmDefinitionsForTargets(exampleConfig().targets, { probeIntervalSeconds: AWS_SCHEDULE_SECONDS });

    it('creates each alarm the shared definitions describe, with the same threshold, period, M of N and missing-data rule', () => {
      expect(definitions().map((d) => d.id)).toEqual([
        'shop-probe-failed',
        'shop-error-rate',
        'prober-heartbeat',
      ]);
      for (const definition of definitions()) {
        const name =
          definition.target === undefined
            ? 'gatewatch-prober_heartbeat'
            : stack.alarmNameFor(definition.target, definition.id);
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: name,
          AlarmDescription: definition.description,
          Namespace: 'Gatewatch',
          MetricName: definition.metric.name,
          Dimensions: Object.entries(definition.metric.dimensions).map(([Name, Value]) => ({ Name, Value })),
          Statistic: definition.metric.statistic,
          Period: definition.periodSeconds,
          EvaluationPeriods: definition.evaluationPeriods,
          DatapointsToAlarm: definition.datapointsToAlarm,
          Threshold: definition.threshold,
          ComparisonOperator: definition.comparison,
          TreatMissingData: definition.treatMissingData,
        });
      }
      // Nothing beyond the definitions, besides the dead-letter queue's own alarm.
      const gatewatchAlarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
        (a) => (a as Resource).Properties.Namespace === 'Gatewatch',
      );
      expect(gatewatchAlarms).toHaveLength(definitions().length);
    });

    it('treats missing heartbeats as breaching, so a prober that stops is an alarm', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Heartbeat',
        Dimensions: [{ Name: 'Prober', Value: 'gatewatch' }],
        TreatMissingData: 'breaching',
        ComparisonOperator: 'LessThanThreshold',
      });
    });

    it('takes every property CloudFormation sees from cloudWatchAlarmProps, except the stack’s name and the actions', () => {
      for (const definition of definitions()) {
        const { alarmName: _name, ...props } = cloudWatchAlarmProps(definition);
        const cfn = stack.alarms.alarms[definition.id]!;
        expect(Stack.of(cfn).resolve(cfn.namespace)).toBe(props.namespace);
        expect(cfn.metricName).toBe(props.metricName);
        expect(cfn.dimensions).toEqual(props.dimensions);
        expect(cfn.period).toBe(props.period);
        expect(cfn.evaluationPeriods).toBe(props.evaluationPeriods);
        expect(cfn.datapointsToAlarm).toBe(props.datapointsToAlarm);
        expect(cfn.threshold).toBe(props.threshold);
        expect(cfn.treatMissingData).toBe(props.treatMissingData);
      }
    });

    it('notifies the topic when any of them enters ALARM and when it returns to OK', () => {
      for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[]) {
        if (alarm.Properties.Namespace !== 'Gatewatch') continue;
        expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
        expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
      }
    });

    it('names target alarms so the trigger starts a diagnosis of their target, and the heartbeat so it starts none', () => {
      const rule = Object.values(
        template.findResources('AWS::Events::Rule') as Record<string, Resource>,
      ).find((r) =>
        JSON.stringify(r.Properties.EventPattern ?? {}).includes('CloudWatch Alarm State Change'),
      )!;
      const patterns = (
        rule.Properties.EventPattern as { detail: { alarmName: ({ prefix: string } | string)[] } }
      ).detail.alarmName;
      const matches = (name: string) =>
        patterns.some((p) => (typeof p === 'string' ? p === name : name.startsWith(p.prefix)));
      for (const [id, alarm] of Object.entries(stack.alarms.alarms)) {
        const definition = definitions().find((d) => d.id === id)!;
        // The rule matches every gatewatch alarm by one prefix; the starter's routes decide the target,
        // and have none for alarms about gatewatch itself.
        expect(matches(alarm.alarmName!), alarm.alarmName).toBe(true);
        expect(targetForAlarm(stack.alarmRoutes, alarm.alarmName!)).toBe(definition.target);
      }
    });

    it('keeps the heartbeat unrouted even when a target is called "prober"', () => {
      const config = withTargets((c) => {
        c.targets[0]!.name = 'prober';
      });
      const { stack: other } = synthesizeStack({ config });

      const heartbeat = other.alarms.alarms['prober-heartbeat']!;
      expect(targetForAlarm(other.alarmRoutes, heartbeat.alarmName!)).toBeUndefined();
      expect(targetForAlarm(other.alarmRoutes, other.alarms.alarms['prober-probe-failed']!.alarmName!)).toBe(
        'prober',
      );
    });

    it('leaves out the error-rate alarm of a target without an access-log group (no metric would ever reach it)', () => {
      const config = withTargets((c) => {
        delete c.targets[0]!.aws!.logGroups.access;
      });
      const { stack: other, template: otherTemplate } = synthesizeStack({ config });

      expect(Object.keys(other.alarms.alarms).sort()).toEqual(['prober-heartbeat', 'shop-probe-failed']);
      otherTemplate.resourcePropertiesCountIs(
        'AWS::CloudWatch::Alarm',
        { MetricName: 'Status5xxPercent' },
        0,
      );
    });

    it('deploys no probe Lambda and no heartbeat when no target has a probe, and still watches the logs', () => {
      const config = withTargets((c) => {
        delete c.targets[0]!.probe;
      });
      const { stack: other, template: otherTemplate } = synthesizeStack({ config });

      expect(other.probes).toBeUndefined();
      expect(Object.keys(other.alarms.alarms)).toEqual(['shop-error-rate']);
      otherTemplate.resourcePropertiesCountIs(
        'AWS::Events::Rule',
        { ScheduleExpression: 'rate(1 minute)' },
        1,
      );
    });
  });

  describe('least privilege', () => {
    it('grants no role cloudwatch:PutMetricData: the metrics are EMF lines in the Lambdas’ own logs', () => {
      for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as Resource[]) {
        const text = JSON.stringify(policy.Properties.PolicyDocument);
        expect(text).not.toContain('PutMetricData');
        expect(text).not.toContain('cloudwatch:*');
      }
    });

    it('lets the probe Lambda write its own logs and traces and reach the dead-letter queue, nothing else', () => {
      const roleId = logicalId(stack, stack.probes!.prober.role);
      const granted = statementsOf(template, roleId).flatMap(actions).sort();
      expect(granted).toEqual([
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ]);
      for (const statement of statementsOf(template, roleId)) {
        if (actions(statement).some((a) => a.startsWith('logs:'))) {
          expect(statement.Resource).toEqual({
            'Fn::GetAtt': [logicalId(stack, stack.probes!.prober.logGroup), 'Arn'],
          });
        }
      }
    });

    it('lets the log watcher filter only the configured nginx log groups', () => {
      const roleId = logicalId(stack, stack.logWatch.watcher.role);
      const reads = statementsOf(template, roleId).filter((s) =>
        actions(s).some(
          (a) => a.startsWith('logs:') && a !== 'logs:CreateLogStream' && a !== 'logs:PutLogEvents',
        ),
      );
      expect(reads).toHaveLength(1);
      expect(actions(reads[0]!)).toEqual(['logs:FilterLogEvents']);
      // One resource, the log-group prefix, however many targets there are.
      const resources = [reads[0]!.Resource].flat();
      expect(resources).toHaveLength(1);
      expect(JSON.stringify(resources[0])).toMatch(/:log-group:\/gatewatch\/\*"/);
    });

    it('lets the log watcher read and write its one cursor object and nothing else in the bucket', () => {
      const roleId = logicalId(stack, stack.logWatch.watcher.role);
      const bucketId = logicalId(stack, stack.reports.bucket);
      const s3 = statementsOf(template, roleId).filter((s) => actions(s).some((a) => a.startsWith('s3:')));
      expect(s3).toHaveLength(2);
      const objects = s3.find((s) => actions(s).includes('s3:GetObject'))!;
      expect(actions(objects).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
      expect(objects.Resource).toEqual({
        'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${LOG_CURSOR_KEY}`]],
      });
      const list = s3.find((s) => actions(s).includes('s3:ListBucket'))!;
      expect(actions(list)).toEqual(['s3:ListBucket']);
      expect(list.Condition).toEqual({ StringEquals: { 's3:prefix': LOG_CURSOR_KEY } });
    });

    it('keeps the cursor out of the expiring incidents/ prefix', () => {
      expect(LOG_CURSOR_KEY.startsWith('incidents/')).toBe(false);
      expect(stack.logWatch.cursorKey).toBe(LOG_CURSOR_KEY);
    });
  });

  describe('construct props', () => {
    function scope() {
      const stack = new Stack(new App(), 'Props');
      return {
        stack,
        queue: new sqs.Queue(stack, 'Q'),
        topic: new sns.Topic(stack, 'T'),
        reports: new ReportBucket(stack, 'R'),
      };
    }

    it('refuses a probe schedule when no target has a probe', () => {
      const { stack: s, queue } = scope();
      const config = withTargets((c) => {
        delete c.targets[0]!.probe;
      });
      expect(() => new ProbeSchedule(s, 'P', { config, deadLetterQueue: queue })).toThrow(
        ProbeSchedulePropsError,
      );
    });

    it('refuses a cursor key inside the expiring incidents/ prefix or naming many objects', () => {
      const { stack: s, queue, reports } = scope();
      for (const cursorKey of ['incidents/cursor.json', 'state/', 'state/*']) {
        expect(
          () =>
            new LogWatch(s, `L${cursorKey.length}`, {
              config: exampleConfig(),
              reports,
              deadLetterQueue: queue,
              cursorKey,
            }),
        ).toThrow(LogWatchPropsError);
      }
    });

    it('refuses alarm names the trigger would route to the wrong diagnosis', () => {
      const { stack: s, topic } = scope();
      const defs = alarmDefinitionsForTargets(exampleConfig().targets, { probeIntervalSeconds: 60 });
      const routes = { prefixes: { 'gatewatch-shop-': 'shop' }, names: {} };
      expect(
        () =>
          new GatewatchAlarms(s, 'A1', {
            definitions: defs,
            routes,
            topic,
            alarmName: (d) => `gatewatch-shop-${d.id}`,
          }),
      ).toThrow(/prober-heartbeat .* would start a diagnosis of shop/);
      expect(
        () =>
          new GatewatchAlarms(s, 'A2', {
            definitions: defs,
            routes,
            topic,
            alarmName: (d) => `other-${d.id}`,
          }),
      ).toThrow(GatewatchAlarmsPropsError);
    });

    it.each([
      [1, 5000, 1, 21],
      [32, 5000, 1, 21],
      [33, 5000, 1, 31],
      [1, 2000, 0, 12],
      [1000, 120_000, 3, 300],
    ])(
      'sizes the probe Lambda timeout for %i probes of %i ms with %i retries: %i s',
      (count, timeoutMs, retries, seconds) => {
        const config = exampleConfig();
        const template = config.targets[0]!;
        config.targets = Array.from({ length: count }, (_, i) => ({
          ...template,
          name: `t${i}`,
          probe: { ...template.probe!, timeoutMs, retries },
        }));
        expect(probeRunTimeout(config).toSeconds()).toBe(seconds);
      },
    );
  });
});
