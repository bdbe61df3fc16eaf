#!/usr/bin/env node
// The `gatewatch` command. Everything lives in lambdas/local/cli; this file only sets the exit code.
import { processIo } from '../lambdas/local/cli/io.ts';
import { runCli } from '../lambdas/local/cli/program.ts';

process.exitCode = await runCli(process.argv.slice(2), processIo);
