import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import type { ReportStore } from '../../ports.ts';

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

/** Reports and evidence as files under a folder: `<dir>/<incidentId>/report.json`, written atomically. */
export class FolderReportStore implements ReportStore {
  readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  async put(key: string, body: string): Promise<string> {
    const path = this.#path(key);
    await makeFolder(dirname(path));
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, body, 'utf8');
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
