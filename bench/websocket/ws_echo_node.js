// The WebSocket echo benchmark's Node peer: Debian's node-ws. Usage: node ws_echo_node.js PORT
const WebSocket = require('/usr/share/nodejs/ws');
const wss = new WebSocket.Server({host: '127.0.0.1', port: Number(process.argv[2]), maxPayload: 1 << 24});
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, {binary: isBinary})));
