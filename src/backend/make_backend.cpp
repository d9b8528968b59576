#include <stdexcept>

#include "backend/backend.hpp"
#include "backend/epoll.hpp"

namespace aio::detail {

std::unique_ptr<IoBackend> make_backend(Backend which) {
  switch (which) {
    case Backend::automatic:
    case Backend::epoll:
      return std::make_unique<EpollBackend>();
    case Backend::io_uring:
      throw std::invalid_argument(
          "the io_uring backend is not part of this build yet; use Backend::epoll or Backend::automatic");
  }
  throw std::invalid_argument("unknown aio::Backend value");
}

}  // namespace aio::detail
