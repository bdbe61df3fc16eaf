import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import type { ReportStore } from '../../ports.ts';

/** A key that would leave the reports folder. Keys come from incident ids; this guards the invariant. */
export class UnsafeReportKeyError extends Error {
  override name = 'UnsafeReportKeyError';
}

/** Reports and evidence as files under a folder: `<dir>/<incidentId>/report.json`, written atomically. */
export class FolderReportStore implements ReportStore {
  readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  async put(key: string, body: string): Promise<string> {
    const path = this.#path(key);
    await mkdir(dirname(path), { recursive: true });
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
