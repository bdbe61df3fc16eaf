/**
 * `gatewatch watch [--config F] [--interval-override S] [--cooldown S] [--state FILE] [--json]`: the local
 * pipeline until SIGINT/SIGTERM. On a terminal one screen is redrawn in place (alternate screen, cut to the
 * terminal's size, given back on exit); otherwise one line per change; `--json`: one JSON object per event.
 * The first signal stops cleanly (runs and diagnoses in flight complete, state flushed); a second one
 * flushes the state at once and exits, and the next start resumes what was unfinished.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { loadConfigFile } from '../config-file.ts';
import { toJsonEvent } from '../watch/json-events.ts';
import type { LiveViewOptions } from '../watch/status-view.ts';
import { startWatch, WatchConfigError, type WatchHandle } from '../watch/watcher.ts';
import { UsageError } from './errors.ts';
import { type Io, parseOptions } from './io.ts';

const seconds = (what: string, min: number) =>
  z.coerce
    .number(`${what} must be a number of seconds, e.g. 5`)
    .int(`${what} must be whole seconds, e.g. 5`)
    .min(min, `${what} must be at least ${min} s`)
    .max(86_400, `${what} must be at most 86400 s`);

const OptionsSchema = z.object({
  config: z.string().min(1).default('gatewatch.yaml'),
  intervalOverride: seconds('the interval', 1).optional(),
  cooldown: seconds('the cool-down', 0).optional(),
  state: z.string().min(1).optional(),
  json: z.boolean().default(false),
  dryRun: z.boolean().default(false),
});
/** The command's flags, as commander hands them over. */
export type WatchCommandOptions = z.input<typeof OptionsSchema>;

/** The process the command listens to; tests pass their own emitter. */
export interface WatchCommandDeps {
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
  /** A terminal gets the live view, anything else plain lines. @default process.stdout.isTTY */
  isTTY?: boolean;
  columns?: () => number | undefined;
  rows?: () => number | undefined;
  /** Ends the process after a second signal. @default process.exit */
  exit?: (code: number) => void;
  /** Called once the watch runs (tests). */
  onStarted?: (handle: WatchHandle) => void;
}

/** Runs the command without commander: returns once the watch has stopped. */
export async function runWatchCommand(raw: unknown, io: Io, deps: WatchCommandDeps = {}): Promise<void> {
  const options = parseOptions(OptionsSchema, raw);
  const config = await loadConfigFile(options.config);
  const signals = deps.signals ?? process;
  const tty = deps.isTTY ?? process.stdout.isTTY === true;
  const view: LiveViewOptions = options.json
    ? { mode: 'json', write: io.out, toJson: toJsonEvent }
    : tty
      ? {
          mode: 'tty',
          write: io.out,
          columns: deps.columns ?? (() => terminalSize(process.stdout.columns, process.env.COLUMNS)),
          rows: deps.rows ?? (() => terminalSize(process.stdout.rows, process.env.LINES)),
          ...(deps.isTTY === undefined
            ? {
                onResize: (redraw: () => void) => {
                  process.stdout.on('resize', redraw);
                  return () => process.stdout.off('resize', redraw);
                },
              }
            : {}),
        }
      : { mode: 'log', write: io.out };
  let handle: WatchHandle;
  try {
    handle = await startWatch({
      config,
      ...(options.intervalOverride === undefined
        ? {}
        : { intervalOverrideSeconds: options.intervalOverride }),
      ...(options.cooldown === undefined ? {} : { cooldownSeconds: options.cooldown }),
      ...(options.state === undefined ? {} : { statePath: options.state }),
      ...(options.dryRun ? { dryRun: true } : {}),
      view,
    });
  } catch (error) {
    if (error instanceof WatchConfigError) {
      throw new UsageError(error.message, {
        hint: 'add `probe: { url: … }` or `nginx.accessLog` to a target, or fix the flag',
        cause: error,
      });
    }
    throw error;
  }
  io.err(
    `gatewatch watch: state in ${handle.watcher.statePath}, reports in ${handle.watcher.config.reports.dir}; Ctrl-C stops\n`,
  );
  deps.onStarted?.(handle);
  // However the process ends (a second Ctrl-C, an uncaught error), the terminal is given back.
  const giveBack = () => handle.watcher.closeView();
  process.once('exit', giveBack);
  // On a terminal the notices go to the screen's events rows, not across the screen.
  const notice = (text: string) => {
    if (!handle.watcher.note(text.trimEnd())) io.err(text);
  };
  await new Promise<void>((resolve) => {
    const names = ['SIGINT', 'SIGTERM'] as const;
    const second = (signal: NodeJS.Signals) => {
      for (const name of names) signals.off(name, second);
      notice(
        `${signal} again: saving the state and stopping now; unfinished work resumes on the next start\n`,
      );
      void handle.stop({ force: true }).then(() => (deps.exit ?? process.exit)(130));
    };
    const first = (signal: NodeJS.Signals) => {
      for (const name of names) signals.off(name, first);
      for (const name of names) signals.on(name, second);
      notice(`${signal}: stopping once probes and diagnoses in flight are done (again to stop at once)\n`);
      void handle.stop().then(() => {
        for (const name of names) signals.off(name, second);
        resolve();
      });
    };
    for (const name of names) signals.on(name, first);
  });
  process.off('exit', giveBack);
}

/**
 * The terminal's size as the terminal reports it; a terminal that reports none (a pseudo-terminal nobody
 * sized, e.g. under `script`) falls back to `LINES`/`COLUMNS`, as curses programs do.
 */
function terminalSize(reported: number | undefined, fromEnv: string | undefined): number | undefined {
  if (reported !== undefined && reported > 0) return reported;
  const value = Number(fromEnv);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

/** The commander command (registered in program.ts). */
export function watchCommand(io: Io, deps: WatchCommandDeps = {}): Command {
  return new Command('watch')
    .description(
      'the local pipeline until stopped: probes, log tailing, alarms, incidents, reports, notifications',
    )
    .option('--config <file>', 'configuration file', 'gatewatch.yaml')
    .option(
      '--interval-override <seconds>',
      'probe every target this often instead of its probe.intervalSeconds (locally down to 1)',
    )
    .option(
      '--cooldown <seconds>',
      'after an incident resolves, no new incident of the same target for this long (default: 5 probe intervals)',
    )
    .option('--state <file>', 'state file (default: <reports.dir>/.gatewatch-state.json)')
    .option('--dry-run', 'remediation: record what would run for each incident, run nothing')
    .option(
      '--json',
      'one JSON object per event on stdout (probe results, alarms, incidents with report paths)',
    )
    .action(async (raw: unknown) => {
      await runWatchCommand(raw, io, deps);
    });
}
