import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, type GatewatchConfig, parseConfig } from '../core/config.ts';
import { UsageError } from './cli/errors.ts';

/**
 * Reads and validates `gatewatch.yaml`. Relative paths in it (logs, reports, snapshot) are resolved
 * against the file's own folder, so the configuration means the same wherever gatewatch is started.
 */
export async function loadConfigFile(path: string): Promise<GatewatchConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `no configuration at ${path}` : `cannot read ${path}: ${(error as Error).message}`,
      {
        hint: 'create gatewatch.yaml (copy gatewatch.example.yaml) or pass --config FILE; `gatewatch demo` needs none',
        cause: error,
      },
    );
  }
  try {
    return resolvePaths(parseConfig(text, path), dirname(resolve(path)));
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new UsageError(error.message, {
        hint: 'fix the fields above, then `gatewatch validate`',
        cause: error,
      });
    }
    throw error;
  }
}

function resolvePaths(config: GatewatchConfig, base: string): GatewatchConfig {
  const at = (path: string) => (isAbsolute(path) ? path : resolve(base, path));
  return {
    ...config,
    targets: config.targets.map((target) => ({
      ...target,
      nginx: {
        ...target.nginx,
        errorLog: at(target.nginx.errorLog),
        ...(target.nginx.accessLog === undefined ? {} : { accessLog: at(target.nginx.accessLog) }),
      },
    })),
    reports: { ...config.reports, dir: at(config.reports.dir) },
    ...(config.network?.snapshot === undefined
      ? {}
      : { network: { ...config.network, snapshot: at(config.network.snapshot) } }),
  };
}
