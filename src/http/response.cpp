// Response, StreamResponse, HttpError and the reason phrases.
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "aio/errors.hpp"
#include "aio/http/errors.hpp"
#include "aio/http/request.hpp"
#include "aio/http/response.hpp"
#include "http/connection.hpp"
#include "http/file_helpers.hpp"
#include "http/parser.hpp"

namespace aio::http {

namespace {
struct Reason {
  int status;
  const char* phrase;
};
// RFC 9110's reason phrases (and the ones aiohttp uses for the rest), by status.
constexpr Reason kReasons[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Request Entity Too Large"},
    {414, "Request-URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Requested Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {418, "I'm a teapot"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Entity"},
    {425, "Too Early"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {451, "Unavailable For Legal Reasons"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};
}  // namespace

std::string_view reason_phrase(int status) noexcept {
  for (const Reason& r : kReasons)
    if (r.status == status) return r.phrase;
  return "Unknown";
}

namespace {

void check_status(int status) {
  if (status < 100 || status > 999)
    throw std::invalid_argument("aio::http: status " + std::to_string(status) + " is not a 3-digit HTTP status code");
}

void check_header_text(std::string_view name, std::string_view value) {
  if (name.empty()) throw std::invalid_argument("aio::http: a header needs a name");
  for (char c : name)
    if (c <= ' ' || c == ':' || c == 0x7f)
      throw std::invalid_argument("aio::http: header name \"" + std::string(name) +
                                  "\" has a character header names cannot have");
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0')
      throw std::invalid_argument("aio::http: the value of header " + std::string(name) +
                                  " has CR, LF or NUL (it would split the response)");
}

bool server_owned(std::string_view name) {
  return detail::iequals(name, "Content-Length") || detail::iequals(name, "Transfer-Encoding");
}

// "text/plain" → "text/plain; charset=utf-8".
std::string with_charset(std::string content_type) {
  if (content_type.rfind("text/", 0) == 0 && content_type.find("charset") == std::string::npos)
    content_type.append("; charset=utf-8");
  return content_type;
}

// The content types most responses carry, kept as literals.
constexpr const char* kCommonContentTypes[] = {
    "text/plain; charset=utf-8", "text/html; charset=utf-8", "application/json",
    "application/octet-stream",  "text/css; charset=utf-8",  "text/javascript; charset=utf-8",
};

}  // namespace

HttpError::HttpError(int status, std::string text)
    : Error("HTTP " + std::to_string(status) + " " + std::string(reason_phrase(status)) +
            (text.empty() ? std::string() : ": " + text)),
      status_(status),
      text_(std::move(text)) {
  check_status(status);
}

HttpError& HttpError::with_header(std::string name, std::string value) {
  if (server_owned(name)) throw std::invalid_argument("aio::http::HttpError: " + name + " is the server's to set");
  check_header_text(name, value);
  headers_.emplace_back(std::move(name), std::move(value));
  return *this;
}

Response::Response(int status) : status_(status) { check_status(status); }

void Response::set_reason(std::string reason) {
  for (char c : reason)
    if (c == '\r' || c == '\n' || c == '\0')
      throw std::invalid_argument("aio::http::Response::set_reason: CR, LF or NUL would split the response");
  reason_ = std::move(reason);
}

void Response::assign_content_type(std::string content_type) {
  for (const char* common : kCommonContentTypes) {
    if (content_type == common) {
      static_content_type_ = common;
      content_type_.clear();
      return;
    }
  }
  static_content_type_ = nullptr;
  content_type_ = std::move(content_type);
}

Response Response::text(std::string body, int status, std::string content_type) {
  Response r(status);
  r.body_ = std::move(body);
  if (content_type == "text/plain")
    r.static_content_type_ = kCommonContentTypes[0];
  else if (content_type == "text/html")
    r.static_content_type_ = kCommonContentTypes[1];
  else
    r.assign_content_type(with_charset(std::move(content_type)));
  return r;
}

Response Response::json(const nlohmann::json& value, int status) {
  Response r(status);
  r.body_ = value.dump();
  r.static_content_type_ = kCommonContentTypes[2];
  return r;
}

Response Response::bytes(std::string body, std::string content_type, int status) {
  Response r(status);
  r.body_ = std::move(body);
  r.assign_content_type(std::move(content_type));
  return r;
}

Response Response::file(std::string path) {
  Response r(200);
  r.file_path_ = std::move(path);
  return r;
}

namespace detail {
Response file_response_from_fd(int fd, std::string name) {
  Response r(200);
  r.file_fd_ = std::shared_ptr<int>(new int(fd), [](int* p) {
    ::close(*p);
    delete p;
  });
  r.file_path_ = std::move(name);
  return r;
}
}  // namespace detail

Response Response::redirect(std::string location, int status) {
  if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308)
    throw std::invalid_argument("aio::http::Response::redirect: " + std::to_string(status) +
                                " is not a redirect status (301, 302, 303, 307, 308)");
  Response r = Response::text(std::to_string(status) + ": " + std::string(reason_phrase(status)), status);
  r.set_header("Location", location);
  return r;
}

void Response::set_status(int status) {
  check_status(status);
  status_ = status;
}

std::string_view Response::reason() const noexcept { return reason_.empty() ? reason_phrase(status_) : reason_; }

void Response::set_text(std::string text) {
  body_ = std::move(text);
  if (content_type().empty()) static_content_type_ = kCommonContentTypes[0];
}

void Response::set_content_type(std::string content_type) {
  check_header_text("Content-Type", content_type);
  assign_content_type(std::move(content_type));
}

void Response::set_header(std::string_view name, std::string_view value) {
  if (detail::iequals(name, "Content-Type")) return set_content_type(std::string(value));
  if (server_owned(name))
    throw std::invalid_argument("aio::http::Response::set_header: " + std::string(name) +
                                " is the server's to set (StreamResponse::set_content_length sets a length)");
  check_header_text(name, value);
  remove_header(name);
  headers_.emplace_back(std::string(name), std::string(value));
}

void Response::add_header(std::string_view name, std::string_view value) {
  if (server_owned(name))
    throw std::invalid_argument("aio::http::Response::add_header: " + std::string(name) + " is the server's to set");
  check_header_text(name, value);
  headers_.emplace_back(std::string(name), std::string(value));
}

void Response::remove_header(std::string_view name) noexcept {
  std::erase_if(headers_, [&](const auto& h) { return detail::iequals(h.first, name); });
}

std::optional<std::string_view> Response::header(std::string_view name) const noexcept {
  if (detail::iequals(name, "Content-Type")) {
    if (content_type().empty()) return std::nullopt;
    return content_type();
  }
  for (const auto& [n, v] : headers_)
    if (detail::iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

void Response::set_cookie(std::string_view name, std::string_view value, const CookieOptions& options) {
  detail::CookieOptions o;
  o.max_age = options.max_age;
  o.expires = options.expires;
  o.path = options.path;
  o.domain = options.domain;
  o.secure = options.secure;
  o.http_only = options.http_only;
  o.same_site = options.same_site;
  headers_.emplace_back("Set-Cookie", detail::format_set_cookie(name, value, o));
}

void Response::del_cookie(std::string_view name, std::string_view path) {
  detail::CookieOptions o;
  o.max_age = 0;
  o.expires = 0;
  o.path = path;
  headers_.emplace_back("Set-Cookie", detail::format_set_cookie(name, "", o));
}

// --- StreamResponse --------------------------------------------------------------------

StreamResponse::StreamResponse(int status) : Response(status) {}

void StreamResponse::set_content_length(std::uint64_t length) {
  if (prepared_) throw UsageError("StreamResponse.set_content_length: the head was sent already (prepare())");
  declared_length_ = length;
}

Coro<void> StreamResponse::prepare(Request& request) {
  if (prepared_) co_return;
  co_await request.conn_->prepare_stream(*this, request);
}

Coro<void> StreamResponse::write(std::string_view data) {
  if (!prepared_) throw UsageError("StreamResponse.write: call prepare(request) first");
  co_await conn_->write_stream(*this, data);
}

Coro<void> StreamResponse::write_eof(std::string_view data) {
  if (!prepared_) throw UsageError("StreamResponse.write_eof: call prepare(request) first");
  if (finished_) co_return;
  if (!data.empty()) co_await conn_->write_stream(*this, data);
  co_await conn_->finish_stream(*this);
}

}  // namespace aio::http
