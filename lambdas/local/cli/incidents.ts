import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Command } from 'commander';
import { z } from 'zod';
import { FolderReportStore } from '../../adapters/local/folder-report-store.ts';
import { ProbeHistoryFiles } from '../../adapters/local/probe-history-files.ts';
import type { GatewatchConfig } from '../../core/config.ts';
import { isoSeconds } from '../../core/diagnosis/incident-id.ts';
import { INCIDENT_ID, type IncidentIndexEntry } from '../../core/incident/incident-index.ts';
import { recurrenceLine } from '../../core/incident/recurrence.ts';
import { cleanText } from '../../core/report/escape.ts';
import { formatDuration } from '../../core/report/view.ts';
import { parseSince, SinceFormatError } from '../../core/since.ts';
import type { Report } from '../../core/types.ts';
import {
  IncidentNotFoundError,
  type IndexContext,
  readIndex,
  updateReport,
} from '../../steps/incident-record.ts';
import { loadConfigFile } from '../config-file.ts';
import { UsageError } from './errors.ts';
import { type Io, parseOptions, printVerdict } from './io.ts';

/** Where the incident record is: `--dir`, else the configuration's `reports.dir`. */
export interface RecordLocation {
  store: FolderReportStore;
  context: IndexContext;
}

export const RecordOptionsSchema = z.object({
  config: z.string().default('gatewatch.yaml'),
  dir: z.string().optional(),
});

/**
 * The reports folder and what the index pages need. With `--dir` and no configuration file, the index
 * still works (availability then covers the targets in the index, with the default SLO).
 */
export async function recordLocation(options: {
  config: string;
  dir?: string | undefined;
}): Promise<RecordLocation> {
  let config: GatewatchConfig | undefined;
  if (options.dir === undefined || existsSync(options.config)) config = await loadConfigFile(options.config);
  const dir = options.dir ?? config!.reports.dir;
  return {
    store: new FolderReportStore(dir),
    context: {
      now: () => new Date(),
      history: new ProbeHistoryFiles(dir),
      ...(config === undefined ? {} : { config }),
    },
  };
}

/** An incident id from the command line, checked before it becomes a path. */
export function incidentIdArgument(value: string): string {
  if (!INCIDENT_ID.test(value))
    throw new UsageError(`"${cleanText(value).slice(0, 80)}" is not an incident id`, {
      hint: 'ids look like shop-20261124T051148Z-3f2a; `gatewatch incidents` lists them',
    });
  return value;
}

