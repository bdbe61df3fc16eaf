/**
 * Keeps the incident record (`index.json` and its HTML pages, next to the report folders) current through
 * the `ReportStore` port, the same code locally and in AWS. Every change is a compare-and-swap: read
 * index.json with its version, apply the change, write it only if nobody wrote in between, else read again
 * and re-apply. Concurrent writers (the workflow, `watch`, `gatewatch ack`, several Lambdas) therefore never
 * lose an entry. The HTML pages are derived: after writing them the writer checks that index.json did not
 * move on meanwhile, and renders again if it did, so the last writer leaves pages that match the index.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { GatewatchConfig } from '../core/config.ts';
import { isoSeconds } from '../core/diagnosis/incident-id.ts';
import {
  availabilityOf,
  DEFAULT_SLO,
  type ProbeMinute,
  type TargetAvailability,
} from '../core/incident/availability.ts';
import {
  emptyIndex,
  entryOf,
  type IncidentIndex,
  parseIndex,
  pastIncidents,
  serializeIndex,
  upsertEntry,
} from '../core/incident/incident-index.ts';
import { fingerprintOf, recurrenceOf } from '../core/incident/recurrence.ts';
import { renderHtml, renderMarkdown } from '../core/report/index.ts';
import { renderIndexPages } from '../core/report/index-page.ts';
import type { Recurrence, Report } from '../core/types.ts';
import { type ConditionalReportStore, isConditionalStore, type ReportStore } from '../ports.ts';

export const INDEX_KEY = 'index.json';
const MAX_ATTEMPTS = 200;
const MAX_PAGE_ROUNDS = 5;

/** The index could not be written after many attempts: writers keep colliding. */
export class IndexContentionError extends Error {
  override name = 'IndexContentionError';
}

/** Where per-target probe minutes come from (the watch loop's history files locally). */
export interface ProbeHistorySource {
  minutes(target: string, from: Date, to: Date): Promise<ProbeMinute[]>;
}

export interface IndexContext {
  now: () => Date;
  /** Targets and their SLOs, for the availability table. */
  config?: GatewatchConfig;
  history?: ProbeHistorySource;
}

/** The index as stored, or an empty one. */
export async function readIndex(store: ReportStore): Promise<IncidentIndex> {
  const text = await store.get(INDEX_KEY);
  return text === undefined ? emptyIndex(isoSeconds(new Date(0))) : parseIndex(text);
}

/** The recurrence of a report about to be written, from the index as it stands. */
export async function recurrenceFor(store: ReportStore, report: Report): Promise<Recurrence> {
  const index = await readIndex(store);
  return recurrenceOf(
    { id: report.incidentId, openedAt: report.openedAt, fingerprint: fingerprintOf(report) },
    pastIncidents(index),
  );
}

/**
 * Applies `change` to index.json with a compare-and-swap loop, then writes the HTML pages. Returns the
 * index as written. A store without conditional writes (a test double) gets a plain read-modify-write.
 */
export async function updateIndex(
  store: ReportStore,
  change: (index: IncidentIndex, at: string) => IncidentIndex,
  context: IndexContext,
): Promise<IncidentIndex> {
  const written = isConditionalStore(store)
    ? await compareAndSwap(store, change, context)
    : await (async () => {
        const next = change(await readIndex(store), isoSeconds(context.now()));
        await store.put(INDEX_KEY, serializeIndex(next), 'application/json');
        return next;
      })();
  await writePages(store, written, context);
  return written;
}

async function compareAndSwap(
  store: ConditionalReportStore,
  change: (index: IncidentIndex, at: string) => IncidentIndex,
  context: IndexContext,
): Promise<IncidentIndex> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const current = await store.read(INDEX_KEY);
    const index = current === undefined ? emptyIndex(isoSeconds(context.now())) : parseIndex(current.body);
    const next = change(index, isoSeconds(context.now()));
    if (await store.putIf(INDEX_KEY, serializeIndex(next), 'application/json', current?.version ?? null))
      return next;
    // Someone else wrote first: back off a little (more after repeated collisions) and re-apply.
    await sleep(Math.floor(Math.random() * Math.min(200, 5 * attempt)));
  }
  throw new IndexContentionError(`${store.locate(INDEX_KEY)} kept changing for ${MAX_ATTEMPTS} attempts`);
}

