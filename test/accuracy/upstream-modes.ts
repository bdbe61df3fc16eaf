// Upstream behaviours the lab's sample upstream does not have, for the accuracy scenarios. One process,
// one behaviour, prints "ready" when listening:
//   node upstream-modes.ts --mode status|big-body|hog --port N | --socket PATH [--status 502]
//   status:   a real HTTP server that answers every request with --status itself (the app's own 502/503/504)
//   big-body: answers 200 with a 2 MiB body (nginx buffers it to proxy_temp_path)
//   hog:      answers 200; GET /grow allocates memory until the kernel kills the process
import { chmodSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'status' },
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    socket: { type: 'string' },
    status: { type: 'string', default: '502' },
  },
});

const hoard: Buffer[] = [];

const body = Buffer.alloc(2 * 1024 * 1024, 'x');
const server = createServer((request, response) => {
  if (values.mode === 'status') {
    response.statusCode = Number(values.status);
    response.end(`the application answered ${values.status} itself\n`);
  } else if (values.mode === 'big-body') {
    response.setHeader('Content-Type', 'text/plain');
    response.end(body);
  } else if (values.mode === 'hog' && request.url === '/grow') {
    for (;;) hoard.push(Buffer.alloc(1 << 20, 1));
  } else {
    response.end('ok\n');
  }
});
const ready = () => process.stdout.write('ready\n');
if (values.socket) {
  rmSync(values.socket, { force: true });
  server.listen(values.socket, () => {
    chmodSync(values.socket!, 0o777);
    ready();
  });
} else {
  server.listen(Number(values.port), values.host, ready);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
