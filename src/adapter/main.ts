// Entry of the stand-alone debug adapter (dist/adapter.js): DAP over stdio by
// default, or a TCP server with --server=PORT (one session per connection),
// for tests and for users who want the adapter in its own process.

import { createServer } from 'node:net';
import { VmscopeSession } from './session';

function main(): void {
  const serverArg = process.argv.find((a) => a.startsWith('--server='));
  if (serverArg) {
    const port = Number(serverArg.slice('--server='.length));
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write(`vmscope adapter: --server expects a port number, got "${serverArg}"\n`);
      process.exit(2);
    }
    const server = createServer((socket) => {
      const session = new VmscopeSession();
      session.setRunAsServer(true);
      session.start(socket, socket);
    }).listen(port, '127.0.0.1', () => {
      const addr = server.address();
      process.stderr.write(`vmscope adapter listening on 127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}\n`);
    });
    return;
  }
  const session = new VmscopeSession();
  process.on('SIGTERM', () => session.shutdown());
  session.start(process.stdin, process.stdout);
}

main();
