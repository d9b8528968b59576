// URL decoding, query strings and form bodies (aio::http::detail's form.hpp, FormData).
//
// The "real client" bodies below are byte-for-byte captures: curl 7.88.1 (`-F` and
// `-d`/`--data-urlencode`) and aiohttp 3.8.4's client (FormData, and a MultipartWriter
// with a fixed boundary), each posted to a listening socket that saved what it received.
// aiohttp 3.8.4's own server rejects the aiohttp capture ("Invalid boundary"): it takes
// any line starting with the delimiter for a delimiter. RFC 2046 wants the whole line.

#include <gtest/gtest.h>

#include <aio/http/form_data.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/form.hpp"

namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

using aio::http::FormData;
using aio::http::FormField;
namespace form = aio::http::detail;

using Strings = std::vector<std::string>;

constexpr char kGruesse[] = "Gr\xc3\xbc\xc3\x9f\x65";  // "Grüße" in UTF-8

// The (name, value) pairs of a form, in order.
std::vector<std::pair<std::string, std::string>> pairs(const FormData& data) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const FormField& f : data) out.emplace_back(f.name, f.value);
  return out;
}
using Pairs = std::vector<std::pair<std::string, std::string>>;

// Parses a multipart body expected to be valid.
FormData multipart_ok(std::string_view body, std::string_view boundary = "B") {
  FormData data;
  std::string error;
  EXPECT_TRUE(form::parse_multipart(body, boundary, data, error)) << error;
  EXPECT_EQ(error, "");
  return data;
}

// Parses a multipart body expected to be refused; returns the error message.
std::string multipart_error(std::string_view body, std::string_view boundary = "B",
                            const form::MultipartLimits& limits = {}) {
  FormData data;
  std::string error;
  EXPECT_FALSE(form::parse_multipart(body, boundary, data, error, limits));
  EXPECT_EQ(data.size(), 0u) << "a refused body must add no fields";
  return error;
}

// One form-data part with the given name (boundary "B").
std::string simple_part(std::string_view name, std::string_view value) {
  return "--B\r\nContent-Disposition: form-data; name=\"" + std::string(name) + "\"\r\n\r\n" + std::string(value) +
         "\r\n";
}

// ---------------------------------------------------------------------------------------
// percent_decode

TEST(PercentDecode, DecodesEscapesInEitherCase) {
  EXPECT_EQ(form::percent_decode("%41%42c", false), "ABc");
  EXPECT_EQ(form::percent_decode("%2f%2F%7e%7E", false), "//~~");
  EXPECT_EQ(form::percent_decode("100%25", false), "100%");
  EXPECT_EQ(form::percent_decode("%20x%20", false), " x ");
}

TEST(PercentDecode, PlusIsSpaceOnlyWhenAsked) {
  EXPECT_EQ(form::percent_decode("a+b", true), "a b");
  EXPECT_EQ(form::percent_decode("a+b", false), "a+b");
  EXPECT_EQ(form::percent_decode("a%2Bb", true), "a+b");
  EXPECT_EQ(form::percent_decode("++", true), "  ");
}

TEST(PercentDecode, LeavesPlainTextAlone) {
  EXPECT_EQ(form::percent_decode("", false), "");
  EXPECT_EQ(form::percent_decode("hello-world_~.", false), "hello-world_~.");
  EXPECT_EQ(form::percent_decode("caf\xc3\xa9", false), "caf\xc3\xa9");  // raw UTF-8 passes
}

TEST(PercentDecode, DecodesUtf8AndOtherHighBytes) {
  EXPECT_EQ(form::percent_decode("%E2%82%AC", false), "\xe2\x82\xac");  // the euro sign
  EXPECT_EQ(form::percent_decode("caf%C3%A9", false), "caf\xc3\xa9");
  // Bytes, not text: an invalid UTF-8 sequence is returned as is.
  EXPECT_EQ(form::percent_decode("%FF%FE", false), "\xff\xfe");
}

TEST(PercentDecode, RefusesMalformedEscapes) {
  for (std::string_view bad : {"%", "%4", "a%4", "%zz", "%4g", "%g4", "abc%", "%%41", "%-1", "% 4", "%+4"}) {
    EXPECT_EQ(form::percent_decode(bad, true, true), std::nullopt) << bad;
  }
}

TEST(PercentDecode, DecodesOnlyOnce) {
  EXPECT_EQ(form::percent_decode("%2541", false), "%41");
  EXPECT_EQ(form::percent_decode("%252B", true), "%2B");
}

TEST(PercentDecode, NulOnlyWhereAllowed) {
  EXPECT_EQ(form::percent_decode("a%00b", false, true), "a\0b"s);
  EXPECT_EQ(form::percent_decode("%00", false, true), "\0"s);
  EXPECT_EQ(form::percent_decode("a%00b", false, false), std::nullopt);
  EXPECT_EQ(form::percent_decode("a%00b", false), std::nullopt);  // refused by default
  // A raw NUL is refused as well: the result never holds one unless allowed.
  EXPECT_EQ(form::percent_decode("a\0b"sv, false, false), std::nullopt);
  EXPECT_EQ(form::percent_decode("a\0b"sv, false, true), "a\0b"s);
}

// ---------------------------------------------------------------------------------------
// decode_path

TEST(DecodePath, DecodesEscapesAndKeepsPlus) {
  EXPECT_EQ(form::decode_path("/"), "/");
  EXPECT_EQ(form::decode_path(""), "");
  EXPECT_EQ(form::decode_path("/hello%20world"), "/hello world");
  EXPECT_EQ(form::decode_path("/a+b%2Bc"), "/a+b+c");
  EXPECT_EQ(form::decode_path("/caf%c3%a9/%E2%82%AC"), "/caf\xc3\xa9/\xe2\x82\xac");
  EXPECT_EQ(form::decode_path("/100%25"), "/100%");
}

