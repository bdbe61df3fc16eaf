// `npm run bench`: every benchmark, one after the other, each in its own process so that memory figures
// are its own. Benchmarks print figures and assert nothing; a benchmark that crashes is reported.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCHES = [
  ['access-log parsing vs GoAccess', 'access-log.ts'],
  ['gatewatch diagnose --logs-only over 1M lines vs GoAccess, end to end', 'diagnose-logs-only.ts'],
  ['gatewatch diagnose wall time, live fault, host checks included', 'diagnose.ts'],
  ['gatewatch diagnose --logs-only peak RSS on a 2 GiB log', 'diagnose-large-log.ts'],
  ['large logs: bounded work (the logs helper)', 'large-log.ts'],
  ['1,000 probes on loopback', 'probes.ts'],
  ['time from a fault to its report in watch', 'watch.ts'],
  ['network reachability evaluation', 'network.ts'],
  ['Lambda bundles: size and cold module load', 'lambda-bundles.ts'],
] as const;

const only = process.argv.slice(2);
let failed = 0;
for (const [title, file] of BENCHES) {
  if (only.length > 0 && !only.some((name) => file.includes(name))) continue;
  const path = fileURLToPath(new URL(`./${file}`, import.meta.url));
  console.log(`\n=== ${title} (${file}) ===`);
  if (!existsSync(path)) {
    console.log('  not present');
    continue;
  }
  const result = spawnSync(process.execPath, [path], { stdio: 'inherit' });
  if (result.status !== 0) {
    failed++;
    console.log(`  ${file} exited with ${result.status ?? result.signal}`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
