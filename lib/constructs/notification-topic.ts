/**
 * Where people hear about incidents: an SNS topic encrypted with its own KMS key, TLS only, with the
 * configured e-mail subscriptions (each address must confirm once). Messages SNS cannot deliver to an
 * address go to a dead-letter queue instead of vanishing. AWS services that publish directly (the
 * EventBridge fallback rule, CloudWatch alarm actions) are allowed to use the key.
 */
import { Duration, Stack } from 'aws-cdk-lib';
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
   * Service principals that publish to the topic themselves and so need the key.
   * @default ['events.amazonaws.com', 'cloudwatch.amazonaws.com']
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

    const account = Stack.of(this).account;
    for (const service of props.publishingServices ?? ['events.amazonaws.com', 'cloudwatch.amazonaws.com']) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `AllowPublishFrom${service.split('.')[0]}`,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': account } },
        }),
      );
    }
  }

  /** Publish to the topic (and use its key). */
  grantPublish(grantee: iam.IGrantable): void {
    this.topic.grantPublish(grantee);
  }
}
