import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { BUNDLE_FILE, BundleFormatError, decodeBundle, replayBundle } from '../../steps/evidence-bundle.ts';
import { UsageError } from './errors.ts';
import { type Io, parseOptions, printVerdict } from './io.ts';

const OptionsSchema = z.object({ json: z.boolean().default(false) });

/** The bundle file: the path given, or `bundle.json.gz` inside it when it is an incident folder. */
async function bundlePath(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined)
    throw new UsageError(`${path}: no such file`, { hint: `pass an incident's ${BUNDLE_FILE}` });
  return info.isDirectory() ? join(path, BUNDLE_FILE) : path;
}

export function replayCommand(io: Io): Command {
  return new Command('replay')
    .description('reproduce an incident verdict offline from its evidence bundle (no nginx, no network)')
    .argument('<bundle>', `an incident's ${BUNDLE_FILE} (or its folder)`)
    .option('--json', 'print the replayed report.json, byte for byte, and nothing else')
    .action(async (path: string, raw: unknown) => {
      const options = parseOptions(OptionsSchema, raw);
      const file = await bundlePath(path);
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (error) {
        throw new UsageError(`${file}: ${(error as Error).message}`, { cause: error });
      }
      let replay: ReturnType<typeof replayBundle>;
      try {
        replay = replayBundle(decodeBundle(bytes));
      } catch (error) {
        if (error instanceof BundleFormatError)
          throw new UsageError(`${file}: ${error.message}`, {
            hint: `pass an incident's ${BUNDLE_FILE}`,
            cause: error,
          });
        throw error;
      }
      if (options.json) {
        io.out(replay.text);
        return;
      }
      printVerdict(io, replay.report, file);
      io.out(
        replay.identical
          ? `replay: byte-identical to the report.json the diagnosis wrote (sha256 ${replay.sha256})\n`
          : `replay: DIFFERS from the report.json the diagnosis wrote (this gatewatch classifies the same evidence differently); sha256 ${replay.sha256}\n`,
      );
    });
}
