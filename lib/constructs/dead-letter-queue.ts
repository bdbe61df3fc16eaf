/**
 * Nothing is lost silently: alarm events EventBridge could not deliver, starter invocations that failed
 * all their retries, and notifications SNS could not deliver all land in this queue (kept 14 days), and
 * an alarm on its depth tells the operators through the notification topic.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface DeadLetterQueueProps {
  /**
   * How long undelivered messages are kept for inspection and redrive.
   * @default Duration.days(14) (the SQS maximum)
   */
  readonly retention?: Duration;
}

export class DeadLetterQueue extends Construct {
  public readonly queue: sqs.Queue;
  /** Created by {@link alarmTo}. */
  public alarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps = {}) {
    super(scope, id);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.retention ?? Duration.days(14),
    });
    Validations.of(this.queue).acknowledge(
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself the dead-letter queue of the alarm rule, the starter Lambda and the e-mail subscriptions.',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason:
          'This queue is itself a dead-letter queue; nothing consumes it automatically, so there is nothing to redrive.',
      },
    );
  }

  /** Alarms on the first message in the queue, notifying `topic`. */
  alarmTo(topic: sns.ITopic): cloudwatch.Alarm {
    this.alarm = new cloudwatch.Alarm(this, 'NotEmpty', {
      alarmDescription:
        'gatewatch could not deliver an alarm event, start a diagnosis or send a notification: inspect the dead-letter queue.',
      metric: this.queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(new actions.SnsAction(topic));
    return this.alarm;
  }
}
