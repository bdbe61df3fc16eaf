import { Command, CommanderError } from 'commander';
import { loadConfigFile } from '../config-file.ts';
import { approveCommand } from './approve.ts';
import { demoCommand } from './demo.ts';
import { diagnoseCommand } from './diagnose.ts';
import { UsageError } from './errors.ts';
import type { Io } from './io.ts';
import { probeCommand } from './probe.ts';
import { validateCommand } from './validate.ts';
import { watchCommand } from './watch.ts';

/** The `gatewatch` program. It never exits the process itself: {@link runCli} maps outcomes to codes. */
export function buildProgram(io: Io): Command {
  const program = new Command('gatewatch')
    .description('finds out why nginx answers 502/504, and writes it down with the evidence')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showSuggestionAfterError();
  const commands = [
    diagnoseCommand(io),
    probeCommand(loadConfigFile, { write: io.out }),
    validateCommand(io),
    demoCommand(io),
    watchCommand(io),
    approveCommand(io),
  ];
  for (const command of commands) {
    program.addCommand(command.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err }));
  }
  return program;
}

/** Runs the CLI and returns the exit code: 0 done, 2 usage or configuration error, 1 unexpected failure. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version are "errors" to commander; they already printed.
      return error.exitCode === 0 ? 0 : 2;
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
