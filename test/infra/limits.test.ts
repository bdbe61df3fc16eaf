/**
 * The documented AWS limits that gatewatch's stack touches, checked on the synthesized template at 1, 50
 * and 500 targets (names of 63 characters, two upstreams each, opted-in alarms; see `scale.ts`). Sizes
 * are measured on the template with its intrinsics resolved to the longest values a deployment gets
 * (`resolve-template.ts`), so each number is an upper bound of what AWS will see.
 *
 * CloudFormation's 500 resources and its template size are in `limits-resources.test.ts`: at 500
 * targets they depend on the detection design (per-target alarms), so the template here is synthesized
 * with CDK's own resource-count and template checks turned off, to measure everything else.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAlarmEvent, planEpisodeStart } from '../../lambdas/handlers/alarm-episode.ts';
import { type Measured, measure } from './limits.ts';
import type { CfnTemplate } from './resolve-template.ts';
import { scaleConfig, scaleOptInAlarms } from './scale.ts';
import { synthesizeStack } from './synth.ts';

/**
 * IAM and AWS STS quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html):
 * "Role policy size cannot exceed 10,240 characters" (all inline policies of a role together),
 * "Managed policy size cannot exceed 6,144 characters", "Role trust policy length: 2,048 characters"
 * (default), "Managed policies attached to an IAM role: 10" (default, up to 20); "IAM does not count
 * white space when calculating the size of a policy against these limitations".
 */
const IAM_ROLE_INLINE_CHARS = 10_240;
const IAM_MANAGED_POLICY_CHARS = 6_144;
const IAM_TRUST_POLICY_CHARS = 2_048;
const IAM_MANAGED_POLICIES_PER_ROLE = 10;
/**
 * Amazon EventBridge quotas (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html):
 * "Event pattern size — Each supported Region: 2,048 — Adjustable — Maximum size of an event pattern,
 * in characters."
 */
const EVENT_PATTERN_CHARS = 2_048;
/**
 * Lambda quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
 * "Environment variables: 4 KB, for all environment variables associated with the function, in
 * aggregate"; "Function resource-based policy: 20 KB".
 */
const LAMBDA_ENV_BYTES = 4 * 1024;
const LAMBDA_RESOURCE_POLICY_BYTES = 20 * 1024;
/**
 * Step Functions service quotas (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html):
 * "Maximum size of state machine definition: 1 MB — hard quota"; "Maximum input or output size for a
 * task, state, or execution: 256 KiB of data as a UTF-8 encoded string".
 */
const SFN_DEFINITION_BYTES = 1024 * 1024;
const SFN_PAYLOAD_BYTES = 256 * 1024;
/**
 * CloudFormation quotas (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html):
 * "Outputs: Maximum number of outputs that you can declare in your CloudFormation template: 200";
 * "Parameters: … 200". (Resources and template size: `limits-resources.test.ts`.)
 */
const CFN_OUTPUTS = 200;
const CFN_PARAMETERS = 200;
/**
 * Systems Manager CreateDocument (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html):
 * "The content of the document must not exceed 64KB. This quota also includes the content specified for
 * input parameters at runtime." (MaxDocumentSizeExceeded: "The size limit of a document is 64 KB.")
 */
const SSM_DOCUMENT_BYTES = 64 * 1024;
/**
 * Resource policies: SNS (https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html)
 * "Bytes: 30 kb"; SQS (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html)
 * "Bytes: 8,192", "Statements: 20"; KMS PutKeyPolicy: "The policy size limit is 32 KiB (32768 bytes)";
 * S3 bucket policy: 20 KB (https://docs.aws.amazon.com/AmazonS3/latest/userguide/BucketRestrictions.html).
 */
const SNS_TOPIC_POLICY_BYTES = 30 * 1024;
const SQS_POLICY_BYTES = 8_192;
const SQS_POLICY_STATEMENTS = 20;
const KMS_KEY_POLICY_BYTES = 32 * 1024;
const S3_BUCKET_POLICY_BYTES = 20 * 1024;

/** CDK's own checks of resource count and template size off: those limits are `limits-resources.test.ts`'s. */
const MEASURE_ONLY = {
  '@aws-cdk/core:stackResourceLimit': 0,
  '@aws-cdk/core:validateAgainstDefaultRules': false,
};

/**
 * The CloudWatch event for the last target's probe alarm: gatewatch's alarms are multi-time-series, so a
 * target in ALARM arrives as a contributor of the one probe-failed alarm.
 */
function alarmEventFor(target: string) {
  const alarmName = 'gatewatch-probe-failed-1';
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'CloudWatch Alarm Contributor State Change',
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: '2026-12-06T22:00:00Z',
    region: 'ap-southeast-2',
    resources: [`arn:aws:cloudwatch:ap-southeast-2:123456789012:alarm:${alarmName}`],
    detail: {
      alarmName,
      alarmContributor: { id: 'a1b2c3d4e5f60718', attributes: { Target: target } },
      state: { value: 'ALARM', reason: 'Threshold Crossed', timestamp: '2026-12-06T22:00:00.000+0000' },
      previousState: { value: 'OK' },
    },
  };
}

