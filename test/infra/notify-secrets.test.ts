/**
 * The Lambdas that send on the channels (Notify, AwaitApproval) in the synthesized template: they may read exactly the SSM parameter and Secrets Manager
 * secret `notify` names, and no secret value is in the template (only names).
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../lambdas/core/config.ts';
import { exampleConfig, synthesizeStack } from './synth.ts';

describe('Notify Lambda secrets', () => {
  it('grants GetParameter/GetSecretValue on exactly the named secrets, and the template holds no secret value', () => {
    const base = exampleConfig();
    const config = validateConfig({
      ...base,
      notify: {
        ...base.notify,
        slack: { webhookUrl: { ssmParameter: '/gatewatch/slack-webhook' } },
        pagerduty: { routingKey: { secretsManager: 'gatewatch/pagerduty' } },
      },
    });
    const { template } = synthesizeStack({ config });
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Action: 'ssm:GetParameter' })]),
        },
      },
    });
    // Two Lambdas send on the channels: Notify (incident notices) and AwaitApproval (approval requests).
    const roles = Object.values(policies)
      .flatMap((p) => (p as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles.map((r) => r.Ref))
      .sort();
    expect(roles).toEqual([
      expect.stringMatching(/^DiagnosisAwaitApproval.*Role/),
      expect.stringMatching(/^DiagnosisNotify.*Role/),
    ]);
    const documents = Object.values(policies).map((p) => JSON.stringify(p));
    for (const document of documents) {
      expect(document).toContain('parameter/gatewatch/slack-webhook');
      expect(document).toContain('secretsmanager:GetSecretValue');
      expect(document).toContain('secret:gatewatch/pagerduty-??????');
    }
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } })
          .Properties.PolicyDocument.Statement,
    );
    for (const action of ['ssm:GetParameter', 'secretsmanager:GetSecretValue']) {
      const statement = statements.find((st) => st.Action === action)!;
      expect(JSON.stringify(statement.Resource)).not.toContain('"*"');
    }
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/hooks\.slack\.com\/services/);
  });
});
