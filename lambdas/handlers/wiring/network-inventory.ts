import { EC2Client } from '@aws-sdk/client-ec2';
import { Ec2NetworkInventory } from '../../adapters/aws/ec2-network-inventory.ts';
import type { StepDeps } from '../../steps/deps.ts';
import type { Environment } from './environment.ts';

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/**
 * The live EC2 inventory of the Lambda's own account and region, read only for the VPCs of the hosts
 * involved: the target's nginx instance and any upstream host given as an instance id.
 */
export function networkInventoryFromEnvironment(_env: Environment): NonNullable<StepDeps['network']> {
  const client = new EC2Client({});
  return (target) => {
    const instanceIds = [target.aws?.instanceId, ...target.upstreams.map((u) => u.host)].filter(
      (id): id is string => id !== undefined && INSTANCE_ID.test(id),
    );
    return new Ec2NetworkInventory(client, instanceIds.length > 0 ? { instanceIds } : {});
  };
}
