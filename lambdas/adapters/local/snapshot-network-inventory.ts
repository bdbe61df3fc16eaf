/**
 * The network inventory from an EC2 snapshot file: one JSON object with the merged `aws ec2 describe-…` outputs
 * (see `adapters/aws/ec2-shapes.ts`), as `gatewatch network --capture` writes it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { NetworkInventory, NetworkModel } from '../../core/network/types.ts';
import { type Ec2Snapshot, parseEc2Snapshot, toNetworkModel } from '../aws/ec2-shapes.ts';

/** The snapshot file cannot be read or is not JSON; `path` names it and `cause` says why. */
export class SnapshotReadError extends Error {
  override name = 'SnapshotReadError';
  readonly path: string;

  constructor(path: string, message: string, cause?: unknown) {
    super(`${path}: ${message}`, cause === undefined ? undefined : { cause });
    this.path = path;
  }
}

/**
 * Reads and validates a snapshot file.
 * @throws {SnapshotReadError} when the file is missing or not JSON.
 * @throws {Ec2SnapshotError} when the JSON is not a snapshot.
 */
export async function readEc2Snapshot(path: string): Promise<Ec2Snapshot> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SnapshotReadError(path, code === 'ENOENT' ? 'no such file' : 'cannot be read', error);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SnapshotReadError(path, `not JSON (${(error as Error).message})`, error);
  }
  return parseEc2Snapshot(json);
}

/** Writes a snapshot as indented JSON, the way `aws ec2 describe-…` prints it. */
export async function writeEc2Snapshot(path: string, snapshot: Ec2Snapshot): Promise<void> {
  await writeFile(path, `${JSON.stringify(snapshot, null, 2)}\n`, 'utf8');
}

/** A {@link NetworkInventory} read from a snapshot file (read again on every `load`). */
export class SnapshotNetworkInventory implements NetworkInventory {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  async load(): Promise<NetworkModel> {
    return toNetworkModel(await readEc2Snapshot(this.#path));
  }
}
