// aio::http::HttpError — aiohttp's web.HTTPException family in one class.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aio/errors.hpp"

namespace aio::http {

/// Thrown from a handler or a middleware, answers with `status` (aiohttp's
/// `raise web.HTTPNotFound()`): `throw aio::http::HttpError(404);`. The body is `text`, or
/// the status line's reason when `text` is empty ("404: Not Found", as aiohttp writes it).
/// Headers added with with_header() go out with the answer (e.g. `Location`, `Retry-After`).
class HttpError : public Error {
 public:
  explicit HttpError(int status, std::string text = "");

  int status() const noexcept { return status_; }
  const std::string& text() const noexcept { return text_; }
  const std::vector<std::pair<std::string, std::string>>& headers() const noexcept { return headers_; }
  /// std::invalid_argument for a header a response cannot carry (CR, LF or NUL, a bad
  /// name, Content-Length / Transfer-Encoding), here where the mistake is made.
  HttpError& with_header(std::string name, std::string value);

 private:
  int status_;
  std::string text_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

/// The reason phrase of a status code ("Not Found"); "Unknown" for codes it does not know.
std::string_view reason_phrase(int status) noexcept;

}  // namespace aio::http
