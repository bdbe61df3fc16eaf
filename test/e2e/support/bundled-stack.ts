/**
 * The stack as `cdk synth` writes it to cdk.out: every Lambda bundled by the local esbuild (offline, no
 * Docker), each function's asset folder (index.mjs and the JSON documents shipped next to it), and the
 * template with its intrinsics resolved as CloudFormation would resolve them (`resolve-template.ts`):
 * the names of the bucket, topic, document and state machine the end-to-end test creates in moto.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { GatewatchConfig } from '../../../lambdas/core/config.ts';
import { GatewatchStack, type GatewatchStackProps } from '../../../lib/gatewatch-stack.ts';
import {
  ACCOUNT,
  type CfnTemplate,
  PARTITION,
  REGION,
  resolveValue,
  resourceValue,
} from '../../infra/resolve-template.ts';
import { cdkJsonContext } from '../../infra/synth.ts';

/** One deployed Lambda, as the template and cdk.out describe it. */
export interface BundledFunction {
  logicalId: string;
  description: string;
  /** The physical name CloudFormation gives it, and its ARN (what a Task's `Resource` names). */
  name: string;
  arn: string;
  /** The cdk.out asset folder: index.mjs and the bundled documents. */
  assetDir: string;
  handler: string;
  runtime: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** `Environment.Variables`, resolved: exactly what Lambda would set from the template. */
  environment: Record<string, string>;
}

export interface BundledStack {
  outdir: string;
  template: CfnTemplate;
  stack: GatewatchStack;
  functions: BundledFunction[];
  /** The resolved value of a resource's Ref / Fn::GetAtt (moto resources are created with these). */
  ref(logicalId: string, attribute?: string): string;
  /** The only resource of a type (throws when there is not exactly one). */
  only(type: string): string;
  /** The function whose description matches. */
  fn(description: RegExp): BundledFunction;
}

/** Synthesizes with bundling into a fresh cdk.out folder (slow: esbuild runs once per function). */
export function synthesizeBundled(
  config: GatewatchConfig,
  props: Partial<Omit<GatewatchStackProps, 'config'>> = {},
): BundledStack {
  const outdir = mkdtempSync(join(tmpdir(), 'gatewatch-e2e-cdk-out-'));
  const app = new App({
    outdir,
    context: { ...cdkJsonContext(), 'aws:cdk:enable-asset-metadata': true },
  });
  const stack = new GatewatchStack(app, 'Gatewatch', { config, ...props });
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  // The template file cdk.out holds, not the in-memory object: what `cdk deploy` uploads.
  const template = JSON.parse(readFileSync(join(outdir, artifact.templateFile), 'utf8')) as CfnTemplate;

  const ref = (logicalId: string, attribute?: string) => {
    const resource = template.Resources[logicalId];
    if (!resource) throw new Error(`no resource ${logicalId} in the template`);
    return resourceValue(logicalId, resource.Type, attribute);
  };
  const functions: BundledFunction[] = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([logicalId, r]) => {
      const p = r.Properties ?? {};
      const assetPath = r.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') throw new Error(`${logicalId} has no asset folder in cdk.out`);
      return {
        logicalId,
        description: String(p.Description),
        name: resourceValue(logicalId, r.Type),
        arn: resourceValue(logicalId, r.Type, 'Arn'),
        assetDir: join(outdir, assetPath),
        handler: String(p.Handler),
        runtime: String(p.Runtime),
        timeoutSeconds: Number(p.Timeout ?? 3),
        memoryMb: Number(p.MemorySize ?? 128),
        environment: resolveValue(
          template,
          (p.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
        ) as Record<string, string>,
      };
    });
  return {
    outdir,
    template,
    stack,
    functions,
    ref,
    only(type) {
      const ids = Object.entries(template.Resources)
        .filter(([, r]) => r.Type === type)
        .map(([id]) => id);
      if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}`);
      return ids[0]!;
    },
    fn(description) {
      const found = functions.filter((f) => description.test(f.description));
      if (found.length !== 1) throw new Error(`expected one function described ${description}`);
      return found[0]!;
    },
  };
}

export { ACCOUNT, PARTITION, REGION };
