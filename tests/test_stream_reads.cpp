// The read paths without copies: StreamReader::read_into (into the caller's memory),
// StreamReader::read_view (bytes lent from the stream's buffer in a ReadView), read(n)
// taking a receive straight into its string, and the receive buffer given back while a
// connection waits. aio's own (asyncio has no such calls); over real sockets, with the raw
// peer of net_support.hpp at the other end.
#include <array>
#include <cerrno>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <aio/testing.hpp>

#include "net/stream_core.hpp"
#include "net_support.hpp"
#include "support.hpp"

namespace {

using namespace aio_test;
using namespace aio_test::net;

// read_into() into a fresh buffer of `size` bytes, as a string.
aio::Coro<std::string> read_into_string(aio::StreamReader& reader, std::size_t size) {
  std::vector<char> buf(size, '\0');
  const std::size_t n = co_await reader.read_into(buf);
  co_return std::string(buf.data(), n);
}

// Bytes of the connection's receive buffer (0: it holds no memory).
std::size_t receive_buffer_capacity(const aio::StreamReader& reader) {
  return reader.native_core()->input().capacity();
}

// Writes *data in 100 kB pieces with drain(), then half-closes.
aio::Coro<void> send_then_eof(aio::StreamWriter* w, const std::string* data) {
  for (std::size_t off = 0; off < data->size(); off += 100000) {
    w->write(std::string_view(*data).substr(off, 100000));
    co_await w->drain();
  }
  w->write_eof();
}

// Cancels its own task, then reads: the read's receive completes at once (the bytes are
// in the kernel) with the cancellation already pending.
aio::Coro<std::string> cancel_self_then_read(aio::StreamReader* reader, bool into) {
  aio::current_task()->cancel();
  if (into) {
    std::vector<char> buf(8192);
    const std::size_t n = co_await reader->read_into(buf);
    co_return std::string(buf.data(), n);
  }
  co_return co_await reader->read(4);
}

// The same for readexactly(n), which waits in the stream's fill().
aio::Coro<std::string> cancel_self_then_readexactly(aio::StreamReader* reader, std::size_t n) {
  aio::current_task()->cancel();
  co_return co_await reader->readexactly(n);
}

// Sends `data` after a one-byte read that arms io_uring's multishot receive (which stops
// after 64 KiB kept, until a read waits again), and waits until all of it has arrived:
// in the socket (epoll), or taken into the multishot's provided buffers (io_uring), so
// that the next read finds it in several chunks.
aio::Coro<bool> arrive_in_chunks(StreamAndPeer& c, const std::string& data) {
  c.peer.send_now("x");
  if (co_await c.reader.read(1) != "x") co_return false;
  c.peer.send_now(data);
  if (!co_await c.peer.flushed()) co_return false;
  if (aio::get_running_loop().backend_name() != "io_uring") co_return true;
  aio::StreamReader& reader = c.reader;
  const std::size_t size = data.size();
  auto all_kept = [&reader, size] { return reader.native_core()->bytes_kept_by_backend() >= size; };
  const bool ok = co_await eventually(all_kept, 5.0);
  co_return ok;
}

}  // namespace

// ============================================================================================
// read_into()
// ============================================================================================

AIO_TEST(StreamReadInto, WaitsAndReceivesIntoTheCallersBuffer) {
  auto c = co_await connect_to_raw_peer();
  std::vector<char> buf(4096);  // big enough to be received into directly
  auto t = aio::create_task(c.reader.read_into(buf));
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  c.peer.send_now("hello");
  EXPECT_EQ(co_await t, 5u);
  EXPECT_EQ(std::string_view(buf.data(), 5), "hello");
  EXPECT_EQ(c.reader.buffered(), 0u) << "nothing goes through the stream's buffer";
  EXPECT_EQ(receive_buffer_capacity(c.reader), 0u);
}