TEST(DecodePath, EncodedSlashBecomesSlashAsInAiohttp) {
  EXPECT_EQ(form::decode_path("/a%2Fb"), "/a/b");
  EXPECT_EQ(form::decode_path("/a%2fb"), "/a/b");
}

TEST(DecodePath, LeavesDotSegmentsToTheRouter) {
  EXPECT_EQ(form::decode_path("/%2e%2e/etc"), "/../etc");
  EXPECT_EQ(form::decode_path("/a/./b/../c"), "/a/./b/../c");
}

TEST(DecodePath, RefusesNulAndMalformedEscapes) {
  EXPECT_EQ(form::decode_path("/a%00b"), std::nullopt);
  EXPECT_EQ(form::decode_path("/a\0b"sv), std::nullopt);
  EXPECT_EQ(form::decode_path("/a%zzb"), std::nullopt);
  EXPECT_EQ(form::decode_path("/a%4"), std::nullopt);
  EXPECT_EQ(form::decode_path("/a%"), std::nullopt);
}

// ---------------------------------------------------------------------------------------
// parse_query / parse_urlencoded

TEST(ParseQuery, RepeatedKeysKeepTheirOrder) {
  FormData q;
  ASSERT_TRUE(form::parse_query("a=1&b=2&a=3", q));
  EXPECT_EQ(pairs(q), (Pairs{{"a", "1"}, {"b", "2"}, {"a", "3"}}));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.get("a"), "1");
  EXPECT_EQ(q.getall("a"), (Strings{"1", "3"}));
  EXPECT_EQ(q.get("b"), "2");
  EXPECT_EQ(q.get("c"), std::nullopt);
}

TEST(ParseQuery, EmptyValuesAndKeysWithoutEquals) {
  FormData q;
  ASSERT_TRUE(form::parse_query("a=&b&c=3&=v&=", q));
  EXPECT_EQ(pairs(q), (Pairs{{"a", ""}, {"b", ""}, {"c", "3"}, {"", "v"}, {"", ""}}));
  EXPECT_TRUE(q.contains("b"));
  EXPECT_EQ(q.get("b"), "");
}

TEST(ParseQuery, SkipsEmptyPairs) {
  FormData q;
  ASSERT_TRUE(form::parse_query("&&a=1&&b=2&", q));
  EXPECT_EQ(pairs(q), (Pairs{{"a", "1"}, {"b", "2"}}));

  FormData none;
  ASSERT_TRUE(form::parse_query("", none));
  ASSERT_TRUE(form::parse_query("&", none));
  ASSERT_TRUE(form::parse_query("&&&", none));
  EXPECT_EQ(none.size(), 0u);
}

TEST(ParseQuery, OnlyTheFirstEqualsSplits) {
  FormData q;
  ASSERT_TRUE(form::parse_query("expr=a=b==c", q));
  EXPECT_EQ(pairs(q), (Pairs{{"expr", "a=b==c"}}));
}

TEST(ParseQuery, DecodesPlusAndEscapesInKeysAndValues) {
  FormData q;
  ASSERT_TRUE(form::parse_query("first+name=J%C3%BCrgen+M&k%20x=a%2Bb&amp=%26%3D", q));
  EXPECT_EQ(pairs(q), (Pairs{{"first name", "J\xc3\xbcrgen M"}, {"k x", "a+b"}, {"amp", "&="}}));
}

TEST(ParseQuery, SemicolonIsNotASeparator) {
  FormData q;
  ASSERT_TRUE(form::parse_query("a=1;b=2", q));
  EXPECT_EQ(pairs(q), (Pairs{{"a", "1;b=2"}}));
}

TEST(ParseQuery, AllowsNul) {
  FormData q;
  ASSERT_TRUE(form::parse_query("a=x%00y&%00=1", q));
  EXPECT_EQ(pairs(q), (Pairs{{"a", "x\0y"s}, {"\0"s, "1"}}));
}

TEST(ParseQuery, MalformedEscapeFailsAndLeavesOutputUnchanged) {
  FormData q;
  q.add("kept", "1");
  EXPECT_FALSE(form::parse_query("a=1&b=%zz&c=3", q));
  EXPECT_FALSE(form::parse_query("a=1&b%4=2", q));
  EXPECT_FALSE(form::parse_query("a=1%", q));
  EXPECT_EQ(pairs(q), (Pairs{{"kept", "1"}}));
}

TEST(ParseQuery, AppendsToExistingFields) {
  FormData q;
  ASSERT_TRUE(form::parse_query("a=1", q));
  ASSERT_TRUE(form::parse_query("a=2&b=3", q));
  EXPECT_EQ(pairs(q), (Pairs{{"a", "1"}, {"a", "2"}, {"b", "3"}}));
}

TEST(ParseUrlencoded, BodyFromCurl) {
  // curl --data-urlencode 'q=a b&c' -d 'x=1' -d '&&y' -d 'z=%E2%82%AC+'
  FormData f;
  ASSERT_TRUE(form::parse_urlencoded("q=a+b%26c&x=1&&&y&z=%E2%82%AC+", f));
  EXPECT_EQ(pairs(f), (Pairs{{"q", "a b&c"}, {"x", "1"}, {"y", ""}, {"z", "\xe2\x82\xac "}}));
}

TEST(ParseUrlencoded, BodyFromAiohttp) {
  // aiohttp.FormData: add_field("q", "a b&c=d/é"), ("empty", ""), ("q", "+%")
  FormData f;
  ASSERT_TRUE(form::parse_urlencoded("q=a+b%26c%3Dd%2F%C3%A9&empty=&q=%2B%25", f));
  EXPECT_EQ(pairs(f), (Pairs{{"q", "a b&c=d/\xc3\xa9"}, {"empty", ""}, {"q", "+%"}}));
  EXPECT_EQ(f.getall("q"), (Strings{"a b&c=d/\xc3\xa9", "+%"}));
  const FormField* q = f.field("q");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->filename, std::nullopt);
  EXPECT_EQ(q->content_type, "");
}

