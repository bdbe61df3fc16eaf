/**
 * What `watch` shows: on a terminal, a status block (targets, last probe, alarms, open incidents) redrawn
 * in place with events scrolling above it; elsewhere (a pipe, a log file, systemd), one plain line per
 * event and nothing redrawn. Rendering is pure; only {@link LiveView} writes.
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

/** The status block, one string per line (not yet cut to the terminal width). */
export function renderStatus(status: WatchStatus, nowMs: number): string[] {
  const lines = [
    `gatewatch watch: ${status.targets.length} target${status.targets.length === 1 ? '' : 's'}, probes every ${status.intervalSeconds} s, cool-down ${status.cooldownSeconds} s, since ${clock(status.startedAt)}Z (Ctrl-C stops)`,
  ];
  const rows = [
    ['TARGET', 'LAST PROBE', 'LATENCY', 'AT', '5XX/MIN', 'ALARMS'],
    ...status.targets.map((target) => [
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
  for (const row of rows) {
    lines.push(
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : cell.slice(0, widths[column]).padEnd(widths[column]!),
        )
        .join('  ')
        .trimEnd(),
    );
  }
  for (const target of status.targets) {
    const line = upstreamLine(target);
    if (line !== undefined) lines.push(line);
  }
  const open = status.active.filter((record) => record.resolvedAt === undefined);
  lines.push('', open.length === 0 ? 'no open incident' : `open incidents (${open.length}):`);
  for (const record of open) lines.push(incidentLine(record, nowMs));
  const finished = [...status.active.filter((r) => r.resolvedAt !== undefined), ...status.recent].slice(-3);
  if (finished.length > 0) {
    lines.push('recently resolved:');
    for (const record of finished) lines.push(incidentLine(record, nowMs));
  }
  return lines;
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

/** One event as a log line (`undefined` for events that only the live view shows). */
export function formatEvent(event: WatchEvent): string | undefined {
  const at = event.at;
  switch (event.type) {
    case 'started':
      return `${at} watching ${event.targets} target${event.targets === 1 ? '' : 's'}, probes every ${event.intervalSeconds} s${event.resumed > 0 ? `; ${event.resumed} incident${event.resumed === 1 ? '' : 's'} resumed from the state file` : ''}`;
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
      return `${at} ${event.incident.subject.name}: ${report.rootCause}${report.upstream ? ` (${report.upstream})` : ''}, confidence ${report.confidence}: ${report.summary}\n${' '.repeat(at.length + 1)}report: ${report.location}`;
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

/** `tty`: redrawn block and events; `log`: one line per event; `none`: silent (the demo, tests). */
export type ViewMode = 'tty' | 'log' | 'none';

/** Where and how {@link LiveView} writes. */
export interface LiveViewOptions {
  mode: ViewMode;
  write: (text: string) => void;
  /** Terminal width; lines are cut to it so the block's height is its line count. @default 120 */
  columns?: () => number | undefined;
}

/** Writes events and, on a terminal, the status block redrawn in place under them. */
export class LiveView {
  readonly #options: LiveViewOptions;
  #height = 0;
  #last: string[] = [];

  constructor(options: LiveViewOptions) {
    this.#options = options;
  }

  event(event: WatchEvent): void {
    if (this.#options.mode === 'none') return;
    const line = formatEvent(event);
    if (line === undefined) return;
    if (this.#options.mode === 'log') {
      this.#options.write(`${line}\n`);
      return;
    }
    this.#clear();
    this.#options.write(`${line}\n`);
    this.#draw(this.#last);
  }

  render(status: WatchStatus, nowMs: number): void {
    if (this.#options.mode !== 'tty') return;
    const width = Math.max(20, (this.#options.columns?.() ?? 120) - 1);
    const lines = renderStatus(status, nowMs).map((line) =>
      line.length > width ? `${line.slice(0, width - 1)}…` : line,
    );
    this.#clear();
    this.#draw(lines);
  }

  /** Leaves the last block on screen and the cursor under it. */
  close(): void {
    if (this.#options.mode === 'tty') this.#options.write('\x1b[?25h');
    this.#height = 0;
  }

  #clear(): void {
    // Up to the first line of the block, then erase to the end of the screen.
    if (this.#height > 0) this.#options.write(`\x1b[${this.#height}F\x1b[J`);
    this.#height = 0;
  }

  #draw(lines: string[]): void {
    this.#last = lines;
    if (lines.length === 0) return;
    this.#options.write(`\x1b[?25l${lines.join('\n')}\n`);
    this.#height = lines.length;
  }
}
