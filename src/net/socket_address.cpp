#include "aio/socket_address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <stdexcept>

namespace aio {

SocketAddress::SocketAddress() noexcept : storage_{}, len_(0) { storage_.ss_family = AF_UNSPEC; }

SocketAddress::SocketAddress(std::string_view host, int port) : SocketAddress() {
  if (port < 0 || port > 65535)
    throw std::invalid_argument("SocketAddress: port " + std::to_string(port) + " is out of range 0..65535");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);  // "[::1]"
  const std::string h(host);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage_);
  if (::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    len_ = sizeof(sockaddr_in);
    return;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage_);
  const std::size_t pct = host.find('%');
  const std::string addr(host.substr(0, pct));
  const std::string scope(pct == std::string_view::npos ? std::string_view() : host.substr(pct + 1));
  if (::inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    if (!scope.empty()) {
      unsigned index = ::if_nametoindex(scope.c_str());
      if (index == 0) {
        char* end = nullptr;
        unsigned long n = std::strtoul(scope.c_str(), &end, 10);
        if (*end != '\0') throw std::invalid_argument("SocketAddress: unknown IPv6 scope '" + scope + "'");
        index = static_cast<unsigned>(n);
      }
      v6->sin6_scope_id = index;
    }
    len_ = sizeof(sockaddr_in6);
    return;
  }
  storage_.ss_family = AF_UNSPEC;
  throw std::invalid_argument("SocketAddress: '" + h +
                              "' is not a numeric IPv4 or IPv6 address (resolve names with aio::getaddrinfo)");
}

SocketAddress SocketAddress::unix_path(std::string_view path) {
  SocketAddress a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage_);
  if (path.empty()) throw std::invalid_argument("SocketAddress::unix_path: the path is empty");
  if (path.size() >= sizeof(un->sun_path))
    throw std::invalid_argument("SocketAddress::unix_path: '" + std::string(path) + "' is longer than " +
                                std::to_string(sizeof(un->sun_path) - 1) + " bytes");
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  a.len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] == '\0' ? 0 : 1));
  return a;
}

SocketAddress SocketAddress::from_sockaddr(const sockaddr* addr, socklen_t len) {
  SocketAddress a;
  if (!addr || len == 0) return a;
  if (len > static_cast<socklen_t>(sizeof a.storage_)) len = sizeof a.storage_;
  std::memcpy(&a.storage_, addr, len);
  a.len_ = len;
  return a;
}

std::string SocketAddress::host() const {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  switch (family()) {
    case AF_INET:
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
      return buf;
    case AF_INET6: {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
      ::inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
      if (v6->sin6_scope_id == 0) return buf;
      char name[IF_NAMESIZE] = {};
      std::string scope =
          ::if_indextoname(v6->sin6_scope_id, name) ? std::string(name) : std::to_string(v6->sin6_scope_id);
      return std::string(buf) + "%" + scope;
    }
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
      std::size_t n = len_ > offsetof(sockaddr_un, sun_path) ? len_ - offsetof(sockaddr_un, sun_path) : 0;
      std::string path(un->sun_path, n);
      if (!path.empty() && path[0] != '\0') path = path.c_str();  // drop the terminator
      return path;
    }
    default:
      return {};
  }
}

int SocketAddress::port() const noexcept {
  switch (family()) {
    case AF_INET:
      return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    case AF_INET6:
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    default:
      return 0;
  }
}

std::string SocketAddress::to_string() const {
  switch (family()) {
    case AF_INET:
      return host() + ":" + std::to_string(port());
    case AF_INET6: {
      std::string out;  // (built by appends: GCC 12 warns falsely on "[" + std::string)
      out.reserve(64);
      out.append(1, '[').append(host()).append("]:").append(std::to_string(port()));
      return out;
    }
    case AF_UNIX: {
      std::string p = host();
      if (!p.empty() && p[0] == '\0') p[0] = '@';
      return p;
    }
    default:
      return "(no address)";
  }
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  return a.len_ == b.len_ && std::memcmp(&a.storage_, &b.storage_, a.len_) == 0;
}

}  // namespace aio
