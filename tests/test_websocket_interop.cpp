// aio's WebSockets against a peer nobody here wrote: Python's `websockets` library
// (Debian python3-websockets, run with /usr/bin/python3), as server for aio's client and as
// client of aio's server, with and without permessage-deflate. A missing peer fails the
// test (scripts/install-deps.sh installs it), as the HTTP interop tests do.
#include <gtest/gtest.h>

#include <aio/aio.hpp>
#include <aio/http.hpp>
#include <aio/subprocess.hpp>
#include <aio/testing.hpp>

#include <unistd.h>

#include <string>
#include <vector>

#include "ws_support.hpp"

namespace {

using aio::http::WSMessage;
using aio::http::WSMsgType;

// An echo server; "/close" sends a greeting and closes with 4000 "bye" instead.
// Prints its port when it listens.
constexpr const char* kPythonServer = R"py(
import asyncio, sys, websockets
async def handler(ws):
    if ws.path == "/close":
        await ws.send("greeting")
        await ws.close(4000, "bye")
        return
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass  # closed with a code Python counts as an error (4100): not this test's concern
async def main():
    compression = None if sys.argv[1] == "none" else "deflate"
    async with websockets.serve(handler, "127.0.0.1", 0, compression=compression, max_size=2**24) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
)py";

// A client of aio's echo server: messages of several sizes, binary, a fragmented text,
// a ping, its own close; then a connection that the server closes.
constexpr const char* kPythonClient = R"py(
import asyncio, sys, websockets
async def main():
    base, compression = sys.argv[1], (None if sys.argv[2] == "none" else "deflate")
    async with websockets.connect(base + "/ws", compression=compression, max_size=2**24) as ws:
        print("extensions", [e.name for e in ws.extensions], flush=True)
        for size in [0, 1, 125, 126, 65535, 65536, 1000000]:
            msg = "".join(chr(97 + i % 26) for i in range(size))
            await ws.send(msg)
            assert await ws.recv() == msg, size
        data = bytes(range(256)) * 4
        await ws.send(data)
        assert await ws.recv() == data
        await ws.send(["frag", "mented ", "\u00fcnic\u00f6de"])
        assert await ws.recv() == "fragmented \u00fcnic\u00f6de"
        await (await ws.ping(b"hi"))
        await ws.close(4001, "client done")
        print("client close", ws.close_code, ws.close_reason, flush=True)
    async with websockets.connect(base + "/close", compression=compression) as ws:
        print("greeting", await ws.recv(), flush=True)
        try:
            await ws.recv()
        except websockets.ConnectionClosed as e:
            print("server close", e.rcvd.code, e.rcvd.reason, flush=True)
asyncio.run(main())
)py";

struct PythonServer {
  std::optional<aio::Process> process;
  int port = 0;
  static aio::Coro<PythonServer> start(std::string compression) {
    std::vector<std::string> argv = {"/usr/bin/python3", "-c", kPythonServer, compression};
    aio::ProcessOptions options{.out = aio::PIPE};
    PythonServer s;
    s.process.emplace(co_await aio::create_subprocess_exec(argv, options));
    const std::string line = co_await aio::wait_for(s.process->out().readline(), 20.0);
    s.port = std::atoi(line.c_str());
    co_return s;
  }
  aio::Coro<void> stop() {
    process->kill();
    (void)co_await process->wait();
  }
};

aio::Coro<void> aio_client_against_python(std::string compression) {
  PythonServer server = co_await PythonServer::start(compression);
  EXPECT_GT(server.port, 0) << "the Python websockets server did not start (is python3-websockets installed?)";
  if (server.port <= 0) co_return;
  const std::string base = "ws://127.0.0.1:" + std::to_string(server.port);
  {
    aio::http::WebSocketClientOptions options{.websocket = {.max_frame_size = 1000}};
    aio::http::ClientWebSocket ws = co_await aio::http::websocket_connect(base + "/echo", options);
    EXPECT_EQ(ws.compressed(), compression == "deflate");
    for (std::size_t size : {0, 1, 125, 126, 65535, 65536, 1000000}) {
      std::string text(size, 'x');
      for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 26);
      co_await ws.send_str(text);
      WSMessage m = co_await ws.receive();
      EXPECT_EQ(m.type, WSMsgType::text);
      EXPECT_TRUE(m.data == text) << size;
    }
    const std::string bytes("\x00\x01\xfe\xff binary", 11);
    co_await ws.send_bytes(std::string_view(bytes.data(), bytes.size()));
    WSMessage b = co_await ws.receive();
    EXPECT_EQ(b.type, WSMsgType::binary);
    EXPECT_EQ(b.data, bytes);
    co_await ws.send_bytes("");
    WSMessage empty = co_await ws.receive();
    EXPECT_EQ(empty.type, WSMsgType::binary) << empty.data << " " << empty.close_code;
    EXPECT_EQ(empty.data, "");
    co_await ws.ping("p");  // answered by the peer, kept out of receive() (autoping)
    co_await ws.send_str("after ping");
    WSMessage a = co_await ws.receive();
    EXPECT_EQ(a.data, "after ping") << static_cast<int>(a.type) << " " << a.close_code;
    EXPECT_TRUE(co_await ws.close(4100, "aio done"));
    EXPECT_EQ(ws.close_code(), 4100);
  }
  {
    aio::http::ClientWebSocket ws = co_await aio::http::websocket_connect(base + "/close");
    WSMessage g = co_await ws.receive();
    EXPECT_EQ(g.data, "greeting");
    WSMessage c = co_await ws.receive();
    EXPECT_EQ(c.type, WSMsgType::close);
    EXPECT_EQ(c.close_code, 4000);
    EXPECT_EQ(c.data, "bye");
  }
  co_await server.stop();
}

