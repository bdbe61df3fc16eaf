import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { LAMBDA_ENV } from '../../../lib/workflow/lambda-wiring.ts';
import { AwsSecretResolver } from '../../adapters/aws/aws-secret-resolver.ts';
import { SnsNotifier } from '../../adapters/aws/sns-notifier.ts';
import { notificationChannels } from '../../adapters/notification-channels.ts';
import type { Notifier } from '../../ports.ts';
import { NotifierChannels } from '../../steps/notify.ts';
import { configFromEnvironment } from './config.ts';
import { type Environment, requireEnv } from './environment.ts';

/**
 * The stack's notification topic (its e-mail subscriptions deliver), plus Slack, the webhook and PagerDuty
 * when `notify` names them; their secrets are read from SSM/Secrets Manager when a message is sent. E-mail
 * in AWS is the topic's: `notify.smtp` is for the local pipeline.
 */
export function notifierFromEnvironment(env: Environment): Notifier {
  const topic = new SnsNotifier(new SNSClient({}), { topicArn: requireEnv(env, LAMBDA_ENV.topicArn) });
  const config = configFromEnvironment(env);
  const { smtp: _localOnly, ...notify } = config.notify;
  const secrets = new AwsSecretResolver(new SSMClient({}), new SecretsManagerClient({}));
  return new NotifierChannels([topic, ...notificationChannels(notify, secrets)]);
}
