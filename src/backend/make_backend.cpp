#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

#include "backend/backend.hpp"
#include "backend/delay.hpp"
#include "backend/epoll.hpp"
#ifdef AIO_HAVE_IO_URING
#include "backend/io_uring.hpp"
#endif

namespace aio::detail {

namespace {

// AIO_BACKEND=test_delay: the delaying test backend over epoll (delay.hpp), seeded by
// AIO_TEST_SEED (default 1; each loop of the process draws from its own seed).
std::unique_ptr<IoBackend> make_test_delay_backend() {
  static std::uint64_t loops_made = 0;
  std::uint64_t seed = 1;
  if (const char* s = std::getenv("AIO_TEST_SEED"); s && *s) seed = std::strtoull(s, nullptr, 10);
  return std::make_unique<DelayBackend>(std::make_unique<EpollBackend>(), seed * 1'000'003u + loops_made++);
}

bool debug_logging() {
  const char* d = std::getenv("AIO_DEBUG");
  return d && *d && std::string(d) != "0";
}

// Why io_uring cannot run here ("" when it can).
std::string io_uring_unavailable() {
#ifdef AIO_HAVE_IO_URING
  return IoUringBackend::unavailable_reason();
#else
  return "this build of aio has no io_uring backend (configured without liburing: AIO_WITH_IO_URING=OFF)";
#endif
}

std::unique_ptr<IoBackend> make_io_uring() {
#ifdef AIO_HAVE_IO_URING
  return std::make_unique<IoUringBackend>();
#else
  return nullptr;
#endif
}

}  // namespace

std::unique_ptr<IoBackend> make_backend(Backend which) {
  if (which == Backend::automatic) {
    // A loop that did not ask for one backend follows AIO_BACKEND (as aio::run does), so
    // that a whole test suite runs on the backend the environment names.
    if (const char* env = std::getenv("AIO_BACKEND"); env && *env) {
      std::string v(env);
      if (v == "epoll") which = Backend::epoll;
      if (v == "io_uring") which = Backend::io_uring;
      if (v == "test_delay") return make_test_delay_backend();
    }
  }
  switch (which) {
    case Backend::automatic: {
      // io_uring where the kernel lets us have it: measured with bench/run_echo.py and
      // run_http.py it costs no more server CPU than epoll, and files skip the thread
      // pool (docs/architecture.md, "Choosing").
      std::string why = io_uring_unavailable();
      if (why.empty()) {
        try {
          return make_io_uring();
        } catch (const std::system_error& e) {  // (the probe passed, this ring did not: EMFILE, ENOMEM)
          why = e.what();
        }
      }
      if (debug_logging()) log_line("Backend::automatic: io_uring unavailable (" + why + "); using epoll");
      return std::make_unique<EpollBackend>();
    }
    case Backend::epoll:
      return std::make_unique<EpollBackend>();
    case Backend::io_uring: {
      std::string why = io_uring_unavailable();
      if (!why.empty()) throw std::runtime_error("Backend::io_uring: unavailable: " + why);
      return make_io_uring();
    }
  }
  throw std::invalid_argument("unknown aio::Backend value");
}

}  // namespace aio::detail

namespace aio {

int release_idle_ring() noexcept {
#ifdef AIO_HAVE_IO_URING
  return detail::IoUringBackend::release_parked();
#else
  return 0;
#endif
}

int idle_ring_descriptors() noexcept {
#ifdef AIO_HAVE_IO_URING
  return detail::IoUringBackend::parked_descriptors();
#else
  return 0;
#endif
}

}  // namespace aio
