// The network step with a configured EC2 snapshot (local mode): the path from nginx's instance to the
// failing upstream is evaluated, blocks are explained, and a clean path is ruled out.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SnapshotNetworkInventory } from '../../lambdas/adapters/local/snapshot-network-inventory.ts';
import { validateConfig } from '../../lambdas/core/config.ts';
import type { NetworkEvidence } from '../../lambdas/core/diagnosis/evidence.ts';
import type { ReportStore } from '../../lambdas/ports.ts';
import { checkNetworkPath } from '../../lambdas/steps/check-network-path.ts';
import type { StepDeps } from '../../lambdas/steps/deps.ts';

const NGINX_INSTANCE = 'i-0ccccccccccccccc1';
const UPSTREAM = '10.0.2.20:3000';

class MemoryStore implements ReportStore {
  readonly objects = new Map<string, string>();
  async put(key: string, body: string) {
    this.objects.set(key, body);
    return key;
  }
  async get(key: string) {
    return this.objects.get(key);
  }
  locate(key: string) {
    return key;
  }
}

async function evaluate(snapshotFile: string): Promise<NetworkEvidence> {
  const snapshot = fileURLToPath(new URL(`../fixtures/network/${snapshotFile}`, import.meta.url));
  const config = validateConfig({
    targets: [
      {
        name: 'shop',
        nginx: { errorLog: '/var/log/nginx/error.log' },
        aws: { instanceId: NGINX_INSTANCE, logGroups: { error: 'e' } },
      },
    ],
    network: { snapshot },
  });
  const store = new MemoryStore();
  const deps = {
    config,
    store,
    nginxHost: () => 'local',
    network: () => new SnapshotNetworkInventory(snapshot),
  } as unknown as StepDeps;
  const outcome = await checkNetworkPath(
    {
      incidentId: 'shop-20261124T051148Z-3f2a',
      target: 'shop',
      openedAt: '2026-11-24T05:11:48Z',
      window: { from: '2026-11-24T05:00:00Z', to: '2026-11-24T05:11:48Z' },
      trigger: { kind: 'manual', detail: 'test' },
      evidence: { key: 'k', hosts: [], failures: 3, upstreams: [UPSTREAM] },
      hosts: [],
    },
    deps,
  );
  expect(outcome.status).toBe('checked');
  return JSON.parse(store.objects.get(outcome.key!)!) as NetworkEvidence;
}

describe('the network step with an EC2 snapshot', () => {
  it('rules the VPC path out when security groups, ACLs and routes allow it', async () => {
    const evidence = await evaluate('base.json');
    expect(evidence.blockedBy).toEqual([]);
    expect(evidence.ruledOut.length).toBeGreaterThan(0);
  });

  it('names the security group that lacks the inbound rule, with the fix', async () => {
    const evidence = await evaluate('sg-ingress-missing.json');
    expect(evidence.blockedBy[0]).toMatchObject({ kind: 'security-group', id: 'sg-0aaaaaaaaaaaaaaa2' });
    expect(evidence.blockedBy[0]?.fix).toMatch(/3000/);
  });

  it('names the network ACL entry that denies the traffic', async () => {
    const evidence = await evaluate('acl-deny-before-allow.json');
    expect(evidence.blockedBy.some((b) => b.kind === 'network-acl')).toBe(true);
  });
});
