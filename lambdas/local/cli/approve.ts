/**
 * `gatewatch approve <incidentId> [--action A] [--reject] [--by NAME] [--config F] [--out DIR]`: answers
 * the approval a waiting run asked for (remediation mode `approve`). Locally the answer is a file in
 * `<reports.dir>/.gatewatch-approvals/` the run polls; it can be given once, only while the request is
 * pending and not expired, and only for the action the run proposed. `--aws` answers a deployed
 * workflow instead: the task token kept in the report bucket, SendTaskSuccess/SendTaskFailure.
 */
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import {
  APPROVALS_DIR_NAME,
  approvalPaths,
  StoredRequestSchema,
} from '../../adapters/local/folder-approval-gate.ts';
import { REMEDIATION_ACTIONS } from '../../core/remediation/actions.ts';
import { loadConfigFile } from '../config-file.ts';
import { UsageError } from './errors.ts';
import { type Io, parseOptions } from './io.ts';

const INCIDENT_ID = /^[a-z0-9][a-z0-9-]{0,62}-\d{8}T\d{6}Z-[0-9a-f]{4,16}$/;

const OptionsSchema = z.object({
  config: z.string().min(1).default('gatewatch.yaml'),
  out: z.string().min(1).optional(),
  action: z
    .enum(REMEDIATION_ACTIONS, { error: `must be one of ${REMEDIATION_ACTIONS.join(', ')}` })
    .optional(),
  reject: z.boolean().default(false),
  by: z
    .string()
    .regex(/^[A-Za-z0-9._@+-]{1,64}$/, 'must be a name like alice or alice@example.com')
    .optional(),
  aws: z.boolean().default(false),
  bucket: z.string().optional(),
  region: z.string().optional(),
  endpoint: z.string().optional(),
});

export function approveCommand(io: Io): Command {
  return new Command('approve')
    .description('approve (or --reject) the remediation an incident waits for')
    .argument('<incidentId>', 'the incident, as the report and the notification name it')
    .option('--action <action>', 'the action you approve; must be the one proposed')
    .option('--reject', 'reject it: nothing runs')
    .option('--by <name>', 'who approves (default: your user name)')
    .option('--config <file>', 'configuration file', 'gatewatch.yaml')
    .option('--out <dir>', 'reports folder (default: reports.dir of the configuration)')
    .option('--aws', 'answer the deployed workflow (task token in the report bucket)')
    .option('--bucket <name>', 'with --aws: the report bucket (default: reports.s3.bucket)')
    .option('--region <region>', 'with --aws: the AWS region')
    .option('--endpoint <url>', 'with --aws: an S3/Step Functions endpoint (tests)')
    .action(async (incidentId: string, raw: unknown) => {
      const options = parseOptions(OptionsSchema, raw);
      if (!INCIDENT_ID.test(incidentId)) {
        throw new UsageError(`${JSON.stringify(incidentId)} is not an incident id`, {
          hint: 'copy it from the report or the notification, e.g. shop-20261124T051148Z-3f2a',
        });
      }
      const by = options.by ?? safeUser();
      if (options.aws) {
        const config = await loadConfigFile(options.config).catch(() => undefined);
        const bucket = options.bucket ?? config?.reports.s3?.bucket;
        if (bucket === undefined)
          throw new UsageError('--aws needs the report bucket', { hint: 'pass --bucket NAME' });
        // The AWS SDK clients load only for --aws: `gatewatch --help` and local approvals do not pay for them.
        const { answerAwsApproval } = await import('./approve-aws.ts');
        const message = await answerAwsApproval({
          incidentId,
          bucket,
          by,
          reject: options.reject,
          ...(options.action === undefined ? {} : { action: options.action }),
          ...(options.region === undefined ? {} : { region: options.region }),
          ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        });
        io.out(`${message}\n`);
        return;
      }
      const dir = options.out ?? (await loadConfigFile(options.config)).reports.dir;
      io.out(
        `${await answerLocalApproval({ dir: join(dir, APPROVALS_DIR_NAME), incidentId, by, reject: options.reject, action: options.action })}\n`,
      );
    });
}

function safeUser(): string {
  try {
    const name = userInfo().username;
    return /^[A-Za-z0-9._@+-]{1,64}$/.test(name) ? name : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Writes the answer file once; refuses when nothing waits, the request expired, or the action differs. */
export async function answerLocalApproval(request: {
  dir: string;
  incidentId: string;
  by: string;
  reject: boolean;
  action?: string | undefined;
  now?: Date;
}): Promise<string> {
  const paths = approvalPaths(request.dir, request.incidentId);
  let text: string;
  try {
    text = await readFile(paths.request, 'utf8');
  } catch {
    throw new UsageError(`no approval is pending for ${request.incidentId}`, {
      hint: 'only a run in remediation mode "approve" asks for one; check the incident id',
    });
  }
  const pending = StoredRequestSchema.parse(JSON.parse(text));
  const now = request.now ?? new Date();
  if (pending.status === 'expired' || now.getTime() >= Date.parse(pending.expiresAt)) {
    throw new UsageError(
      `the approval for ${request.incidentId} expired at ${pending.expiresAt}: nothing will run`,
      {
        hint: 'run the proposed command by hand if it is still needed',
      },
    );
  }
  if (pending.status === 'answered') {
    throw new UsageError(`the approval for ${request.incidentId} was already answered`);
  }
  if (request.action !== undefined && request.action !== pending.action) {
    throw new UsageError(`${request.incidentId} proposes ${pending.action}, not ${request.action}`, {
      hint: `approve it with --action ${pending.action}, or --reject`,
    });
  }
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const answer = request.reject
    ? { status: 'rejected', by: request.by, at }
    : { status: 'approved', by: request.by, at, action: pending.action };
  // Written whole, then linked into place: link() creates exclusively, so a second answer (even a
  // concurrent one) fails, and the waiting run never sees a half-written file.
  const temporary = `${paths.answer}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(answer)}\n`, 'utf8');
  try {
    await link(temporary, paths.answer);
  } catch {
    throw new UsageError(`the approval for ${request.incidentId} was already answered`);
  } finally {
    await rm(temporary, { force: true });
  }
  return request.reject
    ? `rejected: ${pending.action} for ${request.incidentId} will not run`
    : `approved: ${pending.command} (${pending.action}) for ${request.incidentId}; the waiting run proceeds`;
}