AIO_TEST(StreamReadInto, MixedWithOtherReadsKeepsTheOrder) {
  // read_into may receive straight into the caller's memory (epoll always; io_uring until
  // another kind of read arms the socket's multishot receive, which then holds bytes a
  // direct receive could overtake). Whatever the mix, the bytes come in order (and a read
  // that would wait forever for bytes another receive holds times out instead).
  auto c = co_await connect_to_raw_peer();
  std::string sent;
  std::string got;
  for (int i = 0; i < 40; ++i) {
    std::string piece = std::to_string(i) + ":" + std::string(static_cast<std::size_t>(i * 97 % 5000), 'a' + i % 26);
    piece += "\n";
    sent += piece;
    c.peer.send_now(piece);
    AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
    while (got.size() < sent.size()) {
      const std::size_t left = sent.size() - got.size();
      switch (i % 4) {
        case 0:
        case 2:
          got += co_await aio::wait_for(read_into_string(c.reader, std::max<std::size_t>(left, 4096)), 10);
          break;
        case 1:
          got += co_await aio::wait_for(c.reader.readline(), 10);
          break;
        case 3:
          got += co_await aio::wait_for(c.reader.read(static_cast<std::int64_t>(left)), 10);
          break;
      }
    }
  }
  EXPECT_TRUE(got == sent) << "the bytes came out of order or were lost";
}

AIO_TEST(StreamReadInto, SmallReadsShareOneReceive) {
  // A small buffer: what one receive brought beyond it stays buffered for the next reads.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("0123456789");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await read_into_string(c.reader, 4), "0123");
  EXPECT_EQ(c.reader.buffered(), 6u);
  EXPECT_EQ(co_await read_into_string(c.reader, 4), "4567");
  EXPECT_EQ(co_await read_into_string(c.reader, 4), "89");
  EXPECT_EQ(c.reader.buffered(), 0u);
}

AIO_TEST(StreamReadInto, TakesBufferedBytesFirst) {
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("line\nrest");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await c.reader.readline(), "line\n");
  EXPECT_EQ(c.reader.buffered(), 4u);
  c.peer.send_now("more");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  // Only the buffered bytes: the ones still in the kernel come with the next read.
  EXPECT_EQ(co_await read_into_string(c.reader, 100), "rest");
  EXPECT_EQ(co_await read_into_string(c.reader, 100), "more");
}

AIO_TEST(StreamReadInto, PartialReads) {
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("0123456789");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await read_into_string(c.reader, 4), "0123");
  EXPECT_EQ(co_await read_into_string(c.reader, 4), "4567");
  EXPECT_EQ(co_await read_into_string(c.reader, 4), "89");
  // Buffered bytes, taken in pieces too.
  c.peer.send_now("ab\ncdefgh");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await c.reader.readline(), "ab\n");
  EXPECT_EQ(co_await read_into_string(c.reader, 2), "cd");
  EXPECT_EQ(c.reader.buffered(), 4u);
  EXPECT_EQ(co_await read_into_string(c.reader, 10), "efgh");
}

AIO_TEST(StreamReadInto, EmptyBufferReadsNothing) {
  auto c = co_await connect_to_raw_peer();
  EXPECT_EQ(co_await c.reader.read_into(std::span<char>()), 0u);  // without waiting
  c.peer.send_now("x");
  EXPECT_EQ(co_await read_into_string(c.reader, 1), "x");
}

AIO_TEST(StreamReadInto, EofGivesZero) {
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("last");
  c.peer.shutdown_write();
  EXPECT_EQ(co_await read_into_string(c.reader, 100), "last");
  std::array<char, 8> buf{};
  EXPECT_EQ(co_await c.reader.read_into(buf), 0u);
  EXPECT_TRUE(c.reader.at_eof());
  EXPECT_EQ(co_await c.reader.read_into(buf), 0u);  // and again
  EXPECT_EQ(co_await c.reader.read(10), "");
}

AIO_TEST(StreamReadInto, ResetFailsTheRead) {
  auto c = co_await connect_to_raw_peer();
  std::array<char, 8> buf{};
  auto t = aio::create_task(c.reader.read_into(buf));
  co_await run_briefly();
  c.peer.reset();
  std::exception_ptr e = co_await error_of(t);
  EXPECT_EQ(errno_of(e), ECONNRESET) << what_of(e);
  e = co_await error_of(c.reader.read_into(buf));  // the error stays
  EXPECT_EQ(errno_of(e), ECONNRESET) << what_of(e);
}

AIO_TEST(StreamReadInto, TwoReadersAtOnceIsAUsageError) {
  auto c = co_await connect_to_raw_peer();
  std::array<char, 8> buf{};
  auto t = aio::create_task(c.reader.read(10));
  co_await run_briefly();
  std::exception_ptr e = co_await error_of(c.reader.read_into(buf));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  t.cancel();
  e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
}

AIO_TEST(StreamReadInto, EmptyReaderIsAUsageError) {
  aio::StreamReader empty;
  std::array<char, 8> buf{};
  std::exception_ptr e = co_await error_of(empty.read_into(buf));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
}