/** Who did it: `--by`, else $USER, else the account name. */
export function actor(by: string | undefined): string {
  const name = by ?? process.env.USER ?? process.env.LOGNAME ?? safeUser();
  const clean = cleanText(name).replace(/\s+/g, ' ').trim().slice(0, 100);
  if (clean === '') throw new UsageError('--by: must name who did it', { hint: 'pass --by NAME' });
  return clean;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Runs a change of one incident's report; a missing incident is a usage error. */
/** The options `ack`, `note` and `resolve` share: where the record is, and who acts. */
const ActionOptionsSchema = RecordOptionsSchema.extend({ by: z.string().optional() });

/**
 * A command that records something on one incident (`ack`, `note`, `resolve`): `<id>`, `--by`,
 * `--config`, `--dir`. Further arguments are added by the caller after `<id>`.
 */
export function incidentActionCommand(name: string, description: string, byHelp: string): Command {
  return new Command(name)
    .description(description)
    .argument('<id>', 'incident id')
    .option('--by <name>', `${byHelp} (default: $USER)`)
    .option('--config <file>', 'configuration file', 'gatewatch.yaml')
    .option('--dir <dir>', 'reports folder (default: reports.dir of the configuration)');
}

/** What such a command acts with: the checked id, who, where the record is, and now. */
export async function incidentAction(
  id: string,
  raw: unknown,
): Promise<{ incidentId: string; by: string; location: RecordLocation; at: string }> {
  const options = parseOptions(ActionOptionsSchema, raw);
  const incidentId = incidentIdArgument(id);
  const by = actor(options.by);
  return { incidentId, by, location: await recordLocation(options), at: isoSeconds(new Date()) };
}

export async function changeIncident(
  location: RecordLocation,
  id: string,
  change: (report: Report) => Report,
): Promise<Report> {
  try {
    return await updateReport(location.store, id, change, location.context);
  } catch (error) {
    if (error instanceof IncidentNotFoundError)
      throw new UsageError(error.message, {
        hint: '`gatewatch incidents` lists the incidents',
        cause: error,
      });
    throw error;
  }
}

const ListSchema = RecordOptionsSchema.extend({
  target: z.string().optional(),
  since: z.string().optional(),
  json: z.boolean().default(false),
});

function stateOf(e: IncidentIndexEntry): string {
  if (e.resolvedAt !== null)
    return `resolved${e.durationSeconds === null ? '' : ` ${formatDuration(e.durationSeconds)}`}${e.resolvedBy === null ? '' : ` by ${e.resolvedBy}`}`;
  if (e.rootCause === 'healthy') return 'healthy';
  return e.ack === null ? 'OPEN' : `open, ack ${e.ack.by}`;
}

function oneLine(text: string, max: number): string {
  const line = cleanText(text).replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

export function incidentsCommand(io: Io): Command {
  const command = new Command('incidents')
    .description('list the incident record (newest first); `incidents show ID` for one')
    .option('--config <file>', 'configuration file', 'gatewatch.yaml')
    .option('--dir <dir>', 'reports folder (default: reports.dir of the configuration)')
    .option('--target <name>', 'only this target')
    .option('--since <when>', 'only incidents opened since: a duration (7d, 12h) or an ISO-8601 time')
    .option('--json', 'print the index entries as JSON')
    .action(async (raw: unknown) => {
      const options = parseOptions(ListSchema, raw);
      const location = await recordLocation(options);
      let from: Date | undefined;
      if (options.since !== undefined) {
        try {
          from = parseSince(options.since, new Date());
        } catch (error) {
          if (error instanceof SinceFormatError) throw new UsageError(error.message, { cause: error });
          throw error;
        }
      }
      const entries = (await readIndex(location.store)).incidents.filter(
        (e) =>
          (options.target === undefined || e.target === options.target) &&
          (from === undefined || Date.parse(e.openedAt) >= from.getTime()),
      );
      if (options.json) {
        io.out(`${JSON.stringify(entries, null, 2)}\n`);
        return;
      }
      if (entries.length === 0) {
        io.out(
          `no incident${options.target ? ` of ${options.target}` : ''}${options.since ? ` since ${options.since}` : ''} in ${location.store.root}\n`,
        );
        return;
      }
      const rows = [
        ['ID', 'OPENED', 'TARGET', 'CAUSE', 'STATE', 'SUMMARY'],
        ...entries.map((e) => [
          e.id,
          e.openedAt,
          oneLine(e.target, 30),
          `${e.rootCause}${e.recurrence.occurrence > 1 ? ` (×${e.recurrence.occurrence})` : ''}`,
          oneLine(stateOf(e), 40),
          oneLine(e.summary, 70),
        ]),
      ];
      io.out(
        `${table(rows)}\n\n${entries.length} incident(s); index: ${location.store.locate('index.html')}\n`,
      );
    });
  command.addCommand(
    new Command('show')
      .exitOverride()
      .configureOutput({ writeOut: io.out, writeErr: io.err })
      .description('one incident: verdict, evidence, history, where its report and bundle are')
      .argument('<id>', 'incident id')
      .option('--config <file>', 'configuration file (default: gatewatch.yaml)')
      .option('--dir <dir>', 'reports folder (default: reports.dir of the configuration)')
      .option('--json', 'print report.json')
      .action(async (id: string, raw: Record<string, unknown>, self: Command) => {
        // `--config`/`--dir` given before `show` belong to `incidents`; after it, to `show`.
        const given = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
        const options = parseOptions(RecordOptionsSchema.extend({ json: z.boolean().default(false) }), {
          ...self.parent?.opts(),
          ...given,
        });
        const incidentId = incidentIdArgument(id);
        const location = await recordLocation(options);
        const text = await location.store.get(`${incidentId}/report.json`);
        if (text === undefined)
          throw new UsageError(`no report for incident ${incidentId} in ${location.store.root}`, {
            hint: '`gatewatch incidents` lists the incidents',
          });
        if (options.json) {
          io.out(text);
          return;
        }
        const report = JSON.parse(text) as Report;
        printVerdict(io, report, location.store.locate(`${incidentId}/report.html`));
        const lines: string[] = [];
        lines.push(
          `state: ${report.resolvedAt === undefined ? `open since ${report.openedAt}` : `resolved ${report.resolvedAt}${report.durationSeconds === undefined ? '' : ` after ${formatDuration(report.durationSeconds)}`}${report.resolvedBy ? ` by ${oneLine(report.resolvedBy, 100)}` : ''}`}`,
        );
        const again = recurrenceLine(report.recurrence);
        if (again !== undefined && report.recurrence)
          lines.push(
            `recurrence: ${again}; earlier: ${report.recurrence.earlier.map((e) => e.incidentId).join(', ')}`,
          );
        for (const a of report.activity ?? [])
          lines.push(
            `${a.at} ${a.action} by ${oneLine(a.by, 100)}${a.text === undefined ? '' : `: ${oneLine(a.text, 500)}`}`,
          );
        const bundle = location.store.locate(`${incidentId}/bundle.json.gz`);
        if (existsSync(bundle)) lines.push(`evidence bundle: ${bundle} (gatewatch replay ${bundle})`);
        io.out(`${lines.join('\n')}\n`);
      }),
  );
  return command;
}
