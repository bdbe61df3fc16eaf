/**
 * A command line that runs without root's power over file permissions, for tests of EACCES. As root it
 * goes through `setpriv` with CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped from the bounding set: the
 * uid stays 0, so a checkout only root may enter (a `mktemp -d` clone is mode 700) still runs, but mode
 * bits apply to it like to anyone. As any other user the command is unchanged.
 */
export function withoutFileOverride(command: string, args: readonly string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, [...args]];
  return ['setpriv', ['--bounding-set=-dac_override,-dac_read_search', '--', command, ...args]];
}
