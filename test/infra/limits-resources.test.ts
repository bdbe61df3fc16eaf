/**
 * CloudFormation's resource count and template size at 1, 50 and 500 targets — one stack, as the
 * README deploys it. These two depend on how detection is built: with two CloudWatch alarms per target
 * (the design before the detection rework), 500 targets make 1,071 resources and a 1.13 MB template,
 * and this file fails. It is kept apart so that the rest of the limits (`limits.test.ts`) stay green
 * while it waits for the detection change (metric filters, multi-time-series alarms) to be merged.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Measured, measure } from './limits.ts';
import type { CfnTemplate } from './resolve-template.ts';
import { scaleConfig, scaleOptInAlarms } from './scale.ts';
import { synthesizeStack } from './synth.ts';

/**
 * CloudFormation quotas (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html):
 * "Resources: Maximum number of resources that you can declare in your CloudFormation template: 500";
 * "Template body size in an Amazon S3 object: 1 MB"; "Template body size in a request: 51,200 bytes".
 * `cdk deploy` (with the bootstrap stack's assets bucket) uploads the template to S3 and passes a
 * TemplateURL, so the 1 MB limit applies; the 51,200-byte body limit binds only a direct TemplateBody
 * (the templates here are over 100 KB already at one target).
 */
const CFN_RESOURCES = 500;
const CFN_TEMPLATE_URL_BYTES = 1_000_000;

describe.each([1, 50, 500])('one stack at %i targets', (count) => {
  let measured: Measured;

  beforeAll(() => {
    const config = scaleConfig(count);
    // CDK's own checks off, so that the numbers are measured and reported rather than thrown.
    const { template } = synthesizeStack({
      config,
      props: { optInAlarms: scaleOptInAlarms(config) },
      context: { '@aws-cdk/core:stackResourceLimit': 0, '@aws-cdk/core:validateAgainstDefaultRules': false },
    });
    measured = measure(template.toJSON() as CfnTemplate);
  }, 900_000);

  it(`declares at most ${CFN_RESOURCES} resources`, () => {
    expect(measured.resources).toBeLessThanOrEqual(CFN_RESOURCES);
  });

  it(`writes a template of at most ${CFN_TEMPLATE_URL_BYTES} bytes (deployed through the bootstrap bucket)`, () => {
    expect(measured.templateBytes).toBeLessThanOrEqual(CFN_TEMPLATE_URL_BYTES);
  });
});
