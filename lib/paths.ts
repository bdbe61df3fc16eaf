/** Where the repository's files are, for constructs that bundle or read them at synth time. */
import { fileURLToPath } from 'node:url';

/** The repository root (the folder with package.json and cdk.json). */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** An absolute path from a repository-relative one. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../${relative}`, import.meta.url));
}