TEST(ParseUrlencoded, MalformedBodyIsRefused) {
  FormData f;
  EXPECT_FALSE(form::parse_urlencoded("name=100%", f));
  EXPECT_EQ(f.size(), 0u);
}

// ---------------------------------------------------------------------------------------
// Content-Type helpers

TEST(ContentType, IsUrlencoded) {
  EXPECT_TRUE(form::is_urlencoded("application/x-www-form-urlencoded"));
  EXPECT_TRUE(form::is_urlencoded("application/x-www-form-urlencoded; charset=UTF-8"));
  EXPECT_TRUE(form::is_urlencoded("Application/X-WWW-Form-URLEncoded;charset=utf-8"));
  EXPECT_TRUE(form::is_urlencoded("  application/x-www-form-urlencoded \t; x=y"));
  EXPECT_FALSE(form::is_urlencoded(""));
  EXPECT_FALSE(form::is_urlencoded("text/plain"));
  EXPECT_FALSE(form::is_urlencoded("application/x-www-form-urlencodedx"));
  EXPECT_FALSE(form::is_urlencoded("application/x-www-form"));
  EXPECT_FALSE(form::is_urlencoded("multipart/form-data; boundary=x"));
}

TEST(ContentType, IsMultipart) {
  EXPECT_TRUE(form::is_multipart("multipart/form-data"));
  EXPECT_TRUE(form::is_multipart("multipart/form-data; boundary=abc"));
  EXPECT_TRUE(form::is_multipart("Multipart/Form-Data;boundary=\"a b\""));
  EXPECT_FALSE(form::is_multipart("multipart/mixed; boundary=abc"));
  EXPECT_FALSE(form::is_multipart("multipart/form-datax"));
  EXPECT_FALSE(form::is_multipart("application/x-www-form-urlencoded"));
  EXPECT_FALSE(form::is_multipart(""));
}

TEST(MultipartBoundary, TokenForm) {
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=------------------------e96d91665e7ed18a"),
            "------------------------e96d91665e7ed18a");  // curl
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=aio-boundary-1234"), "aio-boundary-1234");
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"),
            "----WebKitFormBoundary7MA4YWxkTrZu0gW");
}

TEST(MultipartBoundary, QuotedForm) {
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=\"simple\""), "simple");
  // Spaces, ':', '/', '=', '?', '(', ')' and ',' are bchars that a token cannot carry.
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=\"gc0p4Jq0M:2Yt08jU534c0p\""),
            "gc0p4Jq0M:2Yt08jU534c0p");
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=\"a b/c=d?(e),f\""), "a b/c=d?(e),f");
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=\"es\\caped\""), "escaped");
}

TEST(MultipartBoundary, ParameterNameAnyCaseAmongOthers) {
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; BOUNDARY=abc"), "abc");
  EXPECT_EQ(form::multipart_boundary("Multipart/Form-Data;charset=utf-8;Boundary=abc"), "abc");
  EXPECT_EQ(form::multipart_boundary("multipart/form-data ; boundary = abc ; x=\"y;z\""), "abc");
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=abc;"), "abc");
}

TEST(MultipartBoundary, LengthMustBeOneToSeventy) {
  const std::string seventy(70, 'x');
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=" + seventy), seventy);
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=" + seventy + "x"), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=a"), "a");
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=\"\""), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary="), std::nullopt);
}

TEST(MultipartBoundary, RefusesCharactersOutsideRfc2046) {
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=\"ends with space \""), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=a@b"), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=a!b"), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=\"a\\\"b\""), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=\"caf\xc3\xa9\""), std::nullopt);
}

TEST(MultipartBoundary, RefusesMissingDuplicateOrWrongType) {
  EXPECT_EQ(form::multipart_boundary("multipart/form-data"), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; charset=utf-8"), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("multipart/mixed; boundary=abc"), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("text/plain; boundary=abc"), std::nullopt);
  // What curl sends for `-H 'Content-Type: multipart/form-data; boundary=xyz' -F a=1`:
  // two boundaries, and the body uses the second. Ambiguous, so refused.
  EXPECT_EQ(
      form::multipart_boundary("multipart/form-data; boundary=xyz; boundary=------------------------24d41622b7382a75"),
      std::nullopt);
}

TEST(MultipartBoundary, RefusesMalformedParameters) {
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=\"abc"), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary"), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("multipart/form-data boundary=abc"), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; boundary=abc def"), std::nullopt);
  EXPECT_EQ(form::multipart_boundary("multipart/form-data; =abc"), std::nullopt);
}

// ---------------------------------------------------------------------------------------
// FormData

TEST(FormDataTest, MultiMapLookups) {
  FormData d;
  EXPECT_TRUE(d.empty());
  d.add("a", "1");
  d.add(FormField{"file", "bytes", "x.bin", "application/octet-stream"});
  d.add("a", "2");
  d.add(FormField{"file", "more", "y.bin", ""});
  EXPECT_EQ(d.size(), 4u);
  EXPECT_FALSE(d.empty());
  EXPECT_TRUE(d.contains("a"));
  EXPECT_FALSE(d.contains("A"));  // names are case-sensitive, as in aiohttp
  EXPECT_EQ(d.get("a"), "1");
  EXPECT_EQ(d.get("missing"), std::nullopt);
  EXPECT_EQ(d.get("missing", "dflt"), "dflt");
  EXPECT_EQ(d.get("a", "dflt"), "1");
  EXPECT_EQ(d.getall("a"), (Strings{"1", "2"}));
  EXPECT_EQ(d.getall("missing"), Strings{});
  EXPECT_EQ(d.get("file"), "bytes");  // a file's value is its content

  const FormField* file = d.field("file");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->filename, "x.bin");
  EXPECT_EQ(file->content_type, "application/octet-stream");
  EXPECT_EQ(d.field("nope"), nullptr);
  const std::vector<const FormField*> files = d.fields("file");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[1]->value, "more");
  EXPECT_EQ(files[1]->filename, "y.bin");
  EXPECT_EQ(pairs(d), (Pairs{{"a", "1"}, {"file", "bytes"}, {"a", "2"}, {"file", "more"}}));
}

