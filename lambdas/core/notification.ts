/**
 * What a notification's subject may be, whichever channel carries it: SNS rejects a subject with a line
 * break or a control character, or of 100 characters or more; mail headers must not carry raw line
 * breaks either. One rule for both, so the same text fits everywhere.
 */

/** Subjects stay shorter than 100 characters (SNS's limit). */
export const MAX_SUBJECT_CHARACTERS = 99;
const FALLBACK_SUBJECT = 'gatewatch notification';

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Control characters become spaces, runs of spaces collapse, and the text is cut (at a code point, never
 * inside a surrogate pair; ASCII `...` as the marker) to fewer than 100 characters.
 */
export function sanitizeSubject(subject: string): string {
  const clean = subject.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  const codePoints = Array.from(clean);
  if (codePoints.length === 0) return FALLBACK_SUBJECT;
  if (codePoints.length <= MAX_SUBJECT_CHARACTERS && clean.length <= MAX_SUBJECT_CHARACTERS) return clean;
  // `length` counts UTF-16 units; keep both counts under the limit whatever the channel counts.
  let cut = '';
  for (const point of codePoints) {
    if (cut.length + point.length > MAX_SUBJECT_CHARACTERS - 3) break;
    cut += point;
  }
  return `${cut.trimEnd()}...`;
}

/** `[gatewatch] shop: upstream-down 127.0.0.1:3000`, made safe for any channel. */
export function incidentSubject(target: string, rootCause: string, upstream: string | undefined): string {
  return sanitizeSubject(`[gatewatch] ${target}: ${rootCause}${upstream ? ` ${upstream}` : ''}`);
}
