/**
 * From alarm to diagnosis: an EventBridge rule matches CloudWatch "Alarm State Change" events into ALARM
 * for gatewatch's alarms (one name prefix, however many targets) and users' opted-in alarms (by exact
 * name) and invokes the starter Lambda, which routes each to its target (routes shipped in its code
 * package) and starts one workflow execution per alarm episode; an alarm with no route (gatewatch's
 * own heartbeat) is ignored there. EventBridge retries delivery and parks
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
  /** The start of every gatewatch alarm name (`gatewatch-`); the rule matches it as one prefix. */
  readonly namePrefix: string;
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
 * EventBridge's default quota for an event pattern: 2,048 characters ("Maximum number of characters in
 * an event pattern", adjustable to 4,096 on request; EventBridge quotas page).
 */
export const MAX_EVENT_PATTERN_CHARS = 2048;

/**
 * The event pattern's `alarmName` clause: one prefix for every gatewatch alarm, whatever the number of
 * targets (the starter routes by the longer per-target prefixes), plus the opted-in names that do not
 * start with it. Its size grows only with opted-in names outside the prefix, and is checked at synth.
 */
export function alarmNamePatterns(namePrefix: string, routes: AlarmRoutes): (string | { prefix: string })[] {
  return [
    { prefix: namePrefix },
    ...Object.keys(routes.names)
      .filter((name) => !name.startsWith(namePrefix))
      .sort(),
  ];
}

export class AlarmTrigger extends Construct {
  public readonly rule: events.Rule;
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
    if (Object.keys(props.routes.prefixes).length + Object.keys(props.routes.names).length === 0) {
      throw new AlarmTriggerPropsError('no alarm is routed to any target');
    }
    if (props.namePrefix.length === 0) {
      throw new AlarmTriggerPropsError('namePrefix must not be empty: the rule would match every alarm');
    }
    const eventPattern = {
      source: ['aws.cloudwatch'],
      detailType: ['CloudWatch Alarm State Change'],
      detail: {
        alarmName: alarmNamePatterns(props.namePrefix, props.routes),
        state: { value: ['ALARM'] },
      },
    };
    const patternChars = JSON.stringify({
      source: eventPattern.source,
      'detail-type': eventPattern.detailType,
      detail: eventPattern.detail,
    }).length;
    if (patternChars > MAX_EVENT_PATTERN_CHARS) {
      throw new AlarmTriggerPropsError(
        `the alarm rule's event pattern would be ${patternChars} characters; EventBridge allows ${MAX_EVENT_PATTERN_CHARS}: ` +
          `rename the opted-in alarms to start with "${props.namePrefix}" (they then need no entry of their own)`,
      );
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

    this.rule = new events.Rule(this, 'Rule', {
      description: 'gatewatch: a routed CloudWatch alarm entered ALARM',
      eventPattern,
    });
    this.rule.addTarget(
      new targets.LambdaFunction(this.starter.function, {
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: props.maxEventAge ?? Duration.hours(2),
      }),
    );

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
