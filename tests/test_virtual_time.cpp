// Virtual time (LoopOptions::virtual_time, RunOptions::virtual_time, AIO_TEST_VIRTUAL_TIME):
// the loop's clock jumps to the next timer where the loop would block with nothing in
// flight, and waits in real time (its clock running on, up to the next deadline) while
// I/O, a thread-pool job or a child process is in flight.
//
// The real-time bounds below are generous on purpose ("< 5 s" for an hour of virtual
// time): they check that time is virtual, not how fast the loop is. The lower bounds
// ("at least 50 ms of real time") hold by construction: the virtual clock never runs
// faster than the real one while the loop waits for something real.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <aio/aio.hpp>
#include <aio/testing.hpp>

#include <chrono>
#include <cmath>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loopback_sockets.hpp"
#include "process/process_state.hpp"
#include "support.hpp"

using namespace aio_test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// "< 5 s of real time": an hour of virtual time must not be an hour of waiting.
constexpr auto kRealTimeLimit = 5s;

aio::EventLoop& loop() { return aio::get_running_loop(); }

// Seconds of loop time since `start`, rounded to the nanosecond the clock counts in (a
// difference of two doubles is off in the last bits when `start` is not 0).
double elapsed_since(double start) { return static_cast<double>(std::llround((loop().time() - start) * 1e9)) / 1e9; }

// A blocking TCP listener on 127.0.0.1 that the loop does not know about: the test plays
// the peer with plain syscalls.
struct RawListener {
  int fd = -1;
  int port = 0;
  RawListener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = loopback_address(0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4) != 0)
      throw std::runtime_error("RawListener: bind/listen on 127.0.0.1 failed");
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  RawListener(const RawListener&) = delete;
  RawListener& operator=(const RawListener&) = delete;
  ~RawListener() { ::close(fd); }
  // The connection a client already made (the kernel queued it: accept does not wait).
  int accept_one() const { return ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC); }
};

}  // namespace

// --- long sleeps and timeouts take no real time -------------------------------------------

AIO_TEST_VIRTUAL_TIME(VirtualTime, ClockStartsAtZero) {
  EXPECT_TRUE(loop().uses_virtual_time());
  EXPECT_EQ(loop().time(), 0.0);
  co_return;
}

AIO_TEST_VIRTUAL_TIME(VirtualTime, SleepsOfThirtySecondsAndAnHour) {
  const auto real_start = Clock::now();
  co_await aio::sleep(30);
  EXPECT_EQ(loop().time(), 30.0);
  co_await aio::sleep(3600);
  EXPECT_EQ(loop().time(), 3630.0);
  const aio::Delay a_day = 24h;
  co_await aio::sleep(a_day);
  EXPECT_EQ(loop().time(), 3630.0 + 86400.0);
  EXPECT_LT(Clock::now() - real_start, kRealTimeLimit);
}

AIO_TEST_VIRTUAL_TIME(VirtualTime, WaitForTimesOutAfterExactlyItsTimeout) {
  const auto real_start = Clock::now();
  const double limits[] = {30.0, 3600.0};
  for (double limit : limits) {
    aio::Future<int> never = loop().create_future<int>();
    const double start = loop().time();
    const std::exception_ptr error = co_await error_of(aio::wait_for(never, limit));
    EXPECT_TRUE(holds<aio::TimeoutError>(error)) << what_of(error);
    EXPECT_TRUE(never.cancelled());
    EXPECT_EQ(elapsed_since(start), limit);
  }
  EXPECT_LT(Clock::now() - real_start, kRealTimeLimit);
}

AIO_TEST_VIRTUAL_TIME(VirtualTime, WaitForReturnsWhatFinishesInTime) {
  const int v = co_await aio::wait_for(value_after(29.5, 7), 30);
  EXPECT_EQ(v, 7);
  EXPECT_EQ(loop().time(), 29.5);
}

AIO_TEST_VIRTUAL_TIME(VirtualTime, TimeoutAndTimeoutAtFollowTheVirtualClock) {
  std::exception_ptr error = co_await error_of(aio::timeout(3600, nap(7200)));
  EXPECT_TRUE(holds<aio::TimeoutError>(error)) << what_of(error);
  EXPECT_EQ(loop().time(), 3600.0);

  error = co_await error_of(aio::timeout_at(loop().time() + 30, nap(60)));
  EXPECT_TRUE(holds<aio::TimeoutError>(error)) << what_of(error);
  EXPECT_EQ(loop().time(), 3630.0);
}