AIO_TEST(WebSocketInterop, AioClientPythonServerDeflate) { co_await aio_client_against_python("deflate"); }
AIO_TEST(WebSocketInterop, AioClientPythonServerPlain) { co_await aio_client_against_python("none"); }

// What a peer's client talks to: /ws echoes, /close greets and closes with 4002.
void add_peer_client_routes(aio::http::Application& app) {
  app.router().add_get("/ws", [](aio::http::Request& r) {
    return aio_test::ws_echo(r, aio::http::WebSocketOptions{.max_msg_size = 1 << 24});
  });
  app.router().add_get("/close", [](aio::http::Request& request) -> aio::Coro<aio::http::Response> {
    aio::http::WebSocketResponse ws;
    co_await ws.prepare(request);
    co_await ws.send_str("hello from aio");
    (void)co_await ws.close(4002, "aio says bye");
    co_return ws;
  });
}

aio::Coro<void> python_client_against_aio(std::string compression) {
  aio::http::Application app;
  add_peer_client_routes(app);
  auto site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  std::vector<std::string> argv = {"/usr/bin/python3", "-c", kPythonClient,
                                   "ws://127.0.0.1:" + std::to_string(site.port()), compression};
  aio::ProcessOptions options{.out = aio::PIPE, .err = aio::PIPE};
  aio::Process p = co_await aio::create_subprocess_exec(argv, options);
  auto [out, err] = co_await aio::wait_for(p.communicate(), 60.0);
  EXPECT_EQ(co_await p.wait(), 0) << err;
  const std::string extensions = compression == "deflate" ? "extensions ['permessage-deflate']\n" : "extensions []\n";
  EXPECT_EQ(out, extensions +
                     "client close 4001 client done\n"
                     "greeting hello from aio\n"
                     "server close 4002 aio says bye\n")
      << err;
  site.close();
  co_await site.wait_closed();
}

AIO_TEST(WebSocketInterop, PythonClientAioServerDeflate) { co_await python_client_against_aio("deflate"); }
AIO_TEST(WebSocketInterop, PythonClientAioServerPlain) { co_await python_client_against_aio("none"); }

// --- Node's ws (Debian node-ws; optional: skipped when node or the module is missing) ---

constexpr const char* kNodeWs = "/usr/share/nodejs/ws/index.js";

constexpr const char* kNodeServer = R"js(
const WebSocket = require('/usr/share/nodejs/ws');
const wss = new WebSocket.Server({host: '127.0.0.1', port: 0, perMessageDeflate: process.argv[1] === 'deflate',
                                  maxPayload: 1 << 24}, () => console.log(wss.address().port));
wss.on('connection', (ws, req) => {
  if (req.url === '/close') { ws.send('greeting'); ws.close(4000, 'bye'); return; }
  ws.on('message', (data, isBinary) => ws.send(data, {binary: isBinary}));
});
)js";

constexpr const char* kNodeClient = R"js(
const WebSocket = require('/usr/share/nodejs/ws');
const [base, mode] = process.argv.slice(1);
function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {perMessageDeflate: mode === 'deflate', maxPayload: 1 << 24});
    ws.queue = []; ws.waiters = [];
    ws.on('message', (data, isBinary) => {
      const w = ws.waiters.shift(); if (w) w([data, isBinary]); else ws.queue.push([data, isBinary]);
    });
    ws.closed = new Promise(r => ws.on('close', (code, reason) => r([code, reason.toString()])));
    ws.once('open', () => resolve(ws)); ws.once('error', reject);
  });
}
function next(ws) { return ws.queue.length ? Promise.resolve(ws.queue.shift()) : new Promise(r => ws.waiters.push(r)); }
(async () => {
  const ws = await open(base + '/ws');
  console.log('extensions ' + (ws.extensions || 'none'));
  for (const size of [0, 1, 125, 126, 65535, 65536, 1000000]) {
    const msg = Array.from({length: size}, (_, i) => String.fromCharCode(97 + i % 26)).join('');
    ws.send(msg);
    const [data, isBinary] = await next(ws);
    if (isBinary || data.toString() !== msg) throw new Error('echo mismatch at size ' + size);
  }
  const bytes = Buffer.from([...Array(256).keys()]);
  ws.send(bytes);
  const [b, isBinary] = await next(ws);
  if (!isBinary || !b.equals(bytes)) throw new Error('binary echo mismatch');
  ws.send('frag', {fin: false}); ws.send('mented', {fin: true});
  const [f] = await next(ws);
  if (f.toString() !== 'fragmented') throw new Error('fragmented echo mismatch: ' + f);
  await new Promise(r => { ws.once('pong', r); ws.ping('hi'); });
  ws.close(4001, 'client done');
  const [code, reason] = await ws.closed;
  console.log('client close ' + code + ' ' + reason);
  const ws2 = await open(base + '/close');
  const [g] = await next(ws2);
  console.log('greeting ' + g);
  const [code2, reason2] = await ws2.closed;
  console.log('server close ' + code2 + ' ' + reason2);
})().catch(e => { console.error(e); process.exit(1); });
)js";

