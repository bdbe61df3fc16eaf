/**
 * gatewatch's CloudWatch alarms, made from the one set of alarm definitions the local evaluator also
 * runs (`lambdas/core/alarm/definitions.ts`): thresholds, periods, "M of N" and missing-data treatment
 * are never written here. The per-target definitions are deployed as Metrics Insights multi-time-series
 * alarms (`contributorAlarms`): one alarm per alarm kind and shape, each target a contributor, so the
 * number of alarms does not grow with the targets (2 at 1, 50 and 500 targets with shared settings).
 * The prober's heartbeat stays an ordinary alarm, on the probe function's own `Invocations` (an AWS
 * metric: free) rather than a custom `Heartbeat` ($0.30 a month for a metric that is 1 every minute): a
 * schedule that stops invoking it is missing data, and missing is breaching; a run that fails is counted
 * there too and reaches the dead-letter queue, whose alarm says so. Every alarm also notifies the topic
 * directly, entering ALARM and returning to OK: a fallback notice that needs no Lambda, and the only
 * notice for the heartbeat.
 */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { type ContributorAlarm, contributorAlarms } from '../../lambdas/core/alarm/contributor-alarms.ts';
import {
  type AlarmDefinition,
  type AlarmTargetInput,
  alarmDefinitionsForTargets,
  cloudWatchAlarmProps,
} from '../../lambdas/core/alarm/definitions.ts';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { type AlarmRoutes, AWS_SCHEDULE_SECONDS, targetForAlarm } from '../workflow/lambda-wiring.ts';

/** Template metadata key on each multi-time-series alarm (see `test/cost`). */
export const CONTRIBUTORS_METADATA = 'gatewatch:contributors';
/**
 * Metrics published only while a target fails and for a few minutes after (`Status5xxShare`: the log-rate
 * Lambda; `ProbeFailed`: `core/metrics/probe-publication.ts`); the others every minute.
 */
const SPARSE_METRICS: ReadonlySet<string> = new Set(['Status5xxShare', 'ProbeFailed']);

export class GatewatchAlarmsPropsError extends Error {
  override name = 'GatewatchAlarmsPropsError';
}

/**
 * The alarm definitions a deployment gets: `alarmDefinitionsForTargets` over the configured targets with
 * the AWS probe schedule as the probe interval. A target without an access-log group has no
 * `Status5xxShare` to alarm on in AWS, so its error-rate rule is left out.
 */
export function deployedAlarmDefinitions(config: GatewatchConfig): AlarmDefinition[] {
  const targets: AlarmTargetInput[] = config.targets.map((target) =>
    target.aws?.logGroups.access === undefined
      ? { ...target, alarm: { failedProbes: target.alarm.failedProbes } }
      : target,
  );
  return alarmDefinitionsForTargets(targets, { probeIntervalSeconds: AWS_SCHEDULE_SECONDS });
}

export interface GatewatchAlarmsProps {
  /** The alarms to create (see {@link deployedAlarmDefinitions}). */
  readonly definitions: readonly AlarmDefinition[];
  /**
   * Prefix of every gatewatch alarm name; the trigger routes contributor events of alarms with this
   * prefix (`routes.contributorPrefix`).
   */
  readonly alarmNamePrefix: string;
  /** The trigger's routes: checked so that no user alarm route catches a gatewatch alarm. */
  readonly routes: AlarmRoutes;
  /** Notified when an alarm enters ALARM and when it returns to OK. */
  readonly topic: sns.ITopic;
  /**
   * The probe function, whose `Invocations` the heartbeat alarm watches in AWS. Required when the
   * definitions hold the heartbeat.
   */
  readonly prober?: lambda.IFunction;
}

function constructId(alarmId: string): string {
  return alarmId.replace(/(^|[-_])([a-z0-9])/g, (_m, _dash: string, c: string) => c.toUpperCase());
}

export class GatewatchAlarms extends Construct {
  /** The multi-time-series alarms, by contributor alarm id (`probe-failed-1`). */
  public readonly contributorAlarms: Readonly<Record<string, cloudwatch.CfnAlarm>>;
  /** What each multi-time-series alarm evaluates. */
  public readonly contributorGroups: readonly ContributorAlarm[];
  /** Ordinary alarms about gatewatch itself (the heartbeat), by definition id. */
  public readonly alarms: Readonly<Record<string, cloudwatch.CfnAlarm>>;