AIO_TEST_VIRTUAL_TIME(VirtualTime, WaitWithTimeoutReturnsAtTheTimeout) {
  std::vector<aio::Task<int>> tasks;
  tasks.push_back(aio::create_task(value_after(10, 1)));
  tasks.push_back(aio::create_task(value_after(100, 2)));
  const aio::WaitOptions options{.timeout = aio::Delay(30), .return_when = aio::ALL_COMPLETED};
  aio::WaitResult<int> result = co_await aio::wait(tasks, options);
  EXPECT_EQ(loop().time(), 30.0);
  AIO_ASSERT_EQ(result.done.size(), 1u);
  AIO_ASSERT_EQ(result.pending.size(), 1u);
  EXPECT_EQ(result.done[0].result(), 1);
  const int late = co_await result.pending[0];  // wait() cancels nothing: it finishes at 100
  EXPECT_EQ(late, 2);
  EXPECT_EQ(loop().time(), 100.0);
}

// --- order ------------------------------------------------------------------------------------

namespace {

// Timers set out of order, with ties, and (with `nested`) a timer set by a timer: the
// order they fire in and the loop time each sees, with every delay multiplied by `unit`.
aio::Coro<std::vector<std::string>> timer_order(double unit, bool nested) {
  std::vector<std::string> events;
  aio::EventLoop& l = loop();
  const double start = l.time();
  auto note = [&events, &l, start, unit](const std::string& name) {
    std::string event = name;
    event += "@";
    event += std::to_string(std::lround((l.time() - start) / unit));
    events.push_back(std::move(event));
  };
  l.call_later(3 * unit, note, std::string("c"));
  l.call_later(1 * unit, note, std::string("a1"));
  l.call_later(2 * unit, [&l, note, unit, nested] {
    note("b");
    if (nested) l.call_later(2 * unit, note, std::string("d"));  // at 4: after c, before e
  });
  l.call_later(1 * unit, note, std::string("a2"));  // same deadline as a1: after it
  l.call_at(start + 5 * unit, note, std::string("e"));
  co_await aio::sleep(6 * unit);
  note("end");
  co_return events;
}

}  // namespace

AIO_TEST_VIRTUAL_TIME(VirtualTime, TimersFireInDeadlineOrderAndFifoOnTies) {
  const std::vector<std::string> events = co_await timer_order(1.0, true);
  const std::vector<std::string> expected{"a1@1", "a2@1", "b@2", "c@3", "d@4", "e@5", "end@6"};
  EXPECT_EQ(events, expected);
  EXPECT_EQ(loop().time(), 6.0);
}

// The same timers on the real clock fire in the same order. (No timer set by a timer here:
// on a busy machine its real deadline depends on how late its parent ran.)
AIO_TEST(VirtualTimeOff, TimersFireInTheSameOrderOnTheRealClock) {
  const std::vector<std::string> events = co_await timer_order(0.02, false);
  std::vector<std::string> names;  // the real clock's readings may be late
  for (const std::string& e : events) names.push_back(e.substr(0, e.find('@')));
  const std::vector<std::string> expected{"a1", "a2", "b", "c", "e", "end"};
  EXPECT_EQ(names, expected);
}

AIO_TEST_VIRTUAL_TIME(VirtualTime, NoJumpWhileTasksOrCallbacksAreReady) {
  bool fired = false;
  aio::TimerHandle timer = loop().call_later(10, [&fired] { fired = true; });
  const double start = loop().time();
  int yields = 0;
  for (; yields < 1000 && !fired && loop().time() == start; ++yields) co_await aio::sleep(0);
  EXPECT_EQ(yields, 1000);
  EXPECT_FALSE(fired);
  EXPECT_EQ(loop().time(), start);

  // A chain of callbacks, each scheduling the next: the clock waits for the chain to end.
  std::vector<double> seen;
  std::function<void()> hop = [&] {
    seen.push_back(loop().time());
    if (seen.size() < 100) loop().call_soon(hop);
  };
  loop().call_soon(hop);
  co_await aio::sleep(10);
  EXPECT_TRUE(fired);
  EXPECT_EQ(loop().time(), start + 10);
  AIO_ASSERT_EQ(seen.size(), 100u);
  EXPECT_EQ(seen.back(), start) << "the clock jumped while callbacks were ready";
}

