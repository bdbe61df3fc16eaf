/**
 * What the upstream answered that nginx could not use: `upstream-invalid-response`,
 * `upstream-header-too-big` and `upstream-tls`.
 */
import type { FailureGroup } from '../nginx/error-log.ts';
import { baseCause, type Cause, type Context } from './context.ts';

export function invalidResponseCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'upstream-invalid-response', 0.85);
  const pass = ctx.passes(group.peer)[0];
  cause.summary = `${group.peer} answered with something that is not valid HTTP (${group.count}×): nginx could not read the response header.`;
  cause.nextSteps.push(
    pass
      ? `Check that the upstream speaks what \`${pass.directive} ${pass.target}\` (${pass.file}:${pass.line}) expects: an HTTP server for proxy_pass over http://, TLS for https://, FastCGI for fastcgi_pass, uwsgi for uwsgi_pass.`
      : 'Check that the upstream speaks the protocol nginx uses for it (HTTP, TLS, FastCGI, uwsgi).',
    `\`curl -sv http://${group.peer ?? 'UPSTREAM'}/\` from the nginx host shows what it answers.`,
  );
  return cause;
}

export function headerTooBigCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'upstream-header-too-big', 0.95);
  const setting = ctx.quote(group.peer, 'buffer_size');
  if (setting) cause.findings[0]!.evidence.push(setting.evidence);
  cause.summary = `${group.peer}'s response headers do not fit nginx's buffer${setting ? ` (${setting.text})` : ''}: nginx rejects the response (${group.count}×). Usually large cookies or many Set-Cookie headers.`;
  cause.nextSteps.push(
    setting
      ? `Raise the buffer: ${setting.text} → e.g. 16k (and proxy_buffers 8 16k), or shrink the upstream's headers; then \`nginx -t && nginx -s reload\`.`
      : 'Raise `proxy_buffer_size` (e.g. 16k) and `proxy_buffers` (e.g. 8 16k), or shrink the response headers.',
  );
  return cause;
}

export function tlsCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'upstream-tls', 0.9);
  const pass = ctx.passes(group.peer)[0];
  const plainHttp = /wrong version number|packet length too long|unknown protocol|http request/i.test(
    group.example.entry.message,
  );
  cause.summary = plainHttp
    ? `nginx speaks TLS to ${group.peer} (https://) but the upstream answers plain HTTP: the TLS handshake fails (${group.count}×).`
    : `The TLS handshake between nginx and ${group.peer} failed (${group.count}×): protocol, cipher, SNI or certificate mismatch.`;
  cause.nextSteps.push(
    plainHttp && pass
      ? `Use http:// in \`${pass.directive} ${pass.target}\` (${pass.file}:${pass.line}) or enable TLS on the upstream.`
      : "Compare the upstream's TLS setup with nginx's `proxy_ssl_protocols`, `proxy_ssl_server_name on` and `proxy_ssl_verify`: `openssl s_client -connect HOST:PORT -servername NAME`.",
  );
  return cause;
}
