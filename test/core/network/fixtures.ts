/** Loads the EC2 snapshot fixtures (merged `aws ec2 describe-…` outputs) as the evaluator's model. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseEc2Snapshot, toNetworkModel } from '../../../lambdas/adapters/aws/ec2-shapes.ts';
import type { NetworkModel } from '../../../lambdas/core/network/types.ts';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/network/', import.meta.url));

export function loadSnapshotFixture(name: string): NetworkModel {
  return toNetworkModel(parseEc2Snapshot(JSON.parse(readFileSync(`${FIXTURES}${name}.json`, 'utf8'))));
}

export function loadFirewallFixture(name: string): string {
  return readFileSync(`${FIXTURES}firewall/${name}`, 'utf8');
}

/** The ids the fixtures use (see test/fixtures/network/README.md). */
export const ID = {
  vpc: 'vpc-0f1e2d3c4b5a69780',
  peerVpc: 'vpc-0b2b2b2b2b2b2b2b2',
  webSubnet: 'subnet-01111111111111111',
  appSubnet: 'subnet-02222222222222222',
  peerSubnet: 'subnet-03333333333333333',
  workerSubnet: 'subnet-04444444444444444',
  webSg: 'sg-0aaaaaaaaaaaaaaa1',
  appSg: 'sg-0aaaaaaaaaaaaaaa2',
  batchSg: 'sg-0aaaaaaaaaaaaaaa3',
  defaultAcl: 'acl-0ddddddddddddddd1',
  appAcl: 'acl-0ddddddddddddddd2',
  webAcl: 'acl-0ddddddddddddddd3',
  peerAcl: 'acl-0ddddddddddddddd4',
  mainRtb: 'rtb-0eeeeeeeeeeeeeee1',
  webRtb: 'rtb-0eeeeeeeeeeeeeee2',
  peerRtb: 'rtb-0eeeeeeeeeeeeeee3',
  pcx: 'pcx-09999999999999991',
  nginxEni: 'eni-0bbbbbbbbbbbbbbb1',
  appEni: 'eni-0bbbbbbbbbbbbbbb2',
  nginx: 'i-0ccccccccccccccc1',
  app: 'i-0ccccccccccccccc2',
  worker: 'i-0ccccccccccccccc3',
} as const;
