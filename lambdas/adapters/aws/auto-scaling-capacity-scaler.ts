/** `CapacityScaler` on EC2 Auto Scaling: desired capacity + step, never above the configured maximum. */
import {
  type AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
} from '@aws-sdk/client-auto-scaling';
import type { CapacityScaler } from '../../ports.ts';

export class AutoScalingGroupNotFoundError extends Error {
  override name = 'AutoScalingGroupNotFoundError';
}

export class AutoScalingCapacityScaler implements CapacityScaler {
  readonly #client: AutoScalingClient;

  constructor(client: AutoScalingClient) {
    this.#client = client;
  }

  async raise(request: { group: string; step: number; maxCapacity: number; dryRun: boolean }) {
    const described = await this.#client.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [request.group] }),
    );
    const group = described.AutoScalingGroups?.[0];
    if (!group) throw new AutoScalingGroupNotFoundError(`no Auto Scaling group named ${request.group}`);
    const before = group.DesiredCapacity ?? 0;
    const ceiling = Math.min(request.maxCapacity, group.MaxSize ?? request.maxCapacity);
    const after = Math.min(before + request.step, ceiling);
    if (after <= before || request.dryRun)
      return { before, after: request.dryRun ? after : before, changed: false };
    await this.#client.send(
      new SetDesiredCapacityCommand({
        AutoScalingGroupName: request.group,
        DesiredCapacity: after,
        HonorCooldown: true,
      }),
    );
    return { before, after, changed: true };
  }
}
