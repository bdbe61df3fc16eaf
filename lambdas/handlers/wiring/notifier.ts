import { SNSClient } from '@aws-sdk/client-sns';
import { LAMBDA_ENV } from '../../../lib/workflow/lambda-wiring.ts';
import { SnsNotifier } from '../../adapters/aws/sns-notifier.ts';
import type { Notifier } from '../../ports.ts';
import { type Environment, requireEnv } from './environment.ts';

/** The stack's notification topic (its e-mail subscriptions deliver). */
export function notifierFromEnvironment(env: Environment): Notifier {
  return new SnsNotifier(new SNSClient({}), { topicArn: requireEnv(env, LAMBDA_ENV.topicArn) });
}
