/**
 * gatewatch's second SSM Command document: the remediation actions, built at synth time from the same
 * actions script the local mode runs (`lambdas/assets/remediation/gatewatch-remediate.sh`). As with the
 * diagnostics document, every `GW_*` variable is a parameter with a closed `allowedValues` list or an
 * anchored `allowedPattern`, handed to the script by ENV_VAR interpolation (never spliced into its
 * text), and the script refuses to start unless the agent proves it interpolates that way.
 *
 * IAM: {@link grantSend} allows `ssm:SendCommand` with this document only, and only on instances tagged
 * `gatewatch-remediate=enabled` (condition `ssm:resourceTag/gatewatch-remediate`): an instance that is
 * diagnosed is not thereby repairable; an operator opts each one in.
 */
import { readFileSync } from 'node:fs';
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { REMEDIATION_DOCUMENT } from '../workflow/lambda-wiring.ts';
import type { DiagnosticsParameter, InstanceTag } from './diagnostics-document.ts';
import { MAX_DOCUMENT_BYTES, shellScriptDocument } from './diagnostics-document.ts';

export class RemediationDocumentPropsError extends Error {
  override name = 'RemediationDocumentPropsError';
}

export interface RemediationDocumentProps {
  /** The actions script (the same file the local mode runs). */
  readonly scriptPath: string;
  /** Every `GW_*` variable the script reads. */
  readonly parameters: readonly DiagnosticsParameter[];
  /**
   * Only instances with this tag may receive the document.
   * @default { key: 'gatewatch-remediate', value: 'enabled' }
   */
  readonly instanceTag?: InstanceTag;
  /**
   * Upper bound of the script's run time, in seconds.
   * @default 600
   */
  readonly maxExecutionSeconds?: number;
}

export const REMEDIATION_INSTANCE_TAG: InstanceTag = { key: 'gatewatch-remediate', value: 'enabled' };

export class RemediationDocument extends Construct {
  public readonly document: ssm.CfnDocument;
  public readonly documentName: string;
  public readonly documentArn: string;
  public readonly instanceTag: InstanceTag;
  public readonly content: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: RemediationDocumentProps) {
    super(scope, id);
    const maxSeconds = props.maxExecutionSeconds ?? 600;
    if (!Number.isInteger(maxSeconds) || maxSeconds < 1 || maxSeconds > 3600) {
      throw new RemediationDocumentPropsError('maxExecutionSeconds must be a whole number from 1 to 3600');
    }
    for (const parameter of props.parameters) {
      if (!/^GW_[A-Z0-9_]{1,60}$/.test(parameter.name)) {
        throw new RemediationDocumentPropsError(`parameter ${parameter.name} must be named GW_<UPPER_CASE>`);
      }
      if ((parameter.allowedPattern === undefined) === (parameter.allowedValues === undefined)) {
        throw new RemediationDocumentPropsError(
          `parameter ${parameter.name} needs exactly one of allowedPattern and allowedValues`,
        );
      }
      const pattern = parameter.allowedPattern;
      if (
        pattern &&
        (pattern.flags !== '' || !pattern.source.startsWith('^') || !pattern.source.endsWith('$'))
      ) {
        throw new RemediationDocumentPropsError(
          `parameter ${parameter.name}: allowedPattern must be anchored and flag-free`,
        );
      }
      for (const hostile of ['\n', "'", '"', '`', '$(', ';', ' ']) {
        if (pattern?.test(hostile)) {
          throw new RemediationDocumentPropsError(
            `parameter ${parameter.name}: allowedPattern accepts ${JSON.stringify(hostile)}`,
          );
        }
      }
    }
    this.instanceTag = props.instanceTag ?? REMEDIATION_INSTANCE_TAG;
    this.content = remediationDocumentContent(
      readFileSync(props.scriptPath, 'utf8'),
      props.parameters,
      maxSeconds,
    );
    const size = Buffer.byteLength(JSON.stringify(this.content));
    if (size > MAX_DOCUMENT_BYTES) {
      throw new RemediationDocumentPropsError(
        `the actions document is ${size} bytes; SSM allows ${MAX_DOCUMENT_BYTES}`,
      );
    }
    this.document = new ssm.CfnDocument(this, 'Document', {
      documentType: 'Command',
      documentFormat: 'JSON',
      content: this.content,
      updateMethod: 'NewVersion',
      targetType: '/AWS::EC2::Instance',
    });
    this.documentName = this.document.ref;
    this.documentArn = Stack.of(this).formatArn({
      service: 'ssm',
      resource: 'document',
      resourceName: this.documentName,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /** `ssm:SendCommand` with this document, only to instances tagged for remediation; reading the result. */
  grantSend(grantee: iam.IGrantable): void {
    const stack = Stack.of(this);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ssm:SendCommand'], resources: [this.documentArn] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:SendCommand'],
        resources: [
          stack.formatArn({
            service: 'ec2',
            resource: 'instance',
            resourceName: '*',
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          }),
        ],
        conditions: { StringEquals: { [`ssm:resourceTag/${this.instanceTag.key}`]: this.instanceTag.value } },
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ssm:GetCommandInvocation'], resources: ['*'] }),
    );
  }
}

/** The actions document: the shared shell document, its script run as `bash -c`. */
export function remediationDocumentContent(
  script: string,
  parameters: readonly DiagnosticsParameter[],
  maxSeconds: number,
): Record<string, unknown> {
  return shellScriptDocument({
    script,
    interpreter: 'bash',
    argv0: 'gatewatch-remediate',
    parameters,
    maxSeconds,
    defaultSeconds: 120,
    description:
      'gatewatch: the closed set of remediation actions (restart a service, reload nginx after nginx -t).',
    timeoutOf: 'the actions script',
    names: REMEDIATION_DOCUMENT,
  });
}