// ---------------------------------------------------------------------------------------
// parse_multipart: bodies from real clients

// curl 7.88.1: -F 'title=Grüße' -F 'empty=' -F 'note=a b+c&d=e' -F 'we"ird=q'
// -F 'tags=one' -F 'tags=two' -F 'bin=@bin.dat;type=application/octet-stream'
// -F 'report=@report "q1".csv;type=text/csv' -F 'u=@naïve.txt'
constexpr std::string_view kCurlContentType = "multipart/form-data; boundary=------------------------e96d91665e7ed18a";
constexpr std::string_view kCurlBody =
    "--------------------------e96d91665e7ed18a\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Gr\xc3\xbc\xc3\x9f\x65\r\n"  // Grüße
    "--------------------------e96d91665e7ed18a\r\n"
    "Content-Disposition: form-data; name=\"empty\"\r\n"
    "\r\n"
    "\r\n"
    "--------------------------e96d91665e7ed18a\r\n"
    "Content-Disposition: form-data; name=\"note\"\r\n"
    "\r\n"
    "a b+c&d=e\r\n"
    "--------------------------e96d91665e7ed18a\r\n"
    "Content-Disposition: form-data; name=\"we%22ird\"\r\n"
    "\r\n"
    "q\r\n"
    "--------------------------e96d91665e7ed18a\r\n"
    "Content-Disposition: form-data; name=\"tags\"\r\n"
    "\r\n"
    "one\r\n"
    "--------------------------e96d91665e7ed18a\r\n"
    "Content-Disposition: form-data; name=\"tags\"\r\n"
    "\r\n"
    "two\r\n"
    "--------------------------e96d91665e7ed18a\r\n"
    "Content-Disposition: form-data; name=\"bin\"; filename=\"bin.dat\"\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "line1\r\n"
    "--BOUNDARY\r\n"
    "--\r\n"
    "\x00\x01\xff\xfe end\r\n"
    "--------------------------e96d91665e7ed18a\r\n"
    "Content-Disposition: form-data; name=\"report\"; filename=\"report %22q1%22.csv\"\r\n"
    "Content-Type: text/csv\r\n"
    "\r\n"
    "col1,col2\r\n"
    "1,2\r\n"
    "\r\n"
    "--------------------------e96d91665e7ed18a\r\n"
    "Content-Disposition: form-data; name=\"u\"; filename=\"na\xc3\xafve.txt\"\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "x\r\n"
    "--------------------------e96d91665e7ed18a--\r\n"sv;

TEST(ParseMultipart, CurlFieldsAndFiles) {
  const std::optional<std::string> boundary = form::multipart_boundary(kCurlContentType);
  ASSERT_EQ(boundary, "------------------------e96d91665e7ed18a");
  const FormData f = multipart_ok(kCurlBody, *boundary);

  EXPECT_EQ(pairs(f), (Pairs{{"title", kGruesse},
                             {"empty", ""},
                             {"note", "a b+c&d=e"},
                             {"we%22ird", "q"},  // curl escapes '"' as %22 (WHATWG); kept as sent
                             {"tags", "one"},
                             {"tags", "two"},
                             {"bin", "line1\r\n--BOUNDARY\r\n--\r\n\0\x01\xff\xfe end"s},
                             {"report", "col1,col2\r\n1,2\r\n"},
                             {"u", "x"}}));
  EXPECT_EQ(f.getall("tags"), (Strings{"one", "two"}));

  const FormField* title = f.field("title");
  ASSERT_NE(title, nullptr);
  EXPECT_EQ(title->filename, std::nullopt);
  EXPECT_EQ(title->content_type, "");

  const FormField* bin = f.field("bin");
  ASSERT_NE(bin, nullptr);
  EXPECT_EQ(bin->filename, "bin.dat");
  EXPECT_EQ(bin->content_type, "application/octet-stream");
  EXPECT_EQ(bin->value.size(), 31u);

  const FormField* report = f.field("report");
  ASSERT_NE(report, nullptr);
  EXPECT_EQ(report->filename, "report %22q1%22.csv");
  EXPECT_EQ(report->content_type, "text/csv");

  const FormField* u = f.field("u");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->filename, "na\xc3\xafve.txt");  // raw UTF-8 in the quoted string
  EXPECT_EQ(u->content_type, "text/plain");
}

// aiohttp 3.8.4 client: MultipartWriter("form-data", boundary="aio-boundary-1234") with
// fields title="Grüße", 'we"ird'="q", tags=a, tags=b, and a file doc (filename
// 'café "x".pdf', application/pdf) whose content holds delimiter look-alikes.
constexpr std::string_view kAiohttpBody =
    "--aio-boundary-1234\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Gr\xc3\xbc\xc3\x9f\x65\r\n"  // Grüße
    "--aio-boundary-1234\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Disposition: form-data; name=\"we\\\"ird\"\r\n"
    "\r\n"
    "q\r\n"
    "--aio-boundary-1234\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Disposition: form-data; name=\"tags\"\r\n"
    "\r\n"
    "a\r\n"
    "--aio-boundary-1234\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Disposition: form-data; name=\"tags\"\r\n"
    "\r\n"
    "b\r\n"
    "--aio-boundary-1234\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Disposition: form-data; name=\"doc\"; filename=\"caf%C3%A9%20%22x%22.pdf\"\r\n"
    "\r\n"
    "%PDF\r\n"
    "--aio-boundary-1234X not a delimiter\r\n"
    "--aio-boundary-123\r\n"
    "\x00\xff\r\n"
    "--aio-boundary-1234--\r\n"sv;

