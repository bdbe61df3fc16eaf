/**
 * From alarm to diagnosis: an EventBridge rule matches CloudWatch "Alarm State Change" events into ALARM
 * for the routed alarms (gatewatch's by name prefix, users' by exact name) and invokes the starter
 * Lambda, which starts one workflow execution per alarm episode. EventBridge retries delivery and parks
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
import { type AlarmRoutes, LAMBDA_ENV } from '../workflow/lambda-wiring.ts';
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

/** The event pattern's `alarmName` clause: each routed prefix and exact name. */
export function alarmNamePatterns(routes: AlarmRoutes): (string | { prefix: string })[] {
  return [...Object.keys(routes.prefixes).map((prefix) => ({ prefix })), ...Object.keys(routes.names)];
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

    this.starter = new GatewatchFunction(this, 'Starter', {
      handlerModule: 'starter.ts',
      description: 'gatewatch: starts one diagnosis per CloudWatch alarm episode',
      timeout: Duration.seconds(30),
      memorySize: 256,
      config: props.config,
      onFailure: new destinations.SqsDestination(props.deadLetterQueue),
      retryAttempts: 2,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    this.starter.function.addEnvironment(LAMBDA_ENV.stateMachineArn, props.stateMachine.stateMachineArn);
    this.starter.function.addEnvironment(LAMBDA_ENV.alarmRoutes, JSON.stringify(props.routes));
    props.stateMachine.grantStartExecution(this.starter.function);

    this.rule = new events.Rule(this, 'Rule', {
      description: 'gatewatch: a routed CloudWatch alarm entered ALARM',
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: {
          alarmName: alarmNamePatterns(props.routes),
          state: { value: ['ALARM'] },
        },
      },
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