describe.each([1, 50, 500])('the stack at %i targets', (count) => {
  let measured: Measured;
  let startInputBytes: number;

  beforeAll(() => {
    const config = scaleConfig(count);
    const { stack, template } = synthesizeStack({
      config,
      props: { optInAlarms: scaleOptInAlarms(config) },
      context: MEASURE_ONLY,
    });
    measured = measure(template.toJSON() as CfnTemplate);
    bySize.set(count, measured);
    const routes = JSON.parse(stack.trigger.starter.bundledDocuments['gatewatch-alarm-routes.json']!);
    const last = config.targets.at(-1)!.name;
    const plan = planEpisodeStart(parseAlarmEvent(alarmEventFor(last)), config, routes);
    if (plan.kind !== 'start')
      throw new Error(`the starter would not start a diagnosis of ${last}: ${plan.reason}`);
    startInputBytes = Buffer.byteLength(JSON.stringify(plan.input));
  }, 900_000);

  it(`keeps every role's inline policies within IAM's ${IAM_ROLE_INLINE_CHARS} characters, and each managed policy within ${IAM_MANAGED_POLICY_CHARS}`, () => {
    expect(measured.maxInlinePolicyCharsPerRole).toBeLessThanOrEqual(IAM_ROLE_INLINE_CHARS);
    expect(measured.maxManagedPolicyChars).toBeLessThanOrEqual(IAM_MANAGED_POLICY_CHARS);
    expect(measured.maxTrustPolicyChars).toBeLessThanOrEqual(IAM_TRUST_POLICY_CHARS);
    expect(measured.maxManagedPoliciesPerRole).toBeLessThanOrEqual(IAM_MANAGED_POLICIES_PER_ROLE);
  });

  it(`keeps every EventBridge event pattern within ${EVENT_PATTERN_CHARS} characters`, () => {
    expect(measured.maxEventPatternChars).toBeLessThanOrEqual(EVENT_PATTERN_CHARS);
  });

  it(`keeps every Lambda's environment within ${LAMBDA_ENV_BYTES} bytes and resource policy within ${LAMBDA_RESOURCE_POLICY_BYTES}`, () => {
    expect(measured.maxLambdaEnvBytes).toBeLessThanOrEqual(LAMBDA_ENV_BYTES);
    expect(measured.maxLambdaResourcePolicyBytes).toBeLessThanOrEqual(LAMBDA_RESOURCE_POLICY_BYTES);
  });

  it(`keeps the state machine definition within ${SFN_DEFINITION_BYTES} bytes and the execution input within ${SFN_PAYLOAD_BYTES}`, () => {
    expect(measured.stateMachineDefinitionBytes).toBeLessThanOrEqual(SFN_DEFINITION_BYTES);
    expect(startInputBytes).toBeLessThanOrEqual(SFN_PAYLOAD_BYTES);
  });

  it(`keeps the stack within CloudFormation's ${CFN_OUTPUTS} outputs and ${CFN_PARAMETERS} parameters`, () => {
    expect(measured.outputs).toBeLessThanOrEqual(CFN_OUTPUTS);
    expect(measured.parameters).toBeLessThanOrEqual(CFN_PARAMETERS);
  });

  it(`keeps the diagnostics document within SSM's ${SSM_DOCUMENT_BYTES} bytes`, () => {
    expect(measured.ssmDocumentBytes).toBeLessThanOrEqual(SSM_DOCUMENT_BYTES);
  });

  it('keeps the topic, queue, key and bucket policies within their services’ sizes', () => {
    expect(measured.maxTopicPolicyBytes).toBeLessThanOrEqual(SNS_TOPIC_POLICY_BYTES);
    expect(measured.maxQueuePolicyBytes).toBeLessThanOrEqual(SQS_POLICY_BYTES);
    expect(measured.maxQueuePolicyStatements).toBeLessThanOrEqual(SQS_POLICY_STATEMENTS);
    expect(measured.maxKeyPolicyBytes).toBeLessThanOrEqual(KMS_KEY_POLICY_BYTES);
    expect(measured.maxBucketPolicyBytes).toBeLessThanOrEqual(S3_BUCKET_POLICY_BYTES);
  });
});

/** What each size measured, for the comparison below (the blocks above run first, in order). */
const bySize = new Map<number, Measured>();

describe('what grows with the configuration', () => {
  it('is none of the policy, pattern and environment sizes: 50 and 500 targets measure the same', () => {
    const [small, large] = [bySize.get(50), bySize.get(500)];
    expect(small && large, 'the 50- and 500-target blocks ran').toBeTruthy();
    for (const key of [
      'maxInlinePolicyCharsPerRole',
      'maxManagedPolicyChars',
      'maxTrustPolicyChars',
      'maxEventPatternChars',
      'maxLambdaEnvBytes',
      'maxLambdaResourcePolicyBytes',
      'stateMachineDefinitionBytes',
      'ssmDocumentBytes',
      'maxTopicPolicyBytes',
      'maxQueuePolicyBytes',
      'maxKeyPolicyBytes',
      'maxBucketPolicyBytes',
    ] as const) {
      expect(large![key], key).toBe(small![key]);
    }
  });
});
