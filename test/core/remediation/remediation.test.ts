import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lambdas/core/config.ts';
import { REMEDIATION_RULES, ruleFor } from '../../../lambdas/core/remediation/actions.ts';
import { checkGuardrails, type LedgerEntry } from '../../../lambdas/core/remediation/guardrails.ts';
import {
  buildRemediationEnvironment,
  describeCommand,
  parseRemediationOutput,
  RemediationParamsError,
} from '../../../lambdas/core/remediation/params.ts';
import { planRemediation } from '../../../lambdas/core/remediation/plan.ts';
import { ROOT_CAUSES, type RootCause } from '../../../lambdas/core/root-causes.ts';

function target(remediation: unknown, service: Record<string, string> = { pm2: 'shop-api' }) {
  return parseConfig(
    JSON.stringify({
      targets: [
        {
          name: 'shop',
          nginx: { errorLog: '/var/log/nginx/error.log', conf: '/etc/nginx/nginx.conf' },
          upstreams: [{ address: '127.0.0.1:3000', service }],
          ...(remediation === undefined ? {} : { remediation }),
        },
      ],
    }),
  ).targets[0]!;
}

const plan = (t: ReturnType<typeof target>, rootCause: RootCause, world: 'local' | 'aws' = 'local') =>
  planRemediation({
    incidentId: 'shop-20261124T051148Z-3f2a',
    target: t,
    verdict: { rootCause, upstream: '127.0.0.1:3000' },
    nginxHost: 'local',
    world,
    dryRun: false,
  });

describe('remediation configuration', () => {
  it('defaults to suggest with an empty allowlist', () => {
    const p = plan(target({}), 'upstream-down');
    expect(p).toMatchObject({ decision: 'suggest', mode: 'suggest', maxPerHour: 3, verifySeconds: 60 });
  });

  it('names the field and the fix for a bad mode or action', () => {
    expect(() => target({ mode: 'yolo' })).toThrow(
      /targets\[0\]\.remediation\.mode: must be one of suggest, approve, auto/,
    );
    expect(() => target({ actions: ['rm-rf'] })).toThrow(
      /targets\[0\]\.remediation\.actions\[0\]: must be one of restart-service, reload-nginx, scale-asg/,
    );
    expect(() => target({ maxPerHour: -1 })).toThrow(/remediation\.maxPerHour: must be 0/);
    expect(() => target({ verifySeconds: 100_000 })).toThrow(
      /remediation\.verifySeconds: must be at most 600/,
    );
    expect(() => target({ surprise: 1 })).toThrow(/remediation\.surprise: unknown field/);
  });
});

describe('the mapping table', () => {
  it('runs nothing for a verdict outside the table, in every mode', () => {
    const outside = (Object.keys(ROOT_CAUSES) as RootCause[]).filter((c) => ruleFor(c) === undefined);
    expect(outside).toEqual(
      expect.arrayContaining([
        'upstream-wrong-address',
        'nginx-config-invalid',
        'network-blocked-host-firewall',
        'network-blocked-security-group',
        'network-blocked-nacl',
        'resource-disk-full',
        'healthy',
        'unknown',
      ]),
    );
    for (const mode of ['suggest', 'approve', 'auto']) {
      const t = target({ mode, actions: ['restart-service', 'reload-nginx', 'scale-asg'] });
      for (const cause of outside) expect(plan(t, cause).decision, `${mode} ${cause}`).toBe('none');
    }
  });

  it('maps every rule to an action of the closed set', () => {
    for (const [cause, rule] of Object.entries(REMEDIATION_RULES)) {
      expect(rule.id).toBe(`${cause}→${rule.action}`);
    }
  });

  it('restarts through the manager the hint names, and only suggests for a bare process', () => {
    const auto = { mode: 'auto', actions: ['restart-service'] };
    expect(plan(target(auto), 'upstream-down')).toMatchObject({
      decision: 'run',
      proposed: { command: 'pm2 restart shop-api', rule: 'upstream-down→restart-service' },
    });
    expect(plan(target(auto, { systemd: 'shop-api.service' }), 'upstream-down').proposed?.command).toBe(
      'systemctl restart -- shop-api.service',
    );
    expect(plan(target(auto, { docker: 'shop' }), 'resource-memory-oom').proposed?.command).toBe(
      'docker restart shop',
    );
    const bare = plan(target(auto, { process: 'node server.js' }), 'upstream-down');
    expect(bare.decision).toBe('suggest');
    expect(bare.params).toBeUndefined();
  });

  it('reloads nginx with its own -p/-c, after nginx -t', () => {
    const p = plan(target({ mode: 'auto', actions: ['reload-nginx'] }), 'upstream-dns');
    expect(p.decision).toBe('run');
    expect(p.proposed?.command).toBe(
      'nginx -c /etc/nginx/nginx.conf -t && nginx -c /etc/nginx/nginx.conf -s reload',
    );
  });

  it('suggests an action outside the allowlist and gives the approve command', () => {
    const p = plan(target({ mode: 'auto', actions: ['reload-nginx'] }), 'upstream-down');
    expect(p.decision).toBe('suggest');
    expect(p.reason).toContain('not in remediation.actions');
    expect(p.proposed?.approveCommand).toBe(
      'gatewatch approve shop-20261124T051148Z-3f2a --action restart-service',
    );
    expect(
      plan(target({ mode: 'approve', actions: ['restart-service'] }), 'upstream-down', 'aws').proposed
        ?.approveCommand,
    ).toBe('gatewatch approve --aws shop-20261124T051148Z-3f2a --action restart-service');
  });

  it('scales an Auto Scaling group only in AWS and only when one is configured', () => {
    const withGroup = target({
      mode: 'auto',
      actions: ['scale-asg'],
      autoScalingGroup: { name: 'shop-api', maxCapacity: 4 },
    });
    expect(plan(withGroup, 'upstream-overloaded', 'aws')).toMatchObject({
      decision: 'run',
      scale: { group: 'shop-api', step: 1, maxCapacity: 4 },
    });
    expect(plan(withGroup, 'upstream-overloaded', 'local').decision).toBe('none');
  });
});

