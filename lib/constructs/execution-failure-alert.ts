/**
 * The last line of defence: the workflow catches every Task failure and still reports, but an
 * execution can end FAILED (both reports failed), TIMED_OUT or ABORTED. An EventBridge rule on those
 * statuses publishes a plain notification straight to the topic (an input transformer, no Lambda that
 * could itself fail), naming the execution so someone can look.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface ExecutionFailureAlertProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly topic: sns.ITopic;
  /** Receives alerts EventBridge could not deliver to the topic. */
  readonly deadLetterQueue: sqs.IQueue;
}

/** Execution statuses that end without the workflow's own notification. */
export const ALERTED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

export class ExecutionFailureAlert extends Construct {
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ExecutionFailureAlertProps) {
    super(scope, id);
    this.rule = new events.Rule(this, 'Rule', {
      description: 'gatewatch: a diagnosis execution ended without its own notification',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: [...ALERTED_STATUSES],
          stateMachineArn: [props.stateMachine.stateMachineArn],
        },
      },
    });
    const name = events.EventField.fromPath('$.detail.name');
    const status = events.EventField.fromPath('$.detail.status');
    const executionArn = events.EventField.fromPath('$.detail.executionArn');
    this.rule.addTarget(
      new targets.SnsTopic(props.topic, {
        message: events.RuleTargetInput.fromText(
          `gatewatch could not finish the diagnosis ${name}: the execution ended ${status}, so no report or only part of it was written. ` +
            `Open the execution ${executionArn} in the Step Functions console to see which step failed; the incident's evidence so far is in the report bucket under incidents/.`,
        ),
        // EventBridge publishes as a role only this rule uses, not as the events.amazonaws.com service
        // principal: the topic and key policies then admit no service that every rule of every
        // account could act through (a KMS grant to EventBridge cannot be scoped by source).
        authorizeUsingRole: true,
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(6),
      }),
    );
    // The rule's own role (CDK names it EventsRole): publish to the topic and use its key.
    const role = this.rule.node.tryFindChild('EventsRole');
    if (role) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Publishing to the KMS-encrypted topic needs data keys of its key (GenerateDataKey and its WithoutPlaintext form); the resource is that one key, and only this rule can use the role.',
      });
    }
  }
}