AIO_TEST(StreamReadInto, CancelledWhileWaitingLosesNothing) {
  auto c = co_await connect_to_raw_peer();
  std::array<char, 16> buf{};
  auto t = aio::create_task(c.reader.read_into(buf));
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  t.cancel();
  std::exception_ptr e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  c.peer.send_now("abc");
  EXPECT_EQ(co_await read_into_string(c.reader, 16), "abc");
}

// The cancel lands at different points relative to the bytes' arrival: they end up
// either in the cancelled read's buffer (its count returned) or with the next read.
aio::Coro<void> cancel_read_into_racing_arrival(std::size_t buffer_size) {
  auto c = co_await connect_to_raw_peer();
  for (int k = 0; k < 6; ++k) {
    const std::string msg = std::string{"message-"} + std::to_string(k);
    std::vector<char> buf(buffer_size);
    auto t = aio::create_task(c.reader.read_into(buf));
    co_await run_briefly();
    c.peer.send_now(msg);
    if (k > 0) {
      AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
      for (int i = 1; i < k; ++i) co_await aio::sleep(0);
    }
    t.cancel();
    std::string got;
    std::exception_ptr e = co_await error_of(t);
    if (!e) got.assign(buf.data(), t.result());
    EXPECT_TRUE(!e || holds<aio::CancelledError>(e)) << what_of(e);
    while (got.size() < msg.size()) {
      std::string more = co_await aio::wait_for(read_into_string(c.reader, buffer_size), 5.0);
      if (more.empty()) break;
      got += more;
    }
    EXPECT_EQ(got, msg) << "k = " << k << ": bytes lost or repeated";
    EXPECT_EQ(c.reader.buffered(), 0u);
  }
}

AIO_TEST(StreamReadInto, CancelRacingArrivingBytesLosesNothing) {
  co_await cancel_read_into_racing_arrival(100);   // through the backend's buffer
  co_await cancel_read_into_racing_arrival(8192);  // straight into the caller's (epoll)
}

AIO_TEST(StreamRead, CancelledAfterTheBytesCameKeepsThemInOrder) {
  // read(n) was woken because bytes came, then cancelled before it ran: the cancellation
  // wins, and the bytes are the next read's (read(n) takes them only when it runs).
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("0123456789");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  auto t = aio::create_task(c.reader.read(4));
  t.cancel();  // before its first step: it never reads
  std::exception_ptr e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  // Parked, then woken with the bytes, then cancelled before it resumes.
  EXPECT_EQ(co_await c.reader.read(10), "0123456789");
  t = aio::create_task(c.reader.read(4));
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  c.peer.send_now("abcdefgh");  // (on loopback the bytes are in our socket when this returns)
  // This task runs again before `t` in the next loop iteration, whose poll wakes `t`
  // (test_delay may wake it a few iterations later: the outcome is the same).
  co_await aio::sleep(0);
  EXPECT_FALSE(t.done());
  t.cancel();
  e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_EQ(c.reader.buffered(), 0u) << "the cancelled read took bytes";
  EXPECT_EQ(co_await c.reader.read(100), "abcdefgh");
}

AIO_TEST(StreamRead, ClosedBetweenItsWakeUpAndItsTurn) {
  // read(n) was woken because bytes came, and the connection was closed before the read
  // ran: it finds the socket gone and ends as a read of a closed stream does (EOF).
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.read(4));
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  c.peer.send_now("abcdefgh");
  co_await aio::sleep(0);  // (as above: `t` is woken in this iteration's poll, not run)
  c.writer.close();
  EXPECT_EQ(co_await t, "");
  EXPECT_TRUE(c.reader.at_eof());
}

AIO_TEST(StreamRead, CancelRacingArrivingBytesLosesNothing) {
  // The cancel lands at different points relative to the bytes' arrival: read(4) returns
  // its 4 bytes (the rest stay buffered) or is cancelled (all go to the next reads).
  auto c = co_await connect_to_raw_peer();
  for (int k = 0; k < 6; ++k) {
    const std::string msg = std::string{"message-"} + std::to_string(k);
    auto t = aio::create_task(c.reader.read(4));
    co_await run_briefly();
    c.peer.send_now(msg);
    for (int i = 0; i < k; ++i) co_await aio::sleep(0);
    t.cancel();
    std::string got;
    std::exception_ptr e = co_await error_of(t);
    if (!e) got = t.result();
    EXPECT_TRUE(!e || holds<aio::CancelledError>(e)) << what_of(e);
    while (got.size() < msg.size()) {
      std::string more = co_await aio::wait_for(c.reader.read(100), 5.0);
      if (more.empty()) break;
      got += more;
    }
    EXPECT_EQ(got, msg) << "k = " << k << ": bytes lost or repeated";
    EXPECT_EQ(c.reader.buffered(), 0u);
  }
}