bool have_node_ws() { return ::access("/usr/bin/node", X_OK) == 0 && ::access(kNodeWs, R_OK) == 0; }

aio::Coro<void> aio_client_against_node(std::string compression) {
  std::vector<std::string> argv = {"/usr/bin/node", "-e", kNodeServer, compression};
  aio::ProcessOptions options{.out = aio::PIPE};
  aio::Process server = co_await aio::create_subprocess_exec(argv, options);
  const std::string line = co_await aio::wait_for(server.out().readline(), 20.0);
  const int port = std::atoi(line.c_str());
  EXPECT_GT(port, 0) << "the Node ws server did not start";
  if (port > 0) {
    const std::string base = "ws://127.0.0.1:" + std::to_string(port);
    {
      aio::http::ClientWebSocket ws = co_await aio::http::websocket_connect(base + "/echo");
      EXPECT_EQ(ws.compressed(), compression == "deflate");
      for (std::size_t size : {0, 1, 126, 65536, 1000000}) {
        const std::string text(size, 'n');
        co_await ws.send_str(text);
        WSMessage m = co_await ws.receive();
        EXPECT_EQ(m.type, WSMsgType::text);
        EXPECT_TRUE(m.data == text) << size;
      }
      co_await ws.send_bytes("");
      WSMessage e = co_await ws.receive();
      EXPECT_EQ(e.type, WSMsgType::binary);
      EXPECT_TRUE(co_await ws.close(4100, "aio done"));
    }
    {
      aio::http::ClientWebSocket ws = co_await aio::http::websocket_connect(base + "/close");
      WSMessage g = co_await ws.receive();
      EXPECT_EQ(g.data, "greeting");
      WSMessage c = co_await ws.receive();
      EXPECT_EQ(c.type, WSMsgType::close);
      EXPECT_EQ(c.close_code, 4000);
      EXPECT_EQ(c.data, "bye");
    }
  }
  server.kill();
  (void)co_await server.wait();
}

TEST(WebSocketInterop, AioClientNodeWsServer) {
  if (!have_node_ws()) GTEST_SKIP() << "Node's ws is not installed (/usr/bin/node and Debian's node-ws)";
  aio::testing::run_test(aio_client_against_node("deflate"), aio::LoopOptions{});
  aio::testing::run_test(aio_client_against_node("none"), aio::LoopOptions{});
}

aio::Coro<void> node_client_against_aio(std::string compression) {
  aio::http::Application app;
  add_peer_client_routes(app);
  auto site = co_await aio::http::start_server(app, "127.0.0.1", 0);
  std::vector<std::string> argv = {"/usr/bin/node", "-e", kNodeClient, "ws://127.0.0.1:" + std::to_string(site.port()),
                                   compression};
  aio::ProcessOptions options{.out = aio::PIPE, .err = aio::PIPE};
  aio::Process p = co_await aio::create_subprocess_exec(argv, options);
  auto [out, err] = co_await aio::wait_for(p.communicate(), 60.0);
  EXPECT_EQ(co_await p.wait(), 0) << err;
  const std::string extensions = compression == "deflate" ? "extensions permessage-deflate\n" : "extensions none\n";
  EXPECT_EQ(out, extensions +
                     "client close 4001 client done\n"
                     "greeting hello from aio\n"
                     "server close 4002 aio says bye\n")
      << err;
  site.close();
  co_await site.wait_closed();
}

TEST(WebSocketInterop, NodeWsClientAioServer) {
  if (!have_node_ws()) GTEST_SKIP() << "Node's ws is not installed (/usr/bin/node and Debian's node-ws)";
  aio::testing::run_test(node_client_against_aio("deflate"), aio::LoopOptions{});
  aio::testing::run_test(node_client_against_aio("none"), aio::LoopOptions{});
}

}  // namespace
