import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeNetworkAclsCommand,
  EC2Client,
  ReplaceNetworkAclAssociationCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotNetworkInventory } from '../../lambdas/adapters/local/snapshot-network-inventory.ts';
import { analyzeHostFirewall } from '../../lambdas/core/network/host-firewall.ts';
import type { ReachabilityResult } from '../../lambdas/core/network/types.ts';
import { UsageError } from '../../lambdas/local/cli/errors.ts';
import type { Io } from '../../lambdas/local/cli/io.ts';
import { networkCommand, runNetwork } from '../../lambdas/local/cli/network.ts';
import { FIXTURES, loadSnapshotFixture } from '../core/network/fixtures.ts';
import { motoAvailable, motoClientConfig, motoSkipReason, startMoto } from '../support/moto.ts';
import { createNamespacePair, type NamespacePair, NETNS_SKIP_REASON } from '../support/netns.ts';

function captureIo(): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    stdout: () => out,
    stderr: () => err,
  };
}

/** `gatewatch network …` through commander, as the program will run it (without spawning a process). */
async function gatewatch(args: string[], io: Io = captureIo()): Promise<void> {
  const program = new Command('gatewatch')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  program.addCommand(networkCommand(io).exitOverride());
  await program.parseAsync(['network', ...args], { from: 'user' });
}

const snapshot = (name: string): string => `${FIXTURES}${name}.json`;