AIO_TEST(StreamRead, CancelledWhenTheBytesAreThereAtOnceKeepsThem) {
  for (bool into : {false, true}) {
    auto c = co_await connect_to_raw_peer();
    c.peer.send_now("0123456789");
    AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
    auto t = aio::create_task(cancel_self_then_read(&c.reader, into));
    std::exception_ptr e = co_await error_of(t);
    EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
    // read(n) took nothing: the bytes are still the kernel's (io_uring: in its receive
    // queue). read_into on epoll received straight into the caller's buffer, and the
    // cancellation put the bytes into the stream's. Either way the next read gets them all.
    if (!into) {
      EXPECT_EQ(c.reader.buffered(), 0u);
    } else if (aio::get_running_loop().backend_name() == "epoll") {
      EXPECT_EQ(c.reader.buffered(), 10u);
    }
    EXPECT_EQ(co_await read_exactly_within(c.reader, 10, 2.0), "0123456789");
  }
}

AIO_TEST(StreamReadInto, HugeTransfer) {
  // 8 MiB through a 1 MiB buffer (each receive asks for more than the kernel holds), and
  // a buffer larger than everything left at the end.
  auto c = co_await connect_to_raw_peer();
  const std::string data = pattern(8 << 20, 0, 3);
  aio::Task<void> sender = aio::create_task(c.peer.send_all(data));
  std::vector<char> buf(1 << 20);
  std::string got;
  while (got.size() < data.size()) {
    const std::size_t n = co_await c.reader.read_into(buf);
    if (n == 0) break;
    got.append(buf.data(), n);
  }
  co_await sender;
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data) << "the received bytes differ";
  c.peer.shutdown_write();
  std::vector<char> bigger(16 << 20);
  EXPECT_EQ(co_await c.reader.read_into(bigger), 0u);
}

AIO_TEST(StreamReadInto, LimitDoesNotApply) {
  auto c = co_await connect_to_raw_peer(3);
  c.peer.send_now("0123456789");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await read_into_string(c.reader, 100), "0123456789");
}

AIO_TEST(StreamReadInto, FromAPipe) {
  // A subprocess's stdout is a pipe stream (read(), not recv()).
  aio::ProcessOptions opts;
  opts.out = aio::PIPE;
  std::vector<std::string> argv{"/bin/sh", "-c", "printf 'from the child'"};
  aio::Process p = co_await aio::create_subprocess_exec(argv, opts);
  std::string got;
  for (;;) {
    std::string piece = co_await read_into_string(p.out(), 4);
    if (piece.empty()) break;
    got += piece;
  }
  EXPECT_EQ(got, "from the child");
  EXPECT_EQ(co_await p.wait(), 0);
}

// ============================================================================================
// read_view()
// ============================================================================================

AIO_TEST(StreamReadView, LendsTheReceivedBytes) {
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.read_view(100));
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  c.peer.send_now("hello");
  aio::ReadView view = co_await t;
  EXPECT_EQ(view.bytes(), "hello");
  EXPECT_EQ(view.size(), 5u);
  EXPECT_FALSE(view.empty());
  // Lent, not taken: the bytes are still the stream's until the view lets go.
  EXPECT_EQ(c.reader.buffered(), 5u);
  view.release();
  EXPECT_TRUE(view.empty());
  EXPECT_EQ(c.reader.buffered(), 0u);
  view.release();  // twice is harmless
}

AIO_TEST(StreamReadView, AtMostNAndTheRestStays) {
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("0123456789");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  {
    aio::ReadView v = co_await c.reader.read_view(4);
    EXPECT_EQ(v.bytes(), "0123");
  }
  EXPECT_EQ(c.reader.buffered(), 6u);
  {
    aio::ReadView v = co_await c.reader.read_view(100);
    EXPECT_EQ(v.bytes(), "456789");  // buffered bytes: no receive
  }
  aio::ReadView zero = co_await c.reader.read_view(0);
  EXPECT_TRUE(zero.empty());
}

