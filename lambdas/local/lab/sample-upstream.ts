// A sample upstream for the lab: one process, one behaviour, chosen by flags. Prints "ready" when listening.
//   node sample-upstream.ts --mode ok|slow|close|garbage|big-header [--port N | --socket PATH --socket-mode 600]
//        [--delay-ms 3000] [--label NAME]
// `--label` only makes the process findable by its command line (the `process` service hint).
import { chmodSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'ok' },
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    socket: { type: 'string' },
    'socket-mode': { type: 'string' },
    'delay-ms': { type: 'string', default: '3000' },
    label: { type: 'string' },
  },
});

const mode = values.mode;
const delayMs = Number(values['delay-ms']);

// ok, slow and big-header are a real HTTP server (it answers a TLS ClientHello with 400, as any would);
// close and garbage misbehave below HTTP, on the raw socket.
const server =
  mode === 'close' || mode === 'garbage'
    ? createNetServer((socket) => {
        socket.on('error', () => {});
        socket.once('data', () => {
          if (mode === 'close')
            socket.destroy(); // accepted, then dropped: a crash mid-request
          else socket.end('SSH-2.0-OpenSSH_9.2 this is not HTTP\r\n\r\n');
        });
      })
    : createHttpServer((_request, response) => {
        if (mode === 'slow') {
          setTimeout(() => response.end('slow ok\n'), delayMs).unref();
        } else if (mode === 'big-header') {
          response.setHeader('Set-Cookie', `session=${'x'.repeat(64 * 1024)}`);
          response.end('big\n');
        } else {
          response.end('ok\n');
        }
      });

if (values.socket) {
  rmSync(values.socket, { force: true });
  server.listen(values.socket, () => {
    if (values['socket-mode']) chmodSync(values.socket!, Number.parseInt(values['socket-mode'], 8));
    process.stdout.write('ready\n');
  });
} else {
  server.listen(Number(values.port), values.host, () => process.stdout.write('ready\n'));
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