describe('gatewatch network with a snapshot file', () => {
  it('prints the path, each block and its fix for a person', async () => {
    const io = captureIo();
    await gatewatch(
      ['--snapshot', snapshot('multiple-blocks'), '--from', 'i-0ccccccccccccccc1', '--to', '10.0.2.20:3000'],
      io,
    );
    const text = io.stdout();
    expect(text).toContain('verdict: BLOCKED by 2 components');
    expect(text).toContain('blocked by:');
    expect(text.match(/^ {5}fix: /gm)).toHaveLength(2);
  });

  it('prints { verdict, blockedBy, … } with --json', async () => {
    const io = captureIo();
    await gatewatch(
      [
        '--snapshot',
        snapshot('acl-deny-before-allow'),
        '--from',
        '10.0.1.10',
        '--to',
        '10.0.2.20:3000',
        '--json',
      ],
      io,
    );
    const result = JSON.parse(io.stdout()) as ReachabilityResult;
    expect(Object.keys(result).slice(0, 2)).toEqual(['verdict', 'blockedBy']);
    expect(result.verdict).toBe('blocked');
    expect(result.blockedBy).toEqual([
      expect.objectContaining({
        kind: 'network-acl',
        id: 'acl-0ddddddddddddddd2',
        direction: 'inbound',
        rule: expect.objectContaining({ entry: expect.objectContaining({ ruleNumber: 90, action: 'deny' }) }),
        fix: expect.stringContaining(
          'aws ec2 create-network-acl-entry --network-acl-id acl-0ddddddddddddddd2',
        ),
      }),
    ]);
  });

  it("adds the hosts' firewalls when their rulesets are given", async () => {
    const io = captureIo();
    await gatewatch(
      [
        ...[
          '--snapshot',
          snapshot('base'),
          '--from',
          'i-0ccccccccccccccc1',
          '--to',
          '10.0.2.20:3000',
          '--json',
        ],
        ...['--firewall-to', `${FIXTURES}firewall/iptables-accept-then-drop.rules`],
        ...['--firewall-from', `${FIXTURES}firewall/nft-upstream.ruleset`],
      ],
      io,
    );
    const result = JSON.parse(io.stdout()) as ReachabilityResult;
    // 10.0.1.10 is inside the accepted subnet on the upstream; the nginx host's nft output chain lets 3000 out.
    expect(result.verdict).toBe('reachable');
    expect(result.ruledOut.join('\n')).toContain(
      'destination host firewall (iptables) lets tcp 3000 through',
    );
  });

  it('names the host-firewall rule when the upstream host drops the connection', async () => {
    const io = captureIo();
    await runNetwork(
      {
        snapshot: snapshot('base'),
        from: 'i-0ccccccccccccccc1',
        to: '10.0.2.20:3000',
        json: true,
        firewallTo: `${FIXTURES}firewall/nft-upstream.ruleset`,
      },
      io,
    );
    const result = JSON.parse(io.stdout()) as ReachabilityResult;
    expect(result.verdict).toBe('blocked');
    expect(result.blockedBy).toEqual([
      {
        kind: 'host-firewall',
        id: 'host',
        direction: 'input',
        rule: {
          kind: 'host-firewall',
          tool: 'nftables',
          table: 'filter',
          chain: 'input',
          line: 'tcp dport { 3000, 3001 } counter packets 0 bytes 0 drop',
        },
        reason: expect.stringContaining('line 7 `tcp dport { 3000, 3001 } counter packets 0 bytes 0 drop`'),
        fix: 'nft delete rule inet filter input handle 7',
      },
    ]);
  });

  it.each([
    [['--from', 'i-0ccccccccccccccc1'], '--to is required with --from'],
    [['--to', '10.0.2.20:3000'], '--from is required with --to'],
    [[], 'say which path to check'],
    [['--from', 'i-0ccccccccccccccc1', '--to', '10.0.2.20'], '--to 10.0.2.20: expected IP:PORT'],
    [['--from', 'i-0ccccccccccccccc1', '--to', 'app:3000'], '--to app:3000: expected IP:PORT'],
    [
      ['--from', 'i-1', '--to', '10.0.2.20:3000', '--capture', '/tmp/x.json'],
      'cannot be combined with --snapshot',
    ],
    [['--from', 'i-1', '--to', '10.0.2.20:3000', '--protocol', 'sctp'], '--protocol: '],
    [['--from', 'i-1', '--to', '10.0.2.20:3000', '--ephemeral-ports', '60999-32768'], '--ephemeral-ports: '],
    [['--from', 'nginx', '--to', '10.0.2.20:3000'], 'neither an instance id'],
  ])('rejects %j as a usage error', async (args, message) => {
    const error = await gatewatch(['--snapshot', snapshot('base'), ...args]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(message);
  });

  it('loads a snapshot file as the model through the network-inventory port', async () => {
    const model = await new SnapshotNetworkInventory(snapshot('route-association')).load();
    expect(model).toEqual(loadSnapshotFixture('route-association'));
  });

  it('reports a missing or malformed snapshot file as a usage error naming the problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-network-'));
    try {
      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify({ Reservations: [], NetworkInterfaces: [], SecurityGroups: [{}] }));
      const args = ['--from', 'i-1', '--to', '10.0.2.20:3000'];
      const missing = await gatewatch(['--snapshot', join(dir, 'none.json'), ...args]).catch(
        (e: unknown) => e,
      );
      expect(missing).toBeInstanceOf(UsageError);
      expect((missing as Error).message).toContain('none.json: no such file');
      const malformed = await gatewatch(['--snapshot', bad, ...args]).catch((e: unknown) => e);
      expect(malformed).toBeInstanceOf(UsageError);
      expect((malformed as Error).message).toContain('SecurityGroups[0].GroupId');
      expect((malformed as Error).message).toContain('NetworkAcls: missing');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!motoAvailable)(
  `gatewatch network against the EC2 API of moto_server ${motoSkipReason}`,
  () => {
    let moto: Awaited<ReturnType<typeof startMoto>>;
    let dir: string;
    const saved: Record<string, string | undefined> = {};
    const ids = { nginx: '', app: '', other: '', appSg: '', appAcl: '' };

    const setEnv = (values: Record<string, string | undefined>): void => {
      for (const [key, value] of Object.entries(values)) {
        if (!(key in saved)) saved[key] = process.env[key];
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    };

    beforeAll(async () => {
      moto = await startMoto();
      dir = await mkdtemp(join(tmpdir(), 'gw-network-moto-'));
      const ec2 = new EC2Client(motoClientConfig(moto.endpoint));
      try {
        // A VPC with a web subnet (nginx) and an app subnet (upstream); a second VPC that nothing routes to.
        const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
        const other = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }))).Vpc!.VpcId!;
        const subnet = async (vpcId: string, cidr: string) =>
          (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr }))).Subnet!.SubnetId!;
        const web = await subnet(vpc, '10.0.1.0/24');
        const app = await subnet(vpc, '10.0.2.0/24');
        const far = await subnet(other, '10.1.3.0/24');
        const group = async (vpcId: string, name: string) =>
          (
            await ec2.send(
              new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: name, Description: name }),
            )
          ).GroupId!;
        const webSg = await group(vpc, 'web');
        ids.appSg = await group(vpc, 'app');
        const farSg = await group(other, 'far');
        // The upstream accepts 3000 and 4000 from nginx's group; 5000 from nobody.
        await ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: ids.appSg,
            IpPermissions: [
              { IpProtocol: 'tcp', FromPort: 3000, ToPort: 4000, UserIdGroupPairs: [{ GroupId: webSg }] },
            ],
          }),
        );
        await ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: farSg,
            IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '10.0.0.0/8' }] }],
          }),
        );
        // The app subnet gets its own ACL: rule 90 denies 4000 from the web subnet, rule 100 allows the rest.
        ids.appAcl = (await ec2.send(new CreateNetworkAclCommand({ VpcId: vpc }))).NetworkAcl!.NetworkAclId!;
        const entry = (RuleNumber: number, Egress: boolean, RuleAction: 'allow' | 'deny', extra = {}) =>
          ec2.send(
            new CreateNetworkAclEntryCommand({
              NetworkAclId: ids.appAcl,
              RuleNumber,
              Egress,
              RuleAction,
              Protocol: '-1',
              CidrBlock: '0.0.0.0/0',
              ...extra,
            }),
          );
        await entry(90, false, 'deny', {
          Protocol: '6',
          CidrBlock: '10.0.1.0/24',
          PortRange: { From: 4000, To: 4000 },
        });
        await entry(100, false, 'allow');
        await entry(100, true, 'allow');
        const current = await ec2.send(
          new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [app] }] }),
        );
        const association = current.NetworkAcls![0]!.Associations!.find((a) => a.SubnetId === app)!
          .NetworkAclAssociationId!;
        await ec2.send(
          new ReplaceNetworkAclAssociationCommand({ AssociationId: association, NetworkAclId: ids.appAcl }),
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
        ids.nginx = await instance(web, '10.0.1.10', [webSg]);
        ids.app = await instance(app, '10.0.2.20', [ids.appSg]);
        ids.other = await instance(far, '10.1.3.30', [farSg]);
      } finally {
        ec2.destroy();
      }
      // Live mode builds its own client from the default chain: the standard variables point it at moto.
      setEnv({
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ENDPOINT_URL_EC2: undefined,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_EC2_METADATA_DISABLED: 'true',
      });
    });

    afterAll(async () => {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await moto?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const paths = () => [
      { to: '10.0.2.20:3000', verdict: 'reachable', blocked: [] },
      { to: '10.0.2.20:4000', verdict: 'blocked', blocked: [`network-acl ${ids.appAcl} inbound`] },
      { to: '10.0.2.20:5000', verdict: 'blocked', blocked: [`security-group ${ids.appSg} inbound`] },
      // Neither VPC routes to the other: no way there, and none back.
      { to: '10.1.3.30:3000', verdict: 'blocked', blocked: ['route-table request', 'route-table return'] },
    ];

    const check = async (args: string[]): Promise<ReachabilityResult> => {
      const io = captureIo();
      await gatewatch([...args, '--json'], io);
      return JSON.parse(io.stdout()) as ReachabilityResult;
    };

    it('answers from the live API (AWS_ENDPOINT_URL) for a reachable and three blocked paths', async () => {
      for (const path of paths()) {
        const result = await check(['--from', ids.nginx, '--to', path.to]);
        expect(result.verdict, path.to).toBe(path.verdict);
        const blocks = result.blockedBy.map((b) =>
          b.kind === 'route-table' ? `${b.kind} ${b.direction}` : `${b.kind} ${b.id} ${b.direction}`,
        );
        expect(blocks, path.to).toEqual(path.blocked);
      }
    });

    it('gives the same answers from a --capture file read back with --snapshot', async () => {
      const file = join(dir, 'snapshot.json');
      const io = captureIo();
      await gatewatch(['--capture', file], io);
      expect(io.stderr()).toMatch(
        /^wrote .*snapshot\.json: \d+ instances, \d+ interfaces, \d+ security groups/,
      );
      const written = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      expect(Object.keys(written)).toEqual(
        expect.arrayContaining([
          'Reservations',
          'NetworkInterfaces',
          'SecurityGroups',
          'NetworkAcls',
          'Subnets',
          'RouteTables',
        ]),
      );
      for (const path of paths()) {
        const live = await check(['--from', ids.nginx, '--to', path.to]);
        const fromFile = await check(['--snapshot', file, '--from', ids.nginx, '--to', path.to]);
        expect(fromFile, path.to).toEqual(live);
      }
    });

    it('captures and answers in one run', async () => {
      const file = join(dir, 'one-run.json');
      const result = await check(['--capture', file, '--from', '10.0.1.10', '--to', '10.0.2.20:4000']);
      expect(result.verdict).toBe('blocked');
      const again = await check(['--snapshot', file, '--from', '10.0.1.10', '--to', '10.0.2.20:4000']);
      expect(again).toEqual(result);
    });

    it('prefers AWS_ENDPOINT_URL_EC2 over AWS_ENDPOINT_URL', async () => {
      setEnv({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ENDPOINT_URL_EC2: moto.endpoint });
      try {
        const result = await check(['--from', ids.nginx, '--to', '10.0.2.20:3000']);
        expect(result.verdict).toBe('reachable');
      } finally {
        setEnv({ AWS_ENDPOINT_URL: moto.endpoint, AWS_ENDPOINT_URL_EC2: undefined });
      }
    });

    it('turns a missing region into a usage error that says what to set', async () => {
      setEnv({
        AWS_REGION: undefined,
        AWS_DEFAULT_REGION: undefined,
        AWS_CONFIG_FILE: join(dir, 'no-config'),
      });
      try {
        const error = await gatewatch(['--from', ids.nginx, '--to', '10.0.2.20:3000']).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(UsageError);
        expect((error as UsageError).hint).toContain('set AWS_REGION or pass --region');
      } finally {
        setEnv({ AWS_REGION: 'us-east-1' });
      }
    });
  },
);

