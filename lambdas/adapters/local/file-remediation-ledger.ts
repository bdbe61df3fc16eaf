/**
 * `RemediationLedger` in a folder (`<reports.dir>/.gatewatch-remediation/`): `ledger.json` holds the
 * entries, and locks are directories created with `mkdir` (atomic on every local file system) holding
 * who took them and until when. Several gatewatch processes on one host (a `watch` and a `diagnose`)
 * share the same ledger, rate limits and host locks. A lock whose holder outlived its time-to-live is
 * taken over: a process that died never blocks a host for good.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LedgerEntry } from '../../core/remediation/guardrails.ts';
import type { RemediationLedger } from '../../ports.ts';

/** The ledger file is not JSON: the guardrails cannot be checked, so nothing may run. */
export class LedgerCorruptError extends Error {
  override name = 'LedgerCorruptError';
}

export class FileRemediationLedger implements RemediationLedger {
  readonly dir: string;
  readonly #pollMs: number;

  constructor(dir: string, options: { pollMs?: number } = {}) {
    this.dir = dir;
    this.#pollMs = options.pollMs ?? 100;
  }

  async entries(): Promise<LedgerEntry[]> {
    let text: string;
    try {
      text = await readFile(join(this.dir, 'ledger.json'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as { entries?: LedgerEntry[] };
      return Array.isArray(parsed.entries) ? parsed.entries : [];
    } catch (error) {
      throw new LedgerCorruptError(`${join(this.dir, 'ledger.json')} is not JSON: fix or remove it`, {
        cause: error,
      });
    }
  }

  async update<T>(change: (entries: LedgerEntry[]) => { entries: LedgerEntry[]; result: T }): Promise<T> {
    const locked = await this.withLock('ledger', { ttlMs: 30_000, waitMs: 60_000 }, async () => {
      const { entries, result } = change(await this.entries());
      await mkdir(this.dir, { recursive: true });
      const path = join(this.dir, 'ledger.json');
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify({ version: 1, entries }, null, 2)}\n`, 'utf8');
      await rename(temporary, path);
      return result;
    });
    if (!locked.acquired) throw new Error(`the remediation ledger in ${this.dir} stayed locked for a minute`);
    return locked.value;
  }

  async withLock<T>(
    name: string,
    options: { ttlMs: number; waitMs: number },
    work: () => Promise<T>,
  ): Promise<{ acquired: true; value: T } | { acquired: false; holder?: string }> {
    const lock = join(this.dir, 'locks', `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.lock`);
    await mkdir(join(this.dir, 'locks'), { recursive: true });
    const deadline = Date.now() + options.waitMs;
    let holder: string | undefined;
    for (;;) {
      try {
        await mkdir(lock);
        await writeFile(
          join(lock, 'owner.json'),
          JSON.stringify({ pid: process.pid, expiresAt: new Date(Date.now() + options.ttlMs).toISOString() }),
        );
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = await readFile(join(lock, 'owner.json'), 'utf8').then(
        (text) => JSON.parse(text) as { pid?: number; expiresAt?: string },
        () => undefined,
      );
      holder = owner?.pid === undefined ? undefined : `process ${owner.pid}`;
      if (owner?.expiresAt !== undefined && Date.parse(owner.expiresAt) < Date.now()) {
        // Its holder died or hung past the time-to-live: take the lock over.
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() >= deadline)
        return holder === undefined ? { acquired: false } : { acquired: false, holder };
      await new Promise((resolve) => setTimeout(resolve, this.#pollMs));
    }
    try {
      return { acquired: true, value: await work() };
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}