AIO_TEST(StreamReadView, ReadingWhileAViewLivesIsAUsageError) {
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("abcdef");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  aio::ReadView v = co_await c.reader.read_view(3);
  EXPECT_EQ(v.bytes(), "abc");
  std::exception_ptr e = co_await error_of(c.reader.read(3));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  e = co_await error_of(c.reader.read_view(3));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  std::array<char, 4> buf{};
  e = co_await error_of(c.reader.read_into(buf));
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  e = co_await error_of(c.reader.readline());
  EXPECT_TRUE(holds<aio::UsageError>(e)) << what_of(e);
  EXPECT_EQ(v.bytes(), "abc") << "the refused reads left the view alone";
  // Assigning over a view releases the old one first.
  v = aio::ReadView();
  EXPECT_EQ(co_await c.reader.read(10), "def");
}

AIO_TEST(StreamReadView, MovedViewOwnsTheLoan) {
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("abcdef");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  aio::ReadView a = co_await c.reader.read_view(2);
  aio::ReadView b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  a.release();             // releases nothing
  EXPECT_EQ(c.reader.buffered(), 6u);
  EXPECT_EQ(b.bytes(), "ab");
  b.release();
  EXPECT_EQ(co_await c.reader.read(10), "cdef");
}

AIO_TEST(StreamReadView, OutlivesItsReader) {
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("kept");
  aio::ReadView v = co_await c.reader.read_view(10);
  c.reader = aio::StreamReader();
  c.writer.close();
  co_await c.writer.wait_closed();
  c.writer = aio::StreamWriter();
  EXPECT_EQ(v.bytes(), "kept") << "the view holds the connection's memory";
}

AIO_TEST(StreamReadView, PeerResetWhileAViewLives) {
  // The view's bytes stay valid; the error comes with the next read that needs the socket.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("before the reset");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  aio::ReadView v = co_await c.reader.read_view(6);
  c.peer.reset();
  EXPECT_EQ(v.bytes(), "before");
  v.release();
  std::string rest;
  std::exception_ptr e;
  try {
    rest = co_await c.reader.read(100);  // the buffered rest comes first
    rest += co_await c.reader.read(100);
  } catch (const std::system_error&) {
    e = std::current_exception();
  }
  EXPECT_EQ(rest, " the reset");
  EXPECT_EQ(errno_of(e), ECONNRESET) << what_of(e);
}

AIO_TEST(StreamReadView, LendsEveryChunkAlreadyReceived) {
  // As read(n): the chunks io_uring already received for a 64 KiB message are lent at once.
  auto c = co_await connect_to_raw_peer();
  const std::string data = pattern(64 * 1024, 0, 5);
  AIO_ASSERT_AWAITS_TRUE(arrive_in_chunks(c, data));
  aio::ReadView view = co_await c.reader.read_view(1 << 20);
  EXPECT_TRUE(view.bytes() == data) << "one view of everything that has arrived";
}

AIO_TEST(StreamReadView, EofGivesAnEmptyView) {
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("x");
  c.peer.shutdown_write();
  {
    aio::ReadView v = co_await c.reader.read_view(10);
    EXPECT_EQ(v.bytes(), "x");
  }
  aio::ReadView v = co_await c.reader.read_view(10);
  EXPECT_TRUE(v.empty());
  EXPECT_TRUE(c.reader.at_eof());
  aio::ReadView again = co_await c.reader.read_view(10);  // an empty view holds no loan
  EXPECT_TRUE(again.empty());
}

AIO_TEST(StreamReadView, CancelledWhileWaitingLosesNothing) {
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.read_view(16));
  co_await run_briefly();
  t.cancel();
  std::exception_ptr e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  c.peer.send_now("abc");
  aio::ReadView v = co_await c.reader.read_view(16);
  EXPECT_EQ(v.bytes(), "abc");
}

AIO_TEST(StreamReadView, AViewThatWaitedLeavesNoBufferWhenItWaitsAgain) {
  // With nothing buffered, read_view waits without memory and receives into the stream's
  // buffer only once the bytes are there (on epoll the kernel writes them there directly):
  // a connection waiting in read_view holds no receive buffer, before or after traffic.
  auto c = co_await connect_to_raw_peer();
  const std::array<std::string, 2> messages{"first", "second"};
  for (const std::string& message : messages) {
    auto t = aio::create_task(c.reader.read_view(100));
    co_await run_briefly();
    EXPECT_FALSE(t.done());
    EXPECT_EQ(receive_buffer_capacity(c.reader), 0u) << "a connection waiting in read_view holds a buffer";
    c.peer.send_now(message);
    aio::ReadView v = co_await t;
    EXPECT_EQ(v.bytes(), message);
    EXPECT_GT(receive_buffer_capacity(c.reader), 0u) << "the view lends the stream's buffer";
  }
}

