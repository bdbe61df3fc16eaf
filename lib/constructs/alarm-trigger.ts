/**
 * From alarm to diagnosis: EventBridge rules match CloudWatch "Alarm Contributor State Change" events
 * into ALARM of gatewatch's multi-time-series alarms (one name prefix) and "Alarm State Change" events
 * of users' routed alarms (by exact name), and invoke the starter Lambda, which starts one workflow execution per alarm episode. EventBridge retries delivery and parks
 * what it cannot deliver in the dead-letter queue; the starter's failed asynchronous invocations go to
 * the same queue through its on-failure destination.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { type AlarmRoutes, BUNDLED_FILES, LAMBDA_ENV } from '../workflow/lambda-wiring.ts';
import { GatewatchFunction } from './gatewatch-function.ts';

export class AlarmTriggerPropsError extends Error {
  override name = 'AlarmTriggerPropsError';
}

export interface AlarmTriggerProps {
  readonly config: GatewatchConfig;
  /** Which alarms start a diagnosis of which target. */
  readonly routes: AlarmRoutes;
  readonly stateMachine: sfn.IStateMachine;
  /** Receives alarm events that could not be delivered or could not start a diagnosis. */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * How long EventBridge keeps retrying delivery of an alarm event.
   * @default Duration.hours(2)
   */
  readonly maxEventAge?: Duration;
  /**
   * Retention of the starter's logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The event pattern's `alarmName` clause for routes by name: each routed prefix, one prefix for every
 * opted-in name under gatewatch's own (they need no entry of their own, however many), and the other
 * names. Its size grows only with opted-in names outside the prefix, and is checked at synth.
 */
export function alarmNamePatterns(routes: AlarmRoutes): (string | { prefix: string })[] {
  const prefix = routes.contributorPrefix;
  const names = Object.keys(routes.names);
  const under = prefix === undefined ? [] : names.filter((name) => name.startsWith(prefix));
  return [
    ...Object.keys(routes.prefixes).map((p) => ({ prefix: p })),
    ...(under.length > 0 && prefix !== undefined ? [{ prefix }] : []),
    ...names.filter((name) => !under.includes(name)).sort(),
  ];
}

/**
 * EventBridge's default quota for an event pattern: 2,048 characters ("Maximum number of characters in
 * an event pattern", adjustable to 4,096 on request; EventBridge quotas page).
 */
export const MAX_EVENT_PATTERN_CHARS = 2048;

/** CloudWatch's detail type for one contributor of a multi-time-series alarm changing state. */
export const CONTRIBUTOR_STATE_CHANGE = 'CloudWatch Alarm Contributor State Change';
/** CloudWatch's detail type for an alarm changing state. */
export const ALARM_STATE_CHANGE = 'CloudWatch Alarm State Change';

/**
 * The event patterns the trigger's rules match: contributor events of gatewatch's own multi-time-series
 * alarms (one prefix, whatever the number of targets), and state changes of users' alarms routed by
 * name. Each pattern is a fixed size plus the users' own names.
 */
export function alarmEventPatterns(routes: AlarmRoutes): events.EventPattern[] {
  const patterns: events.EventPattern[] = [];
  if (routes.contributorPrefix !== undefined) {
    patterns.push({
      source: ['aws.cloudwatch'],
      detailType: [CONTRIBUTOR_STATE_CHANGE],
      detail: { alarmName: [{ prefix: routes.contributorPrefix }], state: { value: ['ALARM'] } },
    });
  }
  const byName = alarmNamePatterns(routes);
  if (byName.length > 0) {
    patterns.push({
      source: ['aws.cloudwatch'],
      detailType: [ALARM_STATE_CHANGE],
      detail: { alarmName: byName, state: { value: ['ALARM'] } },
    });
  }
  return patterns;
}

export class AlarmTrigger extends Construct {
  /** The contributor rule when gatewatch has alarms, else the rule of users' alarms. */
  public readonly rule: events.Rule;
  /** Every rule that starts diagnoses (contributor events; users' alarms by name). */
  public readonly rules: events.Rule[];
  public readonly starter: GatewatchFunction;

  constructor(scope: Construct, id: string, props: AlarmTriggerProps) {
    super(scope, id);
    const known = new Set(props.config.targets.map((t) => t.name));
    const unknown = [...Object.values(props.routes.prefixes), ...Object.values(props.routes.names)].filter(
      (target) => !known.has(target),
    );
    if (unknown.length > 0) {
      throw new AlarmTriggerPropsError(
        `alarms are routed to targets the configuration does not have: ${unknown.join(', ')}`,
      );
    }
    if (
      Object.keys(props.routes.prefixes).length + Object.keys(props.routes.names).length === 0 &&
      props.routes.contributorPrefix === undefined
    ) {
      throw new AlarmTriggerPropsError('no alarm is routed to any target');
    }

    this.starter = new GatewatchFunction(this, 'Starter', {
      handlerModule: 'starter.ts',
      description: 'gatewatch: starts one diagnosis per CloudWatch alarm episode',
      timeout: Duration.seconds(30),
      memorySize: 256,
      config: props.config,
      // In the code package, not the environment: the routes grow with targets and opted-in names.
      bundledDocuments: { [BUNDLED_FILES.alarmRoutes]: props.routes },
      onFailure: new destinations.SqsDestination(props.deadLetterQueue),
      retryAttempts: 2,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    this.starter.function.addEnvironment(LAMBDA_ENV.stateMachineArn, props.stateMachine.stateMachineArn);
    props.stateMachine.grantStartExecution(this.starter.function);

    const patterns = alarmEventPatterns(props.routes);
    for (const pattern of patterns) {
      const chars = JSON.stringify({
        source: pattern.source,
        'detail-type': pattern.detailType,
        detail: pattern.detail,
      }).length;
      if (chars > MAX_EVENT_PATTERN_CHARS) {
        throw new AlarmTriggerPropsError(
          `the alarm rule's event pattern would be ${chars} characters; EventBridge allows ${MAX_EVENT_PATTERN_CHARS}: ` +
            `rename the opted-in alarms to start with "${props.routes.contributorPrefix ?? 'gatewatch-'}" (they then need no entry of their own)`,
        );
      }
    }
    this.rules = patterns.map((eventPattern, index) => {
      const rule = new events.Rule(this, index === 0 ? 'Rule' : `Rule${index + 1}`, {
        description:
          eventPattern.detailType?.[0] === CONTRIBUTOR_STATE_CHANGE
            ? 'gatewatch: a target became a contributor in ALARM of a gatewatch alarm'
            : 'gatewatch: a routed CloudWatch alarm entered ALARM',
        eventPattern,
      });
      rule.addTarget(
        new targets.LambdaFunction(this.starter.function, {
          deadLetterQueue: props.deadLetterQueue,
          retryAttempts: 8,
          maxEventAge: props.maxEventAge ?? Duration.hours(2),
        }),
      );
      return rule;
    });
    this.rule = this.rules[0]!;

    Validations.of(this.starter.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Failed asynchronous invocations go to the on-failure destination (the same dead-letter queue), which also records the error; a second DLQ would duplicate it.',
    });
    Validations.of(this.starter.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    });
  }
}