// --- cancellation -------------------------------------------------------------------------

AIO_TEST_VIRTUAL_TIME(VirtualTime, CancellationOnTheVirtualClock) {
  aio::Task<void> sleeper = aio::create_task(nap(3600));
  aio::TimerHandle canceller = loop().call_later(10, [sleeper]() mutable { sleeper.cancel(); });
  std::exception_ptr error = co_await error_of(sleeper);
  EXPECT_TRUE(holds<aio::CancelledError>(error)) << what_of(error);
  EXPECT_EQ(loop().time(), 10.0);

  // A cancelled wait_for ends with CancelledError, not TimeoutError, and its timer goes.
  aio::Task<void> guarded = aio::create_task(aio::wait_for(nap(3600), 60));
  canceller = loop().call_later(5, [guarded]() mutable { guarded.cancel(); });
  error = co_await error_of(guarded);
  EXPECT_TRUE(holds<aio::CancelledError>(error)) << what_of(error);
  EXPECT_EQ(loop().time(), 15.0);

  // A cancelled timer does not hold the clock where the loop jumps next.
  aio::TimerHandle dropped = loop().call_later(1, [] { ADD_FAILURE() << "a cancelled timer fired"; });
  dropped.cancel();
  co_await aio::sleep(2);
  EXPECT_EQ(loop().time(), 17.0);
}

// --- what holds the clock -----------------------------------------------------------------

AIO_TEST_VIRTUAL_TIME(VirtualTime, SocketReadInFlightIsWaitedForInRealTime) {
  RawListener listener;
  auto [reader, writer] = co_await aio::open_connection("127.0.0.1", listener.port);
  const int peer = listener.accept_one();
  AIO_ASSERT_GE(peer, 0);

  bool timer_fired = false;
  aio::TimerHandle timer = loop().call_later(30, [&timer_fired] { timer_fired = true; });
  const double start = loop().time();
  // The peer writes after a short real wait; meanwhile the read is in flight and the
  // timers (the 30 s one and wait_for's) must not be jumped to.
  std::thread peer_thread([peer] {
    std::this_thread::sleep_for(20ms);
    [[maybe_unused]] ssize_t n = ::send(peer, "hello", 5, MSG_NOSIGNAL);
  });
  std::string got;
  try {
    got = co_await aio::wait_for(reader.read(5), 30);
  } catch (const aio::TimeoutError&) {
    got = "<timed out>";
  }
  peer_thread.join();
  EXPECT_EQ(got, "hello");
  EXPECT_FALSE(timer_fired);
  EXPECT_LT(loop().time() - start, 30.0);
  timer.cancel();

  // A read that never completes: wait_for's timeout still fires, after its real duration,
  // and the clock stops on the deadline.
  const double before = loop().time();
  const auto real_before = Clock::now();
  const std::exception_ptr error = co_await error_of(aio::wait_for(reader.read(5), 0.05));
  EXPECT_TRUE(holds<aio::TimeoutError>(error)) << what_of(error);
  // (On the deadline, give or take the real instants a completion-based backend takes to
  // report the read's cancellation: the clock follows real time while it is in flight.)
  EXPECT_NEAR(elapsed_since(before), 0.05, 0.005);
  EXPECT_GE(Clock::now() - real_before, 50ms);

  ::close(peer);
  writer.close();
  co_await writer.wait_closed();
}

AIO_TEST_VIRTUAL_TIME(VirtualTime, ThreadJobInFlightHoldsTheClock) {
  bool timer_fired = false;
  aio::TimerHandle timer = loop().call_later(3600, [&timer_fired] { timer_fired = true; });
  auto job = [] {
    std::this_thread::sleep_for(20ms);
    return 7;
  };
  const int r = co_await aio::to_thread(job);
  EXPECT_EQ(r, 7);
  EXPECT_FALSE(timer_fired) << "the clock jumped over a to_thread job in flight";
  EXPECT_LT(loop().time(), 3600.0);
  const double after_job = loop().time();

  // Once the job is back, nothing is in flight: the clock jumps again.
  const auto real_start = Clock::now();
  co_await aio::sleep(3600);
  EXPECT_TRUE(timer_fired);
  EXPECT_EQ(elapsed_since(after_job), 3600.0);
  EXPECT_LT(Clock::now() - real_start, kRealTimeLimit);
}

