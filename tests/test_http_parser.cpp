// The HTTP/1.1 request parser: well-formed heads give the right values, every malformed case
// of RFC 9112 gives its status, and any split of the input gives the same answer as the whole.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "http/parser.hpp"

using namespace aio::http::detail;
using namespace std::string_literals;

namespace {

// What parse_request_head() said, copied out of the input so it outlives the buffer.
struct Outcome {
  ParseResult result = ParseResult::incomplete;
  std::string method, target, host;
  int version_minor = 0;
  BodyFraming framing = BodyFraming::none;
  std::uint64_t content_length = 0;
  bool keep_alive = false, expect_continue = false, upgrade = false;
  std::size_t head_size = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  int status = 0;
  std::string reason;

  bool operator==(const Outcome&) const = default;
};

void PrintTo(const Outcome& o, std::ostream* os) {
  switch (o.result) {
    case ParseResult::incomplete:
      *os << "incomplete";
      return;
    case ParseResult::error:
      *os << "error " << o.status << " (" << o.reason << ")";
      return;
    case ParseResult::complete:
      break;
  }
  *os << "complete " << o.method << " " << o.target << " 1." << o.version_minor << " head_size=" << o.head_size
      << " framing=" << static_cast<int>(o.framing) << " cl=" << o.content_length << " ka=" << o.keep_alive
      << " host=" << o.host << " headers=" << o.headers.size();
}

bool within(std::string_view part, const char* begin, std::size_t size) {
  return part.empty() || (part.data() >= begin && part.data() + part.size() <= begin + size);
}

// Parses a copy of `bytes` held in a buffer of exactly that size, so that AddressSanitizer
// reports any read past the end of the input.
Outcome parse_exact(std::string_view bytes, const ParseLimits& limits = {}) {
  std::unique_ptr<char[]> copy(new char[bytes.size() + (bytes.empty() ? 1 : 0)]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  RequestHead head;
  std::vector<HeaderField> headers;
  ParseError error;
  Outcome out;
  out.result = parse_request_head({copy.get(), bytes.size()}, limits, head, headers, error);
  if (out.result == ParseResult::error) {
    out.status = error.status;
    out.reason = error.reason;
    EXPECT_FALSE(out.reason.empty()) << "an error must say why";
    return out;
  }
  if (out.result == ParseResult::incomplete) return out;
  EXPECT_LE(head.head_size, bytes.size());
  EXPECT_TRUE(within(head.method, copy.get(), bytes.size()));
  EXPECT_TRUE(within(head.target, copy.get(), bytes.size()));
  EXPECT_TRUE(within(head.host, copy.get(), bytes.size()));
  out.method = head.method;
  out.target = head.target;
  out.host = head.host;
  out.version_minor = head.version_minor;
  out.framing = head.framing;
  out.content_length = head.content_length;
  out.keep_alive = head.keep_alive;
  out.expect_continue = head.expect_continue;
  out.upgrade = head.upgrade;
  out.head_size = head.head_size;
  for (const HeaderField& field : headers) {
    EXPECT_TRUE(within(field.name, copy.get(), head.head_size));
    EXPECT_TRUE(within(field.value, copy.get(), head.head_size));
    out.headers.emplace_back(field.name, field.value);
  }
  return out;
}

const std::string kFirstOfPipeline = "GET /first HTTP/1.1\r\nHost: a\r\n\r\n";

// Parses `request` whole, then every prefix of it (each must be incomplete, or the same error,
// or the same head once it holds the head), then as the second request of a pipeline.
Outcome parse_everywhere(const std::string& request, const ParseLimits& limits = {}) {
  const Outcome whole = parse_exact(request, limits);
  for (std::size_t cut = 0; cut < request.size(); ++cut) {
    const Outcome prefix = parse_exact(std::string_view(request).substr(0, cut), limits);
    if (whole.result == ParseResult::complete && cut >= whole.head_size) {
      EXPECT_EQ(prefix, whole) << "prefix of " << cut << " bytes holds the whole head";
    } else if (prefix.result != ParseResult::incomplete) {
      EXPECT_EQ(prefix, whole) << "prefix of " << cut << " bytes";
      EXPECT_EQ(prefix.result, ParseResult::error) << "prefix of " << cut << " bytes completed early";
    }
  }
  const std::string pipeline = kFirstOfPipeline + request;
  const Outcome first = parse_exact(pipeline, limits);
  EXPECT_EQ(first.result, ParseResult::complete);
  EXPECT_EQ(first.head_size, kFirstOfPipeline.size());
  EXPECT_EQ(first.target, "/first");
  EXPECT_EQ(parse_exact(std::string_view(pipeline).substr(first.head_size), limits), whole)
      << "as the second request of a pipeline";
  return whole;
}

std::pair<std::string, std::string> field(std::string name, std::string value) {
  return {std::move(name), std::move(value)};
}

// ---- well-formed requests -----------------------------------------------------------------

TEST(HttpParser, BrowserGet) {
  const std::string request =
      "GET /search?q=aio&lang=en HTTP/1.1\r\n"
      "Host: www.example.com\r\n"
      "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
      "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
      "Accept-Language: en-US,en;q=0.5\r\n"
      "Accept-Encoding: gzip, deflate, br\r\n"
      "Connection: keep-alive\r\n"
      "Cookie: session=abc123; theme=dark\r\n"
      "\r\n";
  const Outcome o = parse_everywhere(request);
  ASSERT_EQ(o.result, ParseResult::complete) << o.reason;
  EXPECT_EQ(o.method, "GET");
  EXPECT_EQ(o.target, "/search?q=aio&lang=en");
  EXPECT_EQ(o.version_minor, 1);
  EXPECT_EQ(o.host, "www.example.com");
  EXPECT_EQ(o.framing, BodyFraming::none);
  EXPECT_TRUE(o.keep_alive);
  EXPECT_FALSE(o.expect_continue);
  EXPECT_FALSE(o.upgrade);
  EXPECT_EQ(o.head_size, request.size());
  ASSERT_EQ(o.headers.size(), 7u);
  EXPECT_EQ(o.headers[0], field("Host", "www.example.com"));
  EXPECT_EQ(o.headers[1].second, "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0");
  EXPECT_EQ(o.headers[4], field("Accept-Encoding", "gzip, deflate, br"));
  EXPECT_EQ(o.headers[6], field("Cookie", "session=abc123; theme=dark"));
}

TEST(HttpParser, PostWithContentLength) {
  const std::string head = "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\n";
  const Outcome o = parse_everywhere(head + "hello world");
  ASSERT_EQ(o.result, ParseResult::complete) << o.reason;
  EXPECT_EQ(o.method, "POST");
  EXPECT_EQ(o.framing, BodyFraming::content_length);
  EXPECT_EQ(o.content_length, 11u);
  EXPECT_EQ(o.head_size, head.size());  // the body is not part of the head
}

TEST(HttpParser, ContentLengthEdgeValues) {
  Outcome zeros = parse_everywhere("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n");
  ASSERT_EQ(zeros.result, ParseResult::complete);
  EXPECT_EQ(zeros.content_length, 7u);
  Outcome max = parse_everywhere("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n");
  ASSERT_EQ(max.result, ParseResult::complete);
  EXPECT_EQ(max.content_length, UINT64_MAX);
  Outcome zero = parse_everywhere("POST / HTTP/1.1\r\nHost: h\r\ncontent-length:0\r\n\r\n");
  ASSERT_EQ(zero.result, ParseResult::complete);
  EXPECT_EQ(zero.framing, BodyFraming::content_length);
  EXPECT_EQ(zero.content_length, 0u);
}

TEST(HttpParser, ChunkedPostHeadAndBody) {
  const std::string head = "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string body = "5;name=value\r\nhello\r\n6;q=\"quoted;\\\"str\"\r\n world\r\n0\r\nChecksum: abc\r\n\r\n";
  const Outcome o = parse_everywhere(head + body);
  ASSERT_EQ(o.result, ParseResult::complete) << o.reason;
  EXPECT_EQ(o.framing, BodyFraming::chunked);
  EXPECT_EQ(o.content_length, 0u);
  EXPECT_EQ(o.head_size, head.size());

  ChunkedDecoder decoder;
  std::string decoded;
  std::size_t consumed = 0;
  ParseError error;
  EXPECT_EQ(decoder.decode(body, consumed, decoded, error), ChunkedDecoder::Result::done) << error.reason;
  EXPECT_EQ(decoded, "hello world");
  EXPECT_EQ(consumed, body.size());
}

TEST(HttpParser, TransferEncodingIsCaseInsensitiveAndListsCombine) {
  Outcome upper = parse_everywhere("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED\r\n\r\n");
  ASSERT_EQ(upper.result, ParseResult::complete);
  EXPECT_EQ(upper.framing, BodyFraming::chunked);
  Outcome empty_elements = parse_everywhere("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: , chunked ,\r\n\r\n");
  ASSERT_EQ(empty_elements.result, ParseResult::complete);
  EXPECT_EQ(empty_elements.framing, BodyFraming::chunked);
}

TEST(HttpParser, Http10DefaultsToClose) {
  Outcome o = parse_everywhere("GET /old HTTP/1.0\r\n\r\n");
  ASSERT_EQ(o.result, ParseResult::complete) << o.reason;
  EXPECT_EQ(o.version_minor, 0);
  EXPECT_FALSE(o.keep_alive);
  EXPECT_EQ(o.host, "");  // HTTP/1.0 may omit Host
  EXPECT_TRUE(o.headers.empty());
}

TEST(HttpParser, Http10KeepAlive) {
  Outcome o = parse_everywhere("GET / HTTP/1.0\r\nHost: h\r\nConnection: Keep-Alive\r\n\r\n");
  ASSERT_EQ(o.result, ParseResult::complete) << o.reason;
  EXPECT_EQ(o.version_minor, 0);
  EXPECT_TRUE(o.keep_alive);
  EXPECT_EQ(o.host, "h");
}

TEST(HttpParser, ConnectionTokensAreListsAndCloseWins) {
  Outcome close = parse_everywhere("GET / HTTP/1.1\r\nHost: h\r\nConnection: CLOSE\r\n\r\n");
  ASSERT_EQ(close.result, ParseResult::complete);
  EXPECT_FALSE(close.keep_alive);
  Outcome both =
      parse_everywhere("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: foo,  close\r\n\r\n");
  ASSERT_EQ(both.result, ParseResult::complete);
  EXPECT_FALSE(both.keep_alive);
  Outcome other = parse_everywhere("GET / HTTP/1.1\r\nHost: h\r\nConnection: TE, closed\r\n\r\n");
  ASSERT_EQ(other.result, ParseResult::complete);
  EXPECT_TRUE(other.keep_alive);  // "closed" is not "close"
}

TEST(HttpParser, ExpectContinue) {
  Outcome o = parse_everywhere("PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n");
  ASSERT_EQ(o.result, ParseResult::complete);
  EXPECT_TRUE(o.expect_continue);
}

TEST(HttpParser, Upgrade) {
  const std::string upgrade = "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n";
  Outcome o = parse_everywhere("GET /ws HTTP/1.1\r\nHost: h\r\n" + upgrade);
  ASSERT_EQ(o.result, ParseResult::complete);
  EXPECT_TRUE(o.upgrade);
  Outcome http10 = parse_everywhere("GET /ws HTTP/1.0\r\n" + upgrade);
  ASSERT_EQ(http10.result, ParseResult::complete);
  EXPECT_FALSE(http10.upgrade);  // RFC 9110 7.8: ignored in HTTP/1.0
  Outcome no_header = parse_everywhere("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n");
  ASSERT_EQ(no_header.result, ParseResult::complete);
  EXPECT_FALSE(no_header.upgrade);
}

TEST(HttpParser, OptionsAsterisk) {
  Outcome o = parse_everywhere("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(o.result, ParseResult::complete) << o.reason;
  EXPECT_EQ(o.method, "OPTIONS");
  EXPECT_EQ(o.target, "*");
}

TEST(HttpParser, AbsoluteFormAndConnect) {
  Outcome absolute = parse_everywhere("GET http://example.com:8080/a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
  ASSERT_EQ(absolute.result, ParseResult::complete) << absolute.reason;
  EXPECT_EQ(absolute.target, "http://example.com:8080/a/b?c=d");
  EXPECT_EQ(absolute.host, "example.com:8080");
  Outcome connect = parse_everywhere("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  ASSERT_EQ(connect.result, ParseResult::complete) << connect.reason;
  EXPECT_EQ(connect.target, "example.com:443");
  Outcome ipv6 = parse_everywhere("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
  ASSERT_EQ(ipv6.result, ParseResult::complete) << ipv6.reason;
  EXPECT_EQ(ipv6.host, "[::1]:8080");
}

TEST(HttpParser, FieldValuesKeepInnerWhitespaceAndObsText) {
  const std::string request =
      "GET / HTTP/1.1\r\n"
      "Host:h\r\n"
      "X-Spaces:   a  b \t c \t \r\n"
      "X-Obs: caf\xc3\xa9 \xff\r\n"
      "X-Empty:\r\n"
      "X-Blank:   \t \r\n"
      "X-Tab:\tv\r\n"
      "\r\n";
  const Outcome o = parse_everywhere(request);
  ASSERT_EQ(o.result, ParseResult::complete) << o.reason;
  ASSERT_EQ(o.headers.size(), 6u);
  EXPECT_EQ(o.headers[0], field("Host", "h"));
  EXPECT_EQ(o.headers[1], field("X-Spaces", "a  b \t c"));
  EXPECT_EQ(o.headers[2], field("X-Obs", "caf\xc3\xa9 \xff"));
  EXPECT_EQ(o.headers[3], field("X-Empty", ""));
  EXPECT_EQ(o.headers[4], field("X-Blank", ""));
  EXPECT_EQ(o.headers[5], field("X-Tab", "v"));
}

TEST(HttpParser, LongValuesCrossTheVectorScanBoundaries) {
  // Values of every length around the 16-byte blocks, with the stop byte at every offset.
  for (std::size_t n = 0; n < 40; ++n) {
    const std::string value(n, 'v');
    Outcome o = parse_exact("GET /" + value + " HTTP/1.1\r\nHost: h\r\nX: " + value + "\r\n\r\n");
    ASSERT_EQ(o.result, ParseResult::complete) << n;
    EXPECT_EQ(o.target, "/" + value);
    EXPECT_EQ(o.headers[1].second, value);
    Outcome bad = parse_exact("GET / HTTP/1.1\r\nHost: h\r\nX: " + value + "\x01" + value + "\r\n\r\n");
    EXPECT_EQ(bad.result, ParseResult::error) << n;
    Outcome bad_target = parse_exact("GET /" + value + "\x80 HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(bad_target.result, ParseResult::error) << n;
  }
}

TEST(HttpParser, FieldNamesOfEveryLengthWithEveryTchar) {
  // The vector scan passes letters, digits and '-', and hands the other tchars to the table.
  const std::string other_tchars = "!#$%&'*+.^_`|~";
  for (std::size_t n = 0; n < 40; ++n) {
    for (char tchar : other_tchars) {
      const std::string name = std::string(n, 'n') + tchar + std::string(n % 7, 'Z');
      Outcome o = parse_exact("GET / HTTP/1.1\r\nHost: h\r\n" + name + ": v\r\n\r\n");
      ASSERT_EQ(o.result, ParseResult::complete) << name;
      EXPECT_EQ(o.headers[1], field(name, "v"));
    }
    for (char delimiter : std::string("\"(),/;<=>?@[\\]{}")) {
      const std::string name = std::string(n, 'n') + delimiter + "x";
      EXPECT_EQ(parse_exact("GET / HTTP/1.1\r\nHost: h\r\n" + name + ": v\r\n\r\n").status, 400) << name;
      EXPECT_EQ(parse_exact(std::string(n, 'M') + delimiter + "M / HTTP/1.1\r\nHost: h\r\n\r\n").status, 400) << name;
    }
  }
}

TEST(HttpParser, FramingHeadersAreRecognisedInAnyCaseAndOnlyByTheirName) {
  Outcome upper = parse_everywhere("POST / HTTP/1.1\r\nHOST: h\r\nCONTENT-LENGTH: 5\r\nEXPECT: 100-CONTINUE\r\n\r\n");
  ASSERT_EQ(upper.result, ParseResult::complete) << upper.reason;
  EXPECT_EQ(upper.framing, BodyFraming::content_length);
  EXPECT_EQ(upper.content_length, 5u);
  EXPECT_TRUE(upper.expect_continue);
  EXPECT_EQ(upper.host, "h");
  // Look-alikes are ordinary fields.
  Outcome alike = parse_everywhere(
      "POST / HTTP/1.1\r\nHost: h\r\nContent_Length: 5\r\nTransfer_Encoding: chunked\r\nContent-Lengths: 1\r\n"
      "Hos7: x\r\nExpect: 100\tcontinue\r\nConnection: clos\r\n\r\n");
  ASSERT_EQ(alike.result, ParseResult::complete) << alike.reason;
  EXPECT_EQ(alike.framing, BodyFraming::none);
  EXPECT_FALSE(alike.expect_continue);
  EXPECT_TRUE(alike.keep_alive);
  EXPECT_EQ(alike.host, "h");
}

TEST(HttpParser, LeadingEmptyLinesAreSkippedAndCounted) {
  const std::string request = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
  Outcome o = parse_everywhere(request);
  ASSERT_EQ(o.result, ParseResult::complete) << o.reason;
  EXPECT_EQ(o.head_size, request.size());
  EXPECT_EQ(o.target, "/");
}

TEST(HttpParser, LaterMinorVersionsAreServedAsHttp11) {
  Outcome o = parse_everywhere("GET / HTTP/1.7\r\nHost: h\r\n\r\n");
  ASSERT_EQ(o.result, ParseResult::complete) << o.reason;
  EXPECT_EQ(o.version_minor, 1);
  EXPECT_TRUE(o.keep_alive);
}

TEST(HttpParser, MethodsAreCaseSensitiveTokens) {
  Outcome o = parse_everywhere("m-SEARCH~! /x HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(o.result, ParseResult::complete) << o.reason;
  EXPECT_EQ(o.method, "m-SEARCH~!");
}

TEST(HttpParser, PipelinedRequestsAreFoundByHeadSize) {
  std::string buffer;
  for (int i = 0; i < 5; ++i) buffer += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string_view rest = buffer;
  RequestHead head;
  std::vector<HeaderField> headers;
  ParseError error;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(parse_request_head(rest, {}, head, headers, error), ParseResult::complete);
    EXPECT_EQ(head.target, "/" + std::to_string(i));
    rest.remove_prefix(head.head_size);
  }
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(parse_request_head(rest, {}, head, headers, error), ParseResult::incomplete);
}

TEST(HttpParser, ReusedHeaderVectorIsNotReallocated) {
  std::vector<HeaderField> headers;
  headers.reserve(16);
  const HeaderField* storage = headers.data();
  RequestHead head;
  ParseError error;
  const std::string request = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(parse_request_head(request, {}, head, headers, error), ParseResult::complete);
    EXPECT_EQ(headers.size(), 3u);
    EXPECT_EQ(headers.data(), storage);
    EXPECT_EQ(headers.capacity(), 16u);
  }
}

TEST(HttpParser, IequalsAndFindHeader) {
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(iequals("Content-Length", "Content-Lengt"));
  EXPECT_FALSE(iequals("a", "b"));
  EXPECT_FALSE(iequals("-", "\r"));  // no "| 0x20" shortcut that maps CR to '-'
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_TRUE(iequals("", ""));
  const std::vector<HeaderField> headers{{"Host", "a"}, {"X-Y", "1"}, {"x-y", "2"}};
  EXPECT_EQ(find_header(headers, "HOST"), std::optional<std::string_view>("a"));
  EXPECT_EQ(find_header(headers, "x-Y"), std::optional<std::string_view>("1"));  // the first one
  EXPECT_EQ(find_header(headers, "Cookie"), std::nullopt);
}

// ---- limits -------------------------------------------------------------------------------

std::string request_line_of_length(std::size_t length) {
  const std::string fixed = "GET / HTTP/1.1";
  return "GET /" + std::string(length - fixed.size(), 'a') + " HTTP/1.1";
}

TEST(HttpParserLimits, RequestLineAtLimitIsAccepted) {
  ParseLimits limits;
  limits.max_request_line = 100;
  const std::string line = request_line_of_length(100);
  ASSERT_EQ(line.size(), 100u);
  Outcome o = parse_everywhere(line + "\r\nHost: h\r\n\r\n", limits);
  ASSERT_EQ(o.result, ParseResult::complete) << o.reason;
  EXPECT_EQ(o.target.size(), 100u - 13u);
}

TEST(HttpParserLimits, RequestLineOverLimitIs414) {
  ParseLimits limits;
  limits.max_request_line = 100;
  Outcome o = parse_everywhere(request_line_of_length(101) + "\r\nHost: h\r\n\r\n", limits);
  ASSERT_EQ(o.result, ParseResult::error);
  EXPECT_EQ(o.status, 414);
}

TEST(HttpParserLimits, DefaultRequestLineLimit) {
  Outcome at = parse_exact(request_line_of_length(8 * 1024) + "\r\nHost: h\r\n\r\n");
  EXPECT_EQ(at.result, ParseResult::complete) << at.reason;
  Outcome over = parse_everywhere(request_line_of_length(8 * 1024 + 1) + "\r\nHost: h\r\n\r\n");
  EXPECT_EQ(over.status, 414);
}

TEST(HttpParserLimits, IncompleteRequestLineOverLimitFailsAtOnce) {
  ParseLimits limits;
  limits.max_request_line = 64;
  const std::string start = "GET /" + std::string(59, 'a');  // 64 bytes, no end yet
  EXPECT_EQ(parse_exact(start, limits).result, ParseResult::incomplete);
  EXPECT_EQ(parse_exact(start + "a", limits).status, 414);  // the 65th byte makes it certain
  const std::string full_line = request_line_of_length(64);
  EXPECT_EQ(parse_exact(full_line, limits).result, ParseResult::incomplete);
  EXPECT_EQ(parse_exact(full_line + "\r", limits).result, ParseResult::incomplete);
  EXPECT_EQ(parse_exact(full_line + "\r\n", limits).result, ParseResult::incomplete);
  // Default limits: 8 KiB of target and no end in sight.
  Outcome o = parse_exact("GET /" + std::string(9000, 'x'));
  EXPECT_EQ(o.result, ParseResult::error);
  EXPECT_EQ(o.status, 414);
}

TEST(HttpParserLimits, FieldLineAtAndOverLimit) {
  ParseLimits limits;
  limits.max_field_size = 40;
  const std::string at = "X-Long: " + std::string(32, 'v');
  ASSERT_EQ(at.size(), 40u);
  Outcome ok = parse_everywhere("GET / HTTP/1.1\r\nHost: h\r\n" + at + "\r\n\r\n", limits);
  ASSERT_EQ(ok.result, ParseResult::complete) << ok.reason;
  EXPECT_EQ(ok.headers[1].second, std::string(32, 'v'));
  Outcome over = parse_everywhere("GET / HTTP/1.1\r\nHost: h\r\n" + at + "v\r\n\r\n", limits);
  ASSERT_EQ(over.result, ParseResult::error);
  EXPECT_EQ(over.status, 431);
  Outcome long_name = parse_everywhere("GET / HTTP/1.1\r\nHost: h\r\n" + std::string(41, 'N') + ": v\r\n\r\n", limits);
  EXPECT_EQ(long_name.status, 431);
}

TEST(HttpParserLimits, IncompleteFieldOverLimitFailsAtOnce) {
  Outcome o = parse_exact("GET / HTTP/1.1\r\nHost: h\r\nCookie: " + std::string(9000, 'c'));
  ASSERT_EQ(o.result, ParseResult::error);
  EXPECT_EQ(o.status, 431);
}

std::string request_with_fields(int count) {
  std::string request = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 1; i < count; ++i) request += "X-" + std::to_string(i) + ": " + std::to_string(i) + "\r\n";
  return request + "\r\n";
}

TEST(HttpParserLimits, HundredHeadersAcceptedHundredAndOneRejected) {
  Outcome ok = parse_everywhere(request_with_fields(100));
  ASSERT_EQ(ok.result, ParseResult::complete) << ok.reason;
  ASSERT_EQ(ok.headers.size(), 100u);
  EXPECT_EQ(ok.headers[99], field("X-99", "99"));
  Outcome over = parse_everywhere(request_with_fields(101));
  ASSERT_EQ(over.result, ParseResult::error);
  EXPECT_EQ(over.status, 431);
}

TEST(HttpParserLimits, IncompleteHeadWithTooManyFieldsFailsAtOnce) {
  std::string request = request_with_fields(100);
  request.resize(request.size() - 2);  // not ended yet
  EXPECT_EQ(parse_exact(request).result, ParseResult::incomplete);
  EXPECT_EQ(parse_exact(request + "X").status, 431);  // the start of a 101st field
}

TEST(HttpParserLimits, WholeHeadSizeIsBounded) {
  ParseLimits limits;
  limits.max_head_size = 64;
  const std::string fits = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(32, 'v') + "\r\n\r\n";
  ASSERT_EQ(fits.size(), 64u);
  EXPECT_EQ(parse_everywhere(fits, limits).result, ParseResult::complete);
  Outcome over = parse_everywhere("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(33, 'v') + "\r\n\r\n", limits);
  ASSERT_EQ(over.result, ParseResult::error);
  EXPECT_EQ(over.status, 431);
  // Incomplete input that already passed the cap is an error without waiting.
  EXPECT_EQ(parse_exact("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(100, 'v'), limits).status, 431);
}

// Names a parameterized test by its case.
template <class Case>
std::string case_name(const ::testing::TestParamInfo<Case>& test) {
  return test.param.name;
}

// ---- malformed heads ----------------------------------------------------------------------

struct MalformedCase {
  const char* name;
  std::string request;
  int status;
};

void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

const std::string kHost = "Host: h\r\n";

const MalformedCase kMalformedHeads[] = {
    // Line endings and control characters.
    {"BareLfAfterRequestLine", "GET / HTTP/1.1\n" + kHost + "\r\n", 400},
    {"BareLfAfterField", "GET / HTTP/1.1\r\nHost: h\n\r\n", 400},
    {"BareLfEndsHead", "GET / HTTP/1.1\r\n" + kHost + "\n", 400},
    {"OnlyLfs", "GET / HTTP/1.1\nHost: h\n\n", 400},
    {"BareCrAfterRequestLine", "GET / HTTP/1.1\r" + kHost + "\r\n", 400},
    {"BareCrInsideValue", "GET / HTTP/1.1\r\nX: a\rb\r\n" + kHost + "\r\n", 400},
    {"BareCrEndsField", "GET / HTTP/1.1\r\nHost: h\r\rX: y\r\n\r\n", 400},
    {"BareCrEndsHead", "GET / HTTP/1.1\r\n" + kHost + "\rX", 400},
    {"BareCrInTarget", "GET /a\rb HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"BareCrBeforeRequestLine", "\rGET / HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"LeadingBareLf", "\nGET / HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"TooManyLeadingEmptyLines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"NulInMethod", "G\0T / HTTP/1.1\r\n"s + kHost + "\r\n", 400},
    {"NulInTarget", "GET /\0 HTTP/1.1\r\n"s + kHost + "\r\n", 400},
    {"NulInFieldName", "GET / HTTP/1.1\r\nX\0: y\r\n"s + kHost + "\r\n", 400},
    {"NulInFieldValue", "GET / HTTP/1.1\r\nX: a\0b\r\n"s + kHost + "\r\n", 400},
    {"ControlInFieldValue", "GET / HTTP/1.1\r\nX: a\x01z\r\n" + kHost + "\r\n", 400},
    {"EscapeInFieldValue", "GET / HTTP/1.1\r\nX: \x1b[31m\r\n" + kHost + "\r\n", 400},
    {"DelInFieldValue", "GET / HTTP/1.1\r\nX: a\x7f\r\n" + kHost + "\r\n", 400},
    {"VerticalTabInFieldValue", "GET / HTTP/1.1\r\nX: a\vb\r\n" + kHost + "\r\n", 400},
    // Request line.
    {"LeadingSpace", " GET / HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"DoubleSpaceAfterMethod", "GET  / HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"DoubleSpaceBeforeVersion", "GET /  HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"TabAsSeparator", "GET\t/ HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"TrailingSpaceAfterVersion", "GET / HTTP/1.1 \r\n" + kHost + "\r\n", 400},
    {"NonTokenMethod", "GE(T / HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"MethodWithObsText", "G\xc9T / HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"MissingVersion", "GET /\r\n" + kHost + "\r\n", 400},
    {"MissingTarget", "GET HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"SpaceInTarget", "GET /a b HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"ObsTextInTarget", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"DelInTarget", "GET /\x7f HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"TabInTarget", "GET /a\tb HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"LowercaseVersion", "GET / http/1.1\r\n" + kHost + "\r\n", 400},
    {"TwoDigitMinor", "GET / HTTP/1.10\r\n" + kHost + "\r\n", 400},
    {"VersionWithoutMinor", "GET / HTTP/1\r\n" + kHost + "\r\n", 400},
    {"VersionWithLetters", "GET / HTTP/a.b\r\n" + kHost + "\r\n", 400},
    {"JunkAfterVersion", "GET / HTTP/1.1x\r\n" + kHost + "\r\n", 400},
    {"Http2", "GET / HTTP/2.0\r\n" + kHost + "\r\n", 505},
    {"Http09", "GET / HTTP/0.9\r\n" + kHost + "\r\n", 505},
    {"Http3", "GET / HTTP/3.0\r\n" + kHost + "\r\n", 505},
    {"AsteriskWithoutOptions", "GET * HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"ConnectWithOriginForm", "CONNECT /x HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"ConnectWithoutPort", "CONNECT example.com HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"TargetWithoutSchemeOrSlash", "GET example HTTP/1.1\r\n" + kHost + "\r\n", 400},
    {"TargetWithBadScheme", "GET 1http://x/ HTTP/1.1\r\n" + kHost + "\r\n", 400},
    // Field lines.
    {"EmptyFieldName", "GET / HTTP/1.1\r\n" + kHost + ": v\r\n\r\n", 400},
    {"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
    {"TabBeforeColon", "GET / HTTP/1.1\r\n" + kHost + "X\t: v\r\n\r\n", 400},
    {"SpaceInFieldName", "GET / HTTP/1.1\r\n" + kHost + "X Y: v\r\n\r\n", 400},
    {"NonTokenFieldName", "GET / HTTP/1.1\r\n" + kHost + "X[1]: v\r\n\r\n", 400},
    {"ObsTextInFieldName", "GET / HTTP/1.1\r\n" + kHost + "X\xe9: v\r\n\r\n", 400},
    {"FieldWithoutColon", "GET / HTTP/1.1\r\n" + kHost + "NoColon\r\n\r\n", 400},
    {"ObsFold", "GET / HTTP/1.1\r\n" + kHost + "X: a\r\n  b\r\n\r\n", 400},
    {"ObsFoldWithTab", "GET / HTTP/1.1\r\n" + kHost + "X: a\r\n\tb\r\n\r\n", 400},
    {"WhitespaceBeforeFirstField", "GET / HTTP/1.1\r\n " + kHost + "\r\n", 400},
    // Content-Length.
    {"ContentLengthNegative", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: -1\r\n\r\n", 400},
    {"ContentLengthPlus", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: +5\r\n\r\n", 400},
    {"ContentLengthInnerSpace", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 1 0\r\n\r\n", 400},
    {"ContentLengthEmpty", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: \r\n\r\n", 400},
    {"ContentLengthHex", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 0x10\r\n\r\n", 400},
    {"ContentLengthLetters", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: five\r\n\r\n", 400},
    {"ContentLengthList", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 5, 5\r\n\r\n", 400},
    {"ContentLengthDuplicateEqual", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 5\r\ncontent-length: 5\r\n\r\n",
     400},
    {"ContentLengthDuplicateDiffer", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
     400},
    {"ContentLengthOverflow", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 18446744073709551616\r\n\r\n", 400},
    {"ContentLengthHugeOverflow", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 99999999999999999999999\r\n\r\n",
     400},
    // Transfer-Encoding.
    {"TransferEncodingNotChunked", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: gzip\r\n\r\n", 400},
    {"TransferEncodingChunkedNotLast", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400},
    {"TransferEncodingChunkedTwice", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked, chunked\r\n\r\n",
     400},
    {"TransferEncodingChunkedTwiceOnTwoLines",
     "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"TransferEncodingChunkedThenGzipLines",
     "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
    {"TransferEncodingUnknownCodingBeforeChunked",
     "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
    {"TransferEncodingUnknownCodingOnOwnLine",
     "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
    {"TransferEncodingWithContentLength",
     "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400},
    {"ContentLengthThenTransferEncoding",
     "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"TransferEncodingInHttp10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    {"TransferEncodingEmpty", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: \r\n\r\n", 400},
    {"TransferEncodingOnlyCommas", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: ,\r\n\r\n", 400},
    {"TransferEncodingChunkedWithParameter", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked;q=1\r\n\r\n",
     400},
    {"TransferEncodingNotAToken", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: \"chunked\"\r\n\r\n", 400},
    {"TransferEncodingSpaceInside", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chun ked\r\n\r\n", 400},
    {"TransferEncodingChunkedSuffix", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunkedx\r\n\r\n", 400},
    // Host.
    {"MissingHost", "GET / HTTP/1.1\r\n\r\n", 400},
    {"MissingHostWithOtherFields", "GET / HTTP/1.1\r\nX-Host: h\r\n\r\n", 400},
    {"DuplicateHost", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400},
    {"DuplicateHostInHttp10", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400},
    {"HostWithSpace", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
    {"HostWithSlash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
    {"HostWithUserinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400},
    {"HostWithObsText", "GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", 400},
    // Connection.
    {"ConnectionNotTokens", "GET / HTTP/1.1\r\n" + kHost + "Connection: close, \"x\"\r\n\r\n", 400},
};

class MalformedHead : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedHead, IsRejectedWholeSplitAndPipelined) {
  const MalformedCase& c = GetParam();
  const Outcome o = parse_everywhere(c.request);
  ASSERT_EQ(o.result, ParseResult::error);
  EXPECT_EQ(o.status, c.status) << o.reason;
}

INSTANTIATE_TEST_SUITE_P(Rfc9112, MalformedHead, ::testing::ValuesIn(kMalformedHeads), case_name<MalformedCase>);

// ---- chunked bodies -----------------------------------------------------------------------

struct Decoded {
  ChunkedDecoder::Result result = ChunkedDecoder::Result::need_more;
  std::string body;
  std::size_t consumed = 0;  // input bytes used in all
  std::uint64_t body_size = 0;
  int status = 0;

  bool operator==(const Decoded&) const = default;
};

void PrintTo(const Decoded& d, std::ostream* os) {
  *os << "result=" << static_cast<int>(d.result) << " body=\"" << d.body << "\" consumed=" << d.consumed
      << " status=" << d.status;
}

// Feeds `input` in pieces that end at the given offsets (the rest goes last), keeping the
// unconsumed bytes as a server's buffer would, each call in an exactly sized copy.
Decoded decode_in_pieces(std::string_view input, const std::vector<std::size_t>& cuts,
                         std::uint64_t max_body = UINT64_MAX) {
  ChunkedDecoder decoder;
  decoder.set_max_body(max_body);
  Decoded out;
  std::string pending;
  std::size_t fed = 0;
  auto feed_until = [&](std::size_t offset) {
    pending.append(input.substr(fed, offset - fed));
    fed = offset;
    std::unique_ptr<char[]> copy(new char[pending.size() + 1]);
    std::memcpy(copy.get(), pending.data(), pending.size());
    std::size_t used = 0;
    ParseError error;
    out.result = decoder.decode({copy.get(), pending.size()}, used, out.body, error);
    EXPECT_LE(used, pending.size());
    pending.erase(0, used);
    out.consumed += used;
    if (out.result == ChunkedDecoder::Result::error) out.status = error.status;
    return out.result == ChunkedDecoder::Result::need_more;
  };
  for (std::size_t cut : cuts)
    if (!feed_until(cut)) break;
  if (out.result == ChunkedDecoder::Result::need_more) feed_until(input.size());
  out.body_size = decoder.body_size();
  EXPECT_EQ(out.body_size, out.body.size());
  EXPECT_LE(out.body.size(), input.size());
  return out;
}

// Decodes whole, byte by byte, and split in two at every offset: all must agree.
Decoded decode_everywhere(std::string_view input, std::uint64_t max_body = UINT64_MAX) {
  const Decoded whole = decode_in_pieces(input, {}, max_body);
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
  EXPECT_EQ(decode_in_pieces(input, every_byte, max_body), whole) << "fed one byte at a time";
  for (std::size_t cut = 1; cut < input.size(); ++cut)
    EXPECT_EQ(decode_in_pieces(input, {cut}, max_body), whole) << "split at " << cut;
  return whole;
}

TEST(ChunkedDecoder, DecodesChunksAndLeavesTheNextRequest) {
  const std::string body =
      "5\r\nhello\r\n1;a=b; c = \"d\\\"e\" ;f\r\n \r\nA\r\n0123456789\r\n000\r\nX-Sum: 1\r\nY:\r\n\r\n";
  const std::string next = "GET / HTTP/1.1\r\n";
  const Decoded d = decode_everywhere(body + next);
  ASSERT_EQ(d.result, ChunkedDecoder::Result::done);
  EXPECT_EQ(d.body, "hello 0123456789");
  EXPECT_EQ(d.consumed, body.size());  // the pipelined request is left in the buffer
}

TEST(ChunkedDecoder, EmptyBody) {
  const Decoded d = decode_everywhere("0\r\n\r\n");
  ASSERT_EQ(d.result, ChunkedDecoder::Result::done);
  EXPECT_EQ(d.body, "");
  EXPECT_EQ(d.consumed, 5u);
}

TEST(ChunkedDecoder, HexSizesInEitherCase) {
  const std::string data(0x1F, 'z');
  const Decoded d = decode_everywhere("1f\r\n" + data + "\r\n1F\r\n" + data + "\r\n0\r\n\r\n");
  ASSERT_EQ(d.result, ChunkedDecoder::Result::done);
  EXPECT_EQ(d.body, data + data);
}

TEST(ChunkedDecoder, IncompleteBodyNeedsMore) {
  const Decoded d = decode_everywhere("5\r\nhel");
  EXPECT_EQ(d.result, ChunkedDecoder::Result::need_more);
  EXPECT_EQ(d.body, "hel");
  EXPECT_EQ(d.consumed, 6u);
  // Sixteen hex digits is the most, and fits.
  EXPECT_EQ(decode_everywhere("ffffffffffffffff\r\n").result, ChunkedDecoder::Result::need_more);
}

TEST(ChunkedDecoder, MaxBody) {
  EXPECT_EQ(decode_everywhere("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 10).result, ChunkedDecoder::Result::done);
  const Decoded over = decode_everywhere("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n", 10);
  ASSERT_EQ(over.result, ChunkedDecoder::Result::error);
  EXPECT_EQ(over.status, 413);
  EXPECT_EQ(over.body, "hello");  // refused before any byte of the chunk that does not fit
}

TEST(ChunkedDecoder, ResetKeepsMaxBodyAndErrorsAreSticky) {
  ChunkedDecoder decoder;
  decoder.set_max_body(3);
  std::string body;
  std::size_t used = 0;
  ParseError error;
  EXPECT_EQ(decoder.decode("4\r\n", used, body, error), ChunkedDecoder::Result::error);
  EXPECT_EQ(error.status, 413);
  error = {};
  EXPECT_EQ(decoder.decode("0\r\n\r\n", used, body, error), ChunkedDecoder::Result::error);
  EXPECT_EQ(error.status, 413);
  EXPECT_EQ(used, 0u);
  decoder.reset();
  EXPECT_EQ(decoder.decode("3\r\nabc\r\n0\r\n\r\n", used, body, error), ChunkedDecoder::Result::done);
  EXPECT_EQ(body, "abc");
  EXPECT_EQ(decoder.body_size(), 3u);
  EXPECT_EQ(decoder.decode("more", used, body, error), ChunkedDecoder::Result::done);
  EXPECT_EQ(used, 0u);
  decoder.reset();
  EXPECT_EQ(decoder.body_size(), 0u);
  EXPECT_EQ(decoder.decode("4\r\n", used, body, error), ChunkedDecoder::Result::error);
}

TEST(ChunkedDecoder, SizeLineLimit) {
  const std::string extension = ";" + std::string(ChunkedDecoder::kMaxChunkSizeLine - 2, 'e');  // "1" + ext = limit
  EXPECT_EQ(decode_in_pieces("1" + extension + "\r\nx\r\n0\r\n\r\n", {}).result, ChunkedDecoder::Result::done);
  const Decoded over = decode_in_pieces("1" + extension + "e\r\nx\r\n0\r\n\r\n", {});
  EXPECT_EQ(over.result, ChunkedDecoder::Result::error);
  EXPECT_EQ(over.status, 400);
  // Without an end in sight, too.
  EXPECT_EQ(decode_in_pieces("1;" + std::string(5000, 'e'), {}).result, ChunkedDecoder::Result::error);
}

TEST(ChunkedDecoder, TrailerLimits) {
  const Decoded long_line =
      decode_in_pieces("0\r\nX: " + std::string(ChunkedDecoder::kMaxTrailerLine, 'v') + "\r\n\r\n", {});
  ASSERT_EQ(long_line.result, ChunkedDecoder::Result::error);
  EXPECT_EQ(long_line.status, 431);
  std::string many = "0\r\n";
  for (std::size_t i = 0; i < ChunkedDecoder::kMaxTrailerFields; ++i) many += "T: v\r\n";
  EXPECT_EQ(decode_in_pieces(many + "\r\n", {}).result, ChunkedDecoder::Result::done);
  const Decoded too_many = decode_in_pieces(many + "T: v\r\n\r\n", {});
  ASSERT_EQ(too_many.result, ChunkedDecoder::Result::error);
  EXPECT_EQ(too_many.status, 431);
}

struct MalformedChunked {
  const char* name;
  std::string body;
  int status;
};

void PrintTo(const MalformedChunked& c, std::ostream* os) { *os << c.name; }

const MalformedChunked kMalformedBodies[] = {
    {"EmptySize", "\r\nhello\r\n0\r\n\r\n", 400},
    {"LeadingSpace", " 5\r\nhello\r\n0\r\n\r\n", 400},
    {"TrailingSpace", "5 \r\nhello\r\n0\r\n\r\n", 400},
    {"TrailingTab", "5\t\r\nhello\r\n0\r\n\r\n", 400},
    {"HexPrefix", "0x5\r\nhello\r\n0\r\n\r\n", 400},
    {"NotHex", "g\r\n", 400},
    {"NegativeSize", "-5\r\nhello\r\n0\r\n\r\n", 400},
    {"SeventeenDigits", "00000000000000005\r\nhello\r\n0\r\n\r\n", 400},
    {"SizeOverflow", "10000000000000000\r\n", 400},
    {"BareLfAfterSize", "5\nhello\r\n0\r\n\r\n", 400},
    {"BareCrAfterSize", "5\rhello\r\n0\r\n\r\n", 400},
    {"DataTooLong", "5\r\nhelloX\r\n0\r\n\r\n", 400},
    {"DataTooShort", "5\r\nhell\r\n0\r\n\r\n", 400},
    {"BareLfAfterData", "5\r\nhello\n0\r\n\r\n", 400},
    {"BareCrAfterData", "5\r\nhello\r0\r\n\r\n", 400},
    {"EmptyExtension", "5;\r\nhello\r\n0\r\n\r\n", 400},
    {"ExtensionWithoutValue", "5;a=\r\nhello\r\n0\r\n\r\n", 400},
    {"ExtensionNameWithSpace", "5;a b\r\nhello\r\n0\r\n\r\n", 400},
    {"WhitespaceAfterExtensionValue", "5;a=b \r\nhello\r\n0\r\n\r\n", 400},
    {"WhitespaceAfterExtensionName", "5;a \r\nhello\r\n0\r\n\r\n", 400},
    {"NonTokenExtensionValue", "5;a=@\r\nhello\r\n0\r\n\r\n", 400},
    {"UnterminatedQuotedValue", "5;a=\"x\r\nhello\r\n0\r\n\r\n", 400},
    {"LfInQuotedValue", "5;a=\"x\ny\"\r\nhello\r\n0\r\n\r\n", 400},
    {"CrInQuotedPair", "5;a=\"x\\\ry\"\r\nhello\r\n0\r\n\r\n", 400},
    {"JunkAfterQuotedValue", "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n", 400},
    {"NulInExtension", "5;a\0b\r\nhello\r\n0\r\n\r\n"s, 400},
    {"BareLfInExtension", "5;a\nhello\r\n0\r\n\r\n", 400},
    {"BareLfEndsBody", "0\r\n\n", 400},
    {"BareCrEndsBody", "0\r\n\rX", 400},
    {"BareLfAfterTrailer", "0\r\nX: a\n\r\n", 400},
    {"BareCrInTrailer", "0\r\nX: a\rb\r\n\r\n", 400},
    {"ObsFoldTrailer", "0\r\nX: a\r\n b\r\n\r\n", 400},
    {"TrailerStartsWithSpace", "0\r\n X: a\r\n\r\n", 400},
    {"EmptyTrailerName", "0\r\n: a\r\n\r\n", 400},
    {"SpaceBeforeTrailerColon", "0\r\nX : a\r\n\r\n", 400},
    {"TrailerWithoutColon", "0\r\nX\r\n\r\n", 400},
    {"ControlInTrailerValue", "0\r\nX: a\x01\r\n\r\n", 400},
};

class MalformedChunkedBody : public ::testing::TestWithParam<MalformedChunked> {};

TEST_P(MalformedChunkedBody, IsRejectedAtEverySplit) {
  const MalformedChunked& c = GetParam();
  const Decoded d = decode_everywhere(c.body);
  ASSERT_EQ(d.result, ChunkedDecoder::Result::error);
  EXPECT_EQ(d.status, c.status);
}

INSTANTIATE_TEST_SUITE_P(Rfc9112, MalformedChunkedBody, ::testing::ValuesIn(kMalformedBodies),
                         case_name<MalformedChunked>);

TEST(ChunkedDecoder, AcceptsBadWhitespaceWhereTheGrammarAllowsIt) {
  // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
  const Decoded d = decode_everywhere("5 \t; a = b ;c= \"q\"\r\nhello\r\n0 ;z\r\n\r\n");
  ASSERT_EQ(d.result, ChunkedDecoder::Result::done);
  EXPECT_EQ(d.body, "hello");
}

}  // namespace
