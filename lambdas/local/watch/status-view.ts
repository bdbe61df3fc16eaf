/**
 * What `watch` shows: on a terminal, one screen (targets, last probe, alarms, open incidents, the latest
 * events) redrawn in place on the terminal's alternate screen and cut to its rows and columns, so the
 * scrollback is never flooded; elsewhere (a pipe, a log file, systemd), one plain line per state change
 * and nothing redrawn; with `--json`, one JSON object per event (see `json-events.ts`). Rendering is pure;
 * only {@link LiveView} writes.
 */

import type { AlarmState } from '../../core/alarm/evaluate.ts';
import type { AlarmTransition } from '../../core/alarm/evaluator.ts';
import type { IncidentRecord, IncidentSubject } from '../../core/incident/lifecycle.ts';
import type { ProbeResult } from '../../core/probe/types.ts';
import { formatDuration } from '../../core/report/view.ts';
import type { MinuteCounts } from './minute-traffic.ts';
import type { UpstreamMinuteSummary } from './upstream-minutes.ts';

/** Something that happened in the pipeline, for the view, the demo and tests. */
export type WatchEvent =
  | { type: 'started'; at: string; targets: number; intervalSeconds: number; resumed: number }
  | { type: 'probe-changed'; at: string; result: ProbeResult }
  /** Every probe result (only `--json` shows them; the other views show changes). */
  | { type: 'probe'; at: string; result: ProbeResult }
  | { type: 'alarm'; at: string; transition: AlarmTransition; subject: IncidentSubject }
  | { type: 'incident-opened'; at: string; incident: IncidentRecord }
  | { type: 'incident-held'; at: string; subject: IncidentSubject; alarmId: string; until: string }
  | { type: 'incident-diagnosed'; at: string; incident: IncidentRecord }
  | { type: 'incident-resolved'; at: string; incident: IncidentRecord }
  | { type: 'warning'; at: string; message: string }
  | { type: 'stopped'; at: string; open: number };

/** One row of the status block. */
export interface TargetStatus {
  name: string;
  /** The probe's URL (redacted), when the target has a probe. */
  url?: string;
  last?: { ok: boolean; status?: number; failure?: string; latencyMs: number; at: string };
  alarms: { id: string; state: AlarmState; since: string }[];
  /** The latest published minute of its access log. */
  lastMinute?: MinuteCounts;
  /** The latest finished minute of its logs per upstream: answers per peer, failures per kind. */
  lastUpstreamMinute?: UpstreamMinuteSummary;
}

/** Everything the status block shows. */
export interface WatchStatus {
  startedAt: string;
  intervalSeconds: number;
  cooldownSeconds: number;
  statePath: string;
  targets: TargetStatus[];
  /** Open incidents, and resolved ones still being written. */
  active: IncidentRecord[];
  /** Finished incidents, newest last. */
  recent: IncidentRecord[];
}

function clock(iso: string): string {
  return iso.slice(11, 19);
}

function probeCell(target: TargetStatus): string {
  if (target.url === undefined) return 'no probe';
  const last = target.last;
  if (last === undefined) return 'waiting';
  const status = last.status === undefined ? '' : ` ${last.status}`;
  return last.ok ? `ok${status}` : `FAIL${status}${last.failure ? ` ${last.failure}` : ''}`;
}

function incidentLine(record: IncidentRecord, nowMs: number): string {
  const id = record.report?.incidentId ?? record.key;
  const verdict =
    record.diagnosis === 'pending'
      ? 'diagnosing…'
      : record.report
        ? `${record.report.rootCause}${record.report.upstream ? ` (${record.report.upstream})` : ''}`
        : `diagnosis failed${record.diagnosisError ? `: ${record.diagnosisError}` : ''}`;
  const age =
    record.resolvedAt === undefined
      ? `open ${formatDuration((nowMs - Date.parse(record.openedAt)) / 1000)}`
      : `resolved after ${formatDuration(record.durationSeconds ?? 0)}`;
  return `  ${id}  ${verdict}  ${age}${record.report ? `  ${record.report.location}` : ''}`;
}

/** The status block, one string per line (every target; not cut to a terminal). */
export function renderStatus(status: WatchStatus, nowMs: number): string[] {
  const lines = [headline(status), ...table(status.targets)];
  for (const target of status.targets) {
    const line = upstreamLine(target);
    if (line !== undefined) lines.push(line);
  }
  const open = status.active.filter((record) => record.resolvedAt === undefined);
  lines.push('', open.length === 0 ? 'no open incident' : `open incidents (${open.length}):`);
  for (const record of open) lines.push(incidentLine(record, nowMs));
  const finished = finishedRecords(status);
  if (finished.length > 0) {
    lines.push('recently resolved:');
    for (const record of finished) lines.push(incidentLine(record, nowMs));
  }
  return lines;
}

