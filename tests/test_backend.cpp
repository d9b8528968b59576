// The I/O backend seam, run against every backend (epoll, io_uring where the kernel has
// it, and the delaying test backend): operations complete, park while they must wait,
// keep FIFO order per fd, cancel without losing data, and leave nothing behind when an
// fd is closed or a frame destroyed with an operation in flight.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <aio/testing.hpp>

#include "io/operation.hpp"
#include "net_support.hpp"
#include "support.hpp"
#ifdef AIO_HAVE_IO_URING
#include "backend/io_uring.hpp"
#endif

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

// A non-blocking TCP socket listening on 127.0.0.1 (an ephemeral port, written to addr).
int listening_socket(sockaddr_in& addr, int backlog) {
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  addr = sockaddr_in{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, backlog) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::system_error(errno, std::generic_category(), "listening socket");
  return lfd;
}

// The backend the current test runs on ("epoll", "io_uring", "test_delay").
std::string current_backend;

aio::LoopOptions options_for(const std::string& which) {
  aio::LoopOptions o;
  if (which == "epoll") o.backend = aio::Backend::epoll;
  if (which == "io_uring") o.backend = aio::Backend::io_uring;
  return o;  // test_delay: automatic, with AIO_BACKEND=test_delay set around the test
}

class Backends : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    current_backend = GetParam();
    if (current_backend == "test_delay") env_.emplace("AIO_BACKEND", "test_delay");
    if (current_backend == "io_uring") {
      try {
        aio::EventLoop probe(options_for("io_uring"));
      } catch (const std::exception& e) {
        GTEST_SKIP() << "io_uring is not available here: " << e.what();
      }
    }
  }
  std::optional<aio_test::ScopedEnv> env_;
};

