/**
 * The one renderer of gatewatch incident reports. The CLI and the Lambda that writes reports both call
 * these functions on the same `Report`, so `report.md` and `report.html` always say the same thing as
 * `report.json`.
 *
 * ## How to read an incident report
 *
 * 1. **The banner / title** names the target, the verdict (`verdict.rootCause`, one word from the
 *    root-cause vocabulary, with its meaning next to it) and how bad it is: red for critical, amber for a
 *    warning, blue for information, green for healthy. `open` means the failure was still going on when the
 *    report was written; `resolved` comes with the time it recovered and how long it lasted.
 * 2. **The summary** under it is the answer in one sentence: what is broken and where. The facts below it
 *    give the upstream nginx could not use (`127.0.0.1:3000`, `unix:/run/app.sock`) and the confidence,
 *    from 0 to 100%: high when the evidence names one cause, lower when it only fits best.
 * 3. **Decisive evidence** quotes the lines the verdict rests on: nginx error-log lines exactly as nginx
 *    wrote them, and the output of the commands gatewatch ran (`ss -tlnp`, `nginx -t`, …), each with its
 *    source and time. If you read one thing besides the summary, read this.
 * 4. **Next steps** is what to do now, most useful first; tick them off as you go.
 * 5. **Findings** lists everything the diagnosis noticed, each with its severity, its category (a root
 *    cause from the same vocabulary) and all of its evidence. A step that could not run is a finding too:
 *    the report says what it could not see.
 * 6. **Ruled out** says which causes the evidence excludes, so you do not re-check them by hand.
 * 7. **Traffic** counts requests and 5xx answers in the window from the access log, by status and by
 *    upstream, and charts them per minute (longer windows in buckets of 2, 5, 10 … minutes or hours); the
 *    red part of a bar is the share of requests that failed. A few failing request lines follow.
 * 8. **Checks** is every diagnostic step with its status (`ok`, `failed`, `skipped`, `error`), how long
 *    it took, and why it was skipped or failed.
 * 9. **Timeline** is when things happened: first failure, alarm, diagnosis, recovery.
 *
 * Everything quoted comes from logs and command output, so it is escaped (nothing in it can run or
 * format the page) and secrets in URLs, headers and `key=value` pairs are shown as `[REDACTED]`.
 * Control characters show as visible symbols (`␀`), and text-direction overrides as `⟦U+202E⟧`.
 * All times are UTC.
 */
export { renderTrafficChart } from './chart.ts';
export { cleanText, escapeAttribute, escapeHtml } from './escape.ts';
export { REPORT_CSP, renderHtml } from './render-html.ts';
export { renderMarkdown } from './render-markdown.ts';
