/**
 * The network inventory from the live EC2 API: the six `Describe*` calls, every page, plus the entries of the
 * managed prefix lists that rules and routes refer to. Give it an `EC2Client` built with the default
 * configuration and it honours the standard `AWS_ENDPOINT_URL_EC2` / `AWS_ENDPOINT_URL` variables (the SDK
 * reads them itself), the default credential chain and `AWS_REGION`.
 */
import {
  type DescribeInstancesCommandInput,
  type EC2Client,
  paginateDescribeInstances,
  paginateDescribeManagedPrefixLists,
  paginateDescribeNetworkAcls,
  paginateDescribeNetworkInterfaces,
  paginateDescribeRouteTables,
  paginateDescribeSecurityGroups,
  paginateDescribeSubnets,
  paginateGetManagedPrefixListEntries,
} from '@aws-sdk/client-ec2';
import type { NetworkInventory, NetworkModel } from '../../core/network/types.ts';
import { type Ec2PrefixList, type Ec2Snapshot, referencedPrefixLists, toNetworkModel } from './ec2-shapes.ts';

export interface Ec2NetworkInventoryOptions {
  /** Read only these VPCs (a `vpc-id` filter on every call). Default: every VPC of the region. */
  vpcIds?: string[];
  /**
   * Read only the VPCs these instances are in: one `DescribeInstances` by instance id first, then every
   * call filtered by their `vpc-id` (review finding: the whole region's inventory on every incident is
   * slow and throttles in large accounts). Ignored when `vpcIds` is set.
   */
  instanceIds?: string[];
  /** Page size for the describe calls, capped at each call's maximum (100 for ACLs and route tables). @default 1000 */
  pageSize?: number;
  /** Fetch the entries of referenced managed prefix lists. @default true */
  prefixLists?: boolean;
  /** For the snapshot's `CapturedAt`. @default () => new Date() */
  now?: () => Date;
}

/** A describe call failed; `call` names it and `cause` is the SDK's error. */
export class Ec2InventoryError extends Error {
  override name = 'Ec2InventoryError';
  readonly call: string;

  constructor(call: string, cause: unknown) {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`EC2 ${call} failed: ${detail}`, { cause });
    this.call = call;
  }
}

async function collect<Page, Item>(
  call: string,
  pages: AsyncIterable<Page>,
  items: (page: Page) => Item[] | undefined,
): Promise<Item[]> {
  const all: Item[] = [];
  try {
    for await (const page of pages) all.push(...(items(page) ?? []));
  } catch (error) {
    throw new Ec2InventoryError(call, error);
  }
  return all;
}

/** Reads the network configuration of a region (or some of its VPCs) from EC2. */
export class Ec2NetworkInventory implements NetworkInventory {
  readonly #client: EC2Client;
  readonly #options: Ec2NetworkInventoryOptions;

  constructor(client: EC2Client, options: Ec2NetworkInventoryOptions = {}) {
    this.#client = client;
    this.#options = options;
  }

  /** The VPCs of `instanceIds`, or `undefined` (every VPC) when none are given. */
  async #vpcsOfInstances(): Promise<string[] | undefined> {
    const ids = [...new Set(this.#options.instanceIds ?? [])];
    if (ids.length === 0) return undefined;
    // No page size: EC2 refuses MaxResults together with InstanceIds (InvalidParameterCombination);
    // by id, DescribeInstances answers every instance named in one response.
    const reservations = await collect(
      'DescribeInstances',
      paginateDescribeInstances({ client: this.#client }, { InstanceIds: ids }),
      (p) => p.Reservations,
    );
    const vpcs = [
      ...new Set(
        reservations.flatMap((r) =>
          (r.Instances ?? []).flatMap((i) => (i.VpcId === undefined ? [] : [i.VpcId])),
        ),
      ),
    ];
    if (vpcs.length === 0) {
      throw new Ec2InventoryError('DescribeInstances', new Error(`no VPC found for ${ids.join(', ')}`));
    }
    return vpcs;
  }

  /** Every page of every call, merged into a snapshot with AWS's field names (what `--capture` writes). */
  async capture(): Promise<Ec2Snapshot> {
    const client = this.#client;
    const pageSize = this.#options.pageSize ?? 1000;
    const vpcIds = this.#options.vpcIds ?? (await this.#vpcsOfInstances());
    const filters = vpcIds && vpcIds.length > 0 ? [{ Name: 'vpc-id', Values: vpcIds }] : undefined;
    // EC2 rejects a MaxResults above each call's own limit.
    const config = { client, pageSize: Math.min(pageSize, 1000) };
    const small = { client, pageSize: Math.min(pageSize, 100) };
    // A fresh input per call: the SDK's paginators write NextToken and MaxResults into the object they are given,
    // and these six run at once.
    const input = (): { Filters?: { Name: string; Values: string[] }[] } =>
      filters ? { Filters: filters } : {};
    const instancesInput: DescribeInstancesCommandInput = input();
    const [Reservations, NetworkInterfaces, SecurityGroups, NetworkAcls, Subnets, RouteTables] =
      await Promise.all([
        collect(
          'DescribeInstances',
          paginateDescribeInstances(config, instancesInput),
          (p) => p.Reservations,
        ),
        collect(
          'DescribeNetworkInterfaces',
          paginateDescribeNetworkInterfaces(config, input()),
          (p) => p.NetworkInterfaces,
        ),
        collect(
          'DescribeSecurityGroups',
          paginateDescribeSecurityGroups(config, input()),
          (p) => p.SecurityGroups,
        ),
        collect('DescribeNetworkAcls', paginateDescribeNetworkAcls(small, input()), (p) => p.NetworkAcls),
        collect('DescribeSubnets', paginateDescribeSubnets(config, input()), (p) => p.Subnets),
        collect('DescribeRouteTables', paginateDescribeRouteTables(small, input()), (p) => p.RouteTables),
      ]);
    const snapshot: Ec2Snapshot = {
      Reservations,
      NetworkInterfaces,
      SecurityGroups,
      NetworkAcls,
      Subnets,
      RouteTables,
    };
    const wanted = this.#options.prefixLists === false ? [] : referencedPrefixLists(snapshot);
    if (wanted.length > 0) snapshot.PrefixLists = await this.#prefixLists(wanted);
    snapshot.CapturedAt = (this.#options.now ?? (() => new Date()))().toISOString();
    const region = await this.#region();
    if (region) snapshot.Region = region;
    // Through JSON once, so a live capture and the file it is written to are the same value (dates as text).
    return JSON.parse(JSON.stringify(snapshot)) as Ec2Snapshot;
  }

  /** The capture, translated into the core's model. */
  async load(): Promise<NetworkModel> {
    return toNetworkModel(await this.capture());
  }

  async #prefixLists(ids: string[]): Promise<Ec2PrefixList[]> {
    const client = this.#client;
    const lists = await collect(
      'DescribeManagedPrefixLists',
      paginateDescribeManagedPrefixLists({ client, pageSize: 100 }, { PrefixListIds: ids }),
      (p) => p.PrefixLists,
    );
    return Promise.all(
      lists.map(async (list) => ({
        ...list,
        Entries: await collect(
          'GetManagedPrefixListEntries',
          paginateGetManagedPrefixListEntries({ client, pageSize: 100 }, { PrefixListId: list.PrefixListId }),
          (p) => p.Entries,
        ),
      })),
    );
  }

  async #region(): Promise<string | undefined> {
    try {
      const region = this.#client.config.region;
      return typeof region === 'function' ? await region() : region;
    } catch {
      return undefined;
    }
  }
}
