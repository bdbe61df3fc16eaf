/**
 * Measures, on a synthesized template (intrinsics resolved to the longest realistic values, see
 * `resolve-template.ts`), every size and count AWS limits that grows with gatewatch's configuration.
 * The limits themselves, with their sources, are in `limits.test.ts`.
 */
import { type CfnTemplate, policyChars, resolveValue } from './resolve-template.ts';

export interface Measured {
  resources: number;
  /** The template as `cdk synth` writes it (1-space indentation), bytes. */
  templateBytes: number;
  outputs: number;
  parameters: number;
  /** Largest sum of a role's inline policies (AWS::IAM::Policy), characters without whitespace. */
  maxInlinePolicyCharsPerRole: number;
  maxManagedPolicyChars: number;
  maxManagedPoliciesPerRole: number;
  maxTrustPolicyChars: number;
  maxEventPatternChars: number;
  /** Largest sum of a function's environment variable names and values, bytes. */
  maxLambdaEnvBytes: number;
  stateMachineDefinitionBytes: number;
  ssmDocumentBytes: number;
  maxTopicPolicyBytes: number;
  maxQueuePolicyBytes: number;
  maxQueuePolicyStatements: number;
  maxKeyPolicyBytes: number;
  maxBucketPolicyBytes: number;
  /** Largest sum of a function's resource-based policy statements (AWS::Lambda::Permission), bytes. */
  maxLambdaResourcePolicyBytes: number;
}

type Resource = CfnTemplate['Resources'][string];

function ofType(template: CfnTemplate, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function refId(value: unknown): string | undefined {
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] } | undefined;
  return v?.Ref ?? v?.['Fn::GetAtt']?.[0];
}

function max(values: number[]): number {
  return values.length === 0 ? 0 : Math.max(...values);
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

export function measure(template: CfnTemplate): Measured {
  const resolve = (value: unknown) => resolveValue(template, value);
  const roles = ofType(template, 'AWS::IAM::Role');

  const inline = new Map<string, number>();
  for (const [, policy] of ofType(template, 'AWS::IAM::Policy')) {
    const chars = policyChars(resolve(policy.Properties!.PolicyDocument));
    for (const role of (policy.Properties!.Roles as unknown[]) ?? []) {
      const id = refId(role)!;
      inline.set(id, (inline.get(id) ?? 0) + chars);
    }
  }
  for (const [id, role] of roles) {
    for (const policy of (role.Properties!.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) {
      inline.set(id, (inline.get(id) ?? 0) + policyChars(resolve(policy.PolicyDocument)));
    }
  }

  const attached = new Map<string, number>();
  for (const [id, role] of roles)
    attached.set(id, ((role.Properties!.ManagedPolicyArns as unknown[]) ?? []).length);
  const managed = ofType(template, 'AWS::IAM::ManagedPolicy');
  for (const [, policy] of managed) {
    for (const role of (policy.Properties!.Roles as unknown[]) ?? []) {
      const id = refId(role)!;
      attached.set(id, (attached.get(id) ?? 0) + 1);
    }
  }

  const env = ofType(template, 'AWS::Lambda::Function').map(([, fn]) => {
    const variables = (resolve(
      (fn.Properties!.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
    ) ?? {}) as Record<string, string>;
    return Object.entries(variables).reduce(
      (sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(String(v)),
      0,
    );
  });

  const machines = ofType(template, 'AWS::StepFunctions::StateMachine');
  const definitionBytes = machines.map(([, m]) => {
    let text = String(resolve(m.Properties!.DefinitionString));
    const substitutions = resolve(m.Properties!.DefinitionSubstitutions ?? {}) as Record<string, string>;
    for (const [key, value] of Object.entries(substitutions)) text = text.replaceAll(`\${${key}}`, value);
    return Buffer.byteLength(text);
  });

  const queuePolicies = ofType(template, 'AWS::SQS::QueuePolicy').map(
    ([, p]) => resolve(p.Properties!.PolicyDocument) as { Statement: unknown[] },
  );
  const permissions = new Map<string, number>();
  for (const [, permission] of ofType(template, 'AWS::Lambda::Permission')) {
    const id = refId(permission.Properties!.FunctionName) ?? String(permission.Properties!.FunctionName);
    const { FunctionName: _f, ...statement } = resolve(permission.Properties!) as Record<string, unknown>;
    permissions.set(id, (permissions.get(id) ?? 0) + bytes(statement));
  }

  return {
    resources: Object.keys(template.Resources).length,
    templateBytes: Buffer.byteLength(JSON.stringify(template, undefined, 1)),
    outputs: Object.keys(template.Outputs ?? {}).length,
    parameters: Object.keys(template.Parameters ?? {}).length,
    maxInlinePolicyCharsPerRole: max([...inline.values()]),
    maxManagedPolicyChars: max(managed.map(([, p]) => policyChars(resolve(p.Properties!.PolicyDocument)))),
    maxManagedPoliciesPerRole: max([...attached.values()]),
    maxTrustPolicyChars: max(
      roles.map(([, r]) => policyChars(resolve(r.Properties!.AssumeRolePolicyDocument))),
    ),
    maxEventPatternChars: max(
      ofType(template, 'AWS::Events::Rule')
        .filter(([, r]) => r.Properties!.EventPattern !== undefined)
        .map(([, r]) => JSON.stringify(resolve(r.Properties!.EventPattern)).length),
    ),
    maxLambdaEnvBytes: max(env),
    stateMachineDefinitionBytes: max(definitionBytes),
    ssmDocumentBytes: max(
      ofType(template, 'AWS::SSM::Document').map(([, d]) => bytes(resolve(d.Properties!.Content))),
    ),
    maxTopicPolicyBytes: max(
      ofType(template, 'AWS::SNS::TopicPolicy').map(([, p]) => bytes(resolve(p.Properties!.PolicyDocument))),
    ),
    maxQueuePolicyBytes: max(queuePolicies.map(bytes)),
    maxQueuePolicyStatements: max(queuePolicies.map((p) => p.Statement.length)),
    maxKeyPolicyBytes: max(
      ofType(template, 'AWS::KMS::Key').map(([, k]) => bytes(resolve(k.Properties!.KeyPolicy))),
    ),
    maxBucketPolicyBytes: max(
      ofType(template, 'AWS::S3::BucketPolicy').map(([, p]) => bytes(resolve(p.Properties!.PolicyDocument))),
    ),
    maxLambdaResourcePolicyBytes: max([...permissions.values()]),
  };
}