// ---------------------------------------------------------------- a real firewall between two namespaces

describe.skipIf(NETNS_SKIP_REASON !== '')(
  `host firewall between two network namespaces ${NETNS_SKIP_REASON}`,
  () => {
    let pair: NamespacePair;
    let nginxNs = '';
    let upstreamNs = '';
    let server: ReturnType<typeof spawn> | undefined;

    const inNs = (ns: string, ...command: string[]) => pair.inNs(ns, ...command);

    /** Connects from nginx's namespace to the upstream; `connected`, `timeout` or the error code. */
    const connect = async (): Promise<string> => {
      const script =
        "const s=require('net').connect(3000,'10.200.0.2');s.setTimeout(1500,()=>{console.log('timeout');s.destroy()});" +
        "s.on('connect',()=>{console.log('connected');s.destroy()});s.on('error',e=>console.log(e.code))";
      return (await inNs(nginxNs, process.execPath, '-e', script)).stdout.trim();
    };

    beforeAll(async () => {
      pair = await createNamespacePair(`gw-test-${process.pid}`);
      ({ nginxNs, upstreamNs } = pair);
      server = spawn(
        'ip',
        [
          'netns',
          'exec',
          upstreamNs,
          process.execPath,
          '-e',
          "require('net').createServer(s=>{s.on('error',()=>{});s.end('ok')}).listen(3000,'10.200.0.2',()=>console.log('up'))",
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve) => server!.stdout!.once('data', () => resolve()));
    });

    afterAll(async () => {
      if (server?.pid !== undefined && server.exitCode === null) {
        server.kill('SIGTERM');
        await sleep(100);
      }
      await pair.destroy();
    });

    it('finds the DROP that makes the connect time out, and its fix really reopens the path', async () => {
      expect(await connect()).toBe('connected');
      await inNs(
        upstreamNs,
        'iptables',
        '-A',
        'INPUT',
        '-s',
        '10.200.0.1',
        '-p',
        'tcp',
        '--dport',
        '3000',
        '-j',
        'DROP',
      );
      expect(await connect()).toBe('timeout');

      const ruleset = (await inNs(upstreamNs, 'iptables-save')).stdout;
      const blocks = analyzeHostFirewall(ruleset, {
        port: 3000,
        proto: 'tcp',
        direction: 'input',
        peerIp: '10.200.0.1',
      });
      expect(blocks).toHaveLength(1);
      expect(blocks[0]).toMatchObject({
        line: '-A INPUT -s 10.200.0.1/32 -p tcp -m tcp --dport 3000 -j DROP',
        certain: true,
        effect: { errno: 110 },
      });

      await inNs(upstreamNs, 'sh', '-c', blocks[0]!.fix);
      expect(await connect()).toBe('connected');
      const after = (await inNs(upstreamNs, 'iptables-save')).stdout;
      expect(
        analyzeHostFirewall(after, { port: 3000, proto: 'tcp', direction: 'input', peerIp: '10.200.0.1' }),
      ).toEqual([]);
    });

    it('finds an nft REJECT that nginx would see as connection refused', async () => {
      await inNs(
        upstreamNs,
        'nft',
        'add table inet gw; add chain inet gw input { type filter hook input priority 0; policy accept; }; add rule inet gw input tcp dport 3000 reject with tcp reset',
      );
      try {
        expect(await connect()).toBe('ECONNREFUSED');
        const ruleset = (await inNs(upstreamNs, 'nft', '-a', 'list', 'ruleset')).stdout;
        const blocks = analyzeHostFirewall(ruleset, {
          port: 3000,
          proto: 'tcp',
          direction: 'input',
          peerIp: '10.200.0.1',
        });
        expect(blocks.map((b) => [b.line, b.certain, b.effect?.errnoName])).toEqual([
          ['tcp dport 3000 reject with tcp reset', true, 'ECONNREFUSED'],
        ]);
        await inNs(upstreamNs, 'sh', '-c', blocks[0]!.fix);
        expect(await connect()).toBe('connected');
      } finally {
        await inNs(upstreamNs, 'nft', 'delete', 'table', 'inet', 'gw').catch(() => undefined);
      }
    });
  },
);
