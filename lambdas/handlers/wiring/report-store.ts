import { S3Client } from '@aws-sdk/client-s3';
import { LAMBDA_ENV, REPORT_PREFIX } from '../../../lib/workflow/lambda-wiring.ts';
import { S3ReportStore } from '../../adapters/aws/s3-report-store.ts';
import type { ReportStore } from '../../ports.ts';
import { type Environment, requireEnv } from './environment.ts';

/** The incident folders of the stack's report bucket. */
export function reportStoreFromEnvironment(env: Environment): ReportStore {
  return new S3ReportStore(new S3Client({}), {
    bucket: requireEnv(env, LAMBDA_ENV.reportBucket),
    prefix: env[LAMBDA_ENV.reportPrefix] ?? REPORT_PREFIX,
  });
}