  constructor(scope: Construct, id: string, props: GatewatchAlarmsProps) {
    super(scope, id);
    if (props.routes.contributorPrefix !== props.alarmNamePrefix) {
      throw new GatewatchAlarmsPropsError(
        `routes.contributorPrefix (${props.routes.contributorPrefix}) must be the alarm name prefix ${props.alarmNamePrefix}`,
      );
    }
    const perTarget = props.definitions.filter((d) => d.target !== undefined);
    const own = props.definitions.filter((d) => d.target === undefined);
    this.contributorGroups = contributorAlarms(perTarget);

    const problems: string[] = [];
    const names = [
      ...this.contributorGroups.map((g) => `${props.alarmNamePrefix}${g.id}`),
      ...own.map((d) => this.#ownName(props.alarmNamePrefix, d)),
    ];
    for (const name of names) {
      const routed = targetForAlarm(props.routes, name);
      if (routed !== undefined) problems.push(`alarm ${name} would be routed to ${routed} by name`);
    }
    if (new Set(names).size !== names.length) problems.push(`alarm names repeat: ${names.join(', ')}`);
    if (problems.length > 0) throw new GatewatchAlarmsPropsError(problems.join('; '));

    const contributors: Record<string, cloudwatch.CfnAlarm> = {};
    for (const group of this.contributorGroups) {
      const alarm = new cloudwatch.CfnAlarm(this, constructId(group.id), {
        alarmName: `${props.alarmNamePrefix}${group.id}`,
        alarmDescription: `${group.description} (${group.targets.length} targets)`,
        metrics: [
          {
            id: 'contributors',
            expression: group.query,
            period: group.periodSeconds,
            returnData: true,
          },
        ],
        evaluationPeriods: group.evaluationPeriods,
        datapointsToAlarm: group.datapointsToAlarm,
        threshold: group.threshold,
        comparisonOperator: group.comparison,
        treatMissingData: group.treatMissingData,
        actionsEnabled: true,
        alarmActions: [props.topic.topicArn],
        okActions: [props.topic.topicArn],
      });
      // Read by `npm run cost` from the template: how many time series the query analyzes, and whether
      // they publish every minute (dense) or only while a target is failing (sparse).
      contributors[group.id] = alarm;
      alarm.cfnOptions.metadata = {
        [CONTRIBUTORS_METADATA]: {
          metric: group.query.match(/^SELECT [A-Z]+\(([A-Za-z0-9]+)\)/)?.[1] ?? '',
          timeSeries: group.targets.length,
          publication: SPARSE_METRICS.has(group.query.match(/\(([A-Za-z0-9]+)\)/)?.[1] ?? '')
            ? 'sparse'
            : 'dense',
        },
      };
    }
    this.contributorAlarms = contributors;

    const alarms: Record<string, cloudwatch.CfnAlarm> = {};
    for (const definition of own) {
      alarms[definition.id] = new cloudwatch.CfnAlarm(this, constructId(definition.id), {
        ...this.#deployedForm(definition, props.prober),
        alarmName: this.#ownName(props.alarmNamePrefix, definition),
        actionsEnabled: true,
        alarmActions: [props.topic.topicArn],
        okActions: [props.topic.topicArn],
      });
    }
    this.alarms = alarms;
  }

  /**
   * The heartbeat in AWS: the same rule (period, M of N, fewer than 1, missing = breaching) on the
   * prober's `Invocations` count instead of the `Heartbeat` metric `watch` writes locally.
   */
  #deployedForm(definition: AlarmDefinition, prober: lambda.IFunction | undefined) {
    const props = cloudWatchAlarmProps(definition);
    if (definition.metric.name !== 'Heartbeat') return props;
    if (prober === undefined) {
      throw new GatewatchAlarmsPropsError('the heartbeat alarm needs the probe function (props.prober)');
    }
    return {
      ...props,
      namespace: 'AWS/Lambda',
      metricName: 'Invocations',
      dimensions: [{ name: 'FunctionName', value: prober.functionName }],
      statistic: 'Sum' as const,
    };
  }

  /** Alarms about gatewatch itself join their id with `_`: `gatewatch-prober_heartbeat`. */
  #ownName(prefix: string, definition: AlarmDefinition): string {
    return `${prefix}${definition.id.replaceAll('-', '_')}`;
  }
}
