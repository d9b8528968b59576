// Request and BodyReader: what a handler reads. The body comes from the connection.
#include <algorithm>

#include "aio/errors.hpp"
#include "aio/http/errors.hpp"
#include "aio/http/request.hpp"
#include "http/connection.hpp"
#include "http/file_helpers.hpp"
#include "http/form.hpp"
#include "http/parser.hpp"

namespace aio::http {

void Request::reset() noexcept {
  match_info_.clear();
  content_length_.reset();
  has_body_ = false;
  query_cache_.reset();
  body_cache_.reset();
}

std::optional<std::string_view> Request::header(std::string_view name) const noexcept {
  for (const HeaderField& h : headers_)
    if (detail::iequals(h.name, name)) return h.value;
  return std::nullopt;
}

const FormData& Request::query_params() const {
  if (!query_cache_) {
    FormData params;
    if (!detail::parse_query(query_string_, params))
      throw HttpError(400, "malformed percent-escape in the query string");
    query_cache_.emplace(std::move(params));
  }
  return *query_cache_;
}

std::optional<std::string> Request::query(std::string_view key) const { return query_params().get(key); }

std::string Request::match_info(std::string_view name) const {
  for (const auto& [n, value] : match_info_)
    if (n == name) return value;
  return {};
}

std::optional<std::string> Request::cookie(std::string_view name) const {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  for (const HeaderField& h : headers_) {
    if (!detail::iequals(h.name, "Cookie")) continue;
    pairs.clear();
    detail::parse_cookie_header(h.value, pairs);
    for (const auto& [n, v] : pairs)
      if (n == name) return std::string(v);
  }
  return std::nullopt;
}

std::string Request::remote() const { return conn_->remote_address(); }

std::string_view Request::content_type() const noexcept {
  const std::optional<std::string_view> value = header("Content-Type");
  if (!value) return {};
  std::string_view type = value->substr(0, value->find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return type;
}

Coro<std::string> Request::read() {
  if (!body_cache_) body_cache_ = co_await content_.read();
  co_return *body_cache_;
}

Coro<std::string> Request::text() { co_return co_await read(); }

Coro<nlohmann::json> Request::json() {
  const std::string body = co_await read();
  nlohmann::json value = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) throw HttpError(400, "the request body is not valid JSON");
  co_return value;
}

Coro<FormData> Request::post() {
  const std::optional<std::string_view> type = header("Content-Type");
  FormData form;
  if (!type) co_return form;
  if (detail::is_urlencoded(*type)) {
    const std::string body = co_await read();
    if (!detail::parse_urlencoded(body, form)) throw HttpError(400, "malformed percent-escape in the form body");
  } else if (detail::is_multipart(*type)) {
    const std::optional<std::string> boundary = detail::multipart_boundary(*type);
    if (!boundary) throw HttpError(400, "multipart/form-data without a valid boundary parameter");
    const std::string body = co_await read();
    std::string error;
    if (!detail::parse_multipart(body, *boundary, form, error)) throw HttpError(400, "bad multipart body: " + error);
  }
  co_return form;
}

// --- BodyReader -----------------------------------------------------------------------

namespace {
std::string take_front(std::string& buffer, std::size_t n) {
  if (n >= buffer.size()) return std::exchange(buffer, std::string());
  std::string out = buffer.substr(0, n);
  buffer.erase(0, n);
  return out;
}
}  // namespace

Coro<std::string> BodyReader::read(long n) {
  std::string& buf = conn_->body_buffer();
  if (n == 0) co_return std::string();
  if (n < 0) {
    while (co_await conn_->fill_body()) {
    }
    co_return std::exchange(buf, std::string());
  }
  if (buf.empty()) co_await conn_->fill_body();
  co_return take_front(buf, static_cast<std::size_t>(n));
}

Coro<std::string> BodyReader::readany() {
  std::string& buf = conn_->body_buffer();
  if (buf.empty()) co_await conn_->fill_body();
  co_return std::exchange(buf, std::string());
}

Coro<std::string> BodyReader::readline() {
  std::string& buf = conn_->body_buffer();
  std::size_t searched = 0;
  for (;;) {
    if (const std::size_t nl = buf.find('\n', searched); nl != std::string::npos) co_return take_front(buf, nl + 1);
    searched = buf.size();
    if (!co_await conn_->fill_body()) co_return std::exchange(buf, std::string());
  }
}

Coro<std::string> BodyReader::readexactly(std::size_t n) {
  std::string& buf = conn_->body_buffer();
  while (buf.size() < n) {
    if (!co_await conn_->fill_body()) {
      std::string partial = std::exchange(buf, std::string());
      throw IncompleteReadError(std::move(partial), n);
    }
  }
  co_return take_front(buf, n);
}

bool BodyReader::at_eof() const noexcept { return conn_->body_done(); }

}  // namespace aio::http
