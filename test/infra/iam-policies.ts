/**
 * The synthesized stack's policies, resolved, and the IAM simulator run against them
 * (@cloud-copilot/iam-simulate): a role's identity policies (inline and attached managed), and the
 * resource policies of the bucket, topic, key, queue and functions.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { ACCOUNT, type CfnTemplate, resolveValue, resourceValue } from './resolve-template.ts';

type Policy = { Version?: string; Statement: Record<string, unknown>[] };

export class StackPolicies {
  readonly #template: CfnTemplate;

  constructor(template: CfnTemplate) {
    this.#template = template;
  }

  #resolve<T>(value: unknown): T {
    return resolveValue(this.#template, value) as T;
  }

  #ofType(type: string): [string, CfnTemplate['Resources'][string]][] {
    return Object.entries(this.#template.Resources).filter(([, r]) => r.Type === type);
  }

  /** The role (logical id) a function runs as. */
  roleOfFunction(functionLogicalId: string): string {
    const role = this.#template.Resources[functionLogicalId]?.Properties?.Role as {
      'Fn::GetAtt': [string, string];
    };
    return role['Fn::GetAtt'][0];
  }

  /** The function whose description matches. */
  functionByDescription(pattern: RegExp): string {
    const found = this.#ofType('AWS::Lambda::Function').find(([, f]) =>
      pattern.test(String(f.Properties?.Description)),
    );
    if (!found) throw new Error(`no function described like ${pattern}`);
    return found[0];
  }

  /** The resolved environment of a function. */
  environmentOf(functionLogicalId: string): Record<string, string> {
    const fn = this.#template.Resources[functionLogicalId]!;
    return this.#resolve(
      (fn.Properties?.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
    );
  }

  roleArn(roleLogicalId: string): string {
    return resourceValue(roleLogicalId, 'AWS::IAM::Role', 'Arn');
  }

  /** Every identity policy of a role: its inline policies and the managed policies attached to it. */
  identityPolicies(roleLogicalId: string): { name: string; policy: Policy }[] {
    const mentions = (roles: unknown) =>
      ((roles as { Ref?: string }[]) ?? []).some((r) => r.Ref === roleLogicalId);
    return [
      ...this.#ofType('AWS::IAM::Policy')
        .filter(([, p]) => mentions(p.Properties?.Roles))
        .map(([id, p]) => ({ name: id, policy: this.#resolve<Policy>(p.Properties!.PolicyDocument) })),
      ...this.#ofType('AWS::IAM::ManagedPolicy')
        .filter(([, p]) => mentions(p.Properties?.Roles))
        .map(([id, p]) => ({ name: id, policy: this.#resolve<Policy>(p.Properties!.PolicyDocument) })),
    ];
  }

  /** A managed policy's document (for the instance policy, which no role of the stack carries). */
  managedPolicy(pattern: RegExp): { name: string; policy: Policy } {
    const [id, p] = this.#ofType('AWS::IAM::ManagedPolicy').find(([id]) => pattern.test(id))!;
    return { name: id, policy: this.#resolve<Policy>(p.Properties!.PolicyDocument) };
  }

  /** The resource policy that governs `resourceArn`, if the stack sets one. */
  resourcePolicyFor(resourceArn: string): Policy | undefined {
    if (resourceArn.startsWith('arn:aws:s3:::')) {
      const bucket = resourceArn.slice('arn:aws:s3:::'.length).split('/')[0];
      for (const [, p] of this.#ofType('AWS::S3::BucketPolicy')) {
        if (this.#resolve(p.Properties!.Bucket) === bucket)
          return this.#resolve(p.Properties!.PolicyDocument);
      }
      return undefined;
    }
    if (resourceArn.includes(':sns:')) {
      for (const [, p] of this.#ofType('AWS::SNS::TopicPolicy')) {
        if ((this.#resolve<string[]>(p.Properties!.Topics) ?? []).includes(resourceArn))
          return this.#resolve(p.Properties!.PolicyDocument);
      }
      return undefined;
    }
    if (resourceArn.includes(':kms:')) {
      for (const [id, k] of this.#ofType('AWS::KMS::Key')) {
        if (resourceValue(id, k.Type, 'Arn') === resourceArn) return this.#resolve(k.Properties!.KeyPolicy);
      }
      return undefined;
    }
    if (resourceArn.includes(':sqs:')) {
      for (const [, p] of this.#ofType('AWS::SQS::QueuePolicy')) {
        const queues = this.#resolve<string[]>(p.Properties!.Queues);
        const [id] =
          this.#ofType('AWS::SQS::Queue').find(
            ([qid, q]) => resourceValue(qid, q.Type, 'Arn') === resourceArn,
          ) ?? [];
        if (id && queues.includes(resourceValue(id, 'AWS::SQS::Queue')))
          return this.#resolve(p.Properties!.PolicyDocument);
      }
      return undefined;
    }
    if (resourceArn.includes(':lambda:')) {
      const statements = this.#ofType('AWS::Lambda::Permission')
        .map(([, p]) => this.#resolve<Record<string, string>>(p.Properties!))
        .filter((p) => resourceArn.endsWith(`:function:${p.FunctionName}`) || p.FunctionName === resourceArn)
        .map((p) => ({
          Effect: 'Allow',
          Principal: { Service: p.Principal },
          Action: p.Action,
          Resource: resourceArn,
          ...(p.SourceArn ? { Condition: { ArnLike: { 'AWS:SourceArn': p.SourceArn } } } : {}),
        }));
      return statements.length > 0 ? { Version: '2012-10-17', Statement: statements } : undefined;
    }
    return undefined;
  }

  /** The key that encrypts the topic (logical id's ARN). */
  topicKeyArn(): string {
    const [topic] = this.#ofType('AWS::SNS::Topic');
    const ref = (topic![1].Properties!.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    return resourceValue(ref[0], 'AWS::KMS::Key', 'Arn');
  }

  topicArn(): string {
    const [topic] = this.#ofType('AWS::SNS::Topic');
    return resourceValue(topic![0], 'AWS::SNS::Topic');
  }

  bucketName(pattern: RegExp): string {
    const [id] = this.#ofType('AWS::S3::Bucket').find(([id]) => pattern.test(id))!;
    return resourceValue(id, 'AWS::S3::Bucket');
  }
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied' | string;

/** The simulator's decision for one request; validation problems of the request itself throw. */
export async function simulate(request: {
  principal: string;
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  identityPolicies: { name: string; policy: unknown }[];
  resourcePolicy?: unknown;
}): Promise<Decision> {
  const result = await runSimulation(
    {
      identityPolicies: request.identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.resourcePolicy ? { resourcePolicy: request.resourcePolicy } : {}),
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: request.context,
      },
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(
      `the simulator refused ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`,
    );
  }
  return result.overallResult;
}
