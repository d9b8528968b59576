// The pure helpers behind add_static(), FileResponse and cookies: safe path resolution
// under a static root, HTTP dates, Range, conditional requests, MIME types and cookie
// formatting/parsing. No event loop here: plain functions over strings, stat and fds, so
// each piece is tested on its own (tests/test_http_file_helpers.cpp).
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aio::http::detail {

// ---------------------------------------------------------------------------------------
// Static files
// ---------------------------------------------------------------------------------------

/// The canonical form (realpath) of a static root, or nullopt when `dir` does not exist or
/// is not a directory (`why` says which). Compute it once, when the route is added.
std::optional<std::string> canonical_root(std::string_view dir, std::string* why = nullptr);

/// Opens the regular file that `decoded_tail` names below `canonical_root` (from
/// canonical_root()), O_RDONLY | O_CLOEXEC, and fills `st` from fstat() of that fd.
/// Returns -1 and sets `why` when refused:
///   "NUL in path", "absolute path", "path too long",
///   "outside the directory"  (a `..` segment, or a symlink leading out of the root),
///   "not found", "not a regular file" (a directory — no listings —, FIFO, device, socket,
///   or a tail ending in '/' or '/.'), "permission denied", "too many symbolic links".
/// `decoded_tail` is the percent-decoded path after the route's prefix (so "%2e%2e" comes
/// in as ".."). Empty and "." segments are skipped; backslashes are ordinary characters.
/// Symlinks are followed while they stay inside the root (absolute ones must name a path
/// under the canonical root). The tail is resolved component by component from an fd of
/// the root, so what is checked is what is opened: no window for a concurrent rename or
/// symlink swap to redirect the open outside the root. Callers answer 404 for every
/// refusal except perhaps "permission denied" (403); `why` is for logs, not for clients.
///
///   struct stat st;
///   std::string why;
///   int fd = open_static_file(root, request.match_info("tail"), st, &why);
int open_static_file(std::string_view canonical_root, std::string_view decoded_tail, struct stat& st,
                     std::string* why = nullptr);

/// The absolute path (symlinks resolved, always below `canonical_root`) of the regular file
/// that `decoded_tail` names, or nullopt with the same refusals as open_static_file().
/// Only a name: the file may change before someone opens it — to serve, use
/// open_static_file().
std::optional<std::string> resolve_static_path(std::string_view canonical_root, std::string_view decoded_tail,
                                               std::string* why = nullptr);

// ---------------------------------------------------------------------------------------
// HTTP dates (RFC 9110 5.6.7)
// ---------------------------------------------------------------------------------------

/// The length of an IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
inline constexpr std::size_t kHttpDateLength = 29;

/// `t` as an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT". Independent of the locale.
/// Times outside years 0001..9999 are clamped to that range (the format has 4-digit years).
std::string format_http_date(std::time_t t);
/// The same into exactly 29 bytes at `out` (no terminating NUL); allocates nothing (for
/// the per-worker Date header cache).
void format_http_date(std::time_t t, char out[kHttpDateLength]) noexcept;

/// Parses an HTTP-date: IMF-fixdate, and the obsolete RFC 850 ("Sunday, 06-Nov-94
/// 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994") forms RFC 9110 obliges
/// recipients to accept. Names are case-sensitive as in the grammar; surrounding spaces
/// and tabs are ignored; the weekday must be a valid name but is not checked against the
/// date; second 60 (a leap second) is accepted. nullopt for anything else, including
/// out-of-range fields (Feb 29 of a common year, hour 24, ...). An RFC 850 two-digit year
/// that would be more than 50 years after `now` is taken as the century before.
std::optional<std::time_t> parse_http_date(std::string_view value, std::time_t now);
/// parse_http_date(value, std::time(nullptr)).
std::optional<std::time_t> parse_http_date(std::string_view value);

// ---------------------------------------------------------------------------------------
// Range requests (RFC 9110 14)
// ---------------------------------------------------------------------------------------

/// An inclusive byte range: bytes first..last of the file, last < size.
struct ByteRange {
  std::uint64_t first;
  std::uint64_t last;
  std::uint64_t length() const noexcept { return last - first + 1; }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

enum class RangeResult {
  none,           // no Range header (empty value): 200, the whole file
  satisfiable,    // `out` holds the ranges to send: 206
  unsatisfiable,  // no range overlaps the file: 416 with content_range_unsatisfiable(size)
  ignore,         // not one we serve (another unit, invalid, abusive): 200, the whole file
};

/// At most this many ranges in one Range header; more → RangeResult::ignore.
inline constexpr std::size_t kMaxRanges = 16;

/// Parses a Range header value against a file of `file_size` bytes. On `satisfiable`,
/// `out` holds the satisfiable ranges clipped to the file, in the order requested
/// (unsatisfiable ones dropped); on every other result `out` is empty.
/// Forms: "bytes=0-99", "bytes=100-" (to the end), "bytes=-500" (the last 500 bytes, or the
/// whole file if shorter), and comma lists of them. The unit is case-insensitive.
/// `ignore` (serve the whole file, as RFC 9110 allows) for: another unit, any syntax error
/// (including last < first), more than kMaxRanges ranges, or more than one range
/// overlapping another (a denial-of-service pattern, RFC 9110 14.3). A zero-length file
/// cannot be served in parts: a suffix range is "satisfiable" but selects nothing, so
/// that is `ignore`; "bytes=0-" on it is `unsatisfiable`. Numbers too large for 64 bits
/// saturate (they mean "to the end" / "beyond the end").
RangeResult parse_range(std::string_view header_value, std::uint64_t file_size, std::vector<ByteRange>& out);

/// Sorts `ranges` and merges overlapping or adjacent ones, so a caller that serves a single
/// part can check `ranges.size() == 1` ("bytes=0-9,10-19" is one part, 0-19).
void coalesce(std::vector<ByteRange>& ranges);

/// The Content-Range value of a 206: "bytes 0-99/1000".
std::string content_range(ByteRange r, std::uint64_t size);
/// The Content-Range value of a 416: "bytes */1000".
std::string content_range_unsatisfiable(std::uint64_t size);

// ---------------------------------------------------------------------------------------
// Conditional requests (RFC 9110 13)
// ---------------------------------------------------------------------------------------

/// True when `if_modified_since` parses as an HTTP-date and `mtime` is not after it (at
/// one-second resolution): answer 304. False for an unparsable date (the header is then
/// ignored). RFC 9110 13.1.3: ignore If-Modified-Since when If-None-Match is present.
bool not_modified_since(std::string_view if_modified_since, std::time_t mtime);

/// An entity tag from the file's mtime (nanoseconds) and size, in nginx's spirit:
/// "\"<hex mtime ns>-<hex size>\"", with a "W/" prefix when `weak`.
std::string make_etag(const struct stat& st, bool weak = false);

/// If-None-Match: true when `etag` matches one of the listed tags by weak comparison
/// (W/ prefixes ignored on both sides) or the value is "*". Malformed list members are
/// skipped.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

/// If-Range (RFC 9110 13.1.5): true when the Range may be honoured: the value is a strong
/// entity tag equal to a strong `etag`, or an HTTP-date equal to `mtime`. False (send the
/// whole file) otherwise, including for weak tags and unparsable values.
bool if_range_matches(std::string_view if_range, std::string_view etag, std::time_t mtime);

// ---------------------------------------------------------------------------------------
// MIME types
// ---------------------------------------------------------------------------------------

/// The Content-Type for a file, from the extension of its last path segment (compared
/// case-insensitively); "application/octet-stream" when unknown or absent (".bashrc" has
/// none). Every text/* type carries "; charset=utf-8" (html, css, js, mjs, txt, csv, md,
/// ics, vtt); application/json, application/xml and image/svg+xml do not, as JSON is UTF-8
/// by definition and XML declares its own encoding.
std::string_view mime_type_for(std::string_view path) noexcept;

// ---------------------------------------------------------------------------------------
// Cookies (RFC 6265)
// ---------------------------------------------------------------------------------------

/// The attributes of a Set-Cookie. Empty views are left out; `path` defaults to "/".
/// Every member has a default initializer, so `{.secure = true}` compiles cleanly under
/// -Wmissing-field-initializers.
struct CookieOptions {
  std::optional<std::int64_t> max_age{};  // seconds; 0 (or less) deletes the cookie
  std::optional<std::time_t> expires{};
  std::string_view path = "/";
  std::string_view domain{};
  bool secure = false;
  bool http_only = false;
  std::string_view same_site{};  // "Strict", "Lax" or "None" (any case)
};

/// A Set-Cookie value: "name=value; Domain=...; Path=/; Expires=...; Max-Age=...; Secure;
/// HttpOnly; SameSite=Lax" (only the attributes given).
/// Throws std::invalid_argument, saying which character at which offset is wrong and what
/// to do, when: the name is empty or not an HTTP token; the value has a character outside
/// RFC 6265's cookie-octets (space, '"', ',', ';', '\\', controls, non-ASCII — encode
/// such values, e.g. percent- or base64url-encoding); path or domain are malformed;
/// same_site is not Strict/Lax/None; SameSite=None without secure; a "__Secure-" or
/// "__Host-" name without the attributes browsers require for it; or name and value
/// together exceed 4096 bytes (browsers drop such cookies).
std::string format_set_cookie(std::string_view name, std::string_view value, const CookieOptions& options = {});

/// Appends the name/value pairs of a request's Cookie header ("a=1; b=2") to `out`, as
/// views into `cookie_header`. Lenient like browsers: spaces around names and values are
/// trimmed, a value wrapped in double quotes loses them, pairs without '=' or with an
/// empty name are skipped. Appends, so several Cookie headers can be parsed in turn.
void parse_cookie_header(std::string_view cookie_header,
                         std::vector<std::pair<std::string_view, std::string_view>>& out);

}  // namespace aio::http::detail
