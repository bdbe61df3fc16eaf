/**
 * `gatewatch network [--snapshot F] --from INSTANCE_OR_IP --to IP:PORT [--json] [--capture FILE]`: can traffic
 * from the nginx host reach the upstream? Security groups, network ACLs and routes from an EC2 snapshot file or
 * the live EC2 API (default credential chain, `AWS_REGION`, `AWS_ENDPOINT_URL[_EC2]`), plus the hosts'
 * firewalls when their `iptables-save`/`nft list ruleset` output is given.
 */
import { readFile } from 'node:fs/promises';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Command } from 'commander';
import { z } from 'zod';
import { Ec2InventoryError, Ec2NetworkInventory } from '../../adapters/aws/ec2-network-inventory.ts';
import { type Ec2Snapshot, Ec2SnapshotError, toNetworkModel } from '../../adapters/aws/ec2-shapes.ts';
import {
  readEc2Snapshot,
  SnapshotReadError,
  writeEc2Snapshot,
} from '../../adapters/local/snapshot-network-inventory.ts';
import { HostFirewallQueryError } from '../../core/network/host-firewall.ts';
import { parseIp } from '../../core/network/ip.ts';
import { evaluateReachability, ReachabilityQueryError } from '../../core/network/reachability.ts';
import { renderReachabilityText } from '../../core/network/render.ts';
import type { PortRange, ReachabilityResult } from '../../core/network/types.ts';
import { UsageError } from './errors.ts';
import { type Io, parseOptions, processIo } from './io.ts';

const portRange = z
  .string()
  .regex(/^\d{1,5}-\d{1,5}$/, 'expected FROM-TO, e.g. 32768-60999')
  .transform((text): PortRange => {
    const [from, to] = text.split('-').map(Number) as [number, number];
    return { from, to };
  })
  .refine((r) => r.from >= 1 && r.to <= 65535 && r.from <= r.to, 'expected a range within 1-65535');

const OptionsSchema = z.object({
  snapshot: z.string().min(1).optional(),
  from: z.string().min(1).optional(),
  to: z.string().min(1).optional(),
  json: z.boolean().default(false),
  capture: z.string().min(1).optional(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  ephemeralPorts: portRange.optional(),
  region: z.string().min(1).optional(),
  vpc: z.array(z.string().regex(/^vpc-[0-9a-f]+$/, 'expected a VPC id (vpc-…)')).optional(),
  firewallFrom: z.string().min(1).optional(),
  firewallTo: z.string().min(1).optional(),
});

/** The command's options, as commander hands them over (validated by {@link runNetwork}). */
export type NetworkOptions = z.input<typeof OptionsSchema>;

export interface NetworkDeps {
  /** Builds the EC2 client for live mode. Default: `new EC2Client({ region })`, the SDK's default chain. */
  ec2Client?: (region: string | undefined) => EC2Client;
}

/** Reads `IP:PORT` or `[IPv6]:PORT`. */
export function parseTarget(text: string): { ip: string; port: number } {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || !parseIp(match[1]!) || port < 1 || port > 65535) {
    throw new UsageError(`--to ${text}: expected IP:PORT`, {
      hint: 'e.g. --to 10.0.2.15:3000 or --to [2001:db8::5]:3000',
    });
  }
  return { ip: match[1]!, port };
}

