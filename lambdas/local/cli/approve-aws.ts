/** `gatewatch approve --aws`: answers a deployed workflow's approval through S3 and Step Functions. */
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { APPROVALS_PREFIX } from '../../../lib/workflow/lambda-wiring.ts';
import { ApprovalRefusedError, StepFunctionsApprovalResponder } from '../../adapters/aws/s3-approvals.ts';
import { UsageError } from './errors.ts';

export async function answerAwsApproval(request: {
  incidentId: string;
  bucket: string;
  by: string;
  reject: boolean;
  action?: string;
  region?: string;
  endpoint?: string;
}): Promise<string> {
  const common = {
    ...(request.region === undefined ? {} : { region: request.region }),
    ...(request.endpoint === undefined ? {} : { endpoint: request.endpoint }),
  };
  const responder = new StepFunctionsApprovalResponder(
    new S3Client({ ...common, forcePathStyle: request.endpoint !== undefined }),
    new SFNClient(common),
    { bucket: request.bucket, prefix: APPROVALS_PREFIX },
  );
  try {
    const { pending, answer } = await responder.answer({
      incidentId: request.incidentId,
      by: request.by,
      reject: request.reject,
      ...(request.action === undefined ? {} : { action: request.action }),
    });
    return answer.status === 'approved'
      ? `approved: ${pending.command} (${pending.action}) for ${request.incidentId}; the workflow proceeds`
      : `rejected: ${pending.action} for ${request.incidentId} will not run`;
  } catch (error) {
    if (error instanceof ApprovalRefusedError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}
