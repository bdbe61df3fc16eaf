/**
 * The log watcher: a Lambda on an EventBridge schedule (every minute) that reads every target's nginx
 * access and error log groups behind a persisted cursor and publishes per-minute traffic and
 * upstream-error metrics as EMF. Its role may call FilterLogEvents on the configured log groups, read and
 * write the one cursor object in the report bucket, and write its own logs — nothing else (EMF needs no
 * cloudwatch:PutMetricData). A run that fails goes to the dead-letter queue (no retry: the next run
 * resumes from the cursor anyway).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { GatewatchConfig } from '../../lambdas/core/config.ts';
import { watchedLogs } from '../../lambdas/core/metrics/log-watch.ts';
import { DEFAULT_LOG_GROUP_PREFIX, logGroupPrefixArn, logGroupPrefixArnForNag } from '../log-groups.ts';
import {
  AWS_SCHEDULE_SECONDS,
  LAMBDA_ENV,
  LOG_CURSOR_KEY,
  REPORT_PREFIX,
} from '../workflow/lambda-wiring.ts';
import { GatewatchFunction } from './gatewatch-function.ts';
import type { ReportBucket } from './report-bucket.ts';

export class LogWatchPropsError extends Error {
  override name = 'LogWatchPropsError';
}

export interface LogWatchProps {
  /** The validated configuration; every target's `aws.logGroups` is watched. */
  readonly config: GatewatchConfig;
  /** Holds the cursor object. */
  readonly reports: ReportBucket;
  /** Receives failed runs (and schedule events that could not be delivered). */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * Every nginx log group's name starts with this; FilterLogEvents is granted on `log-group:<prefix>*`.
   * @default DEFAULT_LOG_GROUP_PREFIX ('/gatewatch/')
   */
  readonly logGroupPrefix?: string;
  /**
   * Key of the cursor object in the report bucket; outside `incidents/`, whose objects expire.
   * @default LOG_CURSOR_KEY ('state/log-watch-cursor.json')
   */
  readonly cursorKey?: string;
  /**
   * Memory in MB (parsing a busy minute of access log wants CPU).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Retention of the watcher's own logs (which carry its EMF metrics).
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/** A run stops reading with 10 s left (see `runLogWatch`), commits and publishes well before the next one. */
const WATCHER_TIMEOUT = Duration.seconds(50);

export class LogWatch extends Construct {
  public readonly watcher: GatewatchFunction;
  public readonly rule: events.Rule;
  /** Key of the cursor object in the report bucket. */
  public readonly cursorKey: string;

  constructor(scope: Construct, id: string, props: LogWatchProps) {
    super(scope, id);
    const cursorKey = props.cursorKey ?? LOG_CURSOR_KEY;
    if (cursorKey.startsWith(REPORT_PREFIX) || cursorKey.endsWith('/') || cursorKey.includes('*')) {
      throw new LogWatchPropsError(
        `cursorKey "${cursorKey}" must name one object outside ${REPORT_PREFIX} (whose objects expire), e.g. ${LOG_CURSOR_KEY}`,
      );
    }
    if (watchedLogs(props.config.targets).length === 0) {
      throw new LogWatchPropsError('no target has aws.logGroups: there is nothing to watch');
    }
    this.cursorKey = cursorKey;

    this.watcher = new GatewatchFunction(this, 'Watcher', {
      handlerModule: 'log-watch.ts',
      description: 'gatewatch: nginx log groups to per-minute traffic and upstream-error metrics (EMF)',
      timeout: WATCHER_TIMEOUT,
      memorySize: props.memorySize ?? 512,
      config: props.config,
      onFailure: new destinations.SqsDestination(props.deadLetterQueue),
      retryAttempts: 0,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'gatewatch: read the nginx logs every minute',
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
        actions: ['logs:FilterLogEvents'],
        resources: [logGroupPrefixArn(this, props.logGroupPrefix ?? DEFAULT_LOG_GROUP_PREFIX)],
      }),
    );
    const bucket = props.reports.bucket;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [bucket.arnForObjects(cursorKey)],
      }),
    );
    // Without ListBucket a missing key answers AccessDenied instead of NoSuchKey (the first run).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringEquals: { 's3:prefix': cursorKey } },
      }),
    );
    fn.addEnvironment(LAMBDA_ENV.logCursorBucket, bucket.bucketName);
    fn.addEnvironment(LAMBDA_ENV.logCursorKey, cursorKey);

    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Failed asynchronous invocations go to the on-failure destination (the stack dead-letter queue), which also records the error; a second DLQ would duplicate it.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${logGroupPrefixArnForNag(props.logGroupPrefix ?? DEFAULT_LOG_GROUP_PREFIX)}]`,
      reason:
        'FilterLogEvents only, on the log groups under the configured prefix, where every nginx log group must be (checked at synth): one grant whatever the number of targets.',
    });
  }
}