async function readRuleset(flag: string, path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag} ${path}: cannot be read`, {
      hint: 'give a file holding `iptables-save` or `nft -a list ruleset` output',
      cause: error,
    });
  }
}

function liveError(error: Ec2InventoryError): UsageError | Ec2InventoryError {
  const cause = error.cause as { name?: string; message?: string } | undefined;
  const text = `${cause?.name ?? ''} ${cause?.message ?? ''}`;
  if (/Region is missing/i.test(text)) {
    return new UsageError('no AWS region for the live EC2 API', {
      hint: 'set AWS_REGION or pass --region, or read a file with --snapshot FILE',
      cause: error,
    });
  }
  if (
    /CredentialsProviderError|Could not load credentials|AuthFailure|UnrecognizedClient|InvalidClientTokenId/i.test(
      text,
    )
  ) {
    return new UsageError(`no usable AWS credentials for the live EC2 API (${error.message})`, {
      hint: 'configure the default credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID…), or use --snapshot FILE',
      cause: error,
    });
  }
  if (/UnauthorizedOperation|AccessDenied/i.test(text)) {
    return new UsageError(`the credentials may not call EC2 ${error.call}`, {
      hint: 'allow ec2:Describe* and ec2:GetManagedPrefixListEntries, or use --snapshot FILE',
      cause: error,
    });
  }
  return error;
}

async function liveSnapshot(
  options: { region?: string | undefined; vpc?: string[] | undefined },
  deps: NetworkDeps,
): Promise<Ec2Snapshot> {
  const client = (deps.ec2Client ?? ((region) => new EC2Client(region ? { region } : {})))(options.region);
  try {
    return await new Ec2NetworkInventory(client, options.vpc ? { vpcIds: options.vpc } : {}).capture();
  } catch (error) {
    throw error instanceof Ec2InventoryError ? liveError(error) : error;
  } finally {
    client.destroy();
  }
}

function summary(snapshot: Ec2Snapshot): string {
  const instances = snapshot.Reservations.reduce((n, r) => n + (r.Instances?.length ?? 0), 0);
  return [
    `${instances} instances`,
    `${snapshot.NetworkInterfaces.length} interfaces`,
    `${snapshot.SecurityGroups.length} security groups`,
    `${snapshot.NetworkAcls.length} network ACLs`,
    `${snapshot.Subnets.length} subnets`,
    `${snapshot.RouteTables.length} route tables`,
  ].join(', ');
}

/**
 * Runs `gatewatch network`: reads the inventory (snapshot or live), optionally writes the capture, evaluates
 * the path and prints it. Returns the result (undefined for a capture without `--from`/`--to`).
 * @throws {UsageError} for bad flags and unreadable or malformed snapshot/ruleset files.
 */
export async function runNetwork(
  raw: NetworkOptions,
  io: Io,
  deps: NetworkDeps = {},
): Promise<ReachabilityResult | undefined> {
  const options = parseOptions(OptionsSchema, raw);
  if (options.snapshot && options.capture) {
    throw new UsageError('--capture reads the live EC2 API; it cannot be combined with --snapshot', {
      hint: 'drop --snapshot to capture, or drop --capture to read the file',
    });
  }
  const wantsPath = options.from !== undefined || options.to !== undefined;
  if (wantsPath && (options.from === undefined || options.to === undefined)) {
    throw new UsageError(
      options.from === undefined ? '--from is required with --to' : '--to is required with --from',
      {
        hint: 'gatewatch network --from i-0abc… --to 10.0.2.15:3000',
      },
    );
  }
  if (!wantsPath && !options.capture) {
    throw new UsageError('say which path to check: --from INSTANCE_OR_IP --to IP:PORT', {
      hint: 'or --capture FILE to only write a snapshot of the live EC2 configuration',
    });
  }
  if (options.snapshot && (options.region || options.vpc)) {
    throw new UsageError('--region and --vpc apply to the live EC2 API, not to --snapshot');
  }
  const to = options.to === undefined ? undefined : parseTarget(options.to);
  const [firewallFrom, firewallTo] = await Promise.all([
    readRuleset('--firewall-from', options.firewallFrom),
    readRuleset('--firewall-to', options.firewallTo),
  ]);

  let snapshot: Ec2Snapshot;
  if (options.snapshot) {
    try {
      snapshot = await readEc2Snapshot(options.snapshot);
    } catch (error) {
      if (error instanceof SnapshotReadError || error instanceof Ec2SnapshotError) {
        throw new UsageError(`--snapshot ${error.message}`, {
          hint: 'write one with `gatewatch network --capture FILE`, or merge `aws ec2 describe-…` outputs',
          cause: error,
        });
      }
      throw error;
    }
  } else {
    snapshot = await liveSnapshot(options, deps);
  }
  if (options.capture) {
    await writeEc2Snapshot(options.capture, snapshot);
    io.err(`wrote ${options.capture}: ${summary(snapshot)}\n`);
  }
  if (!to || options.from === undefined) return undefined;

  let result: ReachabilityResult;
  try {
    result = evaluateReachability(toNetworkModel(snapshot), {
      from: options.from,
      to,
      protocol: options.protocol,
      ...(options.ephemeralPorts ? { ephemeralPorts: options.ephemeralPorts } : {}),
      ...(firewallFrom !== undefined || firewallTo !== undefined
        ? {
            hostFirewall: {
              ...(firewallFrom !== undefined ? { source: firewallFrom } : {}),
              ...(firewallTo !== undefined ? { destination: firewallTo } : {}),
            },
          }
        : {}),
    });
  } catch (error) {
    if (error instanceof ReachabilityQueryError || error instanceof HostFirewallQueryError) {
      throw new UsageError(error.message, { cause: error });
    }
    throw error;
  }
  io.out(options.json ? `${JSON.stringify(result, null, 2)}\n` : renderReachabilityText(result));
  return result;
}

/** The `network` command for the `gatewatch` program. */
export function networkCommand(io: Io = processIo, deps: NetworkDeps = {}): Command {
  return new Command('network')
    .description(
      'can traffic from the nginx host reach the upstream? security groups, network ACLs, routes (and host firewalls)',
    )
    .option(
      '--snapshot <file>',
      'EC2 snapshot JSON (merged `aws ec2 describe-…` outputs); default: the live EC2 API',
    )
    .option(
      '--from <instance-or-ip>',
      'the nginx host: an instance id (i-…), interface id (eni-…) or private IP',
    )
    .option('--to <ip:port>', "the upstream's address and port")
    .option('--json', 'print the result as JSON: { verdict, blockedBy, path, ruledOut, notes }')
    .option('--capture <file>', 'write the live EC2 configuration to FILE as a snapshot')
    .option('--protocol <tcp|udp>', 'transport protocol', 'tcp')
    .option(
      '--ephemeral-ports <from-to>',
      "nginx host's client port range for return traffic (default 1024-65535)",
    )
    .option('--region <region>', 'AWS region for the live API (default: AWS_REGION / profile)')
    .option('--vpc <vpc-id...>', 'read only these VPCs from the live API')
    .option('--firewall-from <file>', "the nginx host's `iptables-save` / `nft -a list ruleset` output")
    .option('--firewall-to <file>', "the upstream host's `iptables-save` / `nft -a list ruleset` output")
    .action(async (raw: NetworkOptions) => {
      await runNetwork(raw, io, deps);
    });
}
