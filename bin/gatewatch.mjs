#!/usr/bin/env node
// The `gatewatch` command's launcher. gatewatch is TypeScript run directly by Node 24; when this is started
// by an older Node (a system Node, `npx --prefix` from elsewhere), it re-runs itself with the Node 24 that
// `npm install` put in the checkout, so the command works wherever it is started from.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('./gatewatch.ts', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  // Node keeps the compiled (and type-stripped) modules in its compile cache (os.tmpdir() by default,
  // NODE_COMPILE_CACHE to move it): a second run skips stripping ~100 TypeScript files (issue 9).
  nodeModule.enableCompileCache?.();
  // aws-local-stepfunctions' AWS SDK and validator imports load on first use, not at start-up.
  const { registerLazyEngineDeps } = await import('../lambdas/local/lazy-engine-deps.ts');
  registerLazyEngineDeps();
  await import(entry);
} else {
  const node24 = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(node24)) {
    process.stderr.write(
      `gatewatch: needs Node.js 24 or later (this is ${process.version})\n  → run \`npm install\` in the gatewatch checkout (it provides Node 24), or install Node 24\n`,
    );
    process.exit(2);
  }
  const run = spawnSync(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
