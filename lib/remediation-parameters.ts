/** The actions script and its `GW_*` parameters, as the remediation document construct takes them. */
import {
  REMEDIATION_ENVIRONMENT,
  REMEDIATION_SCRIPT_RELATIVE_PATH,
} from '../lambdas/core/remediation/params.ts';
import type { DiagnosticsParameter } from './constructs/diagnostics-document.ts';
import { repoPath } from './paths.ts';

export const REMEDIATION_SCRIPT = repoPath(REMEDIATION_SCRIPT_RELATIVE_PATH);

export function remediationParameters(): readonly DiagnosticsParameter[] {
  return REMEDIATION_ENVIRONMENT;
}