AIO_TEST(StreamReadView, EchoServerWithoutCopiesToStrings) {
  // The handler of the echo benchmark, with views: what it writes is what came.
  struct Handler {
    static aio::Coro<void> echo(aio::StreamReader r, aio::StreamWriter w) {
      for (;;) {
        aio::ReadView chunk = co_await r.read_view(64 * 1024);
        if (chunk.empty()) break;
        w.write(chunk.bytes());
        co_await w.drain();
      }
      w.close();
    }
  };
  aio::Server server = co_await aio::start_server(&Handler::echo, "127.0.0.1", 0);
  auto conn = co_await aio::open_connection("127.0.0.1", server.addresses().at(0).port());
  const std::string data = pattern(3 << 20, 0, 5);
  aio::Task<void> sender = aio::create_task(send_then_eof(&conn.second, &data));
  std::string back = co_await aio::wait_for(conn.first.read(-1), 30);
  co_await sender;
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data) << "the echo differs";
  conn.second.close();
  co_await conn.second.wait_closed();
  server.close();
  co_await server.wait_closed();
}

// Starts a read of `kind` on `reader` and drops the reader before the read runs.
enum class ReadKind { read, read_into, read_view };
aio::Coro<std::string> read_then_drop(aio::StreamReader reader, ReadKind kind) {
  if (kind == ReadKind::read_into) {
    std::array<char, 8> buf{};
    aio::Coro<std::size_t> read = reader.read_into(buf);
    reader = aio::StreamReader();
    const std::size_t n = co_await std::move(read);
    co_return std::string(buf.data(), n);
  }
  if (kind == ReadKind::read_view) {
    aio::Coro<aio::ReadView> read = reader.read_view(100);
    reader = aio::StreamReader();
    aio::ReadView view = co_await std::move(read);
    co_return std::string(view.bytes());
  }
  aio::Coro<std::string> read = reader.read(100);
  reader = aio::StreamReader();
  co_return co_await std::move(read);
}

// ============================================================================================
// read(n) and the receive buffer
// ============================================================================================

AIO_TEST(StreamReadBuffer, ReadNWithNothingBufferedBypassesTheBuffer) {
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("direct");
  EXPECT_EQ(co_await c.reader.read(100), "direct");
  EXPECT_EQ(receive_buffer_capacity(c.reader), 0u) << "read(n) took the bytes without the stream's buffer";
}

AIO_TEST(StreamReadBuffer, ReadNIsAtMostOneReceiveOfAtMostN) {
  auto c = co_await connect_to_raw_peer();
  const std::string data = pattern(200 * 1024, 0, 9);
  c.peer.send_now(data.substr(0, 100 * 1024));
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  std::string first = co_await c.reader.read(1 << 20);
  EXPECT_GT(first.size(), 0u);
  EXPECT_LE(first.size(), 64u * 1024) << "one receive";
  std::string small = co_await c.reader.read(3);
  EXPECT_EQ(small.size(), 3u);
  std::string rest = first + small;
  c.peer.send_now(data.substr(100 * 1024));
  while (rest.size() < data.size()) {
    std::string more = co_await aio::wait_for(c.reader.read(1 << 20), 5.0);
    if (more.empty()) break;
    rest += more;
  }
  EXPECT_TRUE(rest == data) << "bytes lost or reordered";
}

AIO_TEST(StreamReadBuffer, ReadNTakesEveryChunkAlreadyReceived) {
  // io_uring receives a 64 KiB message into several 16 KiB provided buffers: one read(n)
  // takes them all (one read and one write per message, as with epoll's single recv),
  // and a read(n) that ends inside a chunk leaves the rest in order for the next read.
  auto c = co_await connect_to_raw_peer();
  const std::string data = pattern(64 * 1024, 0, 7);
  AIO_ASSERT_AWAITS_TRUE(arrive_in_chunks(c, data));
  EXPECT_TRUE(co_await c.reader.read(1 << 20) == data) << "one read of everything that has arrived";

  AIO_ASSERT_AWAITS_TRUE(arrive_in_chunks(c, data));
  std::string got = co_await c.reader.read(20000);
  EXPECT_EQ(got.size(), 20000u);
  while (got.size() < data.size()) {
    std::string more = co_await aio::wait_for(c.reader.read(1 << 20), 5.0);
    if (more.empty()) break;
    got += more;
  }
  EXPECT_TRUE(got == data) << "bytes lost or reordered";
}

