// Echo benchmark peer: Node.js's net module (see bench/run_echo.py).
//
// Usage: node echo_node.js PORT   (listens on 127.0.0.1:PORT; prints nothing; SIGTERM ends it)
//
// Each 'data' chunk (libuv reads up to 64 KiB) is written back; when the socket's buffer
// is full (write() returns false) reading pauses until 'drain'. TCP_NODELAY is set, as
// aio, asyncio and Go set it.
'use strict';
const net = require('net');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node echo_node.js PORT');
  process.exit(2);
}

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.setNoDelay(true);
  socket.on('data', (chunk) => {
    if (!socket.write(chunk)) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
  socket.on('error', () => {}); // the client went away mid-request
});
server.listen({ host: '127.0.0.1', port, backlog: 1024 });
