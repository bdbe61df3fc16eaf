/**
 * Where people hear about incidents: an SNS topic encrypted with its own KMS key, TLS only, with the
 * configured e-mail subscriptions (each address must confirm once). Messages SNS cannot deliver to an
 * address go to a dead-letter queue instead of vanishing. AWS services that publish directly (the
 * EventBridge fallback rule, CloudWatch alarm actions) are admitted by the topic policy and the key
 * policy both: CloudWatch only for this account's alarms, the key only for this account's topics.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export class NotificationTopicPropsError extends Error {
  override name = 'NotificationTopicPropsError';
}

export interface NotificationTopicProps {
  /** E-mail addresses subscribed to the topic (`notify.email` of the configuration). */
  readonly emails: readonly string[];
  /** Receives notifications SNS could not deliver to a subscription. */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * Service principals that publish to the topic themselves and so need the key. (EventBridge rules
   * publish through a role of their own, see `ExecutionFailureAlert`, and need no entry.)
   * @default ['cloudwatch.amazonaws.com']
   */
  readonly publishingServices?: readonly string[];
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export class NotificationTopic extends Construct {
  public readonly key: kms.Key;
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: NotificationTopicProps) {
    super(scope, id);
    const invalid = props.emails.filter((email) => !EMAIL.test(email));
    if (invalid.length > 0) {
      throw new NotificationTopicPropsError(`not e-mail addresses: ${invalid.join(', ')}`);
    }

    this.key = new kms.Key(this, 'Key', {
      description: 'gatewatch notification topic',
      enableKeyRotation: true,
      pendingWindow: Duration.days(7),
    });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'gatewatch',
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of props.emails) {
      this.topic.addSubscription(
        new subscriptions.EmailSubscription(email, { deadLetterQueue: props.deadLetterQueue }),
      );
    }

    // The topic policy CDK writes (TLS deny, EventBridge allow) replaces SNS's default policy, whose
    // `AWS:SourceOwner` statement is what lets CloudWatch alarm actions publish: say it again, scoped to
    // this account's alarms (re:Post KC cloudwatch-receive-sns-for-alarm-trigger).
    const stack = Stack.of(this);
    const alarms = stack.formatArn({
      service: 'cloudwatch',
      resource: 'alarm',
      resourceName: '*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const fromThisAccountsAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': alarms },
    };
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromThisAccountsAlarms,
      }),
    );

    // Key use by the services that publish themselves. SNS asks KMS with the encryption context
    // `aws:sns:topicArn`, so each grant is limited to this account's topics (the topic's own ARN would
    // make the key and the topic depend on each other); CloudWatch's requests also carry the alarm as
    // source. (AWS documents aws:SourceAccount/aws:SourceArn as unsupported in a KMS policy for
    // EventBridge-to-encrypted-topic delivery: another service gets only the encryption-context scope.)
    const topicsOfThisAccount = {
      StringLike: {
        'kms:EncryptionContext:aws:sns:topicArn': stack.formatArn({
          service: 'sns',
          resource: '*',
          arnFormat: ArnFormat.NO_RESOURCE_NAME,
        }),
      },
    };
    for (const service of props.publishingServices ?? ['cloudwatch.amazonaws.com']) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `AllowPublishFrom${service.split('.')[0]}`,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions:
            service === 'cloudwatch.amazonaws.com'
              ? { ...topicsOfThisAccount, ...fromThisAccountsAlarms }
              : topicsOfThisAccount,
        }),
      );
    }
  }

  /** Publish to the topic (and use its key). */
  grantPublish(grantee: iam.IGrantable): void {
    this.topic.grantPublish(grantee);
  }
}
