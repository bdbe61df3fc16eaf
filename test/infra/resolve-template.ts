/**
 * A synthesized template with its CloudFormation intrinsics resolved the way a real deployment would
 * resolve them, with the longest values AWS generates (64-character physical names, a long region),
 * so that sizes measured on it are upper bounds of the deployed ones and policies can be evaluated by
 * an IAM simulator. Only what gatewatch's template uses is resolved: anything else throws.
 */

export const ACCOUNT = '123456789012';
export const REGION = 'ap-southeast-2';
export const PARTITION = 'aws';
export const STACK_NAME = 'Gatewatch';

export type CfnTemplate = {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
  Outputs?: Record<string, unknown>;
  Parameters?: Record<string, unknown>;
  Mappings?: Record<string, unknown>;
};

/** An intrinsic this resolver does not know. */
export class UnresolvableIntrinsicError extends Error {
  override name = 'UnresolvableIntrinsicError';
}

/** CloudFormation's generated physical names: `<stack>-<logical id>-<12 random>`, at most 64 characters. */
export function physicalName(logicalId: string, max = 64): string {
  const suffix = `-${logicalId
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .slice(-12)
    .padStart(12, 'X')}`;
  return `${STACK_NAME}-${logicalId}`.slice(0, max - suffix.length) + suffix;
}

function lowerName(logicalId: string): string {
  return physicalName(logicalId, 63).toLowerCase();
}

const arn = (service: string, resource: string, region = REGION, account = ACCOUNT) =>
  `arn:${PARTITION}:${service}:${region}:${account}:${resource}`;

/** What `Ref` and `Fn::GetAtt` give for a resource of `type`. */
export function resourceValue(logicalId: string, type: string, attribute?: string): string {
  const name = physicalName(logicalId);
  switch (type) {
    case 'AWS::S3::Bucket': {
      const bucket = lowerName(logicalId);
      if (attribute === 'Arn') return `arn:${PARTITION}:s3:::${bucket}`;
      if (attribute === undefined) return bucket;
      if (attribute === 'RegionalDomainName') return `${bucket}.s3.${REGION}.amazonaws.com`;
      break;
    }
    case 'AWS::SNS::Topic':
      if (attribute === undefined || attribute === 'TopicArn') return arn('sns', name);
      if (attribute === 'TopicName') return name;
      break;
    case 'AWS::SQS::Queue':
      if (attribute === undefined || attribute === 'QueueUrl')
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
      if (attribute === 'Arn') return arn('sqs', name);
      if (attribute === 'QueueName') return name;
      break;
    case 'AWS::Lambda::Function':
      if (attribute === undefined) return name;
      if (attribute === 'Arn') return arn('lambda', `function:${name}`);
      break;
    case 'AWS::StepFunctions::StateMachine':
      if (attribute === undefined || attribute === 'Arn') return arn('states', `stateMachine:${name}`);
      if (attribute === 'Name') return name;
      break;
    case 'AWS::IAM::Role':
      if (attribute === undefined) return name;
      if (attribute === 'Arn') return `arn:${PARTITION}:iam::${ACCOUNT}:role/${name}`;
      break;
    case 'AWS::IAM::ManagedPolicy':
      if (attribute === undefined || attribute === 'PolicyArn')
        return `arn:${PARTITION}:iam::${ACCOUNT}:policy/${name}`;
      break;
    case 'AWS::KMS::Key': {
      const id = '1234abcd-12ab-34cd-56ef-1234567890ab';
      if (attribute === undefined || attribute === 'KeyId') return id;
      if (attribute === 'Arn') return arn('kms', `key/${id}`);
      break;
    }
    case 'AWS::SSM::Document':
      if (attribute === undefined) return name;
      break;
    case 'AWS::Logs::LogGroup':
      if (attribute === undefined) return name;
      if (attribute === 'Arn') return arn('logs', `log-group:${name}:*`);
      break;
    case 'AWS::Events::Rule':
      if (attribute === undefined) return name;
      if (attribute === 'Arn') return arn('events', `rule/${name}`);
      break;
    case 'AWS::CloudWatch::Alarm':
      if (attribute === undefined) return name;
      if (attribute === 'Arn') return arn('cloudwatch', `alarm:${name}`);
      break;
  }
  if (attribute === undefined) return name;
  throw new UnresolvableIntrinsicError(`Fn::GetAtt ${logicalId}.${attribute} (${type})`);
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': PARTITION,
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::StackName': STACK_NAME,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackId': arn('cloudformation', `stack/${STACK_NAME}/0f0e0d0c-0b0a-0908-0706-050403020100`),
};

/** `value` with every Ref, Fn::GetAtt, Fn::Join, Fn::Sub and Fn::Select resolved. */
export function resolveValue(template: CfnTemplate, value: unknown): unknown {
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (v === null || typeof v !== 'object') return v;
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0]!;
      if (key === 'Ref') {
        const ref = arg as string;
        if (ref in PSEUDO) return PSEUDO[ref];
        const resource = template.Resources[ref];
        if (!resource) throw new UnresolvableIntrinsicError(`Ref ${ref}`);
        return resourceValue(ref, resource.Type);
      }
      if (key === 'Fn::GetAtt') {
        const [id, attribute] = (typeof arg === 'string' ? arg.split('.') : arg) as [string, string];
        const resource = template.Resources[id];
        if (!resource) throw new UnresolvableIntrinsicError(`Fn::GetAtt ${id}`);
        return resourceValue(id, resource.Type, attribute);
      }
      if (key === 'Fn::Join') {
        const [separator, parts] = arg as [string, unknown[]];
        return (resolve(parts) as unknown[]).map(String).join(separator);
      }
      if (key === 'Fn::Select') {
        const [index, list] = arg as [number | string, unknown];
        return (resolve(list) as unknown[])[Number(index)];
      }
      if (key === 'Fn::Split') {
        const [separator, text] = arg as [string, unknown];
        return String(resolve(text)).split(separator);
      }
      if (key === 'Fn::Sub') {
        const [text, variables] = (typeof arg === 'string' ? [arg, {}] : arg) as [
          string,
          Record<string, unknown>,
        ];
        return text.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
          if (name in variables) return String(resolve(variables[name]));
          if (name in PSEUDO) return PSEUDO[name]!;
          const [id, attribute] = name.split('.');
          const resource = template.Resources[id!];
          if (!resource) throw new UnresolvableIntrinsicError(`Fn::Sub \${${name}}`);
          return resourceValue(id!, resource.Type, attribute);
        });
      }
      if (key.startsWith('Fn::')) throw new UnresolvableIntrinsicError(key);
    }
    return Object.fromEntries(entries.map(([k, x]) => [k, resolve(x)]));
  };
  return resolve(value);
}

/** Characters of a policy document as IAM counts them: its JSON without whitespace. */
export function policyChars(document: unknown): number {
  return JSON.stringify(document).length;
}
