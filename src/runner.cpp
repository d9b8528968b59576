#include "aio/runner.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "aio/call_graph.hpp"
#include "aio/detail/done_awaiter.hpp"

namespace aio::detail {

LoopOptions loop_options_for_run(const RunOptions& opts, bool& debug) {
  LoopOptions lo{.backend = opts.backend, .virtual_time = opts.virtual_time};
  if (const char* d = std::getenv("AIO_DEBUG"); d && *d) debug = std::string(d) != "0";
  if (const char* b = std::getenv("AIO_BACKEND"); b && *b) {
    std::string v(b);
    if (v == "epoll")
      lo.backend = Backend::epoll;
    else if (v == "io_uring")
      lo.backend = Backend::io_uring;
    else if (v == "auto" || v == "automatic" || v == "test_delay")  // (test_delay: make_backend reads it)
      lo.backend = Backend::automatic;
    else
      throw std::invalid_argument("AIO_BACKEND='" + v + "': expected epoll, io_uring, automatic or test_delay");
  }
  return lo;
}

namespace {
int parse_signal(const std::string& text) {
  std::string name = text.rfind("SIG", 0) == 0 ? text.substr(3) : text;
  static const std::pair<const char*, int> kNames[] = {
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT}, {"PWR", SIGPWR}};
  for (const auto& [n, sig] : kNames)
    if (name == n) return sig;
  char* end = nullptr;
  long n = std::strtol(name.c_str(), &end, 10);
  if (!name.empty() && end && *end == '\0' && n > 0 && n < NSIG) return static_cast<int>(n);
  throw std::invalid_argument("AIO_DUMP_SIGNAL='" + text + "': expected a signal such as USR1, SIGUSR2 or a number");
}
}  // namespace

void install_dump_signal(EventLoop& loop, const RunOptions& opts) {
  int sig = opts.dump_signal;
  if (const char* e = std::getenv("AIO_DUMP_SIGNAL"); e && *e) sig = parse_signal(e);
  if (sig == 0) return;
  loop.add_signal_handler(sig, [] {
    std::vector<TaskRef> tasks = all_tasks();
    std::string text = "aio: " + std::to_string(tasks.size()) + " live task(s)\n" + format_all_tasks();
    if (text.back() == '\n') text.pop_back();
    log_line(text);
  });
}

void check_no_running_loop(const char* what) {
  if (tls_run.loop)
    throw UsageError(std::string(what) +
                     " cannot be called while an event loop is running in this thread; "
                     "await the coroutine instead");
}

namespace {

std::atomic<EventLoop*> sigint_loop{nullptr};
std::atomic<int> sigint_count{0};

extern "C" void on_sigint(int) {
  if (sigint_count.fetch_add(1) > 0) {
    // Second Ctrl-C while main is still finishing: die the default way.
    ::signal(SIGINT, SIG_DFL);
    ::raise(SIGINT);
    return;
  }
  if (EventLoop* loop = sigint_loop.load()) LoopAccess::interrupt_from_signal(*loop);
}

bool in_main_thread() { return ::syscall(SYS_gettid) == ::getpid(); }

}  // namespace

SigintGuard::SigintGuard(EventLoop& loop, TaskRef main) : loop_(loop) {
  if (!in_main_thread()) return;
  struct sigaction current {};
  if (::sigaction(SIGINT, nullptr, &current) != 0 || current.sa_handler != SIG_DFL)
    return;  // the user's own handler wins
  EventLoop* expected = nullptr;
  if (!sigint_loop.compare_exchange_strong(expected, &loop)) return;
  LoopAccess::set_interrupt_hook(loop, [this, main]() mutable {
    if (main.done()) return;
    ++interrupts_;
    main.cancel();
  });
  sigint_count.store(0);
  auto* previous = new struct sigaction(current);
  struct sigaction action {};
  action.sa_handler = &on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (::sigaction(SIGINT, &action, nullptr) != 0) {
    delete previous;
    sigint_loop.store(nullptr);
    return;
  }
  previous_ = previous;
  installed_ = true;
}

SigintGuard::~SigintGuard() {
  if (!installed_) return;
  // A SIGINT handler the program added with add_signal_handler sits on top of ours: take
  // it away first, so that restoring the original disposition is the last word.
  try {
    loop_.remove_signal_handler(SIGINT);
  } catch (...) {
  }
  auto* previous = static_cast<struct sigaction*>(previous_);
  ::sigaction(SIGINT, previous, nullptr);
  delete previous;
  sigint_loop.store(nullptr);
  LoopAccess::set_interrupt_hook(loop_, {});  // the hook points at this guard
}

namespace {
Coro<void> wait_all_done(std::vector<TaskRef> tasks) {
  for (TaskRef& t : tasks) co_await DoneAwaiter(t.base());
}
}  // namespace

void shutdown_loop(EventLoop& loop) noexcept {
  try {
    std::vector<TaskRef> pending;
    LoopAccess::for_each_task(loop, [&](TaskBase* t) {
      if (!t->done()) pending.emplace_back(t);
    });
    if (!pending.empty()) {
      for (TaskRef& t : pending) t.cancel();
      loop.run_until_complete(wait_all_done(pending));
      for (TaskRef& t : pending) {
        if (t.cancelled()) continue;
        if (std::exception_ptr e = t.exception())
          loop.call_exception_handler({"unhandled exception during aio::run() shutdown", e, t.get_name()});
      }
    }
  } catch (...) {
    log_line("error while shutting the loop down: " + describe(std::current_exception()));
  }
  try {
    // asyncio.run: loop.shutdown_default_executor() — the executor's threads finish their
    // jobs and are joined while the loop still runs (a job may be waiting on the loop).
    if (LoopAccess::has_default_executor(loop)) loop.run_until_complete(loop.shutdown_default_executor());
  } catch (...) {
    log_line("error while shutting the default executor down: " + describe(std::current_exception()));
  }
  try {
    loop.close();
  } catch (...) {
  }
}

}  // namespace aio::detail
