/**
 * An access log named by several targets: each line is read once for its `$host` and `$upstream_addr` and
 * handed to the targets the attribution rule gives it (`core/nginx/target-attribution.ts`), so each target
 * counts its own lines. Lines no target can claim are counted here, not for everyone.
 */
import { AccessLogScanner } from '../../core/nginx/access-log.ts';
import type { TargetAttribution } from '../../core/nginx/target-attribution.ts';

/** Splits a shared access log's lines among its targets. */
export class SharedAccessLog {
  readonly #scanner: AccessLogScanner;
  #targets: readonly string[] | undefined;
  /** Parsed lines no target could claim, since the last {@link takeUnattributed}. */
  #unattributed = 0;

  constructor(rule: TargetAttribution) {
    this.#scanner = new AccessLogScanner((record) => {
      const peers: string[] = [];
      for (let k = 0; k < record.attempts; k++) peers.push(this.#scanner.peerName(record.peerIds[k]!));
      this.#targets = rule.targetsOf(record.host(), peers);
    });
  }

  /** The targets one line (latin1 text, no newline) counts for; empty for none or a malformed line. */
  targetsOf(text: string): readonly string[] {
    this.#targets = undefined;
    this.#scanner.push(Buffer.from(`${text}\n`, 'latin1'));
    const targets = this.#targets ?? [];
    if (this.#targets !== undefined && targets.length === 0) this.#unattributed++;
    return targets;
  }

  /** Lines read as nginx lines that counted for no target, since the last call. */
  takeUnattributed(): number {
    const n = this.#unattributed;
    this.#unattributed = 0;
    return n;
  }
}