function headline(status: WatchStatus): string {
  return `gatewatch watch: ${status.targets.length} target${status.targets.length === 1 ? '' : 's'}, probes every ${status.intervalSeconds} s, cool-down ${status.cooldownSeconds} s, since ${clock(status.startedAt)}Z (Ctrl-C stops)`;
}

function finishedRecords(status: WatchStatus): IncidentRecord[] {
  return [...status.active.filter((r) => r.resolvedAt !== undefined), ...status.recent].slice(-3);
}

/** The targets table: a header and one row per target, columns padded to the widest shown cell. */
function table(targets: readonly TargetStatus[]): string[] {
  const rows = [
    ['TARGET', 'LAST PROBE', 'LATENCY', 'AT', '5XX/MIN', 'ALARMS'],
    ...targets.map((target) => [
      target.name,
      probeCell(target),
      target.last === undefined ? '-' : `${Math.round(target.last.latencyMs)} ms`,
      target.last === undefined ? '-' : clock(target.last.at),
      target.lastMinute === undefined ? '-' : `${target.lastMinute.status5xx}/${target.lastMinute.requests}`,
      target.alarms
        .map(
          (alarm) =>
            `${alarm.state === 'ALARM' ? 'ALARM' : alarm.state === 'OK' ? 'ok' : '?'} ${alarm.id.replace(`${target.name}-`, '')}`,
        )
        .join(', '),
    ]),
  ];
  const widths = rows[0]!.map((_, column) =>
    Math.min(48, Math.max(...rows.map((row) => row[column]!.length))),
  );
  return rows.map((row) =>
    row
      .map((cell, column) =>
        column === row.length - 1 ? cell : cell.slice(0, widths[column]).padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd(),
  );
}

/** A target whose last probe failed or that has an alarm in ALARM: shown before the others. */
export function isFailing(target: TargetStatus): boolean {
  return (target.last !== undefined && !target.last.ok) || target.alarms.some((a) => a.state === 'ALARM');
}

/** The terminal's size in character cells. */
export interface ScreenSize {
  rows: number;
  columns: number;
}

/**
 * One screen for a terminal of `size`: at most `rows - 1` lines (the last row stays free, so nothing
 * written after the frame scrolls it) of at most `columns - 1` characters. Failing targets come first;
 * the targets that do not fit are summed up in one line (`+12 more: 11 healthy, 1 waiting`). Open
 * incidents and the latest `events` (already formatted, oldest first) get a share of the rows too.
 */
export function renderScreen(
  status: WatchStatus,
  nowMs: number,
  size: ScreenSize,
  events: readonly string[] = [],
): string[] {
  const budget = Math.max(1, Math.floor(size.rows) - 1);
  const width = Math.max(10, Math.floor(size.columns) - 1);
  const quarter = Math.max(1, Math.floor(budget / 4));

  const open = status.active.filter((record) => record.resolvedAt === undefined);
  let incidents =
    open.length === 0
      ? ['no open incident']
      : [`open incidents (${open.length}):`, ...open.map((r) => incidentLine(r, nowMs))];
  if (incidents.length > quarter + 1) {
    const shown = Math.max(0, quarter - 1);
    incidents = [...incidents.slice(0, shown + 1), `  +${open.length - shown} more open incidents`];
  }
  const eventRows = Math.min(events.length, Math.max(0, quarter - 1));
  const eventBlock =
    eventRows > 0 ? ['recent events:', ...events.slice(-eventRows).map((e) => `  ${e}`)] : [];

  // headline and table header, then as many targets as fit (failing first); the rest summed up.
  const ordered = [...status.targets.filter(isFailing), ...status.targets.filter((t) => !isFailing(t))];
  let room = budget - 2 - incidents.length - eventBlock.length;
  if (room < 1) {
    // A tiny terminal: the targets keep at least one row, the events give way first, then incidents.
    eventBlock.length = 0;
    room = budget - 2 - incidents.length;
    if (room < 1) {
      incidents = incidents.slice(0, 1);
      room = Math.max(0, budget - 3);
    }
  }
  let shown = ordered;
  const summary: string[] = [];
  if (ordered.length > room) {
    shown = ordered.slice(0, Math.max(0, room - 1));
    const hidden = ordered.slice(shown.length);
    const failing = hidden.filter(isFailing).length;
    const waiting = hidden.filter((t) => !isFailing(t) && t.last === undefined && t.url !== undefined).length;
    const healthy = hidden.length - failing - waiting;
    const parts = [
      ...(failing > 0 ? [`${failing} failing`] : []),
      ...(healthy > 0 ? [`${healthy} healthy`] : []),
      ...(waiting > 0 ? [`${waiting} waiting`] : []),
    ];
    summary.push(`+${hidden.length} more: ${parts.join(', ')}`);
  }
  const lines = [headline(status), ...table(shown), ...summary];

  // Whatever rows are left: per-upstream minutes of the shown targets, then recently resolved incidents.
  let spare = budget - lines.length - incidents.length - eventBlock.length;
  const extra: string[] = [];
  for (const target of shown) {
    const line = upstreamLine(target);
    if (line === undefined || spare <= 0) continue;
    extra.push(line);
    spare--;
  }
  const finished = finishedRecords(status);
  const finishedBlock =
    finished.length > 0 && spare >= 2
      ? ['recently resolved:', ...finished.slice(-(spare - 1)).map((r) => incidentLine(r, nowMs))]
      : [];
  return [...lines, ...extra, ...incidents, ...finishedBlock, ...eventBlock]
    .slice(0, budget)
    .map((line) => cut(safeForTerminal(line), width));
}

function cut(line: string, width: number): string {
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/**
 * Text from logs, reports and probes may carry control characters (a crafted Host header, a log line):
 * on a terminal they would be commands. They are shown as `\xHH` instead, and a line stays one line.
 */
export function safeForTerminal(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * A target's last finished minute per upstream, on one line: `shop 06:01Z  127.0.0.1:8080 3 req 2 5xx
 * (502: 2)  |  refused 2 (127.0.0.1:8080)`; `undefined` when no minute has finished yet.
 */
export function upstreamLine(target: TargetStatus): string | undefined {
  const minute = target.lastUpstreamMinute;
  if (minute === undefined) return undefined;
  const peers = Object.entries(minute.upstreams)
    .sort(([a, x], [b, y]) => y.requests - x.requests || a.localeCompare(b))
    .map(([peer, c]) => {
      const codes = [
        ...(c.status502 > 0 ? [`502: ${c.status502}`] : []),
        ...(c.status504 > 0 ? [`504: ${c.status504}`] : []),
      ];
      return `${peer} ${c.requests} req ${c.status5xx} 5xx${codes.length > 0 ? ` (${codes.join(', ')})` : ''}`;
    });
  const errors = Object.entries(minute.errors)
    .sort(([a, x], [b, y]) => y.count - x.count || a.localeCompare(b))
    .map(([kind, e]) => `${kind} ${e.count} (${Object.keys(e.peers).sort().join(', ')})`);
  const at = new Date(minute.minuteMs).toISOString().slice(11, 16);
  return `${target.name} ${at}Z  ${peers.length > 0 ? peers.join('; ') : 'no upstream answer'}  |  ${errors.length > 0 ? errors.join('; ') : 'no upstream error'}`;
}

/**
 * One event as one log line (`undefined` for events that are not a change: start-up formalities, every
 * single probe result). Control characters are escaped, so a line is always one line.
 */
export function formatEvent(event: WatchEvent): string | undefined {
  const line = eventText(event);
  return line === undefined ? undefined : safeForTerminal(line);
}

function eventText(event: WatchEvent): string | undefined {
  const at = event.at;
  switch (event.type) {
    case 'started':
      return `${at} watching ${event.targets} target${event.targets === 1 ? '' : 's'}, probes every ${event.intervalSeconds} s${event.resumed > 0 ? `; ${event.resumed} incident${event.resumed === 1 ? '' : 's'} resumed from the state file` : ''}`;
    case 'probe':
      return undefined;
    case 'probe-changed': {
      const r = event.result;
      const status = r.status === undefined ? '' : ` ${r.status}`;
      return r.ok
        ? `${at} ${r.target}: probe ok${status} (${Math.round(r.phases.total)} ms)`
        : `${at} ${r.target}: probe FAIL${status}: ${r.failure?.kind ?? 'failed'}: ${r.failure?.message ?? ''}`;
    }
    case 'alarm':
      // Leaving INSUFFICIENT_DATA for OK is a start-up formality, not news.
      if (event.transition.from === 'INSUFFICIENT_DATA' && event.transition.to === 'OK') return undefined;
      return `${at} ${event.subject.name}: alarm ${event.transition.alarmId} ${event.transition.from} -> ${event.transition.to}: ${event.transition.reason}`;
    case 'incident-opened':
      return `${at} ${event.incident.subject.name}: incident opened (${event.incident.trigger.kind}), evidence window ${event.incident.window.from} – ${event.incident.window.to}; diagnosing`;
    case 'incident-held':
      return `${at} ${event.subject.name}: alarm ${event.alarmId} in ALARM during the cool-down; an incident opens at ${event.until} if it still is`;
    case 'incident-diagnosed': {
      const report = event.incident.report;
      if (!report) {
        return `${at} ${event.incident.subject.name}: incident ${event.incident.key}: diagnosis failed: ${event.incident.diagnosisError ?? 'unknown error'}`;
      }
      return `${at} ${event.incident.subject.name}: ${report.rootCause}${report.upstream ? ` (${report.upstream})` : ''}, confidence ${report.confidence}: ${report.summary}  report: ${report.location}`;
    }
    case 'incident-resolved': {
      const record = event.incident;
      return `${at} ${record.subject.name}: incident ${record.report?.incidentId ?? record.key} resolved after ${formatDuration(record.durationSeconds ?? 0)}${record.report ? `; report updated: ${record.report.location}` : ''}`;
    }
    case 'warning':
      return `${at} warning: ${event.message}`;
    case 'stopped':
      return `${at} stopped${event.open > 0 ? `; ${event.open} incident${event.open === 1 ? '' : 's'} still open, kept in the state file` : ''}`;
  }
}

/** `tty`: one redrawn screen; `log`: one line per change; `json`: one JSON object per event; `none`: silent. */
export type ViewMode = 'tty' | 'log' | 'json' | 'none';

/** Where and how {@link LiveView} writes. */
export interface LiveViewOptions {
  mode: ViewMode;
  write: (text: string) => void;
  /** Terminal width in columns. @default 120 */
  columns?: () => number | undefined;
  /** Terminal height in rows. @default 24 */
  rows?: () => number | undefined;
  /** Calls `redraw` whenever the terminal is resized; returns how to stop. */
  onResize?: (redraw: () => void) => () => void;
  /** `json` mode: turns an event into the object written (`undefined`: nothing). */
  toJson?: (event: WatchEvent) => object | undefined;
}

/** Events kept for the screen's "recent events" rows. */
const RECENT_EVENTS = 50;

/**
 * Writes the view. On a terminal it switches to the alternate screen (the scrollback stays as it was),
 * hides the cursor and redraws one screen in place (cursor home, each line erased to its end, the rest of
 * the screen erased); a frame equal to the last one is not written again. {@link close} restores the
 * normal screen and the cursor, and prints the last frame there, so the final state stays readable.
 */
export class LiveView {
  readonly #options: LiveViewOptions;
  readonly #events: string[] = [];
  #status: { status: WatchStatus; nowMs: number } | undefined;
  #frame: string[] = [];
  #lastWritten = '';
  #active = false;
  #stopResize: (() => void) | undefined;

  constructor(options: LiveViewOptions) {
    this.#options = options;
  }

  event(event: WatchEvent): void {
    const mode = this.#options.mode;
    if (mode === 'none') return;
    if (mode === 'json') {
      const object = this.#options.toJson?.(event);
      if (object !== undefined) this.#options.write(`${JSON.stringify(object)}\n`);
      return;
    }
    const line = formatEvent(event);
    if (line === undefined) return;
    if (mode === 'log') {
      this.#options.write(`${line}\n`);
      return;
    }
    this.#events.push(line);
    if (this.#events.length > RECENT_EVENTS) this.#events.splice(0, this.#events.length - RECENT_EVENTS);
    if (this.#status !== undefined) this.#draw();
  }

  /**
   * A notice of the program itself (e.g. "stopping…") for the screen's events rows: on a terminal it must
   * not be written across the screen. Returns false when this view does not draw a screen (write it elsewhere).
   */
  note(line: string): boolean {
    if (this.#options.mode !== 'tty') return false;
    this.#events.push(safeForTerminal(line));
    if (this.#status !== undefined) this.#draw();
    return true;
  }

  render(status: WatchStatus, nowMs: number): void {
    if (this.#options.mode !== 'tty') return;
    this.#status = { status, nowMs };
    this.#draw();
  }

  /** Restores the terminal (normal screen, cursor shown) and leaves the last frame on it. Idempotent. */
  close(): void {
    this.#stopResize?.();
    this.#stopResize = undefined;
    if (!this.#active) return;
    this.#active = false;
    this.#options.write(`${RESTORE}${this.#frame.join('\n')}\n`);
  }

  #size(): ScreenSize {
    return {
      rows: positive(this.#options.rows?.()) ?? 24,
      columns: positive(this.#options.columns?.()) ?? 120,
    };
  }

  #draw(): void {
    if (this.#status === undefined) return;
    const size = this.#size();
    this.#frame = renderScreen(this.#status.status, this.#status.nowMs, size, this.#events);
    let text = `\x1b[H${this.#frame.map((line) => `${line}\x1b[K`).join('\r\n')}\x1b[J\x1b[${size.rows};1H`;
    if (!this.#active) {
      this.#active = true;
      text = `\x1b[?1049h\x1b[?25l${text}`;
      this.#lastWritten = '';
      this.#stopResize ??= this.#options.onResize?.(() => {
        this.#lastWritten = '';
        this.#draw();
      });
    }
    if (text === this.#lastWritten) return;
    this.#lastWritten = text;
    this.#options.write(text);
  }
}

/** Leave the alternate screen, show the cursor. */
const RESTORE = '\x1b[?1049l\x1b[?25h';

function positive(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}
