/**
 * `gatewatch watch [--config F] [--interval-override S] [--cooldown S] [--state FILE]`: the local pipeline
 * until SIGINT/SIGTERM. On a terminal a status block is redrawn in place; otherwise one line per event.
 * The first signal stops cleanly (runs and diagnoses in flight complete, state flushed); a second one
 * flushes the state at once and exits, and the next start resumes what was unfinished.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { loadConfigFile } from '../config-file.ts';
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
});
/** The command's flags, as commander hands them over. */
export type WatchCommandOptions = z.input<typeof OptionsSchema>;

/** The process the command listens to; tests pass their own emitter. */
export interface WatchCommandDeps {
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
  /** A terminal gets the live view, anything else plain lines. @default process.stdout.isTTY */
  isTTY?: boolean;
  columns?: () => number | undefined;
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
  let handle: WatchHandle;
  try {
    handle = await startWatch({
      config,
      ...(options.intervalOverride === undefined
        ? {}
        : { intervalOverrideSeconds: options.intervalOverride }),
      ...(options.cooldown === undefined ? {} : { cooldownSeconds: options.cooldown }),
      ...(options.state === undefined ? {} : { statePath: options.state }),
      view: {
        mode: tty ? 'tty' : 'log',
        write: io.out,
        columns: deps.columns ?? (() => process.stdout.columns),
      },
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
  await new Promise<void>((resolve) => {
    const names = ['SIGINT', 'SIGTERM'] as const;
    const second = (signal: NodeJS.Signals) => {
      for (const name of names) signals.off(name, second);
      io.err(
        `${signal} again: saving the state and stopping now; unfinished work resumes on the next start\n`,
      );
      void handle.stop({ force: true }).then(() => (deps.exit ?? process.exit)(130));
    };
    const first = (signal: NodeJS.Signals) => {
      for (const name of names) signals.off(name, first);
      for (const name of names) signals.on(name, second);
      io.err(`${signal}: stopping once probes and diagnoses in flight are done (again to stop at once)\n`);
      void handle.stop().then(() => {
        for (const name of names) signals.off(name, second);
        resolve();
      });
    };
    for (const name of names) signals.on(name, first);
  });
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
    .action(async (raw: unknown) => {
      await runWatchCommand(raw, io, deps);
    });
}
