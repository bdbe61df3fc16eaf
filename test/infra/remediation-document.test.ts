// The remediation actions document and its IAM, as synthesized: a closed enum and anchored patterns with
// ENV_VAR interpolation, the real actions script run the way the SSM agent runs it, and SendCommand
// allowed only with this document on instances tagged gatewatch-remediate=enabled, only to Remediate.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  parseRemediationOutput,
  REMEDIATION_ENVIRONMENT,
  REMEDIATION_SCRIPT_RELATIVE_PATH,
} from '../../lambdas/core/remediation/params.ts';
import { remediationDocumentContent } from '../../lib/constructs/remediation-document.ts';
import { repoPath } from '../../lib/paths.ts';
import { synthesizeStack } from './synth.ts';

type Content = {
  description: string;
  parameters: Record<
    string,
    { allowedPattern?: string; allowedValues?: string[]; interpolationType?: string }
  >;
  mainSteps: { inputs: { runCommand: string[] } }[];
};
type Statement = {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string>>;
};

const work = mkdtempSync(join(tmpdir(), 'gw-remediation-document-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const { template, stack } = synthesizeStack();
const documents = Object.entries(template.findResources('AWS::SSM::Document'));
const remediationId = stack.getLogicalId(stack.remediation.document);
const content = template.toJSON().Resources[remediationId].Properties.Content as Content;

function statementsOfRoleOf(functionLogicalIdPrefix: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] };
  }[];
  return policies
    .filter((p) => p.Properties.Roles.some((r) => r.Ref.startsWith(functionLogicalIdPrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('the remediation Command document', () => {
  it('is a second document next to the diagnostics one', () => {
    expect(documents).toHaveLength(2);
    expect(content.description).toContain('remediation actions');
  });

  it('gives every GW_* parameter a closed enum or an anchored pattern, passed as ENV_VAR', () => {
    for (const variable of REMEDIATION_ENVIRONMENT) {
      const parameter = content.parameters[variable.name]!;
      expect(parameter.interpolationType, variable.name).toBe('ENV_VAR');
      if (variable.allowedValues) expect(parameter.allowedValues).toEqual(['', ...variable.allowedValues]);
      else expect(parameter.allowedPattern).toBe(`^$|${variable.allowedPattern!.source}`);
    }
    expect(content.parameters.GW_ACTION?.allowedValues).toEqual(['', 'restart-service', 'reload-nginx']);
    expect(content.parameters.GW_SERVICE_KIND?.allowedValues).toEqual(['', 'systemd', 'docker', 'pm2']);
    for (const hostile of ['x;id', '$(id)', '`id`', 'a b', "a'b"]) {
      expect(new RegExp(content.parameters.GW_SERVICE_NAME!.allowedPattern!).test(hostile), hostile).toBe(
        false,
      );
    }
  });

  it('runs the real actions script with the values the agent hands over as SSM_* variables', () => {
    const file = join(work, '_script.sh');
    writeFileSync(file, `${content.mainSteps[0]!.inputs.runCommand.join('\n')}\n`);
    chmodSync(file, 0o755);
    const run = (env: Record<string, string>) =>
      spawnSync('sh', ['-c', file], {
        env: { PATH: '/usr/bin:/bin', ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const dry = run({
      SSM_interpolationCheck: 'ENV_VAR',
      SSM_GW_ACTION: 'restart-service',
      SSM_GW_SERVICE_KIND: 'systemd',
      SSM_GW_SERVICE_NAME: 'shop-api.service',
      SSM_GW_DRY_RUN: '1',
    });
    expect(parseRemediationOutput(dry.stdout)).toMatchObject({
      outcome: 'dry-run',
      commands: ['systemctl restart -- shop-api.service'],
    });
    const old = run({ SSM_GW_ACTION: 'restart-service' });
    expect(old.status).toBe(64);
    expect(old.stdout).toBe('');
    // The same text as the file the local runner uses.
    const local = remediationDocumentContent(
      readFileSync(repoPath(REMEDIATION_SCRIPT_RELATIVE_PATH), 'utf8'),
      REMEDIATION_ENVIRONMENT,
      600,
    );
    expect(local.mainSteps).toEqual(content.mainSteps);
  });
});

describe('who may send the remediation document', () => {
  const remediate = stack.getLogicalId(stack.workflow.tasks.Remediate.role.node.defaultChild as never);
  const sendRole = stack.getLogicalId(stack.workflow.tasks.SendDiagnostics.role.node.defaultChild as never);

  it('lets the Remediate Lambda send it only to instances tagged gatewatch-remediate=enabled', () => {
    const sends = statementsOfRoleOf(remediate).filter((s) => actions(s).includes('ssm:SendCommand'));
    expect(JSON.stringify(sends)).toContain(remediationId);
    const instances = sends.find((s) => JSON.stringify(s.Resource).includes(':instance/*'));
    expect(instances?.Condition).toEqual({
      StringEquals: { 'ssm:resourceTag/gatewatch-remediate': 'enabled' },
    });
    expect(JSON.stringify(sends)).not.toContain(stack.getLogicalId(stack.diagnostics.document));
  });

  it('gives no other role the actions document', () => {
    const all = Object.values(template.findResources('AWS::IAM::Policy')) as {
      Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] };
    }[];
    const holders = all.filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes(remediationId));
    expect(holders.flatMap((p) => p.Properties.Roles.map((r) => r.Ref))).toEqual([remediate]);
    expect(JSON.stringify(statementsOfRoleOf(sendRole))).not.toContain(remediationId);
  });
});
