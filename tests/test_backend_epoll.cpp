// The I/O backend seam with epoll behind it: operations complete at once when they can,
// park when they would block, complete from poll() on readiness, and cancel cleanly.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <aio/testing.hpp>

#include "io/operation.hpp"

namespace {

using aio::detail::IoAwaiter;
using aio::detail::IoHandle;
using aio::detail::IoKind;
using aio::detail::IoOp;

IoOp make_op(IoKind kind, void* buf = nullptr, std::size_t len = 0) {
  IoOp op;
  op.kind = kind;
  op.buffer = buf;
  op.length = len;
  return op;
}

std::pair<IoHandle, IoHandle> socket_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  aio::EventLoop& loop = aio::get_running_loop();
  return {IoHandle(loop, fds[0]), IoHandle(loop, fds[1])};
}

aio::Coro<std::int64_t> recv_some(IoHandle& h, std::string& out, std::size_t n) {
  out.resize(n);
  std::int64_t r = co_await IoAwaiter(h, make_op(IoKind::recv, out.data(), n));
  out.resize(r > 0 ? static_cast<std::size_t>(r) : 0);
  co_return r;
}

aio::Coro<std::int64_t> send_all(IoHandle& h, std::string_view data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    std::int64_t r =
        co_await IoAwaiter(h, make_op(IoKind::send, const_cast<char*>(data.data() + sent), data.size() - sent));
    if (r < 0) co_return r;
    sent += static_cast<std::size_t>(r);
  }
  co_return static_cast<std::int64_t>(sent);
}

}  // namespace

AIO_TEST(BackendEpoll, NameIsEpoll) {
  EXPECT_EQ(aio::get_running_loop().backend_name(), "epoll");
  co_return;
}

AIO_TEST(BackendEpoll, RecvCompletesAtOnceWhenDataIsThere) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  AIO_ASSERT_EQ(::send(b.fd(), "hello", 5, 0), 5);
  std::string got;
  std::int64_t r = co_await recv_some(a, got, 64);
  EXPECT_EQ(r, 5);
  EXPECT_EQ(got, "hello");
}

AIO_TEST(BackendEpoll, RecvParksUntilDataArrives) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  std::string got;
  auto reader = aio::create_task(recv_some(a, got, 64));
  co_await aio::sleep(0);  // the reader parks: nothing to read
  EXPECT_FALSE(reader.done());
  auto writer = aio::create_task(send_all(b, "ping"));
  EXPECT_EQ(co_await writer, 4);
  EXPECT_EQ(co_await reader, 4);
  EXPECT_EQ(got, "ping");
}

AIO_TEST(BackendEpoll, ReadersAreServedInFifoOrder) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  std::string first, second;
  auto r1 = aio::create_task(recv_some(a, first, 3));
  auto r2 = aio::create_task(recv_some(a, second, 3));
  co_await aio::sleep(0);
  AIO_ASSERT_EQ(::send(b.fd(), "abcdef", 6, 0), 6);
  co_await aio::gather(r1, r2);
  EXPECT_EQ(first, "abc");
  EXPECT_EQ(second, "def");
}

AIO_TEST(BackendEpoll, EofGivesZero) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  std::string got;
  auto reader = aio::create_task(recv_some(a, got, 16));
  co_await aio::sleep(0);
  b.close();
  EXPECT_EQ(co_await reader, 0);
}

AIO_TEST(BackendEpoll, CancelParkedRecvLosesNoBytes) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  std::string got;
  auto reader = aio::create_task(recv_some(a, got, 16));
  co_await aio::sleep(0);
  EXPECT_TRUE(reader.cancel());
  try {
    co_await reader;
    ADD_FAILURE() << "expected CancelledError";
  } catch (const aio::CancelledError&) {
  }
  EXPECT_TRUE(reader.cancelled());
  // Data sent after the cancel is still there for the next reader.
  AIO_ASSERT_EQ(::send(b.fd(), "later", 5, 0), 5);
  std::string again;
  EXPECT_EQ(co_await recv_some(a, again, 16), 5);
  EXPECT_EQ(again, "later");
}