async function writePages(store: ReportStore, written: IncidentIndex, context: IndexContext): Promise<void> {
  let index = written;
  for (let round = 0; round < MAX_PAGE_ROUNDS; round++) {
    const availability = await availabilityFor(index, context);
    for (const page of renderIndexPages(index, { availability, generatedAt: index.updatedAt }))
      await store.put(page.name, page.html, 'text/html; charset=utf-8');
    const latest = await readIndex(store);
    if (serializeIndex(latest) === serializeIndex(index)) return;
    index = latest;
  }
}

/** Availability per configured target (or per target in the index) from the probe history. */
export async function availabilityFor(
  index: IncidentIndex,
  context: IndexContext,
): Promise<TargetAvailability[]> {
  if (context.history === undefined) return [];
  const now = context.now();
  const configured = context.config?.targets.map((t) => ({ name: t.name, slo: t.slo ?? DEFAULT_SLO }));
  const targets =
    configured ??
    [...new Set(index.incidents.map((e) => e.target))].map((name) => ({ name, slo: DEFAULT_SLO }));
  const rows: TargetAvailability[] = [];
  for (const target of targets) {
    const from = new Date(now.getTime() - target.slo.windowDays * 86_400_000);
    const minutes = await context.history.minutes(target.name, from, now);
    rows.push(availabilityOf(target.name, minutes, target.slo, now));
  }
  return rows;
}

/** Records a report's current state in the index (open, update, ack, note, resolve: all the same call). */
export async function recordInIndex(
  store: ReportStore,
  report: Report,
  context: IndexContext & { bundle?: boolean },
): Promise<IncidentIndex> {
  const entry = entryOf(report, { bundle: context.bundle ?? false });
  return updateIndex(store, (index, at) => upsertEntry(index, entry, at), context);
}

/** No report.json for the incident id in the store. */
export class IncidentNotFoundError extends Error {
  override name = 'IncidentNotFoundError';
}

/**
 * Changes an incident's report with a compare-and-swap on report.json (report.md and report.html are
 * re-rendered by the one renderer before each attempt, report.json last), then records it in the index.
 * Concurrent changes (an `ack` while `watch` resolves) are both kept.
 */
export async function updateReport(
  store: ReportStore,
  incidentId: string,
  change: (report: Report) => Report,
  context: IndexContext,
): Promise<Report> {
  const key = `${incidentId}/report.json`;
  let report: Report | undefined;
  for (let attempt = 1; report === undefined; attempt++) {
    if (attempt > MAX_ATTEMPTS) throw new IndexContentionError(`${store.locate(key)} kept changing`);
    const current = isConditionalStore(store)
      ? await store.read(key)
      : await store.get(key).then((body) => (body === undefined ? undefined : { body, version: '' }));
    if (current === undefined)
      throw new IncidentNotFoundError(`no report for incident ${incidentId} (${store.locate(key)})`);
    const next = change(JSON.parse(current.body) as Report);
    await store.put(`${incidentId}/report.html`, renderHtml(next), 'text/html; charset=utf-8');
    await store.put(`${incidentId}/report.md`, renderMarkdown(next), 'text/markdown; charset=utf-8');
    const text = `${JSON.stringify(next, null, 2)}\n`;
    if (!isConditionalStore(store)) {
      await store.put(key, text, 'application/json');
      report = next;
    } else if (await store.putIf(key, text, 'application/json', current.version)) report = next;
    else await sleep(Math.floor(Math.random() * Math.min(200, 5 * attempt)));
  }
  // The entry keeps the bundle path the diagnosis recorded (upsertEntry does not drop it).
  await recordInIndex(store, report, context);
  return report;
}
