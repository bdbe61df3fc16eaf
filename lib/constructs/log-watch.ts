/**
 * The log-rate Lambda: on an EventBridge schedule (every minute) it asks CloudWatch Logs Insights for
 * per-minute request and 5xx counts of the targets' access-log groups (server-side `stats`, one query
 * per 50 groups) and publishes each target's `Status5xxShare` as EMF — only while a target has errors.
 * No FilterLogEvents polling (5 TPS per account and Region, "not meant for automation"), no cursor: each
 * run queries the whole error-rate window it needs. Its role may start queries on the configured log
 * groups, read and stop its own query results, and write its own logs — nothing else (EMF needs no
 * cloudwatch:PutMetricData). A run that fails goes to the dead-letter queue (no retry: the next run
 * reads the same window anyway).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmDefinitionsForTargets } from '../../lambdas/core/alarm/definitions.ts';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { logRateTargets } from '../../lambdas/core/metrics/log-rate.ts';
import { DEFAULT_LOG_GROUP_PREFIX, logGroupPrefixArn, logGroupPrefixArnForNag } from '../log-groups.ts';
import { AWS_SCHEDULE_SECONDS } from '../workflow/lambda-wiring.ts';
import { GatewatchFunction } from './gatewatch-function.ts';

export class LogWatchPropsError extends Error {
  override name = 'LogWatchPropsError';
}

export interface LogWatchProps {
  /** The validated configuration; every target with an access-log group and an error-rate rule is read. */
  readonly config: GatewatchConfig;
  /** Receives failed runs (and schedule events that could not be delivered). */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * Every nginx log group's name starts with this; StartQuery is granted on `log-group:<prefix>*`.
   * @default DEFAULT_LOG_GROUP_PREFIX ('/gatewatch/')
   */
  readonly logGroupPrefix?: string;
  /**
   * Memory in MB (the counting happens in Logs Insights; the Lambda starts queries, collects the previous
   * run's results and publishes).
   * @default 128
   */
  readonly memorySize?: number;
  /**
   * Retention of the Lambda's own logs (which carry its EMF metrics).
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/** A run stops starting queries with 5 s left; a query runs for seconds, well before the next run. */
const WATCHER_TIMEOUT = Duration.seconds(50);

export class LogWatch extends Construct {
  public readonly watcher: GatewatchFunction;
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: LogWatchProps) {
    super(scope, id);
    const definitions = alarmDefinitionsForTargets(props.config.targets, {
      probeIntervalSeconds: AWS_SCHEDULE_SECONDS,
    });
    if (logRateTargets(props.config.targets, definitions).length === 0) {
      throw new LogWatchPropsError('no target has aws.logGroups.access: there is no error rate to read');
    }

    this.watcher = new GatewatchFunction(this, 'Watcher', {
      handlerModule: 'log-watch.ts',
      description: 'gatewatch: access-log 5xx share per target from Logs Insights stats (EMF)',
      timeout: WATCHER_TIMEOUT,
      memorySize: props.memorySize ?? 128,
      config: props.config,
      onFailure: new destinations.SqsDestination(props.deadLetterQueue),
      retryAttempts: 0,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'gatewatch: count the access logs every minute',
      schedule: events.Schedule.rate(Duration.seconds(AWS_SCHEDULE_SECONDS)),
    });
    this.rule.addTarget(
      new targets.LambdaFunction(this.watcher.function, {
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge: Duration.minutes(5),
      }),
    );

    const fn = this.watcher.function;
    const role = this.watcher.role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:StartQuery'],
        // One statement by name prefix, whatever the number of targets (IAM's 6,144-character managed policy).
        resources: [logGroupPrefixArn(this, props.logGroupPrefix ?? DEFAULT_LOG_GROUP_PREFIX)],
      }),
    );
    // GetQueryResults and StopQuery name a query id, not a log group: no resource-level permission exists.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['logs:GetQueryResults', 'logs:StopQuery'], resources: ['*'] }),
    );

    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Failed asynchronous invocations go to the on-failure destination (the stack dead-letter queue), which also records the error; a second DLQ would duplicate it.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray PutTraceSegments/PutTelemetryRecords and Logs GetQueryResults/StopQuery support no resource-level permissions.',
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${logGroupPrefixArnForNag(props.logGroupPrefix ?? DEFAULT_LOG_GROUP_PREFIX)}]`,
      reason:
        "StartQuery on gatewatch's nginx log groups by their name prefix: one statement whatever the number of targets (IAM's 6,144-character managed-policy limit); the prefix is gatewatch's own (validated at synth).",
    });
  }
}
