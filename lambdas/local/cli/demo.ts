/**
 * `gatewatch demo [--out DIR] [--keep]`: the README's first command. Verdicts and report paths go to
 * stdout, progress to stderr; without nginx it exits 2 and says how to install it.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { DemoInterruptedError, runDemo } from '../demo.ts';
import { InterruptedError } from './errors.ts';
import { type Io, parseOptions } from './io.ts';

const OptionsSchema = z.object({ out: z.string().default('./incidents'), keep: z.boolean().default(false) });

export function demoCommand(io: Io): Command {
  return new Command('demo')
    .description(
      'a real nginx and a sample upstream on loopback, watched with 1 s probes; faults injected one by one, each detected, diagnosed and resolved',
    )
    .option('--out <dir>', 'reports folder', './incidents')
    .option('--keep', "keep the lab's temp folder (nginx config and logs, gatewatch.yaml, watch state)")
    .action(async (raw: unknown) => {
      const options = parseOptions(OptionsSchema, raw);
      // Ctrl-C or SIGTERM: the demo cleans up what it started (nginx master and workers, upstreams, temp
      // folder) before the process ends; a second signal stops the watch without waiting for a diagnosis.
      const stop = new AbortController();
      const hurry = new AbortController();
      const names = ['SIGINT', 'SIGTERM'] as const;
      const onSignal = (signal: NodeJS.Signals) => {
        if (stop.signal.aborted) {
          hurry.abort();
          return;
        }
        io.err(`${signal}: stopping the demo and cleaning up (again to skip waiting for a diagnosis)\n`);
        stop.abort();
      };
      for (const name of names) process.on(name, onSignal);
      try {
        await runDemo(io, { ...options, signal: stop.signal, hurry: hurry.signal });
      } catch (error) {
        if (error instanceof DemoInterruptedError || stop.signal.aborted) {
          throw new InterruptedError(
            options.keep
              ? 'demo stopped; nginx and the upstreams are stopped, the temp folder is kept (--keep)'
              : 'demo stopped; nginx, the upstreams and the temp folder are cleaned up',
            {
              cause: error,
            },
          );
        }
        throw error;
      } finally {
        for (const name of names) process.off(name, onSignal);
      }
    });
}
