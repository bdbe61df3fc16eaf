/**
 * The diagnostics script and its `GW_*` parameters, as the SSM document construct takes them: both
 * come from `lambdas/core/diagnostics/params.ts`, the one place they are written down.
 */
import { DIAGNOSTICS_ENVIRONMENT, SCRIPT_RELATIVE_PATH } from '../lambdas/core/diagnostics/params.ts';
import type { DiagnosticsParameter } from './constructs/diagnostics-document.ts';
import { repoPath } from './paths.ts';

/** Absolute path of the diagnostics script the document embeds. */
export const DIAGNOSTICS_SCRIPT = repoPath(SCRIPT_RELATIVE_PATH);

export function diagnosticsParameters(): readonly DiagnosticsParameter[] {
  return DIAGNOSTICS_ENVIRONMENT;
}
