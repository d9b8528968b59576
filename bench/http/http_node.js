// HTTP benchmark peer: Node.js's http module (see bench/run_http.py).
//
// Usage: node http_node.js [PORT]   (PORT defaults to $PORT; listens on 127.0.0.1:PORT;
// prints nothing; SIGTERM ends it)
//
//   GET /plaintext -> "Hello, World!"               (text/plain)
//   GET /json      -> {"message":"Hello, World!"}   (application/json, encoded per request)
//
// Node adds Date (and keep-alive headers) itself; it sends no Server header unless told,
// so the handlers add one, as every other peer sends one.
'use strict';
const http = require('http');

const port = Number(process.argv[2] ?? process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node http_node.js PORT (or PORT in the environment)');
  process.exit(2);
}

const HELLO = 'Hello, World!';

function reply(res, contentType, body) {
  res.writeHead(200, {
    'Server': 'Node',
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' || req.method === 'HEAD') {
    if (req.url === '/plaintext') return reply(res, 'text/plain', HELLO);
    if (req.url === '/json') return reply(res, 'application/json', JSON.stringify({ message: HELLO }));
  }
  res.writeHead(404, { 'Server': 'Node', 'Content-Type': 'text/plain', 'Content-Length': 9 });
  res.end('Not Found');
});
// The default (no limit on requests per connection, 5 s keep-alive) suits wrk's
// connections, which stay busy for the whole run.
server.listen({ host: '127.0.0.1', port, backlog: 1024 });
