/**
 * `gatewatch demo [--out DIR] [--keep]`: the README's first command. Verdicts and report paths go to
 * stdout, progress to stderr; without nginx it exits 2 and says how to install it.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { runDemo } from '../demo.ts';
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
      await runDemo(io, options);
    });
}
