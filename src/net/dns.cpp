// getaddrinfo: numeric hosts at once, names on the loop's thread pool (the system
// resolver blocks; asyncio does the same through run_in_executor).
#include "aio/dns.hpp"

#include <netdb.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "aio/executor.hpp"
#include "aio/loop.hpp"

namespace aio {

namespace {

class GaiCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int code) const override { return ::gai_strerror(code); }
};

const std::error_category& gai_category() {
  static const GaiCategory category;
  return category;
}

struct Resolved {
  std::vector<SocketAddress> addresses;
  int error = 0;      // EAI_* code, 0 on success
  int sys_errno = 0;  // for EAI_SYSTEM
};

Resolved resolve_blocking(const std::string& host, int port, AddrInfoOptions options) {
  addrinfo hints{};
  hints.ai_family = options.family;
  hints.ai_socktype = options.stream ? SOCK_STREAM : SOCK_DGRAM;
  hints.ai_flags = AI_ADDRCONFIG | (options.passive ? AI_PASSIVE : 0);
  std::string service = std::to_string(port);
  addrinfo* list = nullptr;
  Resolved out;
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &list);
  if (rc == EAI_NONAME && (hints.ai_flags & AI_ADDRCONFIG)) {
    // Without a configured non-loopback address, AI_ADDRCONFIG hides even "localhost".
    hints.ai_flags &= ~AI_ADDRCONFIG;
    rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &list);
  }
  if (rc != 0) {
    out.error = rc;
    out.sys_errno = errno;
    return out;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(list, &::freeaddrinfo);
  for (addrinfo* ai = list; ai; ai = ai->ai_next) {
    SocketAddress a = SocketAddress::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
    bool seen = false;
    for (const SocketAddress& b : out.addresses) seen = seen || b == a;
    if (!seen) out.addresses.push_back(a);
  }
  return out;
}

}  // namespace

Coro<std::vector<SocketAddress>> getaddrinfo(std::string host, int port, AddrInfoOptions options) {
  if (port < 0 || port > 65535)
    throw std::invalid_argument("getaddrinfo: port " + std::to_string(port) + " is out of range");
  // Numeric hosts need no resolver (and no thread).
  try {
    SocketAddress numeric(host, port);
    if (options.family == AF_UNSPEC || options.family == numeric.family())
      co_return std::vector<SocketAddress>{numeric};
  } catch (const std::invalid_argument&) {
  }
  // (The lambda is named: GCC 12 destroys a capturing lambda twice when it is created
  // inside a co_await expression.)
  auto resolve = [host, port, options] { return resolve_blocking(host, port, options); };
  auto pending = get_running_loop().run_in_executor(nullptr, std::move(resolve));
  Resolved r = co_await pending;
  if (r.error == EAI_SYSTEM) throw std::system_error(r.sys_errno, std::generic_category(), "getaddrinfo " + host);
  if (r.error != 0) throw std::system_error(r.error, gai_category(), "getaddrinfo " + host);
  if (r.addresses.empty()) throw std::system_error(EAI_NONAME, gai_category(), "getaddrinfo " + host + ": no address");
  co_return std::move(r.addresses);
}

}  // namespace aio