AIO_TEST(BackendEpoll, CancelOneOfTwoParkedReadersKeepsTheOther) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  std::string first, second;
  auto r1 = aio::create_task(recv_some(a, first, 8));
  auto r2 = aio::create_task(recv_some(a, second, 8));
  co_await aio::sleep(0);
  r1.cancel();
  co_await aio::sleep(0);
  EXPECT_TRUE(r1.cancelled());
  AIO_ASSERT_EQ(::send(b.fd(), "x", 1, 0), 1);
  EXPECT_EQ(co_await r2, 1);
  EXPECT_EQ(second, "x");
}

AIO_TEST(BackendEpoll, SendParksWhenBufferIsFullAndResumesWhenDrained) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  int small = 4096;
  ::setsockopt(a.fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::string big(1 << 20, 'z');
  auto writer = aio::create_task(send_all(a, big));
  co_await aio::sleep(0);
  EXPECT_FALSE(writer.done());  // 1 MiB cannot fit: it parked
  std::size_t total = 0;
  std::string chunk;
  while (total < big.size()) {
    std::int64_t r = co_await recv_some(b, chunk, 65536);
    AIO_ASSERT_GT(r, 0);
    total += static_cast<std::size_t>(r);
  }
  EXPECT_EQ(co_await writer, static_cast<std::int64_t>(big.size()));
}

AIO_TEST(BackendEpoll, SendToClosedPeerGivesEpipeWithoutSigpipe) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  b.close();
  std::int64_t r = co_await send_all(a, "data");
  EXPECT_EQ(r, -EPIPE);  // and the process is still alive: MSG_NOSIGNAL
}

