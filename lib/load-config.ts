/** Reads `gatewatch.yaml` for `cdk synth`/`cdk deploy`: the same parser and checks as the CLI. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, type GatewatchConfig, parseConfig } from '../lambdas/core/config.ts';

/** The configuration file at `path` (relative to the working directory), validated. */
export function loadConfigFile(path: string): GatewatchConfig {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (error) {
    throw new ConfigError(
      path,
      [
        `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'}): copy gatewatch.example.yaml to ${path}, or pass -c gatewatch:config=PATH to cdk`,
      ],
      { cause: error },
    );
  }
  return parseConfig(text, path);
}
