// aio::http::HeaderField — one header line of a request, as views.
#pragma once

#include <string_view>

namespace aio::http {

/// One header line as received: views into the request's storage, valid while the handler
/// runs. Names keep the client's case; look them up with Request::header() (any case).
struct HeaderField {
  std::string_view name;   // as sent
  std::string_view value;  // without the whitespace around it
};

}  // namespace aio::http