TEST(ParseMultipart, AiohttpFieldsAndFileWithDelimiterLookalikes) {
  const std::optional<std::string> boundary =
      form::multipart_boundary("multipart/form-data; boundary=aio-boundary-1234");
  ASSERT_EQ(boundary, "aio-boundary-1234");
  const FormData f = multipart_ok(kAiohttpBody, *boundary);

  EXPECT_EQ(pairs(f),
            (Pairs{{"title", kGruesse},
                   {"we\"ird", "q"},  // aiohttp backslash-escapes the quote
                   {"tags", "a"},
                   {"tags", "b"},
                   {"doc", "%PDF\r\n--aio-boundary-1234X not a delimiter\r\n--aio-boundary-123\r\n\0\xff"s}}));
  const FormField* title = f.field("title");
  ASSERT_NE(title, nullptr);
  EXPECT_EQ(title->content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(title->filename, std::nullopt);

  const FormField* doc = f.field("doc");
  ASSERT_NE(doc, nullptr);
  // aiohttp's client percent-encodes filenames and its server hands them back encoded;
  // so do we (RFC 7578 leaves the encoding ambiguous).
  EXPECT_EQ(doc->filename, "caf%C3%A9%20%22x%22.pdf");
  EXPECT_EQ(doc->content_type, "application/pdf");
}

TEST(ParseMultipart, EveryTruncationOfARealBodyIsRefused) {
  const std::string boundary = "------------------------e96d91665e7ed18a";
  // Dropping only the CRLF after the closing delimiter still leaves a complete body.
  for (std::size_t length = 0; length + 2 < kCurlBody.size(); ++length) {
    FormData f;
    std::string error;
    EXPECT_FALSE(form::parse_multipart(kCurlBody.substr(0, length), boundary, f, error)) << length;
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(f.size(), 0u);
  }
  EXPECT_EQ(multipart_ok(kCurlBody.substr(0, kCurlBody.size() - 2), boundary).size(), 9u);
}

// ---------------------------------------------------------------------------------------
// parse_multipart: framing

TEST(ParseMultipart, PreambleAndEpilogueAreIgnored) {
  const FormData f = multipart_ok(
      "This is the preamble.\r\n--B is not here\r\n"
      "--B\r\n"
      "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
      "1\r\n"
      "--B--\r\n"
      "This is the epilogue.\r\n--B\r\nContent-Disposition: form-data; name=\"late\"\r\n\r\nx\r\n--B--\r\n");
  EXPECT_EQ(pairs(f), (Pairs{{"a", "1"}}));
}

TEST(ParseMultipart, TransportPaddingAfterDelimiters) {
  const FormData f = multipart_ok(
      "--B \t\r\n"
      "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
      "1\r\n"
      "--B  \r\n"
      "Content-Disposition: form-data; name=\"b\"\r\n\r\n"
      "2\r\n"
      "--B-- \r\n");
  EXPECT_EQ(pairs(f), (Pairs{{"a", "1"}, {"b", "2"}}));
}

TEST(ParseMultipart, OnlyTheClosingDelimiterMeansNoFields) {
  EXPECT_EQ(multipart_ok("--B--\r\n").size(), 0u);  // what browsers send for an empty form
  EXPECT_EQ(multipart_ok("--B--").size(), 0u);
  EXPECT_EQ(multipart_ok("preamble\r\n--B--\r\nepilogue").size(), 0u);
}

TEST(ParseMultipart, ClosingDelimiterMayEndTheBody) {
  EXPECT_EQ(pairs(multipart_ok(simple_part("a", "1") + "--B--")), (Pairs{{"a", "1"}}));
}

TEST(ParseMultipart, DelimiterLookalikesAreContent) {
  const std::string content =
      "--BX\r\n"     // longer boundary
      "--B--X\r\n"   // closing delimiter followed by more than padding
      "x--B\r\n"     // not at the start of a line
      "\n--B\r\n"    // after a bare LF, not CRLF
      "\r--B\r\n"    // after a bare CR
      "--B \tx\r\n"  // padding then more
      "--b\r\n"      // the boundary is case-sensitive
      "end--B";      // at the end of the content, then the real CRLF--B
  const FormData f =
      multipart_ok("--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n" + content + "\r\n--B--\r\n");
  EXPECT_EQ(pairs(f), (Pairs{{"f", content}}));
}

TEST(ParseMultipart, ContentKeepsItsOwnLineEnds) {
  const FormData f = multipart_ok(
      "--B\r\n"
      "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
      "\r\n\r\nx\r\n\r\n"
      "\r\n--B\r\n"
      "Content-Disposition: form-data; name=\"lf\"\r\n\r\n"
      "line\n"
      "\r\n--B--\r\n");
  EXPECT_EQ(pairs(f), (Pairs{{"a", "\r\n\r\nx\r\n\r\n"}, {"lf", "line\n"}}));
}

TEST(ParseMultipart, AllByteValuesSurvive) {
  std::string content;
  for (int round = 0; round < 4; ++round) {
    for (int byte = 0; byte < 256; ++byte) content.push_back(static_cast<char>(byte));
    content += "\r\n--boundar\r\n--boundary-\r\n";
  }
  const std::string body =
      "--boundary\r\nContent-Disposition: form-data; name=\"blob\"; filename=\"b\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n" +
      content + "\r\n--boundary--\r\n";
  const FormData f = multipart_ok(body, "boundary");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f.get("blob"), content);
}

// ---------------------------------------------------------------------------------------
// parse_multipart: part headers

