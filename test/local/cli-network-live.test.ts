// `gatewatch network --region R --from ID --to IP:PORT --json --capture FILE` through the shipped CLI
// against moto_server's EC2 API (AWS_ENDPOINT_URL, the SDK's default chain). moto keeps EC2 per region:
// the resources exist only in eu-west-1, so the answer depends on --region being honoured.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runGatewatch } from '../support/cli.ts';
import { type Moto, motoAvailable, motoClientConfig, motoSkipReason, startMoto } from '../support/moto.ts';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 90_000 });

const REGION = 'eu-west-1';
let moto: Moto;
let dir: string;
let nginxInstance: string;
let appSg: string;

beforeAll(async () => {
  if (!motoAvailable) return;
  moto = await startMoto();
  dir = await mkdtemp(join(tmpdir(), 'gatewatch-network-live-'));
  const ec2 = new EC2Client({ ...motoClientConfig(moto.endpoint), region: REGION });
  try {
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
    const subnet = async (cidr: string) =>
      (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: cidr }))).Subnet!.SubnetId!;
    const web = await subnet('10.0.1.0/24');
    const app = await subnet('10.0.2.0/24');
    const group = async (name: string) =>
      (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: name, Description: name })))
        .GroupId!;
    const webSg = await group('web');
    appSg = await group('app');
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: appSg,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 3000, ToPort: 3000, UserIdGroupPairs: [{ GroupId: webSg }] },
        ],
      }),
    );
    const instance = async (SubnetId: string, PrivateIpAddress: string, SecurityGroupIds: string[]) =>
      (
        await ec2.send(
          new RunInstancesCommand({
            ImageId: 'ami-12c6146b',
            InstanceType: 't3.micro',
            MinCount: 1,
            MaxCount: 1,
            SubnetId,
            PrivateIpAddress,
            SecurityGroupIds,
          }),
        )
      ).Instances![0]!.InstanceId!;
    nginxInstance = await instance(web, '10.0.1.10', [webSg]);
    await instance(app, '10.0.2.20', [appSg]);
  } finally {
    ec2.destroy();
  }
});
afterAll(async () => {
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const env = () => ({
  AWS_ENDPOINT_URL: moto.endpoint,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_EC2_METADATA_DISABLED: 'true',
  // A region in the environment that holds nothing: only --region finds the resources.
  AWS_REGION: 'us-east-2',
});

interface Result {
  verdict: string;
  blockedBy: { kind: string; id?: string; direction: string }[];
}

describe.skipIf(!motoAvailable)(
  `gatewatch network --region (shipped CLI, moto EC2) ${motoSkipReason}`,
  () => {
    it('answers from the live API of the region given with --region and writes --capture', async () => {
      const capture = join(dir, 'snapshot.json');
      const run = await runGatewatch(
        [
          'network',
          '--region',
          REGION,
          '--from',
          nginxInstance,
          '--to',
          '10.0.2.20:3000',
          '--json',
          '--capture',
          capture,
        ],
        { env: env() },
      );
      expect(run.code, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as Result).verdict).toBe('reachable');
      expect(existsSync(capture)).toBe(true);

      const blocked = await runGatewatch(
        ['network', '--region', REGION, '--from', nginxInstance, '--to', '10.0.2.20:5000', '--json'],
        { env: env() },
      );
      const result = JSON.parse(blocked.stdout) as Result;
      expect(result.verdict).toBe('blocked');
      expect(result.blockedBy.map((b) => `${b.kind} ${b.id} ${b.direction}`)).toEqual([
        `security-group ${appSg} inbound`,
      ]);

      // The captured snapshot answers the same offline.
      const offline = await runGatewatch(
        ['network', '--snapshot', capture, '--from', nginxInstance, '--to', '10.0.2.20:5000', '--json'],
        { env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' } },
      );
      expect(offline.code, offline.stderr).toBe(0);
      expect(JSON.parse(offline.stdout)).toEqual(result);
    });

    it('without --region asks the environment region (us-east-2), where the instance is unknown', async () => {
      const run = await runGatewatch(
        ['network', '--from', nginxInstance, '--to', '10.0.2.20:3000', '--json'],
        {
          env: env(),
        },
      );
      // Not an error: the answer is `unknown`, saying the instance is not in that region's inventory.
      expect(run.code, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as Result).verdict).toBe('unknown');
      expect(run.stdout).toContain(`instance ${nginxInstance} is not in the inventory`);
    });
  },
);
