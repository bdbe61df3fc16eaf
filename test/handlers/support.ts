/** What the handler tests share: a Lambda context, the stack's environment, an S3 that remembers. */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { LAMBDA_ENV } from '../../lib/workflow/lambda-wiring.ts';
import { exampleConfig } from '../infra/synth.ts';

export const REPORT_BUCKET = 'gatewatch-reports-test';
export const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:gatewatch';
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:GatewatchDiagnosis';
export const DOCUMENT_NAME = 'Gatewatch-Diagnostics-AbC123';

/** The environment the stack gives the Lambdas (all of it: each handler reads only its part). */
export function setStackEnvironment(): void {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    POWERTOOLS_DEV: 'false',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    [LAMBDA_ENV.config]: JSON.stringify(exampleConfig()),
    [LAMBDA_ENV.reportBucket]: REPORT_BUCKET,
    [LAMBDA_ENV.reportPrefix]: 'incidents/',
    [LAMBDA_ENV.commandOutputPrefix]: 'ssm-output/',
    [LAMBDA_ENV.diagnosticsDocument]: DOCUMENT_NAME,
    [LAMBDA_ENV.topicArn]: TOPIC_ARN,
    [LAMBDA_ENV.stateMachineArn]: STATE_MACHINE_ARN,
    [LAMBDA_ENV.alarmRoutes]: JSON.stringify({
      prefixes: {},
      names: { 'shop-api-5xx': 'shop' },
      contributorPrefix: 'gatewatch-',
    }),
  });
}

let invocation = 0;
export function lambdaContext(functionName = 'gatewatch-test'): Context {
  invocation++;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: `00000000-0000-4000-8000-${String(invocation).padStart(12, '0')}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/24/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Makes the mocked S3 client behave like a bucket: PutObject stores (honouring `If-Match`/`If-None-Match`
 * with a 412 as S3 does), GetObject returns what was stored with its ETag (as a body with
 * `transformToString`, the part of the SDK stream the adapter reads) or NoSuchKey.
 */
export function rememberingS3(
  s3: AwsClientStub<S3Client>,
): Map<string, { body: string; contentType?: string }> {
  const objects = new Map<string, { body: string; contentType?: string }>();
  const etags = new Map<string, string>();
  let writes = 0;
  s3.on(PutObjectCommand).callsFake(
    (input: {
      Bucket: string;
      Key: string;
      Body: string;
      ContentType?: string;
      IfMatch?: string;
      IfNoneMatch?: string;
    }) => {
      const key = `${input.Bucket}/${input.Key}`;
      const current = etags.get(key);
      if (
        (input.IfMatch !== undefined && input.IfMatch !== current) ||
        (input.IfNoneMatch === '*' && current !== undefined)
      )
        throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
          name: 'PreconditionFailed',
          $metadata: { httpStatusCode: 412 },
        });
      objects.set(key, {
        body: input.Body,
        ...(input.ContentType ? { contentType: input.ContentType } : {}),
      });
      const etag = `"e${++writes}"`;
      etags.set(key, etag);
      return { ETag: etag };
    },
  );
  s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    const key = `${input.Bucket}/${input.Key}`;
    const object = objects.get(key);
    if (!object) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
    return { Body: { transformToString: async () => object.body }, ETag: etags.get(key) };
  });
  return objects;
}
