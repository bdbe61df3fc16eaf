/**
 * `ApprovalGate` on this machine: the waiting run writes `<dir>/<incidentId>.request.json` and polls for
 * `<incidentId>.answer.json`, which `gatewatch approve` writes (once: it is created exclusively). An
 * answer is consumed when read (renamed to `.used.json`): single use. When the request expires first, it
 * is marked expired and the answer is `expired`: nothing runs. The folder is `<reports.dir>/.gatewatch-approvals/`.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { ApprovalAnswer, ApprovalGate, ApprovalRequest } from '../../ports.ts';

export const APPROVALS_DIR_NAME = '.gatewatch-approvals';
const INCIDENT_ID = /^[a-z0-9][a-z0-9-]{0,62}-\d{8}T\d{6}Z-[0-9a-f]{4,16}$/;

export const StoredRequestSchema = z.object({
  incidentId: z.string().regex(INCIDENT_ID),
  target: z.string(),
  action: z.string(),
  command: z.string(),
  expiresAt: z.string(),
  status: z.enum(['pending', 'expired', 'answered']).default('pending'),
});
export type StoredRequest = z.infer<typeof StoredRequestSchema>;

const AnswerSchema = z.union([
  z.object({ status: z.literal('approved'), by: z.string(), at: z.string(), action: z.string().optional() }),
  z.object({ status: z.literal('rejected'), by: z.string(), at: z.string(), reason: z.string().optional() }),
]);

/** The approval request or answer path of an incident; refuses anything but an incident id. */
export function approvalPaths(
  dir: string,
  incidentId: string,
): { request: string; answer: string; used: string } {
  if (!INCIDENT_ID.test(incidentId)) throw new Error(`${JSON.stringify(incidentId)} is not an incident id`);
  return {
    request: join(dir, `${incidentId}.request.json`),
    answer: join(dir, `${incidentId}.answer.json`),
    used: join(dir, `${incidentId}.answer.used.json`),
  };
}

export class FolderApprovalGate implements ApprovalGate {
  readonly dir: string;
  readonly #pollMs: number;
  readonly #now: () => number;

  constructor(dir: string, options: { pollMs?: number; now?: () => number } = {}) {
    this.dir = dir;
    this.#pollMs = options.pollMs ?? 250;
    this.#now = options.now ?? Date.now;
  }

  async request(request: ApprovalRequest): Promise<ApprovalAnswer> {
    const paths = approvalPaths(this.dir, request.incidentId);
    await mkdir(this.dir, { recursive: true });
    const stored: StoredRequest = {
      incidentId: request.incidentId,
      target: request.target,
      action: request.action,
      command: request.command,
      expiresAt: request.expiresAt,
      status: 'pending',
    };
    await writeAtomic(paths.request, stored);
    const expiresMs = Date.parse(request.expiresAt);
    for (;;) {
      const answer = await this.#take(paths);
      if (answer) {
        await writeAtomic(paths.request, { ...stored, status: 'answered' });
        return answer;
      }
      if (this.#now() >= expiresMs) {
        await writeAtomic(paths.request, { ...stored, status: 'expired' });
        // An answer written in the same instant still loses: the request was already expired.
        return { status: 'expired', at: new Date(this.#now()).toISOString().replace(/\.\d{3}Z$/, 'Z') };
      }
      await new Promise((resolve) => setTimeout(resolve, this.#pollMs));
    }
  }

  async #take(paths: { answer: string; used: string }): Promise<ApprovalAnswer | undefined> {
    try {
      // Rename first: whoever renames it owns it, so the answer is used once.
      await rename(paths.answer, paths.used);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const parsed = AnswerSchema.safeParse(JSON.parse(await readFile(paths.used, 'utf8')));
    if (!parsed.success)
      return {
        status: 'rejected',
        by: 'gatewatch',
        at: new Date(this.#now()).toISOString(),
        reason: 'unreadable answer',
      };
    return parsed.data;
  }
}

async function writeAtomic(path: string, value: unknown): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`, 'utf8');
  await rename(temporary, path);
}
