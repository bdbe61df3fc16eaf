#!/usr/bin/env node
// The `gatewatch` command's launcher. gatewatch is TypeScript run directly by Node 24; when this is started
// by an older Node (a system Node, `npx --prefix` from elsewhere), it re-runs itself with the Node 24 that
// `npm install` put in the checkout, so the command works wherever it is started from.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as nodeModule from 'node:module';
import * as os from 'node:os';
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
  // The real gatewatch runs in its own process group, and every signal the launcher gets is passed on
  // exactly once: a Ctrl-C reaches the launcher (the terminal's foreground group) and `kill -TERM <pid>`
  // of the launcher reach gatewatch alike, so `demo` and `watch` clean up instead of being orphaned.
  const child = spawn(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    detached: true,
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGWINCH']) {
    process.on(signal, () => {
      try {
        child.kill(signal);
      } catch {}
    });
  }
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal === null ? 1 : 128 + (os.constants.signals[signal] ?? 0)));
  });
}
