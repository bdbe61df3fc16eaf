import { EC2Client } from '@aws-sdk/client-ec2';
import { Ec2NetworkInventory } from '../../adapters/aws/ec2-network-inventory.ts';
import type { StepDeps } from '../../steps/deps.ts';
import type { Environment } from './environment.ts';

/** The live EC2 inventory of the Lambda's own account and region, for every target. */
export function networkInventoryFromEnvironment(_env: Environment): NonNullable<StepDeps['network']> {
  const inventory = new Ec2NetworkInventory(new EC2Client({}));
  return () => inventory;
}
