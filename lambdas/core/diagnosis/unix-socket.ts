/** The upstream's unix socket: `unix-socket-missing` and `unix-socket-permission`. */
import type { FailureGroup } from '../nginx/error-log.ts';
import { baseCause, type Cause, type Context, withServiceSteps } from './context.ts';

export function socketMissingCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'unix-socket-missing', 0.9);
  const path = group.peer?.replace(/^unix:/, '');
  const facts = ctx.factsFor(group.peer);
  const socket = facts?.sockets.find((s) => s.path === path);
  if (socket && !socket.exists) {
    cause.confidence = 0.95;
    cause.findings.push({
      category: 'unix-socket-missing',
      severity: 'critical',
      title: `${path} does not exist`,
      evidence: [{ source: 'stat', excerpt: `stat ${path}: No such file or directory` }],
    });
  } else if (socket?.exists) {
    cause.confidence = 0.6;
    cause.findings.push({
      category: 'unix-socket-missing',
      severity: 'info',
      title: `${path} exists now (the upstream has recreated it)`,
      evidence: [
        {
          source: 'stat',
          excerpt: `${socket.mode ?? ''} ${socket.owner ?? ''}:${socket.group ?? ''} ${path}`,
        },
      ],
    });
  }
  cause.summary = `The upstream's unix socket ${path} is missing (${group.count}×): the service that creates it is not running, or it creates it elsewhere.`;
  cause.nextSteps.push(
    `Start the service that creates ${path} and check its socket path matches nginx's (\`ls -l ${path}\`).`,
  );
  return withServiceSteps(cause, ctx.upstreamConfig(group.peer)?.service, facts?.service);
}

export function socketPermissionCause(ctx: Context, group: FailureGroup): Cause {
  const cause = baseCause(ctx, group, 'unix-socket-permission', 0.9);
  const path = group.peer?.replace(/^unix:/, '');
  const facts = ctx.factsFor(group.peer);
  const socket = facts?.sockets.find((s) => s.path === path);
  const worker = facts?.workerUser ?? 'the nginx worker user';
  if (socket?.exists) {
    cause.confidence = socket.accessibleToWorker === false ? 0.95 : 0.75;
    cause.findings.push({
      category: 'unix-socket-permission',
      severity: socket.accessibleToWorker === false ? 'critical' : 'info',
      title:
        socket.accessibleToWorker === false
          ? `${worker} may not open ${socket.blockingPath ?? path}`
          : `${path} looks accessible to ${worker} now`,
      evidence: [
        {
          source: 'stat',
          excerpt: `${socket.mode ?? '?'} ${socket.owner ?? '?'}:${socket.group ?? '?'} ${path}`,
        },
      ],
    });
  }
  cause.summary = `nginx's worker (${worker}) is denied access to the upstream socket ${path} (${group.count}×)${socket?.blockingPath && socket.blockingPath !== path ? `: the directory ${socket.blockingPath} blocks it` : socket?.mode ? `: it is ${socket.mode} ${socket.owner}:${socket.group}` : ''}.`;
  cause.nextSteps.push(
    `Let ${worker} write to the socket: create it with mode 0660 and group ${worker === 'the nginx worker user' ? 'of the worker' : worker} (e.g. \`listen.owner\`/\`listen.group\`/\`listen.mode\` for php-fpm, \`--chmod-socket=660\` for uwsgi, \`--umask\` for gunicorn), or add ${worker} to the socket's group; every parent directory needs search (x) permission.`,
  );
  return cause;
}
