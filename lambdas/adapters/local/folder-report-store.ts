import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConditionalReportStore } from '../../ports.ts';

/** A key that would leave the reports folder. Keys come from incident ids; this guards the invariant. */
export class UnsafeReportKeyError extends Error {
  override name = 'UnsafeReportKeyError';
}

/** The reports folder cannot be created or written (read-only, `/proc`, a file in the way, no permission). */
export class ReportFolderNotWritableError extends Error {
  override name = 'ReportFolderNotWritableError';
}

/**
 * Creates the reports folder when needed and proves it takes a file, before any work is done: a folder that
 * cannot be written is a usage error, found in milliseconds, not after a diagnosis.
 */
export async function ensureWritableFolder(dir: string): Promise<string> {
  const root = resolve(dir);
  const probe = join(root, `.gatewatch-write-test-${process.pid}`);
  try {
    await makeFolder(root);
    await writeFile(probe, '', { flag: 'wx' });
    await rm(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ReportFolderNotWritableError(`cannot write reports to ${root} (${code})`, { cause: error });
  }
  return root;
}

/**
 * `mkdir -p` that fails instead of looping: Node's `mkdir(…, { recursive: true })` spins forever at 100%
 * CPU on a path under `/proc` (the kernel answers ENOENT to every attempt). Each level is tried once.
 */
async function makeFolder(path: string, depth = 0): Promise<void> {
  try {
    await mkdir(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(path)).isDirectory()) return;
      throw error;
    }
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path || depth > 64) throw error;
    await makeFolder(parent, depth + 1);
    await mkdir(path).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST') throw again;
    });
  }
}

/** Another writer held a key's lock for longer than any write takes, and it is not stale yet. */
export class ReportLockTimeoutError extends Error {
  override name = 'ReportLockTimeoutError';
}

/** A lock file older than this was left by a writer that died; it is taken over. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 20_000;

/**
 * Reports and evidence as files under a folder: `<dir>/<incidentId>/report.json`, written atomically
 * (a temporary file renamed over the old one). Conditional writes (`putIf`) hold `<file>.lock` (created
 * exclusively, so across processes too) while they compare the file's content hash and rename.
 */
export class FolderReportStore implements ConditionalReportStore {
  readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  async put(key: string, body: string | Uint8Array): Promise<string> {
    const path = this.#path(key);
    await makeFolder(dirname(path));
    // Unique per write: two writes of one key in one process must not share a temporary file.
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, body, typeof body === 'string' ? 'utf8' : undefined);
    await rename(temporary, path);
    return path;
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.#path(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async read(key: string): Promise<{ body: string; version: string } | undefined> {
    const body = await this.get(key);
    return body === undefined ? undefined : { body, version: versionOf(body) };
  }

  async putIf(key: string, body: string, _contentType: string, expected: string | null): Promise<boolean> {
    const path = this.#path(key);
    await makeFolder(dirname(path));
    const release = await lock(`${path}.lock`);
    try {
      const current = await this.read(key);
      if ((current?.version ?? null) !== expected) return false;
      await this.put(key, body);
      return true;
    } finally {
      await release();
    }
  }

  locate(key: string): string {
    return this.#path(key);
  }

  #path(key: string): string {
    const normalized = normalize(key);
    if (isAbsolute(normalized) || normalized.startsWith('..') || normalized.split(sep).includes('..')) {
      throw new UnsafeReportKeyError(`report key "${key}" leaves the reports folder`);
    }
    return join(this.root, normalized);
  }
}

function versionOf(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

async function lock(path: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => unlink(path).catch(() => {});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = await stat(path).catch(() => undefined);
    if (held !== undefined && Date.now() - held.mtimeMs > STALE_LOCK_MS) {
      await unlink(path).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) throw new ReportLockTimeoutError(`${path} is held by another writer`);
    await sleep(2 + Math.floor(Math.random() * 20));
  }
}
