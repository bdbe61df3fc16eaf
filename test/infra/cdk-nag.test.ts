import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { addNagPacks } from '../../lib/nag.ts';
import { buildStack, synthesizeStack } from './synth.ts';

/** Every acknowledgment recorded in the tree: where, which rule, and the reason given. */
function acknowledgments(root: IConstruct): { path: string; id: string; reason: string }[] {
  const found: { path: string; id: string; reason: string }[] = [];
  for (const node of root.node.findAll()) {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: node.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return found;
}

describe('cdk-nag AwsSolutions and Serverless packs on the gatewatch stack', () => {
  let app: ReturnType<typeof synthesizeStack>['app'];
  beforeAll(() => {
    ({ app } = synthesizeStack());
  }, 300_000);

  it.each([
    ['AwsSolutions', () => new AwsSolutionsChecks(app)],
    ['Serverless', () => new ServerlessChecks(app)],
  ])('reports no unacknowledged finding in the %s pack', (_name, pack) => {
    const report = pack().validateScope(app);

    const findings = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });

  it('gives every acknowledgment a reason that explains it', () => {
    const acks = acknowledgments(app);

    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(40);
    }
  });

  it('acknowledges wildcards finding by finding, never a whole rule', () => {
    for (const ack of acknowledgments(app)) {
      if (ack.id.startsWith('AwsSolutions-IAM5'))
        expect(ack.id, ack.path).toMatch(/^AwsSolutions-IAM5\[.+\]$/);
    }
  });

  it('still reports a wildcard nobody acknowledged (the packs are live)', () => {
    const { app: other, stack } = synthesizeStack();
    stack.workflow.tasks.Notify.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sns:*'], resources: ['*'] }),
    );

    const found = new AwsSolutionsChecks(other).validateScope(other).violations.map((v) => v.ruleName);

    expect(found).toContain('AwsSolutions-IAM5[Action::sns:*]');
  });

  it('fails synthesis, as `cdk synth` runs it, on a finding nobody acknowledged, and passes without one', () => {
    const clean = buildStack();
    addNagPacks(clean.app);
    expect(() => clean.app.synth()).not.toThrow();

    const holed = buildStack();
    holed.stack.workflow.tasks.Notify.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sns:*'], resources: ['*'] }),
    );
    addNagPacks(holed.app);
    expect(() => holed.app.synth()).toThrow(/AwsSolutions-IAM5\[Action::sns:\*\]/);
  });

  it('acknowledges only findings the packs really report (no stale acknowledgment)', () => {
    const acknowledged = new Set<string>();
    const spy = vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation((...rules) => {
      for (const rule of rules) acknowledged.add(rule.id);
    });
    try {
      const { app: bare } = synthesizeStack();
      const reported = new Set<string>();
      for (const pack of [new AwsSolutionsChecks(bare), new ServerlessChecks(bare)]) {
        for (const violation of pack.validateScope(bare).violations) reported.add(violation.ruleName);
      }
      expect([...acknowledged].filter((id) => !reported.has(id))).toEqual([]);
      expect([...reported].filter((id) => !acknowledged.has(id))).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });
});