describe('guardrails', () => {
  const at = (minutesAgo: number) =>
    new Date(Date.parse('2026-12-06T12:00:00Z') - minutesAgo * 60_000).toISOString();
  const entry = (e: Partial<LedgerEntry>): LedgerEntry => ({
    incidentId: 'x',
    target: 'shop',
    host: 'local',
    action: 'restart-service',
    at: at(5),
    outcome: 'verified',
    ...e,
  });
  const request = {
    target: 'shop',
    host: 'local',
    incidentId: 'new',
    nowMs: Date.parse('2026-12-06T12:00:00Z'),
    maxPerHour: 2,
  };

  it('allows up to maxPerHour per target in a sliding hour', () => {
    expect(checkGuardrails([entry({ incidentId: 'a' })], request).allowed).toBe(true);
    const two = [entry({ incidentId: 'a' }), entry({ incidentId: 'b', at: at(50) })];
    expect(checkGuardrails(two, request)).toMatchObject({ allowed: false, guardrail: 'rate-limit-target' });
    expect(
      checkGuardrails([entry({ incidentId: 'a' }), entry({ incidentId: 'b', at: at(61) })], request).allowed,
    ).toBe(true);
  });

  it('caps a host across targets and concurrent incidents', () => {
    const others = [entry({ incidentId: 'a', target: 'blog' }), entry({ incidentId: 'b', target: 'api' })];
    expect(checkGuardrails(others, request)).toMatchObject({ allowed: false, guardrail: 'rate-limit-host' });
  });

  it('does not count refused or dry-run entries, nor the incident itself', () => {
    const noise = [
      entry({ incidentId: 'a', outcome: 'refused' }),
      entry({ incidentId: 'b', outcome: 'dry-run' }),
      entry({ incidentId: 'new' }),
      entry({ incidentId: 'new', at: at(1) }),
    ];
    expect(checkGuardrails(noise, request).allowed).toBe(true);
  });

  it('opens the circuit breaker after two failed repairs in a row, for an hour', () => {
    const failed = [
      entry({ incidentId: 'a', outcome: 'failed', at: at(100) }),
      entry({ incidentId: 'b', outcome: 'failed', at: at(70) }),
    ];
    expect(checkGuardrails(failed, { ...request, maxPerHour: 10 })).toMatchObject({ allowed: true });
    const recent = [
      entry({ incidentId: 'a', outcome: 'failed', at: at(30) }),
      entry({ incidentId: 'b', outcome: 'failed', at: at(20) }),
    ];
    expect(checkGuardrails(recent, { ...request, maxPerHour: 10 })).toMatchObject({
      allowed: false,
      guardrail: 'circuit-breaker',
    });
    const recovered = [...recent, entry({ incidentId: 'c', outcome: 'verified', at: at(10) })];
    expect(checkGuardrails(recovered, { ...request, maxPerHour: 10 }).allowed).toBe(true);
  });
});

describe('the actions script parameters', () => {
  it('refuses anything but validated values', () => {
    for (const name of ['shop;touch /tmp/x', '$(id)', '-rf', 'a b', 'x`y`', "a'b", 'a\nb']) {
      expect(
        () =>
          buildRemediationEnvironment({ action: 'restart-service', serviceKind: 'pm2', serviceName: name }),
        name,
      ).toThrow(RemediationParamsError);
    }
    expect(() => buildRemediationEnvironment({ action: 'reload-nginx', nginxConf: '/etc/../x' })).toThrow(
      RemediationParamsError,
    );
    expect(() => buildRemediationEnvironment({ action: 'rm' as never })).toThrow(RemediationParamsError);
    expect(
      buildRemediationEnvironment({ action: 'restart-service', serviceKind: 'docker', serviceName: 'shop' }),
    ).toEqual({
      GW_ACTION: 'restart-service',
      GW_SERVICE_KIND: 'docker',
      GW_SERVICE_NAME: 'shop',
      GW_DRY_RUN: '0',
      GW_ACTION_TIMEOUT: '60',
      GW_OUTPUT_CAP: '16384',
    });
  });

  it('reads the script output, and output lines cannot forge a result', () => {
    const parsed = parseRemediationOutput(
      '#gw command pm2 restart a\n|#gw result ok 0\n|done\n#gw result failed 1 pm2%20exited\n',
    );
    expect(parsed).toMatchObject({
      outcome: 'failed',
      exitCode: 1,
      commands: ['pm2 restart a'],
      reason: 'pm2 exited',
    });
    expect(parsed.output).toBe('#gw result ok 0\ndone');
    expect(
      describeCommand({ action: 'restart-service', serviceKind: 'systemd', serviceName: 'a.service' }),
    ).toBe('systemctl restart -- a.service');
  });
});