namespace {

// A child that lives a little: its exit is real, so the 3600 s timers must wait for it.
aio::Coro<void> child_holds_the_clock() {
  bool timer_fired = false;
  aio::TimerHandle timer = loop().call_later(3600, [&timer_fired] { timer_fired = true; });
  aio::Process child = co_await aio::create_subprocess_exec("sleep", "0.05");
  int rc = -1;
  try {
    rc = co_await aio::wait_for(child.wait(), 3600);
  } catch (const aio::TimeoutError&) {
    ADD_FAILURE() << "the clock jumped over a running child";
  }
  EXPECT_EQ(rc, 0);
  EXPECT_FALSE(timer_fired);
  timer.cancel();
  if (!child.returncode()) {
    child.kill();
    co_await child.wait();
  }
}

}  // namespace

AIO_TEST_VIRTUAL_TIME(VirtualTime, ChildProcessHoldsTheClock) { co_await child_holds_the_clock(); }

TEST(VirtualTime, ChildWatchedThroughSigchldHoldsTheClock) {
  aio::detail::force_sigchld_child_watcher(true);  // as on kernels without pidfd_open
  aio::testing::run_test(child_holds_the_clock(), aio::LoopOptions{.virtual_time = true});
  aio::detail::force_sigchld_child_watcher(false);
}

AIO_TEST_VIRTUAL_TIME(VirtualTime, SignalHandlerDoesNotHoldTheClock) {
  bool got_signal = false;
  loop().add_signal_handler(SIGUSR1, [&got_signal] { got_signal = true; });
  const auto real_start = Clock::now();
  co_await aio::sleep(3600);
  EXPECT_EQ(loop().time(), 3600.0);
  EXPECT_LT(Clock::now() - real_start, kRealTimeLimit);
  ::raise(SIGUSR1);  // still delivered, at the time the clock shows
  for (int i = 0; i < 100 && !got_signal; ++i) co_await aio::sleep(0);
  EXPECT_TRUE(got_signal);
  EXPECT_EQ(loop().time(), 3600.0);
  loop().remove_signal_handler(SIGUSR1);
}

AIO_TEST_VIRTUAL_TIME(VirtualTime, SlowCallbacksAreMeasuredInRealTime) {
  LogCapture log;
  loop().slow_callback_duration = 0.01;
  loop().call_soon([] { std::this_thread::sleep_for(30ms); });
  co_await aio::sleep(0);
  co_await aio::sleep(0);
  EXPECT_TRUE(log.contains("Executing a callback took")) << ::testing::PrintToString(log.lines);
  EXPECT_EQ(loop().time(), 0.0) << "running a callback must not move the virtual clock";
}

// --- aio::run and the option off ------------------------------------------------------------

namespace {
aio::Coro<double> time_after_sleep(double d) {
  co_await aio::sleep(d);
  co_return aio::get_running_loop().time();
}

double monotonic_seconds() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
}  // namespace

TEST(VirtualTime, RunOptionRunsMainOnTheVirtualClock) {
  const auto real_start = Clock::now();
  const aio::RunOptions options{.virtual_time = true};
  EXPECT_EQ(aio::run(time_after_sleep(30), options), 30.0);
  EXPECT_EQ(aio::run(time_after_sleep(3600), options), 3600.0);  // a fresh loop: from 0 again
  EXPECT_LT(Clock::now() - real_start, kRealTimeLimit);
}

TEST(VirtualTimeOff, RunKeepsTheRealClock) {
  const auto real_start = Clock::now();
  const double before = monotonic_seconds();
  const double t = aio::run(time_after_sleep(0.02));
  EXPECT_GE(Clock::now() - real_start, 20ms);
  EXPECT_GE(t, before + 0.02);
  EXPECT_LE(t, monotonic_seconds());
}

AIO_TEST(VirtualTimeOff, LoopTimeIsTheMonotonicClock) {
  EXPECT_FALSE(loop().uses_virtual_time());
  const double t = loop().time();
  EXPECT_NEAR(t, monotonic_seconds(), 1.0);
  const auto real_start = Clock::now();
  co_await aio::sleep(0.02);
  EXPECT_GE(Clock::now() - real_start, 20ms);
  EXPECT_GE(loop().time() - t, 0.02);
}
