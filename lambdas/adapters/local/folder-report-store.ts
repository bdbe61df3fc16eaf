import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConditionalReportStore } from '../../ports.ts';

/** A key that would leave the reports folder. Keys come from incident ids; this guards the invariant. */
export class UnsafeReportKeyError extends Error {
  override name = 'UnsafeReportKeyError';
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
    await mkdir(dirname(path), { recursive: true });
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
    await mkdir(dirname(path), { recursive: true });
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
