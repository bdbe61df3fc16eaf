import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ChecksFailedError, InterruptedError, UsageError } from './errors.ts';
import type { Io } from './io.ts';

/**
 * Each command's module, loaded only when it runs: `diagnose` does not pay for watch, demo and probe
 * (their HTTP prober, tailer and status view are most of the CLI's TypeScript). Issue 9: start-up time.
 */
const COMMANDS: Record<string, (io: Io) => Promise<Command>> = {
  diagnose: async (io) => (await import('./diagnose.ts')).diagnoseCommand(io),
  probe: async (io) => {
    const [{ probeCommand }, { loadConfigFile }] = await Promise.all([
      import('./probe.ts'),
      import('../config-file.ts'),
    ]);
    return probeCommand(loadConfigFile, { write: io.out });
  },
  validate: async (io) => (await import('./validate.ts')).validateCommand(io),
  network: async (io) => (await import('./network.ts')).networkCommand(io),
  lint: async (io) => (await import('./lint.ts')).lintCommand(io),
  incidents: async (io) => (await import('./incidents.ts')).incidentsCommand(io),
  ack: async (io) => (await import('./ack.ts')).ackCommand(io),
  note: async (io) => (await import('./note.ts')).noteCommand(io),
  resolve: async (io) => (await import('./resolve.ts')).resolveCommand(io),
  replay: async (io) => (await import('./replay.ts')).replayCommand(io),
  demo: async (io) => (await import('./demo.ts')).demoCommand(io),
  watch: async (io) => (await import('./watch.ts')).watchCommand(io),
  approve: async (io) => (await import('./approve.ts')).approveCommand(io),
  explain: async (io) => (await import('./explain.ts')).explainCommand(io),
};

/**
 * The `gatewatch` program. It never exits the process itself: {@link runCli} maps outcomes to codes.
 * With `argv` naming a command, only that command is loaded; otherwise (help, a typo) all of them are.
 */
export async function buildProgram(io: Io, argv: string[] = []): Promise<Command> {
  const program = new Command('gatewatch')
    .description('finds out why nginx answers 502/504, and writes it down with the evidence')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showSuggestionAfterError();
  const first = argv[0];
  const names = first !== undefined && Object.hasOwn(COMMANDS, first) ? [first] : Object.keys(COMMANDS);
  const commands = await Promise.all(names.map((name) => COMMANDS[name]!(io)));
  for (const command of commands) {
    program.addCommand(command.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err }));
  }
  return program;
}

/** Runs the CLI and returns the exit code: 0 done, 2 usage or configuration error, 1 unexpected failure. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  try {
    await (await buildProgram(io, argv)).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version are "errors" to commander; they already printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof InterruptedError) {
      io.err(`gatewatch: ${error.message}\n`);
      return 130;
    }
    if (error instanceof ChecksFailedError) {
      io.err(`gatewatch: ${error.message}\n`);
      return 1;
    }
    if (error instanceof UsageError) {
      io.err(`gatewatch: ${error.message}\n${error.hint ? `  → ${error.hint}\n` : ''}`);
      return 2;
    }
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.err(`gatewatch: unexpected failure: ${message}\n`);
    return 1;
  }
}

/** The version in package.json, read once: the CLI and the package never disagree. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