AIO_TEST(StreamReadBuffer, AReadNThatWaitedLeavesNoBufferWhenItWaitsAgain) {
  // A read(n) that waited takes the bytes straight into its string once woken (a wait-only
  // receive, then a take): the stream's buffer is never allocated, on any backend.
  auto c = co_await connect_to_raw_peer();
  auto t = aio::create_task(c.reader.read(100));
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  c.peer.send_now("first");
  EXPECT_EQ(co_await t, "first");
  EXPECT_EQ(receive_buffer_capacity(c.reader), 0u) << "the bytes went through the stream's buffer";
  t = aio::create_task(c.reader.read(100));
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  EXPECT_EQ(receive_buffer_capacity(c.reader), 0u) << "an idle connection keeps a receive buffer";
  c.peer.send_now("second");
  EXPECT_EQ(co_await t, "second");
}

AIO_TEST(StreamReadBuffer, AReadInProgressKeepsTheConnectionWhenBothHalvesAreDropped) {
  // A read holds the connection from the moment it is created: the tasks below have not
  // started when both halves go, and their reads still complete (under ASan, a read that
  // held nothing would touch a freed connection). Once it is over, the connection closes.
  const std::array<ReadKind, 3> kinds{ReadKind::read, ReadKind::read_into, ReadKind::read_view};
  for (const ReadKind kind : kinds) {
    auto c = co_await connect_to_raw_peer();
    aio::Task<std::string> t = aio::create_task(read_then_drop(std::move(c.reader), kind));
    c.writer = aio::StreamWriter();
    co_await run_briefly();
    EXPECT_FALSE(t.done());
    c.peer.send_now("late");
    EXPECT_EQ(co_await t, "late") << "read kind " << static_cast<int>(kind);
    EXPECT_EQ(co_await aio::wait_for(c.peer.recv_some(), 5.0), "") << "the connection was not closed";
  }
}

AIO_TEST(StreamReadBuffer, AConnectionThatSentEverythingHoldsNoSendBuffer) {
  // A write the socket cannot take at once is queued in the stream's send buffers; once
  // everything went out they are freed, so a connection that once sent a large response
  // and then waits (keep-alive) holds no send memory.
  auto c = co_await connect_to_raw_peer();
  const std::string data = pattern(4 * 1024 * 1024, 0, 3);  // more than the socket buffers
  c.writer.write(data);
  c.writer.write(data.substr(0, 1000));  // (queued behind the first: the second buffer)
  EXPECT_GT(c.reader.native_core()->send_buffer_capacity(), 0u) << "the socket took 4 MiB at once";
  auto drained = aio::create_task(c.writer.drain());
  EXPECT_EQ((co_await c.peer.recv_exactly(data.size() + 1000)).size(), data.size() + 1000);
  co_await drained;
  EXPECT_EQ(c.reader.native_core()->send_buffer_capacity(), 0u) << "the send buffers kept their memory";
}

AIO_TEST(StreamReadBuffer, AWaitingConnectionHoldsNoBuffer) {
  // A line protocol fills the stream's buffer; once everything was read and the next read
  // waits for the peer, the buffer's memory is given back.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("one\ntwo\n");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await c.reader.readline(), "one\n");
  EXPECT_GT(receive_buffer_capacity(c.reader), 0u);
  EXPECT_EQ(co_await c.reader.readline(), "two\n");
  auto t = aio::create_task(c.reader.readline());
  co_await run_briefly();
  EXPECT_FALSE(t.done());
  EXPECT_EQ(receive_buffer_capacity(c.reader), 0u) << "an idle connection keeps a receive buffer";
  c.peer.send_now("three\n");
  EXPECT_EQ(co_await t, "three\n");
  // A partial line stays buffered while the read waits for the rest.
  t = aio::create_task(c.reader.readline());
  co_await run_briefly();
  c.peer.send_now("fo");
  auto arrived = [&] { return c.reader.buffered() == 2; };
  AIO_ASSERT_AWAITS_TRUE(eventually(arrived));
  EXPECT_GT(receive_buffer_capacity(c.reader), 0u);
  c.peer.send_now("ur\n");
  EXPECT_EQ(co_await t, "four\n");
}