TEST(ParseMultipart, QuotedNamesWithEscapes) {
  const FormData f = multipart_ok(
      "--B\r\nContent-Disposition: form-data; name=\"a\\\"b\\\\c\"\r\n\r\n1\r\n"   // a"b\c
      "--B\r\nContent-Disposition: form-data; name=\"semi;colon=x\"\r\n\r\n2\r\n"  // ';' inside quotes
      "--B\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n3\r\n"              // empty name
      "--B\r\nContent-Disposition: form-data; name=token.name\r\n\r\n4\r\n"        // token form
      "--B\r\nContent-Disposition: form-data; name=\"sp ace\"; filename=\"C:\\\\dir\\\\f.txt\"\r\n\r\n5\r\n"
      "--B--\r\n");
  EXPECT_EQ(pairs(f),
            (Pairs{{"a\"b\\c", "1"}, {"semi;colon=x", "2"}, {"", "3"}, {"token.name", "4"}, {"sp ace", "5"}}));
  const FormField* windows = f.field("sp ace");
  ASSERT_NE(windows, nullptr);
  EXPECT_EQ(windows->filename, "C:\\dir\\f.txt");
}

TEST(ParseMultipart, ExtendedFilenameWinsOverThePlainOne) {
  const FormData f = multipart_ok(
      "--B\r\nContent-Disposition: form-data; name=\"u\"; filename=\"cafe.txt\"; "
      "filename*=UTF-8''caf%C3%A9%20%E2%82%AC.txt\r\n\r\n1\r\n"
      "--B\r\nContent-Disposition: form-data; name=\"only\"; filename*=utf-8'en'na%C3%AFve\r\n\r\n2\r\n"
      "--B\r\nContent-Disposition: form-data; name=\"latin\"; filename*=ISO-8859-1''caf%E9\r\n\r\n3\r\n"
      "--B\r\nContent-Disposition: form-data; name=\"koi\"; filename=\"fallback\"; "
      "filename*=KOI8-R''%F0%D2\r\n\r\n4\r\n"
      "--B\r\nContent-Disposition: form-data; name=\"plain\"; name*=UTF-8''%E2%82%AC\r\n\r\n5\r\n"
      "--B\r\nContent-Disposition: form-data; name=\"q\"; filename*=\"UTF-8''a%20b\"\r\n\r\n6\r\n"
      "--B--\r\n");
  EXPECT_EQ(pairs(f),
            (Pairs{{"u", "1"}, {"only", "2"}, {"latin", "3"}, {"koi", "4"}, {"\xe2\x82\xac", "5"}, {"q", "6"}}));
  EXPECT_EQ(f.field("u")->filename, "caf\xc3\xa9 \xe2\x82\xac.txt");
  EXPECT_EQ(f.field("only")->filename, "na\xc3\xafve");
  EXPECT_EQ(f.field("latin")->filename, "caf\xc3\xa9");  // converted to UTF-8
  EXPECT_EQ(f.field("koi")->filename, "fallback");       // unknown charset: the plain one
  EXPECT_EQ(f.field("q")->filename, "a b");
}

TEST(ParseMultipart, MalformedExtendedFilenameIsRefused) {
  auto body = [](std::string_view ext) {
    return "--B\r\nContent-Disposition: form-data; name=\"f\"; filename*=" + std::string(ext) +
           "\r\n\r\nx\r\n--B--\r\n";
  };
  EXPECT_EQ(multipart_error(body("UTF-8''%zz")),
            "multipart part 1: Content-Disposition: malformed filename* parameter \"UTF-8''%zz\"");
  EXPECT_EQ(multipart_error(body("UTF-8'no-second-quote")),
            "multipart part 1: Content-Disposition: malformed filename* parameter \"UTF-8'no-second-quote\"");
  EXPECT_EQ(multipart_error(body("''no-charset")),
            "multipart part 1: Content-Disposition: malformed filename* parameter \"''no-charset\"");
  EXPECT_EQ(multipart_error(body("UTF-8''%C3%28")),  // not UTF-8
            "multipart part 1: Content-Disposition: malformed filename* parameter \"UTF-8''%C3%28\"");
  EXPECT_EQ(multipart_error(body("UTF-8''a%00b")),
            "multipart part 1: Content-Disposition: malformed filename* parameter \"UTF-8''a%00b\"");
}

TEST(ParseMultipart, EmptyFilenameIsKept) {
  // What a browser sends for a file input left empty.
  const FormData f = multipart_ok(
      "--B\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n\r\n--B--\r\n");
  const FormField* upload = f.field("upload");
  ASSERT_NE(upload, nullptr);
  EXPECT_EQ(upload->filename, "");
  EXPECT_EQ(upload->value, "");
  EXPECT_EQ(upload->content_type, "application/octet-stream");
}