AIO_TEST(BackendEpoll, AcceptAndConnectOverLoopback) {
  aio::EventLoop& loop = aio::get_running_loop();
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  AIO_ASSERT_GE(lfd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  AIO_ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  AIO_ASSERT_EQ(::listen(lfd, 16), 0);
  socklen_t len = sizeof addr;
  AIO_ASSERT_EQ(::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  IoHandle listener(loop, lfd);

  auto acceptor = aio::create_task([](IoHandle& l) -> aio::Coro<std::int64_t> {
    co_return co_await IoAwaiter(l, make_op(IoKind::accept));
  }(listener));
  co_await aio::sleep(0);
  EXPECT_FALSE(acceptor.done());  // parked: no client yet

  int cfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  IoHandle client(loop, cfd);
  IoOp connect = make_op(IoKind::connect);
  connect.addr = reinterpret_cast<sockaddr*>(&addr);
  connect.addrlen = sizeof addr;
  EXPECT_EQ(co_await IoAwaiter(client, connect), 0);

  std::int64_t served = co_await acceptor;
  AIO_ASSERT_GE(served, 0);
  IoHandle server(loop, static_cast<int>(served));
  EXPECT_TRUE(::fcntl(server.fd(), F_GETFL) & O_NONBLOCK);
  EXPECT_EQ(co_await send_all(client, "over tcp"), 8);
  std::string got;
  EXPECT_EQ(co_await recv_some(server, got, 64), 8);
  EXPECT_EQ(got, "over tcp");
}

AIO_TEST(BackendEpoll, ConnectRefusedGivesEconnrefused) {
  aio::EventLoop& loop = aio::get_running_loop();
  // Find a port with nobody listening: bind, read the port, close.
  int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(probe);

  IoHandle client(loop, ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  IoOp connect = make_op(IoKind::connect);
  connect.addr = reinterpret_cast<sockaddr*>(&addr);
  connect.addrlen = sizeof addr;
  EXPECT_EQ(co_await IoAwaiter(client, connect), -ECONNREFUSED);
}

AIO_TEST(BackendEpoll, PollReadableAndWritable) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  EXPECT_EQ(co_await IoAwaiter(a, make_op(IoKind::poll_writable)), 0);
  auto waiter = aio::create_task([](IoHandle& h) -> aio::Coro<std::int64_t> {
    co_return co_await IoAwaiter(h, make_op(IoKind::poll_readable));
  }(a));
  co_await aio::sleep(0);
  EXPECT_FALSE(waiter.done());
  AIO_ASSERT_EQ(::send(b.fd(), "!", 1, 0), 1);
  EXPECT_EQ(co_await waiter, 0);
  char c;
  EXPECT_EQ(::recv(a.fd(), &c, 1, 0), 1);  // poll did not consume the byte
}

AIO_TEST(BackendEpoll, PipeReadWrite) {
  int p[2];
  AIO_ASSERT_EQ(::pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
  aio::EventLoop& loop = aio::get_running_loop();
  IoHandle r(loop, p[0]), w(loop, p[1]);
  char buf[16];
  auto reader = aio::create_task([](IoHandle& h, char* out) -> aio::Coro<std::int64_t> {
    co_return co_await IoAwaiter(h, make_op(IoKind::read, out, 16));
  }(r, buf));
  co_await aio::sleep(0);
  EXPECT_FALSE(reader.done());
  char msg[] = "pipe";
  EXPECT_EQ(co_await IoAwaiter(w, make_op(IoKind::write, msg, 4)), 4);
  EXPECT_EQ(co_await reader, 4);
  EXPECT_EQ(std::string(buf, 4), "pipe");
}

AIO_TEST(BackendEpoll, ClosingAHandleCompletesItsParkedOpsWithEbadf) {
  auto pair = socket_pair();
  std::string got;
  auto reader = aio::create_task(recv_some(pair.first, got, 16));
  co_await aio::sleep(0);
  AIO_ASSERT_FALSE(reader.done());
  pair.first.close();  // the parked recv must not be left pointing at a dead registration
  EXPECT_EQ(co_await reader, -EBADF);
}

TEST(BackendEpollPlain, LoopDestroyedWithATaskParkedInRecvCleansUp) {
  // The loop goes away while a task waits in recv: the handle (declared after the loop,
  // so closed first) completes the op, then the loop destroys the pending task. ASan
  // checks that nothing touches freed memory; the fd count checks that nothing leaks.
  int before = aio::testing::count_open_fds();
  {
    aio::EventLoop loop;
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    IoHandle parked(loop, fds[0]);
    IoHandle peer(loop, fds[1]);
    std::string got;
    aio::Task<std::int64_t> reader = loop.create_task(recv_some(parked, got, 16));
    loop.run_until_complete([]() -> aio::Coro<void> { co_await aio::sleep(0); }());
    EXPECT_FALSE(reader.done());
  }
  EXPECT_EQ(aio::testing::count_open_fds(), before);
}

TEST(BackendEpollPlain, LoopDestroyedWhileTheOpIsStillParked) {
  // Same, but the handle outlives the loop's tasks: the task's frame is destroyed with
  // the op still parked, and its awaiter takes the op back out of the backend.
  int before = aio::testing::count_open_fds();
  {
    auto loop = std::make_unique<aio::EventLoop>();
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    IoHandle parked(*loop, fds[0]);
    IoHandle peer(*loop, fds[1]);
    std::string got;
    {
      aio::Task<std::int64_t> reader = loop->create_task(recv_some(parked, got, 16));
      loop->run_until_complete([]() -> aio::Coro<void> { co_await aio::sleep(0); }());
      EXPECT_FALSE(reader.done());
    }
    // Destroy the pending task's frame (its IoAwaiter cancels the parked op) while the
    // backend is still alive, then close the handles, then the loop.
    loop->close();
    aio::detail::LoopAccess::destroy_pending_tasks(*loop);
    parked.close();
    peer.close();
    loop.reset();
  }
  EXPECT_EQ(aio::testing::count_open_fds(), before);
}