AIO_TEST(StreamReadBuffer, AReadWaitingForTheRestHoldsABlockThatFits) {
  // Receives go straight into a 64 KiB block of the stream's buffer (on epoll); a read
  // that then waits for the rest of its message keeps what came in a block that fits it:
  // a peer that sends a few bytes and stalls must not hold 64 KiB of the server's memory.
  auto c = co_await connect_to_raw_peer();
  struct Case {
    std::size_t first;  // bytes sent before the read waits for the rest
    std::size_t fits;   // the most the buffer may then hold
  };
  const std::array<Case, 3> cases{Case{1, 4096}, Case{3000, 4096}, Case{5000, 8192}};
  for (const Case& k : cases) {
    const std::string message = pattern(k.first + 10, 0, 7);
    auto t = aio::create_task(c.reader.readexactly(message.size()));
    co_await run_briefly();
    c.peer.send_now(std::string_view(message).substr(0, k.first));
    const std::size_t first = k.first;
    auto arrived = [&c, first] { return c.reader.buffered() == first; };
    AIO_ASSERT_AWAITS_TRUE(eventually(arrived));
    EXPECT_FALSE(t.done());
    EXPECT_GT(receive_buffer_capacity(c.reader), 0u);
    EXPECT_LE(receive_buffer_capacity(c.reader), k.fits) << "after " << k.first << " bytes";
    c.peer.send_now(std::string_view(message).substr(k.first));
    EXPECT_TRUE(co_await t == message);
  }
}

AIO_TEST(StreamReadBuffer, MessagesLargerThanOneReceiveArriveWhole) {
  // readexactly() of messages over 64 KiB, back to back: each takes several receives into
  // the stream's buffer, the next message's first bytes already in it.
  auto c = co_await connect_to_raw_peer();
  constexpr std::size_t kMessage = 70000;
  constexpr std::size_t kCount = 24;
  const std::string data = pattern(kMessage * kCount, 0, 13);
  aio::Task<void> sender = aio::create_task(c.peer.send_all(data));
  for (std::size_t i = 0; i < kCount; ++i) {
    const std::string got = co_await c.reader.readexactly(kMessage);
    AIO_ASSERT_EQ(got.size(), kMessage);
    EXPECT_TRUE(std::string_view(data).substr(i * kMessage, kMessage) == got) << "message " << i << " differs";
  }
  co_await sender;
  c.peer.shutdown_write();
  EXPECT_EQ(co_await c.reader.read(), "");
}

AIO_TEST(StreamReadBuffer, CancelledReadexactlyRacingArrivingBytesLosesNothing) {
  // readexactly() holds the first half of its message in the stream's buffer and waits in
  // fill() for the rest; the cancel lands at different points relative to the rest's
  // arrival. The read returns the whole message, or is cancelled and the next read gets
  // every byte, in order, once.
  auto c = co_await connect_to_raw_peer();
  for (int k = 0; k < 6; ++k) {
    const std::string msg = "message-" + std::to_string(k) + "-of-the-race";
    const std::size_t half = msg.size() / 2;
    auto t = aio::create_task(c.reader.readexactly(msg.size()));
    co_await run_briefly();
    c.peer.send_now(std::string_view(msg).substr(0, half));
    auto first_half_buffered = [&c, half] { return c.reader.buffered() == half; };
    AIO_ASSERT_AWAITS_TRUE(eventually(first_half_buffered));
    c.peer.send_now(std::string_view(msg).substr(half));
    for (int i = 0; i < k; ++i) co_await aio::sleep(0);
    t.cancel();
    std::exception_ptr e = co_await error_of(t);
    std::string got;
    if (!e) {
      got = t.result();
    } else {
      EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
      got = co_await read_exactly_within(c.reader, msg.size(), 2.0);
    }
    EXPECT_EQ(got, msg) << "k = " << k << ": bytes lost or repeated";
    EXPECT_EQ(c.reader.buffered(), 0u);
  }
}

AIO_TEST(StreamReadBuffer, ReadexactlyCancelledWhenTheBytesAreThereAtOnceKeepsThem) {
  // The rest of the message is in the kernel when the already-cancelled readexactly()
  // waits for it: the cancellation wins (asyncio: the read waits, and sees the cancel),
  // and the bytes stay for the next read.
  auto c = co_await connect_to_raw_peer();
  c.peer.send_now("01234");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  EXPECT_EQ(co_await c.reader.read(2), "01");
  c.peer.send_now("56789");
  AIO_ASSERT_AWAITS_TRUE(c.peer.flushed());
  auto t = aio::create_task(cancel_self_then_readexactly(&c.reader, 8));
  std::exception_ptr e = co_await error_of(t);
  EXPECT_TRUE(holds<aio::CancelledError>(e)) << what_of(e);
  EXPECT_EQ(co_await read_exactly_within(c.reader, 8, 2.0), "23456789");
}
