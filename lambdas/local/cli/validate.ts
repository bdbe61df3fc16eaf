import { Command } from 'commander';
import { z } from 'zod';
import { loadConfigFile } from '../config-file.ts';
import { type Io, parseOptions } from './io.ts';

const OptionsSchema = z.object({ config: z.string().default('gatewatch.yaml') });

export function validateCommand(io: Io): Command {
  return new Command('validate')
    .description('check the configuration; every problem names its field and the fix')
    .option('--config <file>', 'configuration file', 'gatewatch.yaml')
    .action(async (raw: unknown) => {
      const options = parseOptions(OptionsSchema, raw);
      const config = await loadConfigFile(options.config);
      const names = config.targets.map((t) => t.name).join(', ');
      io.out(
        `${options.config} is valid: ${config.targets.length} target(s) (${names}); reports in ${config.reports.dir}\n`,
      );
    });
}
