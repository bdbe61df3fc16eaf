import { Command } from 'commander';
import { z } from 'zod';
import { runDemo } from '../demo.ts';
import { type Io, parseOptions } from './io.ts';

const OptionsSchema = z.object({ out: z.string().default('./incidents'), keep: z.boolean().default(false) });

export function demoCommand(io: Io): Command {
  return new Command('demo')
    .description(
      'a real nginx and a sample upstream on loopback, faults injected one by one, a report for each',
    )
    .option('--out <dir>', 'reports folder', './incidents')
    .option('--keep', "keep the lab's nginx prefix folder (config, logs) for inspection")
    .action(async (raw: unknown) => {
      const options = parseOptions(OptionsSchema, raw);
      await runDemo(io, options);
    });
}
