/**
 * Where incidents are kept: `incidents/<incidentId>/report.{json,md,html}` plus their evidence, and the
 * full output of the diagnostics commands under `ssm-output/`. Private, TLS only, encrypted, versioned,
 * kept when the stack is deleted (the reports are the product), expired by lifecycle rules, and with S3
 * server access logs in a second bucket.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { COMMAND_OUTPUT_PREFIX, REPORT_PREFIX } from '../workflow/lambda-wiring.ts';

export class ReportBucketPropsError extends Error {
  override name = 'ReportBucketPropsError';
}

export interface ReportBucketProps {
  /**
   * How long incident reports and evidence are kept.
   * @default Duration.days(400) — a year of incidents plus a month to compare against
   */
  readonly reportExpiration?: Duration;
  /**
   * How long the raw diagnostics command output is kept (it is condensed into the evidence).
   * @default Duration.days(30)
   */
  readonly commandOutputExpiration?: Duration;
  /**
   * How long overwritten or deleted object versions are kept.
   * @default Duration.days(30)
   */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * How long S3 server access logs are kept.
   * @default Duration.days(90)
   */
  readonly accessLogExpiration?: Duration;
}

export class ReportBucket extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly accessLogsBucket: s3.Bucket;
  /** Key prefix of incident folders, ending with `/`. */
  public readonly reportPrefix = REPORT_PREFIX;
  /** Key prefix of SSM Run Command output, ending with `/`. */
  public readonly commandOutputPrefix = COMMAND_OUTPUT_PREFIX;

  constructor(scope: Construct, id: string, props: ReportBucketProps = {}) {
    super(scope, id);
    // Access logs delivered by bucket policy (no ACLs), whatever the app's feature flags: both buckets
    // keep ACLs disabled (BUCKET_OWNER_ENFORCED).
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const reportExpiration = props.reportExpiration ?? Duration.days(400);
    const commandOutputExpiration = props.commandOutputExpiration ?? Duration.days(30);
    if (commandOutputExpiration.toDays() > reportExpiration.toDays()) {
      throw new ReportBucketPropsError('commandOutputExpiration must not exceed reportExpiration');
    }

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: props.accessLogExpiration ?? Duration.days(90) }],
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'report-bucket/',
      lifecycleRules: [
        { id: 'expire-incidents', prefix: REPORT_PREFIX, expiration: reportExpiration },
        { id: 'expire-command-output', prefix: COMMAND_OUTPUT_PREFIX, expiration: commandOutputExpiration },
        {
          id: 'expire-old-versions',
          noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
  }

  /**
   * Read and write incident folders; no delete (a report once written is only ever superseded). The
   * ListBucket on the prefix makes a missing key answer NoSuchKey instead of AccessDenied.
   */
  grantIncidentReadWrite(grantee: iam.IGrantable): void {
    this.#grant(grantee, REPORT_PREFIX, ['s3:GetObject', 's3:PutObject']);
  }

  /** Read the diagnostics command output SSM wrote. */
  grantCommandOutputRead(grantee: iam.IGrantable): void {
    this.#grant(grantee, COMMAND_OUTPUT_PREFIX, ['s3:GetObject']);
  }

  #grant(grantee: iam.IGrantable, prefix: string, objectActions: string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: objectActions,
        resources: [this.bucket.arnForObjects(`${prefix}*`)],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': `${prefix}*` } },
      }),
    );
  }

  /** `s3://<bucket>/incidents/`, for outputs and documentation. */
  get reportsUri(): string {
    return `s3://${this.bucket.bucketName}/${REPORT_PREFIX}`;
  }
}
