/**
 * Removes secrets from any text before it is stored or printed: credentials in URLs, sensitive query
 * parameters, authorization headers and `key=value` pairs whose key names a secret. It works on free text
 * (a log line, a request line, a command's output), so it errs towards redacting.
 */
export const REDACTED = '[REDACTED]';

// A secret-naming key: the keyword is a whole `_`/`-` segment (`db_password`, `x-api-key`, `access_token`),
// so ordinary words (`passes`, `tokenizer`, `authored`) are left alone.
const SECRET_KEY =
  '(?:(?:[a-z0-9]+[_-])*(?:password|passwd|pass|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth|credentials?|session(?:id)?|signature|sig|jwt|private[_-]?key|client[_-]?secret)(?:[_-][a-z0-9]+)*|key|code|x-amz-security-token|x-amz-credential)';

// user:password@ in any scheme://
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:"'<>]+):([^\s/@"'<>]*)@/gi;
// ?token=…&… or ;sid=… in URLs and query strings, also `"key": "value"` forms are handled below.
const QUERY_PARAM = new RegExp(`([?&;]${SECRET_KEY}=)([^&\\s"'#;]*)`, 'gi');
// Authorization: Bearer abc / Cookie: a=b / X-Api-Key: abc (header-shaped text)
const HEADER = new RegExp(
  `\\b((?:proxy-)?authorization|cookie|set-cookie|x-api-key|x-auth-token|${SECRET_KEY})(\\s*:\\s*)([^\\r\\n,"]+)`,
  'gi',
);
// password=abc, token="abc", --password abc in command lines and configs
const KEY_VALUE = new RegExp(`(\\b${SECRET_KEY}\\s*=\\s*)("[^"]*"|'[^']*'|[^\\s&,;"']+)`, 'gi');
// proxy_set_header Authorization "Basic …"; fastcgi_param DB_PASSWORD secret; (nginx -T output)
const NGINX_DIRECTIVE = new RegExp(
  `(\\b(?:proxy_set_header|add_header|grpc_set_header|fastcgi_param|uwsgi_param|scgi_param|proxy_ssl_password_file|auth_basic_user_file)\\s+["']?(?:(?:proxy-)?authorization|cookie|x-api-key|x-auth-token|${SECRET_KEY})["']?\\s+)("[^"]*"|'[^']*'|[^\\s;]+)`,
  'gi',
);
const JSON_FIELD = new RegExp(`("${SECRET_KEY}"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');

/** Redacts secrets in free text. Idempotent: redacting twice gives the same text. */
export function redactText(text: string): string {
  if (text.length === 0) return text;
  return text
    .replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`)
    .replace(QUERY_PARAM, (_m, key: string) => `${key}${REDACTED}`)
    .replace(NGINX_DIRECTIVE, (m, head: string, value: string) =>
      value.replace(/^["']|["']$/g, '') === REDACTED ? m : `${head}"${REDACTED}"`,
    )
    .replace(JSON_FIELD, (_m, key: string) => `${key}"${REDACTED}"`)
    .replace(HEADER, (m, name: string, sep: string, value: string) =>
      value.trim() === REDACTED ? m : `${name}${sep}${REDACTED}`,
    )
    .replace(KEY_VALUE, (m, key: string, value: string) => (value === REDACTED ? m : `${key}${REDACTED}`));
}

/** Redacts a header map: sensitive header names lose their value entirely. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const sensitive = new RegExp(
    `^(?:(?:proxy-)?authorization|cookie|set-cookie|x-api-key|x-auth-token|${SECRET_KEY})$`,
    'i',
  );
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name,
      sensitive.test(name) ? REDACTED : redactText(value),
    ]),
  );
}
