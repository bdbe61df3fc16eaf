/**
 * Step 3: is the network in the way between nginx and the failing upstream? With an EC2 inventory (live in
 * AWS, a snapshot locally) the whole path is evaluated: security groups, network ACLs, routes and the host
 * firewalls the diagnostics read; without one, the host firewalls alone.
 */

import type { NetworkEvidence } from '../core/diagnosis/evidence.ts';
import type { HostFacts } from '../core/diagnostics/host-facts.ts';
import { readHostFirewall } from '../core/network/host-firewall.ts';
import { evaluateReachability } from '../core/network/reachability.ts';
import type { BlockedBy } from '../core/network/types.ts';
import { isUnixPeer, peerHostPort } from '../core/nginx/peer.ts';
import { type NetworkOutcome, type ReportStepInput, ReportStepInputSchema } from './contracts.ts';
import { findTarget, type StepDeps, storeKeys } from './deps.ts';

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

export async function checkNetworkPath(raw: unknown, deps: StepDeps): Promise<NetworkOutcome> {
  const input = ReportStepInputSchema.parse(raw);
  const target = findTarget(deps.config, input.target);
  const peer = (input.evidence?.upstreams ?? []).find((p) => !isUnixPeer(p) && peerHostPort(p) !== undefined);
  if (peer === undefined) {
    return {
      status: 'skipped',
      reason:
        (input.evidence?.upstreams ?? []).length === 0
          ? 'no failing upstream in the window'
          : 'the failing upstream is a unix socket: there is no network path',
    };
  }
  const { host, port } = peerHostPort(peer)!;
  const ip = host.replace(/^\[|\]$/g, '');
  const nginxHost = deps.nginxHost(target);
  const upstreamHost = target.upstreams.find((u) => u.address === peer)?.host ?? nginxHost;
  const nginxFacts = await hostFacts(deps, input, nginxHost);
  const upstreamFacts = upstreamHost === nginxHost ? nginxFacts : await hostFacts(deps, input, upstreamHost);

  const evidence: NetworkEvidence = { status: 'checked', blockedBy: [], ruledOut: [], peer };
  const notes: string[] = [];
  const inventory = deps.network?.(target);
  // The EC2 evaluation starts from nginx's instance: the host itself in AWS, the configured id locally.
  const from = nginxHost !== 'local' ? nginxHost : target.aws?.instanceId;
  // A loopback upstream never leaves the host: only its firewall can be in the way.
  const loopback = ip.startsWith('127.') || ip === '::1';
  if (loopback) notes.push(`${peer} is on loopback: no VPC path to evaluate, only the host firewall`);
  if (!loopback && inventory && from !== undefined && IPV4.test(ip)) {
    const model = await inventory.load();
    const hostFirewall: { source?: string; destination?: string } = {};
    if (nginxFacts?.firewall) hostFirewall.source = nginxFacts.firewall.ruleset;
    if (upstreamFacts?.firewall) hostFirewall.destination = upstreamFacts.firewall.ruleset;
    const result = evaluateReachability(model, { from, to: { ip, port }, hostFirewall });
    evidence.blockedBy = result.blockedBy.map(explainBlock);
    evidence.ruledOut = result.ruledOut;
    notes.push(...result.notes);
    if (result.verdict === 'unknown')
      notes.push(`the path from ${nginxHost} to ${peer} could not be established`);
  } else {
    if (!inventory)
      notes.push('no EC2 inventory: security groups, network ACLs and routes were not evaluated');
    const sides: [HostFacts | undefined, 'output' | 'input', string][] = [
      [nginxFacts, 'output', `nginx's host (${nginxHost})`],
      [upstreamFacts, 'input', `the upstream's host (${upstreamHost})`],
    ];
    for (const [facts, direction, label] of sides) {
      if (!facts?.firewall) {
        notes.push(`${label}: the firewall rules could not be read`);
        continue;
      }
      const reading = readHostFirewall(facts.firewall.ruleset, {
        port,
        proto: 'tcp',
        direction,
        ...(IPV4.test(ip) && direction === 'output' ? { peerIp: ip } : {}),
      });
      for (const block of reading.blocks) {
        const entry = {
          kind: 'host-firewall' as const,
          id: facts.host,
          direction: `${direction === 'output' ? 'outgoing from' : 'incoming to'} ${label}`,
          rule: block.line,
          fix: block.fix,
        };
        if (block.certain) evidence.blockedBy.push(entry);
        else notes.push(`${label}: "${block.line}" may drop the traffic (${block.caveats.join('; ')})`);
      }
      if (reading.blocks.length === 0) {
        evidence.ruledOut.push(`host firewall on ${label}: no rule drops or rejects tcp port ${port}`);
      }
    }
  }
  if (notes.length > 0) evidence.notes = notes;
  const key = storeKeys.networkEvidence(input.incidentId);
  await deps.store.put(key, JSON.stringify(evidence), 'application/json');
  return { status: 'checked', key };
}

async function hostFacts(
  deps: StepDeps,
  input: ReportStepInput,
  host: string,
): Promise<HostFacts | undefined> {
  const outcome = (input.hosts ?? []).find((h) => h.host === host && h.status === 'done' && h.key);
  if (!outcome?.key) return undefined;
  const text = await deps.store.get(outcome.key);
  return text === undefined ? undefined : (JSON.parse(text) as HostFacts);
}

function explainBlock(block: BlockedBy): NetworkEvidence['blockedBy'][number] {
  const rule = block.rule.kind === 'host-firewall' ? block.rule.line : block.reason;
  return { kind: block.kind, id: block.id, direction: block.direction, rule, fix: block.fix };
}
