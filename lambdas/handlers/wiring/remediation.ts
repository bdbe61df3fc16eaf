/** The Remediate stage's ports in AWS: SSM with the actions document, the S3 ledger and approvals, Auto Scaling. */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  APPROVALS_PREFIX,
  LAMBDA_ENV,
  REMEDIATION_STATE_PREFIX,
} from '../../../lib/workflow/lambda-wiring.ts';
import { AutoScalingCapacityScaler } from '../../adapters/aws/auto-scaling-capacity-scaler.ts';
import { S3ApprovalGate } from '../../adapters/aws/s3-approvals.ts';
import { S3RemediationLedger } from '../../adapters/aws/s3-remediation-ledger.ts';
import { SsmRemediationRunner } from '../../adapters/aws/ssm-remediation-runner.ts';
import { HttpTargetProber } from '../../adapters/local/http-target-prober.ts';
import type { ApprovalGate, RemediationLedger, RemediationRunner } from '../../ports.ts';
import type { RemediationPorts } from '../../steps/deps.ts';
import { type Environment, requireEnv } from './environment.ts';

function unavailable<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get(_t, property) {
      if (property === 'then' || typeof property === 'symbol') return undefined;
      return () => {
        throw new Error(`${what} is not wired in this Lambda`);
      };
    },
  });
}

/** AwaitApproval: only the approval gate (task tokens in the report bucket). */
export function approvalPortsFromEnvironment(env: Environment): RemediationPorts {
  return {
    world: 'aws',
    approvals: new S3ApprovalGate(new S3Client({}), {
      bucket: requireEnv(env, LAMBDA_ENV.reportBucket),
      prefix: APPROVALS_PREFIX,
    }),
    runner: unavailable<RemediationRunner>('the actions runner'),
    ledger: unavailable<RemediationLedger>('the remediation ledger'),
    prober: new HttpTargetProber('aws'),
  };
}

/** Remediate: the actions document, the ledger and locks, the verification probe, Auto Scaling. */
export function remediationPortsFromEnvironment(env: Environment): RemediationPorts {
  return {
    world: 'aws',
    runner: new SsmRemediationRunner(new SSMClient({}), {
      documentName: requireEnv(env, LAMBDA_ENV.remediationDocument),
    }),
    ledger: new S3RemediationLedger(new S3Client({}), {
      bucket: requireEnv(env, LAMBDA_ENV.reportBucket),
      prefix: REMEDIATION_STATE_PREFIX,
    }),
    approvals: unavailable<ApprovalGate>('the approval gate'),
    prober: new HttpTargetProber('aws'),
    scaler: new AutoScalingCapacityScaler(new AutoScalingClient({})),
  };
}