#define BACKEND_TEST(Name)                                                                                \
  static aio::Coro<void> backend_test_body_##Name();                                                      \
  TEST_P(Backends, Name) { aio::testing::run_test(backend_test_body_##Name(), options_for(GetParam())); } \
  static aio::Coro<void> backend_test_body_##Name()

// A select_buffer receive, as streams do it: the backend lends the memory; the bytes are
// copied out in the completion. `buffer_ids` (when given) collects the buffers lent.
class SelectRecv final : public IoAwaiter<SelectRecv> {
 public:
  SelectRecv(IoHandle& h, std::string& out, std::set<int>* buffer_ids = nullptr) noexcept
      : IoAwaiter(h, op()), out_(out), buffer_ids_(buffer_ids) {}

 private:
  friend class IoAwaiter<SelectRecv>;
  static IoOp op() noexcept {
    IoOp o = make_op(IoKind::recv);
    o.select_buffer = true;
    o.length = aio::detail::kSelectBufferSize;
    return o;
  }
  bool store_result(IoOp& o) noexcept {
    if (o.result > 0) out_.append(static_cast<const char*>(o.buffer), static_cast<std::size_t>(o.result));
    if (buffer_ids_ && o.result > 0 && o.buffer_id >= 0) buffer_ids_->insert(o.buffer_id);
    return false;
  }
  std::string& out_;
  std::set<int>* buffer_ids_;
};

aio::Coro<std::int64_t> select_recv(IoHandle& h, std::string& out) { co_return co_await SelectRecv(h, out); }
aio::Coro<std::int64_t> select_recv_noting_buffers(IoHandle& h, std::string& out, std::set<int>& ids) {
  co_return co_await SelectRecv(h, out, &ids);
}

#ifdef AIO_HAVE_IO_URING
aio::detail::IoUringBackend* uring_backend() {
  return dynamic_cast<aio::detail::IoUringBackend*>(&aio::detail::LoopAccess::backend(aio::get_running_loop()));
}
#endif

}  // namespace

INSTANTIATE_TEST_SUITE_P(, Backends, ::testing::Values("epoll", "io_uring", "test_delay"),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

BACKEND_TEST(NameIsTheOneAskedFor) {
  EXPECT_EQ(aio::get_running_loop().backend_name(), current_backend);
  co_return;
}

BACKEND_TEST(RecvCompletesWhenDataIsThere) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  AIO_ASSERT_EQ(::send(b.fd(), "hello", 5, 0), 5);
  std::string got;
  std::int64_t r = co_await recv_some(a, got, 64);
  EXPECT_EQ(r, 5);
  EXPECT_EQ(got, "hello");
}

BACKEND_TEST(RecvParksUntilDataArrives) {
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

BACKEND_TEST(ReadersAreServedInFifoOrder) {
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

// wait_only: the op completes (with 0) when there is something to take and takes
// nothing; a no_wait select-buffer receive then takes it. It may be spurious (the take
// finds nothing): the caller waits again.
// The waiting half, as streams do it: a wait that ended ready took nothing, so a
// cancellation that came meanwhile may win (store_result says so).
class WaitOnlyRecv final : public IoAwaiter<WaitOnlyRecv> {
 public:
  explicit WaitOnlyRecv(IoHandle& h) noexcept : IoAwaiter(h, op()) {}
  static IoOp op() noexcept {
    IoOp o = make_op(IoKind::recv);
    o.select_buffer = true;
    o.wait_only = true;
    o.length = aio::detail::kSelectBufferSize;
    return o;
  }

 private:
  friend class IoAwaiter<WaitOnlyRecv>;
  bool store_result(IoOp& o) noexcept { return o.result >= 0; }
};

aio::Coro<std::int64_t> wait_then_take(IoHandle& h, std::string& out) {
  for (;;) {
    const std::int64_t ready = co_await WaitOnlyRecv(h);
    if (ready != 0) co_return ready;
    IoOp take = WaitOnlyRecv::op();
    take.wait_only = false;
    take.no_wait = true;
    h.backend().submit(h.registration(), take);
    if (take.result > 0) out.append(static_cast<const char*>(take.buffer), static_cast<std::size_t>(take.result));
    if (take.result != -EAGAIN) co_return take.result;
  }
}

BACKEND_TEST(WaitOnlyTakesNothingUntilTheReaderTakesIt) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  std::string got;
  auto reader = aio::create_task(wait_then_take(a, got));
  co_await aio::sleep(0);  // it parks: nothing to read
  EXPECT_FALSE(reader.done());
  AIO_ASSERT_EQ(::send(b.fd(), "first", 5, 0), 5);
  EXPECT_EQ(co_await reader, 5);
  EXPECT_EQ(got, "first");
  // Bytes already there: ready at once or soon, and still all there for the take.
  AIO_ASSERT_EQ(::send(b.fd(), "second", 6, 0), 6);
  got.clear();
  EXPECT_EQ(co_await wait_then_take(a, got), 6);
  EXPECT_EQ(got, "second");
  // A wait cancelled after its readiness took nothing: the next receive gets the bytes.
  got.clear();
  auto waiter = aio::create_task(wait_then_take(a, got));
  co_await aio::sleep(0);
  AIO_ASSERT_EQ(::send(b.fd(), "third", 5, 0), 5);
  co_await aio::sleep(0);
  waiter.cancel();
  const std::exception_ptr e = co_await aio_test::error_of(waiter);
  if (e) {  // cancelled, having taken nothing
    EXPECT_TRUE(aio_test::holds<aio::CancelledError>(e));
    EXPECT_EQ(got, "");
    const std::int64_t r = co_await aio::wait_for(wait_then_take(a, got), 5.0);
    EXPECT_EQ(r, 5);
  } else {  // (it ran first after all)
    EXPECT_EQ(waiter.result(), 5);
  }
  EXPECT_EQ(got, "third");
  // EOF: ready, and the take says 0.
  b.close();
  EXPECT_EQ(co_await wait_then_take(a, got), 0);
}

BACKEND_TEST(EofGivesZero) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  std::string got;
  auto reader = aio::create_task(recv_some(a, got, 16));
  co_await aio::sleep(0);
  b.close();
  EXPECT_EQ(co_await reader, 0);
}

BACKEND_TEST(CancelParkedRecvLosesNoBytes) {
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

BACKEND_TEST(CancelOneOfTwoParkedReadersKeepsTheOther) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  std::string first, second;
  auto r1 = aio::create_task(recv_some(a, first, 8));
  auto r2 = aio::create_task(recv_some(a, second, 8));
  co_await aio::sleep(0);
  r1.cancel();
  co_await aio_test::until_done(r1);  // (a completion backend reports the cancel later)
  EXPECT_TRUE(r1.cancelled());
  AIO_ASSERT_EQ(::send(b.fd(), "x", 1, 0), 1);
  EXPECT_EQ(co_await r2, 1);
  EXPECT_EQ(second, "x");
}

BACKEND_TEST(SendParksWhenBufferIsFullAndResumesWhenDrained) {
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

BACKEND_TEST(SendToClosedPeerGivesEpipeWithoutSigpipe) {
  auto pair = socket_pair();  // (Clang 14 cannot capture structured bindings in lambdas)
  auto& a = pair.first;
  auto& b = pair.second;
  b.close();
  std::int64_t r = co_await send_all(a, "data");
  EXPECT_EQ(r, -EPIPE);  // and the process is still alive: MSG_NOSIGNAL
}

BACKEND_TEST(AcceptAndConnectOverLoopback) {
  aio::EventLoop& loop = aio::get_running_loop();
  sockaddr_in addr;
  int lfd = listening_socket(addr, 16);
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

BACKEND_TEST(ConnectRefusedGivesEconnrefused) {
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

BACKEND_TEST(PollReadableAndWritable) {
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

BACKEND_TEST(PipeReadWrite) {
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

BACKEND_TEST(ClosingAHandleCompletesItsParkedOpsWithEbadf) {
  auto pair = socket_pair();
  std::string got;
  auto reader = aio::create_task(recv_some(pair.first, got, 16));
  co_await aio::sleep(0);
  AIO_ASSERT_FALSE(reader.done());
  pair.first.close();  // the parked recv must not be left pointing at a dead registration
  EXPECT_EQ(co_await reader, -EBADF);
}

TEST_P(Backends, LoopDestroyedWithATaskParkedInRecvCleansUp) {
  // The loop goes away while a task waits in recv: the handle (declared after the loop,
  // so closed first) completes the op, then the loop destroys the pending task. ASan
  // checks that nothing touches freed memory; the fd count checks that nothing leaks.
  int before = aio::testing::count_open_fds();
  {
    aio::EventLoop loop(options_for(GetParam()));
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

TEST_P(Backends, LoopDestroyedWhileTheOpIsStillParked) {
  // Same, but the handle outlives the loop's tasks: the task's frame is destroyed with
  // the op still parked, and its awaiter takes the op back out of the backend.
  int before = aio::testing::count_open_fds();
  {
    auto loop = std::make_unique<aio::EventLoop>(options_for(GetParam()));
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

namespace {
// An op whose completion is recorded, submitted straight to the loop's backend.
struct RecordedOp : IoOp {
  std::vector<std::int64_t>* results = nullptr;
  static void record(IoOp* op) noexcept {
    auto* self = static_cast<RecordedOp*>(op);
    self->results->push_back(self->result);
  }
};
}  // namespace

TEST_P(Backends, ClosingTheLoopCompletesWhatIsStillInFlight) {
  // A receive with nothing to receive and a send into a full socket are still in flight
  // when the loop closes: close() completes both, with -ECANCELED, so that their owners
  // let go (a connection's pending send keeps it alive until its completion).
  aio::EventLoop loop(options_for(GetParam()));
  int fds[4];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds + 2), 0);
  IoHandle a(loop, fds[0]);  // receives nothing: its peer stays silent
  IoHandle a_peer(loop, fds[1]);
  IoHandle b(loop, fds[2]);  // sends into a socket nobody reads
  IoHandle b_peer(loop, fds[3]);
  std::vector<std::int64_t> results;
  char in[16];
  RecordedOp recv;
  static_cast<IoOp&>(recv) = make_op(IoKind::recv, in, sizeof in);
  recv.results = &results;
  recv.on_complete = &RecordedOp::record;
  ASSERT_FALSE(a.backend().submit(a.registration(), recv));
  std::string chunk(64 * 1024, 'x');
  while (::send(fds[2], chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) {
  }
  RecordedOp send;
  static_cast<IoOp&>(send) = make_op(IoKind::send, chunk.data(), chunk.size());
  send.results = &results;
  send.on_complete = &RecordedOp::record;
  ASSERT_FALSE(b.backend().submit(b.registration(), send));  // the socket is full
  ASSERT_TRUE(send.in_flight);
  EXPECT_EQ(a.backend().in_flight(), 2u);
  loop.close();
  EXPECT_FALSE(recv.in_flight);
  EXPECT_FALSE(send.in_flight);
  EXPECT_EQ(results, (std::vector<std::int64_t>{-ECANCELED, -ECANCELED}));
}

namespace {
aio::Coro<void> one_exchange() {
  auto pair = socket_pair();
  EXPECT_EQ(co_await send_all(pair.first, "ping"), 4);
  std::string got;
  EXPECT_EQ(co_await recv_some(pair.second, got, 16), 4);
  EXPECT_EQ(got, "ping");
}

// Runs one_exchange() on `loop` from a new thread; what it threw, if anything.
std::exception_ptr exchange_on_a_new_thread(aio::EventLoop& loop) {
  std::exception_ptr error;
  std::thread([&] {
    try {
      loop.run_until_complete(one_exchange());
    } catch (...) {
      error = std::current_exception();
    }
  }).join();
  return error;
}
}  // namespace

// Holds a loop that its thread's exit destroys: after the thread's kept-ring slot, when
// the holder was constructed first (thread_locals go in reverse order).
namespace {
struct LoopDestroyedAtThreadExit {
  std::unique_ptr<aio::EventLoop> loop;
};

// Reads a line from a connection of its own, of which the peer sent only half: pending
// when its loop ends, with a block in the stream's buffer.
aio::Coro<void> read_half_a_line() {
  auto c = co_await aio_test::net::connect_to_raw_peer();
  c.peer.send_now("half a line");
  co_await c.reader.readline();
}

// Leaves read_half_a_line() waiting.
aio::Coro<void> leave_a_read_waiting() {
  auto reading = aio::create_task(read_half_a_line());
  co_await aio_test::spin(20);
  EXPECT_FALSE(reading.done());
}
}  // namespace

TEST_P(Backends, ALoopDestroyedAtItsThreadsExitAfterTheThreadLocals) {
  // A loop held by a thread_local constructed before the library's own (its registry,
  // buffer cache, kept io_uring ring) is destroyed after them at the thread's exit. It
  // must not use them then: the ring is closed rather than parked where nobody would
  // release it, and the pending read's memory is freed, not cached (ASan: no use after
  // free; LSan: nothing leaked).
  const int fds_before = aio::testing::count_open_fds();
  const aio::LoopOptions options = options_for(GetParam());
  std::thread([&options] {
    thread_local LoopDestroyedAtThreadExit holder;  // (first: destroyed last)
    holder.loop = std::make_unique<aio::EventLoop>(options);
    holder.loop->run_until_complete(one_exchange());
    holder.loop->run_until_complete(leave_a_read_waiting());
  }).join();
  EXPECT_EQ(aio::testing::count_open_fds(), fds_before) << "a descriptor outlived the thread (a ring parked too late?)";
}

TEST_P(Backends, ALoopRunLaterOnAnotherThread) {
  // asyncio lets a loop run on one thread and later on another. On epoll so does aio. An
  // io_uring ring belongs to the thread that first ran the loop (SINGLE_ISSUER): there
  // the second run stops with a UsageError that says so and what to do.
  aio::EventLoop loop(options_for(GetParam()));
  const std::exception_ptr first = exchange_on_a_new_thread(loop);
  EXPECT_FALSE(first) << aio::describe(first);
  const std::exception_ptr second = exchange_on_a_new_thread(loop);
  if (GetParam() != "io_uring") {
    EXPECT_FALSE(second) << aio::describe(second);
    return;
  }
  ASSERT_TRUE(second);
  try {
    std::rethrow_exception(second);
  } catch (const aio::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("belongs to the thread that first ran the loop"), std::string::npos)
        << e.what();
  } catch (...) {
    ADD_FAILURE() << "expected a UsageError, got " << aio::describe(std::current_exception());
  }
}

// --- completion semantics ----------------------------------------------------------------

BACKEND_TEST(CancelRacingCompletionLosesNoBytes) {
  // The data is there when the cancel is asked for, before the loop has looked: either the
  // cancel wins and the bytes stay for the next receive, or the receive wins and has them.
  auto pair = socket_pair();
  std::string got;
  auto reader = aio::create_task(select_recv(pair.first, got));
  co_await aio::sleep(0);
  AIO_ASSERT_EQ(::send(pair.second.fd(), "raced", 5, 0), 5);
  reader.cancel();
  co_await aio_test::until_done(reader);
  if (got.empty()) {  // (the cancel won: the completion brought no bytes)
    EXPECT_TRUE(reader.cancelled());
    EXPECT_EQ(co_await select_recv(pair.first, got), 5);
  }
  EXPECT_EQ(got, "raced");
}

BACKEND_TEST(ClosingAHandleWithASelectRecvInFlight) {
  auto pair = socket_pair();
  std::string got;
  auto reader = aio::create_task(select_recv(pair.first, got));
  co_await aio::sleep(0);
  AIO_ASSERT_FALSE(reader.done());
  pair.first.close();
  EXPECT_EQ(co_await reader, -EBADF);
  // The peer sees the close at once: nothing of the socket is left with the kernel.
  char c;
  EXPECT_EQ(::recv(pair.second.fd(), &c, 1, 0), 0);
}

BACKEND_TEST(ClosingAListenerStopsAcceptingAtOnce) {
  aio::EventLoop& loop = aio::get_running_loop();
  sockaddr_in addr;
  int lfd = listening_socket(addr, 16);
  IoHandle listener(loop, lfd);
  auto acceptor = aio::create_task([](IoHandle& l) -> aio::Coro<std::int64_t> {
    co_return co_await IoAwaiter(l, make_op(IoKind::accept));
  }(listener));
  co_await aio::sleep(0);
  listener.close();
  EXPECT_EQ(co_await acceptor, -EBADF);
  int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_NE(::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(errno, ECONNREFUSED);
  ::close(c);
}

BACKEND_TEST(AcceptBurst) {
  // Many connections at once (io_uring: one multishot accept takes them all).
  aio::EventLoop& loop = aio::get_running_loop();
  sockaddr_in addr;
  int lfd = listening_socket(addr, 256);
  IoHandle listener(loop, lfd);
  constexpr int kClients = 100;
  std::vector<int> clients;
  for (int i = 0; i < kClients; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    AIO_ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    clients.push_back(c);
  }
  int accepted = 0;
  for (int i = 0; i < kClients; ++i) {
    std::int64_t fd = co_await IoAwaiter(listener, make_op(IoKind::accept));
    AIO_ASSERT_GE(fd, 0);
    ++accepted;
    ::close(static_cast<int>(fd));
  }
  EXPECT_EQ(accepted, kClients);
  for (int c : clients) ::close(c);
}

BACKEND_TEST(IdleConnectionsHoldNoBuffer) {
  // Receives parked on many idle connections, then one byte on each, read: no received
  // buffer stays taken (io_uring: none of the provided buffers).
  constexpr int kConnections = 300;
  std::vector<std::pair<IoHandle, IoHandle>> pairs;
  for (int i = 0; i < kConnections; ++i) pairs.push_back(socket_pair());
  std::vector<std::string> got(kConnections);
  std::vector<aio::Task<std::int64_t>> readers;
  for (int i = 0; i < kConnections; ++i) readers.push_back(aio::create_task(select_recv(pairs[i].first, got[i])));
  co_await aio_test::spin();
#ifdef AIO_HAVE_IO_URING
  if (auto* u = uring_backend()) {
    EXPECT_EQ(u->buffers_held(), 0u);
  }
#endif
  for (auto& p : pairs) AIO_ASSERT_EQ(::send(p.second.fd(), "1", 1, 0), 1);
  for (auto& r : readers) EXPECT_EQ(co_await r, 1);
#ifdef AIO_HAVE_IO_URING
  if (auto* u = uring_backend()) {
    EXPECT_EQ(u->buffers_held(), 0u);
  }
#endif
}

BACKEND_TEST(ReceiveBuffersRunningOutRecover) {
  // More sockets with unread bytes than the ring has buffers (io_uring: ENOBUFS): every
  // byte still reaches its reader, in order.
  constexpr int kConnections = 400;  // > the 256 provided buffers
  std::vector<std::pair<IoHandle, IoHandle>> pairs;
  for (int i = 0; i < kConnections; ++i) pairs.push_back(socket_pair());
  std::vector<std::string> got(kConnections);
  for (int i = 0; i < kConnections; ++i) {  // a first read on each (io_uring: arms its receive)
    AIO_ASSERT_EQ(::send(pairs[i].second.fd(), "a", 1, 0), 1);
    const std::int64_t r = co_await select_recv(pairs[i].first, got[i]);
    AIO_ASSERT_EQ(r, 1);
  }
  // One more socket with a receive parked, so that the loop waits on the backend meanwhile.
  auto extra = socket_pair();
  std::string extra_got;
  auto parked = aio::create_task(select_recv(extra.first, extra_got));
  for (auto& p : pairs) AIO_ASSERT_EQ(::send(p.second.fd(), "bc", 2, 0), 2);
  co_await aio_test::spin();  // (io_uring: the bytes land in buffers nobody reads; the ring runs dry)
  AIO_ASSERT_EQ(::send(extra.second.fd(), "e", 1, 0), 1);
  EXPECT_EQ(co_await parked, 1);
#ifdef AIO_HAVE_IO_URING
  if (auto* u = uring_backend()) {
    EXPECT_GT(u->buffer_shortages(), 0u);
  }
#endif
  for (auto& p : pairs) AIO_ASSERT_EQ(::send(p.second.fd(), "d", 1, 0), 1);
  for (int i = 0; i < kConnections; ++i) {
    while (got[i].size() < 4) {
      const std::int64_t r = co_await select_recv(pairs[i].first, got[i]);
      AIO_ASSERT_GT(r, 0);
    }
    EXPECT_EQ(got[i], "abcd");
  }
}

BACKEND_TEST(SendVector) {
  auto pair = socket_pair();
  char one[] = "vec", two[] = "tored";
  iovec iov[2] = {{one, 3}, {two, 5}};
  IoOp op = make_op(IoKind::sendv);
  op.iov = iov;
  op.iovcnt = 2;
  EXPECT_EQ(co_await IoAwaiter(pair.first, op), 8);
  std::string got;
  EXPECT_EQ(co_await recv_some(pair.second, got, 16), 8);
  EXPECT_EQ(got, "vectored");
}

// --- the ring a thread keeps for its next loop (io_uring) ---------------------------------

#ifdef AIO_HAVE_IO_URING
namespace {

using aio::detail::IoUringBackend;

const aio::LoopOptions kOnIoUring{.backend = aio::Backend::io_uring};

// aio::run on io_uring whatever AIO_BACKEND says (aio::run follows it).
void run_on_io_uring(aio::Coro<void> body) {
  aio::EventLoop loop(kOnIoUring);
  aio::detail::LoopShutdown shutdown(loop);  // as aio::run: leftover tasks cancelled, then closed
  loop.run_until_complete(std::move(body));
}

#define SKIP_WITHOUT_IO_URING()                                                      \
  do {                                                                               \
    if (const std::string& why = IoUringBackend::unavailable_reason(); !why.empty()) \
      GTEST_SKIP() << "io_uring is not available here: " << why;                     \
  } while (0)

// `n` connections whose receives are armed (a first byte read on each).
aio::Coro<void> connect_with_receives_armed(std::vector<std::pair<IoHandle, IoHandle>>& pairs, int n) {
  for (int i = 0; i < n; ++i) {
    auto& p = pairs.emplace_back(socket_pair());
    std::string got;
    AIO_ASSERT_EQ(::send(p.second.fd(), "a", 1, 0), 1);
    const std::int64_t r = co_await select_recv(p.first, got);
    AIO_ASSERT_EQ(r, 1);
  }
}

// `n` connections whose receives are armed, each then holding bytes nobody reads: on
// io_uring each holds one provided buffer.
aio::Coro<void> hold_unread_bytes(std::vector<std::pair<IoHandle, IoHandle>>& pairs, int n) {
  co_await connect_with_receives_armed(pairs, n);
  for (auto& p : pairs) AIO_ASSERT_EQ(::send(p.second.fd(), "bc", 2, 0), 2);
  co_await aio_test::spin();  // the bytes land in buffers nobody reads
}

aio::Coro<void> park_a_receive() {
  auto pair = socket_pair();
  std::string got;
  co_await select_recv(pair.first, got);
}

// Leaves the loop with all a backend can have in flight at its end: multishot receives
// with buffers holding unread bytes, a listener's multishot accept with a connection taken
// ahead of the server, a receive parked in a task that run() will cancel, a wake-up read.
aio::Coro<void> end_with_everything_in_flight(int* client) {
  aio::EventLoop& loop = aio::get_running_loop();
  std::vector<std::pair<IoHandle, IoHandle>> pairs;
  co_await hold_unread_bytes(pairs, 100);
  sockaddr_in addr;
  IoHandle listener(loop, listening_socket(addr, 16));
  auto accepted = aio::create_task([](IoHandle& l) -> aio::Coro<std::int64_t> {
    co_return co_await IoAwaiter(l, make_op(IoKind::accept));
  }(listener));
  co_await aio::sleep(0);  // the accept is armed
  for (int i = 0; i < 2; ++i) {
    client[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    AIO_ASSERT_EQ(::connect(client[i], reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  const std::int64_t fd = co_await accepted;
  AIO_ASSERT_GE(fd, 0);
  ::close(static_cast<int>(fd));
  co_await aio_test::spin();  // the second connection is taken ahead of the server
  aio::create_task(park_a_receive());
  co_await aio::sleep(0);
}

}  // namespace

TEST(IoUringRing, TheNextLoopOnTheThreadReusesTheRing) {
  SKIP_WITHOUT_IO_URING();
  aio::release_idle_ring();
  run_on_io_uring(one_exchange());
  EXPECT_EQ(aio::idle_ring_descriptors(), 2) << "the loop's ring was not kept";
  const std::uint64_t rings = IoUringBackend::rings_set_up();
  for (int i = 0; i < 3; ++i) run_on_io_uring(one_exchange());
  EXPECT_EQ(IoUringBackend::rings_set_up(), rings) << "a later loop set up a ring of its own";
  EXPECT_EQ(aio::release_idle_ring(), 2);
  EXPECT_EQ(aio::idle_ring_descriptors(), 0);
  EXPECT_EQ(aio::release_idle_ring(), 0);
  run_on_io_uring(one_exchange());
  EXPECT_EQ(IoUringBackend::rings_set_up(), rings + 1);
}

TEST(IoUringRing, AKeptRingCarriesNothingIntoTheNextLoop) {
  // The first loop ends with requests in flight and buffers in use. The next loop on the
  // thread gets the ring back with none of it: no completion of the old loop reaches it
  // (ASan would see a dead registration touched) and every provided buffer is in the
  // ring again (250 sockets holding unread bytes fit without a shortage).
  SKIP_WITHOUT_IO_URING();
  aio::release_idle_ring();
  const int fds_before = aio::testing::count_open_fds();
  int client[2] = {-1, -1};
  run_on_io_uring(end_with_everything_in_flight(client));
  ASSERT_EQ(aio::idle_ring_descriptors(), 2) << "the ring was not kept (its requests did not drain)";
  const std::uint64_t rings = IoUringBackend::rings_set_up();
  run_on_io_uring([]() -> aio::Coro<void> {
    std::vector<std::pair<IoHandle, IoHandle>> pairs;
    co_await hold_unread_bytes(pairs, 250);
    EXPECT_EQ(uring_backend()->buffer_shortages(), 0u) << "the provided buffers were not all given back";
    for (auto& p : pairs) {
      std::string got;
      const std::int64_t r = co_await select_recv(p.first, got);
      AIO_ASSERT_EQ(r, 2);
      EXPECT_EQ(got, "bc");
    }
  }());
  EXPECT_EQ(IoUringBackend::rings_set_up(), rings) << "the second loop did not reuse the ring";
  for (int c : client) ::close(c);
  EXPECT_EQ(aio::testing::count_open_fds(), fds_before) << "a connection taken ahead was not closed";
}

TEST(IoUringRing, AConnectionThatKeepsReceivingReusesAFewBuffers) {
  // The ring offers the kernel a window of its buffers, refilled with the ones used last:
  // 200 receives one after another land in a few buffers still in the cache, not in 200
  // of the 256 (at 16 KiB echoes that cold memory cost 1.2x epoll's server CPU).
  SKIP_WITHOUT_IO_URING();
  run_on_io_uring([]() -> aio::Coro<void> {
    auto pair = socket_pair();
    std::set<int> ids;
    std::string got;
    for (int i = 0; i < 200; ++i) {
      AIO_ASSERT_EQ(::send(pair.second.fd(), "x", 1, 0), 1);
      const std::int64_t r = co_await select_recv_noting_buffers(pair.first, got, ids);
      AIO_ASSERT_EQ(r, 1);
    }
    EXPECT_EQ(got, std::string(200, 'x'));
    EXPECT_EQ(uring_backend()->buffers_received_into(), 200u);
    EXPECT_EQ(uring_backend()->ring_window(), 32u) << "nothing called for a wider window";
    EXPECT_LE(ids.size(), 32u) << "the receives went round more buffers than the window";
  }());
}

TEST(IoUringRing, ReceivesBeyondTheWindowWidenIt) {
  // More receives at once than the ring offers buffers: the kernel ends the extra ones
  // with ENOBUFS, the window doubles from the spare buffers, and the receives are armed
  // again. Every byte reaches its reader; nothing is moved out of the ring (that is for
  // when every buffer holds unread bytes).
  SKIP_WITHOUT_IO_URING();
  run_on_io_uring([]() -> aio::Coro<void> {
    std::vector<std::pair<IoHandle, IoHandle>> pairs;
    co_await connect_with_receives_armed(pairs, 100);
    uring_backend()->set_window_for_tests(1);  // the ring drains to one buffer at a time
    std::vector<std::string> got(pairs.size());
    std::vector<aio::Task<std::int64_t>> readers;
    for (std::size_t i = 0; i < pairs.size(); ++i)
      readers.push_back(aio::create_task(select_recv(pairs[i].first, got[i])));
    co_await aio::sleep(0);  // every reader waits
    for (auto& p : pairs) AIO_ASSERT_EQ(::send(p.second.fd(), "bc", 2, 0), 2);
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      const std::int64_t r = co_await readers[i];
      EXPECT_EQ(r, 2);
      EXPECT_EQ(got[i], "bc");
    }
    EXPECT_GT(uring_backend()->ring_window(), 1u) << "ENOBUFS did not widen the window";
    EXPECT_EQ(uring_backend()->buffer_shortages(), 0u) << "bytes were moved out while spare buffers were left";
  }());
}

TEST(IoUringRing, TwoLoopsAliveAtOnceLeaveOneRingKept) {
  // The thread keeps one ring: the loop that closes second finds the slot taken and
  // closes its ring as before, with nothing left open.
  SKIP_WITHOUT_IO_URING();
  aio::release_idle_ring();
  const int fds_before = aio::testing::count_open_fds();
  {
    auto first = std::make_unique<aio::EventLoop>(kOnIoUring);
    aio::EventLoop second(kOnIoUring);
    first->run_until_complete(one_exchange());
    second.run_until_complete(one_exchange());
    first.reset();  // (the ring goes with the loop object, not at close())
    EXPECT_EQ(aio::idle_ring_descriptors(), 2) << "the first loop to go did not keep its ring";
  }
  EXPECT_EQ(aio::idle_ring_descriptors(), 2);
  EXPECT_EQ(aio::testing::count_open_fds(), fds_before) << "the second loop's ring was neither kept nor closed";
  EXPECT_EQ(aio::release_idle_ring(), 2);
  EXPECT_EQ(aio::testing::count_open_fds(), fds_before);
}

TEST(IoUringRing, ALoopBuiltHereAndRunElsewhereGetsARingOfItsOwn) {
  // A loop built on a thread that keeps a ring adopts it, but that ring is enabled for
  // this thread only (SINGLE_ISSUER): run on another thread, the loop sets up its own.
  SKIP_WITHOUT_IO_URING();
  run_on_io_uring(one_exchange());
  ASSERT_EQ(aio::idle_ring_descriptors(), 2);
  const std::uint64_t rings = IoUringBackend::rings_set_up();
  {
    aio::EventLoop loop(kOnIoUring);
    EXPECT_EQ(aio::idle_ring_descriptors(), 0) << "the loop did not adopt the kept ring";
    const std::exception_ptr error = exchange_on_a_new_thread(loop);
    EXPECT_FALSE(error) << aio::describe(error);
    EXPECT_EQ(IoUringBackend::rings_set_up(), rings + 1);
  }
  EXPECT_EQ(aio::idle_ring_descriptors(), 0) << "a ring enabled for another thread was kept here";
}

TEST(IoUringRing, AForkedChildLeavesTheParentsKeptRingAlone) {
  // A child inherits the thread's kept ring, whose queues it shares with the parent: it
  // must set up its own and only close its copy of the old one.
  SKIP_WITHOUT_IO_URING();
  run_on_io_uring(one_exchange());
  ASSERT_EQ(aio::idle_ring_descriptors(), 2);
  const std::uint64_t rings = IoUringBackend::rings_set_up();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 0;
    try {
      run_on_io_uring(one_exchange());
      if (IoUringBackend::rings_set_up() != rings + 1) code = 2;  // it adopted the parent's
      if (::testing::Test::HasFailure()) code = 3;
    } catch (...) {
      code = 4;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: the child adopted the parent's ring; 3: its exchange failed; 4: it threw";
  run_on_io_uring(one_exchange());  // the parent's kept ring still works
  EXPECT_EQ(IoUringBackend::rings_set_up(), rings);
}
// --- bulk flows: a socket whose receives keep filling whole buffers ----------------------

// Reads with read(chunk) until `size` bytes came, or EOF (each read within 5 s).
aio::Coro<std::string> read_to_size(aio::StreamReader& reader, std::size_t size, long chunk) {
  std::string got;
  while (got.size() < size) {
    std::string more = co_await aio::wait_for(reader.read(chunk), 5.0);
    if (more.empty()) break;
    got += more;
  }
  co_return got;
}

// Sends `size` patterned bytes from the raw peer while reading them with read(n): a bulk
// transfer, which fills buffer after buffer. Returns what was read.
aio::Coro<std::string> transfer_in_bulk(aio_test::net::StreamAndPeer& c, std::size_t size, std::uint8_t seed) {
  const std::string data = aio_test::net::pattern(size, 0, seed);
  auto sender = aio::create_task(c.peer.send_all(data));
  std::string got = co_await read_to_size(c.reader, size, 1 << 20);
  co_await sender;
  EXPECT_TRUE(got == data) << "bytes lost or reordered";
  co_return got;
}

// Makes c's socket a bulk flow (a 2 MiB transfer) and checks that the backend found it so.
aio::Coro<void> make_bulk(aio_test::net::StreamAndPeer& c, std::uint8_t seed) {
  co_await transfer_in_bulk(c, 2 << 20, seed);
  AIO_ASSERT_EQ(uring_backend()->bulk_flows(), 1u);
}

TEST(IoUringRing, ABulkFlowIsReceivedWhenItsReaderIsReady) {
  // Chunk after chunk fills a whole provided buffer: the multishot would copy the flow
  // into buffers long before its reader runs. The backend stops it for this socket; reads
  // then wait with a poll and receive with a syscall (64 KiB at once). Small messages
  // turn the socket back to the multishot. Every byte arrives, in order.
  SKIP_WITHOUT_IO_URING();
  run_on_io_uring([]() -> aio::Coro<void> {
    auto c = co_await aio_test::net::connect_to_raw_peer();
    auto* backend = uring_backend();
    co_await transfer_in_bulk(c, 4 << 20, 3);
    EXPECT_EQ(backend->bulk_flows(), 1u) << "a 4 MiB transfer was not found bulk";
    const std::uint64_t into_buffers = backend->buffers_received_into();
    co_await transfer_in_bulk(c, 1 << 20, 4);
    EXPECT_EQ(backend->buffers_received_into(), into_buffers) << "a bulk flow still went through provided buffers";
    const std::uint64_t after_bulk = backend->buffers_received_into();
    for (const char* message : {"one", "two", "three"}) {
      c.peer.send_now(message);
      EXPECT_EQ(co_await c.reader.read(100), message);
    }
    EXPECT_GT(backend->buffers_received_into(), after_bulk) << "small messages did not bring the multishot back";
  }());
}

TEST(IoUringRing, EveryReadOfABulkFlowKeepsTheBytes) {
  // The other reads over a bulk flow: readexactly (through the stream's buffer, the
  // poll's completion receiving), read_into and readline; each loses nothing.
  SKIP_WITHOUT_IO_URING();
  run_on_io_uring([]() -> aio::Coro<void> {
    auto c = co_await aio_test::net::connect_to_raw_peer(16 << 20);
    co_await make_bulk(c, 5);
    std::string data = aio_test::net::pattern(2 << 20, 0, 6);
    auto sender = aio::create_task(c.peer.send_all(data));
    EXPECT_TRUE(co_await c.reader.readexactly(1 << 20) == data.substr(0, 1 << 20));
    std::vector<char> buf(256 * 1024);
    std::string rest;
    while (rest.size() < (1u << 20)) {
      const std::size_t n = co_await c.reader.read_into(buf);
      AIO_ASSERT_GT(n, 0u);
      rest.append(buf.data(), n);
    }
    co_await sender;
    EXPECT_TRUE(rest == data.substr(1 << 20)) << "read_into lost or reordered bytes";
    c.peer.send_now("a line\n");
    EXPECT_EQ(co_await c.reader.readline(), "a line\n");
  }());
}

TEST(IoUringRing, ACancelledReadOfABulkFlowLosesNothing) {
  // A read of a bulk flow waits with a poll in the socket's queue: cancelling it ends the
  // poll, and bytes that come later are there for the next read.
  SKIP_WITHOUT_IO_URING();
  run_on_io_uring([]() -> aio::Coro<void> {
    auto c = co_await aio_test::net::connect_to_raw_peer();
    co_await make_bulk(c, 7);
    auto waiting = aio::create_task(c.reader.read(100));
    co_await aio_test::run_briefly();
    EXPECT_FALSE(waiting.done());
    waiting.cancel();
    EXPECT_THROW(co_await waiting, aio::CancelledError);
    c.peer.send_now("after");
    EXPECT_EQ(co_await aio::wait_for(c.reader.read(100), 5.0), "after");
  }());
}

TEST(IoUringRing, ClosingWhileABulkReadWaitsEndsIt) {
  // The stream closed under a read waiting with a poll: the read ends (EOF), the poll is
  // cancelled with the registration, and nothing is left in flight.
  SKIP_WITHOUT_IO_URING();
  run_on_io_uring([]() -> aio::Coro<void> {
    auto c = co_await aio_test::net::connect_to_raw_peer();
    co_await make_bulk(c, 8);
    auto waiting = aio::create_task(c.reader.read(100));
    co_await aio_test::run_briefly();
    EXPECT_FALSE(waiting.done());
    c.writer.close();
    EXPECT_EQ(co_await aio::wait_for(waiting, 5.0), "");
    co_await c.writer.wait_closed();
    EXPECT_EQ(uring_backend()->in_flight(), 0u);
  }());
}

TEST(IoUringRing, MessagesThatEachFillOneBufferStayOnTheMultishot) {
  // Requests of exactly a provided buffer's size (16 KiB), one at a time: every chunk is
  // full, but each is a whole message with nothing behind it, not a bulk transfer. Such a
  // flow keeps the multishot (no syscall per read); only full chunks arriving behind kept
  // bytes count toward bulk.
  SKIP_WITHOUT_IO_URING();
  run_on_io_uring([]() -> aio::Coro<void> {
    auto c = co_await aio_test::net::connect_to_raw_peer();
    auto* backend = uring_backend();
    const std::size_t size = IoUringBackend::Options{}.buffer_size;
    const std::uint64_t into_buffers = backend->buffers_received_into();
    for (std::uint8_t i = 0; i < 24; ++i) {
      const std::string message = aio_test::net::pattern(size, 0, i);
      c.peer.send_now(message);
      std::string got = co_await read_to_size(c.reader, size, 64 * 1024);
      AIO_ASSERT_TRUE(got == message);  // (short at EOF)
    }
    EXPECT_EQ(backend->bulk_flows(), 0u) << "one-buffer messages, one at a time, were taken for a bulk flow";
    EXPECT_GE(backend->buffers_received_into(), into_buffers + 24) << "the requests did not go through the multishot";
  }());
}

#endif