TEST(ParseMultipart, HeaderNamesAndDispositionTypeAnyCase) {
  const FormData f = multipart_ok(
      "--B\r\n"
      "content-disposition:FORM-DATA;NAME=\"a\";FileName=\"f.txt\"\r\n"
      "CONTENT-TYPE:   text/html  \r\n"
      "Content-Transfer-Encoding: BINARY\r\n"
      "Content-Encoding: identity\r\n"
      "X-Whatever: ignored\r\n"
      "Content-Length: 99\r\n"  // ignored: the delimiter decides
      "\r\n"
      "<p>\r\n"
      "--B--\r\n");
  const FormField* a = f.field("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->value, "<p>");
  EXPECT_EQ(a->filename, "f.txt");
  EXPECT_EQ(a->content_type, "text/html");
}

// ---------------------------------------------------------------------------------------
// parse_multipart: refused bodies

TEST(ParseMultipartErrors, NoOpeningDelimiter) {
  EXPECT_EQ(multipart_error(""), "multipart: no boundary delimiter \"--B\" in the body");
  EXPECT_EQ(multipart_error("a=1&b=2"), "multipart: no boundary delimiter \"--B\" in the body");
  EXPECT_EQ(multipart_error(simple_part("a", "1") + "--B--\r\n", "C"),
            "multipart: no boundary delimiter \"--C\" in the body");
  // "--B" not at the start of a line opens nothing: all of this is preamble.
  EXPECT_EQ(multipart_ok("x--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B--").size(), 0u);
}

TEST(ParseMultipartErrors, MissingClosingDelimiter) {
  EXPECT_EQ(multipart_error(simple_part("a", "1")), "multipart part 1: no closing delimiter \"--B--\"");
  EXPECT_EQ(multipart_error(simple_part("a", "1") + simple_part("b", "2") + "--B-"),
            "multipart part 2: no closing delimiter \"--B--\"");
  EXPECT_EQ(multipart_error(simple_part("a", "1") + "--B--X"), "multipart part 1: no closing delimiter \"--B--\"");
  EXPECT_EQ(multipart_error(simple_part("a", "truncated in the mid")),
            "multipart part 1: no closing delimiter \"--B--\"");
}

TEST(ParseMultipartErrors, PartWithoutContentDisposition) {
  EXPECT_EQ(multipart_error("--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--\r\n"),
            "multipart part 1: no Content-Disposition header");
  EXPECT_EQ(multipart_error(simple_part("a", "1") + "--B\r\n\r\nx\r\n--B--\r\n"),
            "multipart part 2: no Content-Disposition header");
}

TEST(ParseMultipartErrors, DispositionNotFormData) {
  EXPECT_EQ(multipart_error("--B\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--B--\r\n"),
            "multipart part 1: Content-Disposition is \"attachment\", not form-data");
  EXPECT_EQ(multipart_error("--B\r\nContent-Disposition: ; name=\"a\"\r\n\r\nx\r\n--B--\r\n"),
            "multipart part 1: Content-Disposition is \"\", not form-data");
}

TEST(ParseMultipartErrors, PartWithoutName) {
  EXPECT_EQ(multipart_error("--B\r\nContent-Disposition: form-data; filename=\"f.txt\"\r\n\r\nx\r\n--B--\r\n"),
            "multipart part 1: Content-Disposition has no name parameter");
  EXPECT_EQ(multipart_error("--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n"),
            "multipart part 1: Content-Disposition has no name parameter");
}

TEST(ParseMultipartErrors, BadDispositionParameters) {
  auto body = [](std::string_view disposition) {
    return "--B\r\nContent-Disposition: " + std::string(disposition) + "\r\n\r\nx\r\n--B--\r\n";
  };
  EXPECT_EQ(multipart_error(body("form-data; name=\"a\"; name=\"b\"")),
            "multipart part 1: Content-Disposition: duplicate parameter 'name'");
  EXPECT_EQ(multipart_error(body("form-data; name=\"a\"; NAME=b")),
            "multipart part 1: Content-Disposition: duplicate parameter 'name'");
  EXPECT_EQ(multipart_error(body("form-data; name=\"unterminated")),
            "multipart part 1: Content-Disposition: parameter 'name': unterminated quoted string");
  EXPECT_EQ(multipart_error(body("form-data; name")),
            "multipart part 1: Content-Disposition: parameter 'name' has no value");
  EXPECT_EQ(multipart_error(body("form-data; name=")),
            "multipart part 1: Content-Disposition: parameter 'name' has a bad or empty value");
  EXPECT_EQ(multipart_error(body("form-data; name=two words")),
            "multipart part 1: Content-Disposition: expected ';' before \"words\"");
  EXPECT_EQ(multipart_error(body("form-data; name=\"a\" junk")),
            "multipart part 1: Content-Disposition: expected ';' before \"junk\"");
  EXPECT_EQ(multipart_error(body("form-data; \"a\"")),
            "multipart part 1: Content-Disposition: bad parameter name at \"\\\"a\\\"\"");
}

TEST(ParseMultipartErrors, DuplicateHeaders) {
  EXPECT_EQ(multipart_error("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                            "Content-Disposition: form-data; name=\"b\"\r\n\r\nx\r\n--B--\r\n"),
            "multipart part 1: duplicate Content-Disposition");
  EXPECT_EQ(multipart_error("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                            "Content-Type: text/plain\r\ncontent-type: text/html\r\n\r\nx\r\n--B--\r\n"),
            "multipart part 1: duplicate Content-Type");
}

TEST(ParseMultipartErrors, BadHeaderLines) {
  auto with_header = [](std::string_view line) {
    return "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n" + std::string(line) + "\r\n\r\nx\r\n--B--\r\n";
  };
  EXPECT_EQ(multipart_error(with_header("No colon here")), "multipart part 1: bad header line \"No colon here\"");
  EXPECT_EQ(multipart_error(with_header("Content-Type : text/plain")),
            "multipart part 1: bad header line \"Content-Type : text/plain\"");
  EXPECT_EQ(multipart_error(with_header(": empty name")), "multipart part 1: bad header line \": empty name\"");
  EXPECT_EQ(multipart_error(with_header("Content-Type")), "multipart part 1: bad header line \"Content-Type\"");
  EXPECT_EQ(multipart_error(with_header(" folded")), "multipart part 1: obsolete line folding in headers");
  EXPECT_EQ(multipart_error(with_header("\tfolded")), "multipart part 1: obsolete line folding in headers");
  EXPECT_EQ(multipart_error(with_header("X-Bare: a\nb")), "multipart part 1: control character in header X-Bare");
  EXPECT_EQ(multipart_error(with_header("X-Cr: a\rb")), "multipart part 1: control character in header X-Cr");
  EXPECT_EQ(multipart_error(with_header("X-Nul: a\0b"s)), "multipart part 1: control character in header X-Nul");
  EXPECT_EQ(multipart_error(with_header("X-Del: a\x7f")), "multipart part 1: control character in header X-Del");
  // A bare-LF header block: the first CRLF comes only in the content, so the line is bad.
  EXPECT_EQ(multipart_error("--B\r\nContent-Disposition: form-data; name=\"a\"\n\nx\r\n--B--\r\n"),
            "multipart part 1: control character in header Content-Disposition");
  EXPECT_EQ(multipart_error("--B\r\nContent-Disposition: form-data; name=\"a\x01\"\r\n\r\nx\r\n--B--\r\n"),
            "multipart part 1: control character in header Content-Disposition");
}

TEST(ParseMultipartErrors, MessagesQuoteBodyTextShortAndEscaped) {
  const std::string long_line = "X-Long " + std::string(100, 'v');
  EXPECT_EQ(
      multipart_error("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n" + long_line + "\r\n\r\nx\r\n--B--\r\n"),
      "multipart part 1: bad header line \"X-Long " + std::string(57, 'v') + "\"...");
  EXPECT_EQ(multipart_error("--B\r\nCaf\xc3\xa9 \"\\\r\n\r\nx\r\n--B--\r\n"),
            "multipart part 1: bad header line \"Caf\\xc3\\xa9 \\\"\\\\\"");
}

TEST(ParseMultipartErrors, HeadersNotEndedByAnEmptyLine) {
  EXPECT_EQ(multipart_error("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n"),
            "multipart part 1: headers are not ended by an empty line");
  EXPECT_EQ(multipart_error("--B\r\n"), "multipart part 1: headers are not ended by an empty line");
  EXPECT_EQ(multipart_error("--B\r\nContent-Disposition: form-data; name=\"a\""),
            "multipart part 1: headers are not ended by an empty line");
}

TEST(ParseMultipartErrors, UnsupportedEncodings) {
  EXPECT_EQ(multipart_error("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                            "Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n--B--\r\n"),
            "multipart part 1: unsupported Content-Transfer-Encoding \"base64\"");
  EXPECT_EQ(multipart_error("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                            "Content-Encoding: gzip\r\n\r\nx\r\n--B--\r\n"),
            "multipart part 1: unsupported Content-Encoding \"gzip\"");
}

TEST(ParseMultipartErrors, TooManyParts) {
  std::string two = simple_part("a", "1") + simple_part("b", "2") + "--B--\r\n";
  std::string three = simple_part("a", "1") + simple_part("b", "2") + simple_part("c", "3") + "--B--\r\n";
  FormData ok;
  std::string error;
  EXPECT_TRUE(form::parse_multipart(two, "B", ok, error, {.max_parts = 2}));
  EXPECT_EQ(ok.size(), 2u);
  EXPECT_EQ(multipart_error(three, "B", {.max_parts = 2}), "multipart: more than 2 parts");
}

TEST(ParseMultipartErrors, DefaultLimitIsAThousandParts) {
  std::string body;
  for (int i = 0; i < 1000; ++i) body += simple_part("f", std::to_string(i));
  EXPECT_EQ(multipart_ok(body + "--B--\r\n").size(), 1000u);
  body += simple_part("f", "1000");
  EXPECT_EQ(multipart_error(body + "--B--\r\n"), "multipart: more than 1000 parts");
}

TEST(ParseMultipartErrors, HeadersTooBig) {
  // The header block: one line of exactly 64 bytes with its CRLF.
  const std::string line = "Content-Disposition: form-data; name=\"" + std::string(23, 'n') + "\"\r\n";
  ASSERT_EQ(line.size(), 64u);
  const std::string body = "--B\r\n" + line + "\r\nx\r\n--B--\r\n";
  FormData ok;
  std::string error;
  EXPECT_TRUE(form::parse_multipart(body, "B", ok, error, {.max_part_header_size = 64})) << error;
  EXPECT_EQ(ok.get(std::string(23, 'n')), "x");
  EXPECT_EQ(multipart_error(body, "B", {.max_part_header_size = 63}), "multipart part 1: headers exceed 63 bytes");

  // Under the default 8 KiB limit, a block that never ends is cut off at the limit.
  const std::string huge = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: " + std::string(9000, 'p') +
                           "\r\n\r\nx\r\n--B--\r\n";
  EXPECT_EQ(multipart_error(huge), "multipart part 1: headers exceed 8192 bytes");
  std::string many_lines = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n";
  for (int i = 0; i < 1000; ++i) many_lines += "X-Line: 12\r\n";
  EXPECT_EQ(multipart_error(many_lines + "\r\nx\r\n--B--\r\n"), "multipart part 1: headers exceed 8192 bytes");
}

TEST(ParseMultipartErrors, BadBoundaryArgument) {
  EXPECT_EQ(multipart_error("----\r\n", ""), "multipart: boundary must be 1 to 70 characters");
  EXPECT_EQ(multipart_error("--x\r\n", std::string(71, 'x')), "multipart: boundary must be 1 to 70 characters");
}

TEST(ParseMultipartErrors, FailureLeavesOutputUnchanged) {
  FormData f;
  f.add("kept", "1");
  std::string error;
  EXPECT_FALSE(form::parse_multipart(simple_part("a", "1") + "--B\r\n\r\nx\r\n--B--\r\n", "B", f, error));
  EXPECT_EQ(error, "multipart part 2: no Content-Disposition header");
  EXPECT_EQ(pairs(f), (Pairs{{"kept", "1"}}));
  ASSERT_TRUE(form::parse_multipart(simple_part("a", "1") + "--B--\r\n", "B", f, error));
  EXPECT_EQ(pairs(f), (Pairs{{"kept", "1"}, {"a", "1"}}));
}

TEST(ParseMultipartErrors, MutatedBodiesNeverCrash) {
  // Every single-byte change to a small valid body either parses or is refused with a
  // message; run under the sanitizers this checks the parser never reads out of bounds.
  const std::string body =
      "--B\r\nContent-Disposition: form-data; name=\"a\"; filename*=UTF-8''x%41\r\n"
      "Content-Type: text/plain\r\n\r\nv\r\n--B--\r\n";
  for (std::size_t i = 0; i < body.size(); ++i) {
    for (char replacement : {'\0', '\r', '\n', '"', '\\', ';', '-', '%', ' ', 'B', '\xff'}) {
      std::string mutated = body;
      mutated[i] = replacement;
      FormData f;
      std::string error;
      const bool parsed = form::parse_multipart(mutated, "B", f, error);
      EXPECT_EQ(error.empty(), parsed) << i;
      EXPECT_LE(f.size(), parsed ? 1u : 0u) << i;
    }
  }
}

}  // namespace
