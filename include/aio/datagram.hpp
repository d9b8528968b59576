// aio::DatagramSocket — UDP (asyncio's create_datagram_endpoint, as awaitable calls).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "aio/coro.hpp"
#include "aio/socket_address.hpp"

namespace aio {

struct DatagramOptions {
  /// Bind here first (port 0: any free port). Default: any address of remote_addr's family.
  std::optional<SocketAddress> local_addr{};
  /// Connect the socket: send() goes there, and only its datagrams are received.
  std::optional<SocketAddress> remote_addr{};
  bool reuse_port = false;
  bool allow_broadcast = false;
};
static_assert(std::is_trivially_destructible_v<DatagramOptions>, "see SslContextRef: GCC 12 and aggregate temporaries");

namespace detail {
class DatagramCore;
}

/// A UDP socket. Each send is one datagram; each receive returns one (up to 64 KiB).
/// Cancel-safe: a cancelled recv_from() consumes no datagram.
class DatagramSocket {
 public:
  DatagramSocket() noexcept;
  DatagramSocket(DatagramSocket&&) noexcept;
  DatagramSocket& operator=(DatagramSocket&&) noexcept;
  ~DatagramSocket();

  /// Sends one datagram to addr (an unconnected socket). std::system_error on failure.
  Coro<void> send_to(std::string_view data, SocketAddress addr);
  /// Sends one datagram to the connected peer. UsageError if not connected.
  Coro<void> send(std::string_view data);
  /// Receives one datagram and who sent it.
  Coro<std::pair<std::string, SocketAddress>> recv_from();
  /// Closes the socket; a receive in progress fails with std::system_error (EBADF).
  void close() noexcept;
  bool is_closed() const noexcept;
  SocketAddress sockname() const;
  /// The connected peer (empty if not connected).
  SocketAddress peername() const;

  explicit DatagramSocket(std::unique_ptr<detail::DatagramCore> core) noexcept;

 private:
  std::unique_ptr<detail::DatagramCore> core_;
};

/// Creates a UDP socket as the options say. std::invalid_argument if neither address is
/// given or their families differ; std::system_error if binding or connecting fails.
Coro<DatagramSocket> open_datagram(DatagramOptions options);

}  // namespace aio
