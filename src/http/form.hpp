// URL decoding, query strings and form bodies (application/x-www-form-urlencoded and
// multipart/form-data, RFC 7578): the parsers behind Request::path(), query() and post().
//
// Strict by design: a malformed escape or a malformed multipart body is refused (the
// server answers 400) where aiohttp/yarl would pass the bytes through.
#pragma once

#include <aio/http/form_data.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace aio::http::detail {

/// Decodes %XX escapes (either hex case). With `plus_is_space`, `+` decodes to a space
/// (form and query encoding; `%2B` is always `+`). nullopt on a malformed escape (`%4`,
/// `%zz`, a trailing `%`), and — unless `allow_nul` — on a NUL byte in the result, escaped
/// (`%00`) or raw. The result is bytes: it is not checked to be UTF-8.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space, bool allow_nul = false);

/// Decodes a URL path (the part before `?`): %XX escapes, `+` stays `+`. nullopt on a
/// malformed escape or a NUL. `%2F` decodes to `/` as aiohttp's `request.path` does, so
/// the decoded path cannot tell `/a%2Fb` from `/a/b` (raw_path still can); likewise
/// `%2E%2E` becomes `..` — dot-segment handling is the router's business, not this one's.
std::optional<std::string> decode_path(std::string_view raw_path);

/// Parses a query string (`a=1&b=2&a=3`, without the `?`) into `out`, appending in order:
/// `+` is a space, a key without `=` gets "", empty pairs (`&&`, a trailing `&`) are
/// skipped, only `&` separates (not `;`), `%00` is allowed. Returns false on a malformed
/// escape, and then leaves `out` unchanged.
bool parse_query(std::string_view query, FormData& out);

/// Parses an application/x-www-form-urlencoded body: the same grammar as parse_query.
bool parse_urlencoded(std::string_view body, FormData& out);

/// True when the media type of a Content-Type value is application/x-www-form-urlencoded
/// (compared case-insensitively; parameters such as `charset` are ignored).
bool is_urlencoded(std::string_view content_type);

/// True when the media type of a Content-Type value is multipart/form-data (compared
/// case-insensitively; parameters are ignored).
bool is_multipart(std::string_view content_type);

/// The boundary of a `multipart/form-data; boundary=...` Content-Type (token or quoted
/// form, parameter name in any case). nullopt when the media type is not
/// multipart/form-data, the parameter list is malformed, the boundary is missing or given
/// twice, or it breaks RFC 2046 (1..70 of `0-9A-Za-z'()+_,-./:=? `, not ending in a space).
std::optional<std::string> multipart_boundary(std::string_view content_type);

/// Bounds on what a multipart body may make the parser hold (the body's size is bounded by
/// the server's client_max_size before it gets here).
struct MultipartLimits {
  std::size_t max_parts = 1000;
  /// Bytes of one part's header block (its header lines with their CRLFs).
  std::size_t max_part_header_size = 8192;
};

/// Parses a multipart/form-data body (RFC 7578 over RFC 2046) in one pass, appending one
/// field per part to `out`. Lines end in CRLF. A delimiter is `--boundary` at the start of
/// the body or after a CRLF, followed by optional spaces/tabs and CRLF (or by `--` for the
/// closing one); so `--boundaryX` inside a file is content. Preamble and epilogue are
/// ignored; a body with only the closing delimiter has no fields. Each part needs
/// `Content-Disposition: form-data; name="..."` (optionally `filename="..."`; an RFC 5987
/// `filename*=UTF-8''...` or `name*=` in UTF-8 or ISO-8859-1 wins over the plain one);
/// quoted values lose their backslash escapes but are not percent-decoded (as in aiohttp:
/// curl and browsers send `"` as `%22`, aiohttp's client percent-encodes filenames, and
/// neither is reversible). Content-Transfer-Encoding other than 7bit/8bit/binary and a
/// Content-Encoding other than identity are refused.
///
/// Returns false with a message in `error` (and `out` unchanged) for: no opening or no
/// closing delimiter, a part without Content-Disposition, not form-data, or without
/// name, a duplicate parameter or header, a malformed parameter list or `name*`/`filename*`,
/// a malformed header line (no colon, whitespace before the colon, obs-fold, control
/// bytes, bare CR/LF), headers not ended by an empty line, an unsupported encoding, more
/// than `limits.max_parts` parts, or a header block over `limits.max_part_header_size`.
/// Body text quoted in `error` is cut to 64 bytes with control and non-ASCII bytes escaped.
bool parse_multipart(std::string_view body, std::string_view boundary, FormData& out, std::string& error,
                     const MultipartLimits& limits = {});

}  // namespace aio::http::detail
