/**
 * gatewatch's CloudWatch alarms, made from the one set of alarm definitions the local evaluator also
 * runs (`lambdas/core/alarm/definitions.ts` through `cloudWatchAlarmProps`): thresholds, periods, "M of N"
 * and missing-data treatment are never written here. Each target's alarm is named so that the alarm
 * trigger routes it to that target's diagnosis; alarms about gatewatch itself (the prober's heartbeat)
 * are named so that no route can match them. Every alarm also notifies the topic directly, entering ALARM
 * and returning to OK: a fallback notice that needs no Lambda, and the only notice for the heartbeat.
 */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  type AlarmDefinition,
  type AlarmTargetInput,
  alarmDefinitionsForTargets,
  cloudWatchAlarmProps,
} from '../../lambdas/core/alarm/definitions.ts';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { type AlarmRoutes, AWS_SCHEDULE_SECONDS, targetForAlarm } from '../workflow/lambda-wiring.ts';

export class GatewatchAlarmsPropsError extends Error {
  override name = 'GatewatchAlarmsPropsError';
}

/**
 * The alarm definitions a deployment gets: `alarmDefinitionsForTargets` over the configured targets with
 * the AWS probe schedule as the probe interval. A target without an access-log group has no
 * `Status5xxPercent` to alarm on in AWS, so its error-rate rule is left out rather than deployed as an
 * alarm that can never leave OK.
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
  /** The CloudWatch name of each alarm (the stack's naming scheme). */
  readonly alarmName: (definition: AlarmDefinition) => string;
  /**
   * The trigger's routes: checked so that every target alarm starts a diagnosis of its own target and
   * an alarm without a target starts none.
   */
  readonly routes: AlarmRoutes;
  /** Notified when an alarm enters ALARM and when it returns to OK. */
  readonly topic: sns.ITopic;
}

function constructId(alarmId: string): string {
  return alarmId.replace(/(^|-)([a-z0-9])/g, (_m, _dash: string, c: string) => c.toUpperCase());
}

export class GatewatchAlarms extends Construct {
  /** By alarm definition id. */
  public readonly alarms: Readonly<Record<string, cloudwatch.CfnAlarm>>;

  constructor(scope: Construct, id: string, props: GatewatchAlarmsProps) {
    super(scope, id);
    const problems: string[] = [];
    const names = new Map<string, string>();
    for (const definition of props.definitions) {
      const name = props.alarmName(definition);
      const routed = targetForAlarm(props.routes, name);
      if (routed !== definition.target) {
        problems.push(
          definition.target === undefined
            ? `alarm ${definition.id} (${name}) would start a diagnosis of ${routed}; it has no target`
            : `alarm ${definition.id} (${name}) is routed to ${routed ?? 'no target'}, not to ${definition.target}`,
        );
      }
      const other = names.get(name);
      if (other !== undefined) problems.push(`alarms ${other} and ${definition.id} are both named ${name}`);
      names.set(name, definition.id);
    }
    if (problems.length > 0) throw new GatewatchAlarmsPropsError(problems.join('; '));

    const alarms: Record<string, cloudwatch.CfnAlarm> = {};
    for (const definition of props.definitions) {
      alarms[definition.id] = new cloudwatch.CfnAlarm(this, constructId(definition.id), {
        ...cloudWatchAlarmProps(definition),
        alarmName: props.alarmName(definition),
        actionsEnabled: true,
        alarmActions: [props.topic.topicArn],
        okActions: [props.topic.topicArn],
      });
    }
    this.alarms = alarms;
  }
}
