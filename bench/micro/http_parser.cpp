// Parsing HTTP/1.1 request heads: aio's parser against llhttp (what Node.js uses), on a
// typical browser GET and on a 16-request pipeline of small GETs in one buffer. The
// `per_request` counter is the time per parsed request; `allocs` counts heap allocations
// per iteration (0 is the goal: the header vector is reused).
//
// Build and run (llhttp's C sources come from Debian's node-llhttp package, compiled here):
//   for f in api http llhttp; do
//     cc -O2 -c /usr/share/llhttp/$f.c -I/usr/share/include/llhttp -o /tmp/llhttp_$f.o; done
//   g++ -std=c++20 -O2 -DNDEBUG -DAIO_BENCH_HAVE_LLHTTP=1 -Isrc -Iinclude -I/usr/share/include/llhttp
//       bench/micro/http_parser.cpp bench/micro/alloc_counter.cpp src/http/parser.cpp
//       /tmp/llhttp_*.o -lbenchmark -lpthread -o /tmp/bench_http_parser && /tmp/bench_http_parser
// Without llhttp, leave out the -D, the -I and the .o files.
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alloc_counter.hpp"
#include "http/parser.hpp"

#if AIO_BENCH_HAVE_LLHTTP
#include <llhttp.h>
#endif

namespace {

using namespace aio::http::detail;

// What Firefox sends for a page on a site with a session cookie: 452 bytes.
const std::string kBrowserGet =
    "GET /articles/2024/http-parsing?page=2&sort=recent HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark; lang=en\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "\r\n";

constexpr int kPipelineDepth = 16;

std::string small_get_pipeline() {
  std::string pipeline;
  for (int i = 0; i < kPipelineDepth; ++i)
    pipeline += "GET /item/" + std::to_string(i) + " HTTP/1.1\r\nHost: localhost:8080\r\nAccept: */*\r\n\r\n";
  return pipeline;
}

const std::string kPipeline = small_get_pipeline();

void report(benchmark::State& state, long allocations_before, int requests_per_iteration, std::size_t bytes) {
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["per_request"] = benchmark::Counter(
      requests_per_iteration, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["allocs"] = static_cast<double>(allocations() - allocations_before) / iterations;
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}

// Parses every head in `buffer`, one after the other, as a server would.
int aio_parse_all(std::string_view buffer, const ParseLimits& limits, RequestHead& head,
                  std::vector<HeaderField>& headers, ParseError& error) {
  int parsed = 0;
  while (!buffer.empty()) {
    if (parse_request_head(buffer, limits, head, headers, error) != ParseResult::complete) return -1;
    benchmark::DoNotOptimize(head);
    buffer.remove_prefix(head.head_size);
    ++parsed;
  }
  return parsed;
}

void run_aio(benchmark::State& state, const std::string& buffer, int requests) {
  const ParseLimits limits;
  RequestHead head;
  std::vector<HeaderField> headers;
  headers.reserve(32);
  ParseError error;
  const long before = allocations();
  for (auto _ : state) {
    if (aio_parse_all(buffer, limits, head, headers, error) != requests) {
      state.SkipWithError("aio parser did not parse every request");
      break;
    }
    benchmark::ClobberMemory();
  }
  report(state, before, requests, buffer.size());
}

void BM_aio_browser_get(benchmark::State& state) { run_aio(state, kBrowserGet, 1); }
void BM_aio_pipeline16(benchmark::State& state) { run_aio(state, kPipeline, kPipelineDepth); }
BENCHMARK(BM_aio_browser_get);
BENCHMARK(BM_aio_pipeline16);

#if AIO_BENCH_HAVE_LLHTTP

// What the callbacks collect: the same views aio's parser gives a server.
struct LlhttpRequest {
  std::string_view method, target, pending_name;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  int completed = 0;
};

LlhttpRequest& request_of(llhttp_t* parser) { return *static_cast<LlhttpRequest*>(parser->data); }

// The buffer is passed whole, so llhttp reports each span in one piece.
llhttp_settings_t span_collecting_settings() {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_message_begin = [](llhttp_t* p) {
    request_of(p).headers.clear();
    return 0;
  };
  settings.on_method = [](llhttp_t* p, const char* at, std::size_t n) {
    request_of(p).method = {at, n};
    return 0;
  };
  settings.on_url = [](llhttp_t* p, const char* at, std::size_t n) {
    request_of(p).target = {at, n};
    return 0;
  };
  settings.on_header_field = [](llhttp_t* p, const char* at, std::size_t n) {
    request_of(p).pending_name = {at, n};
    return 0;
  };
  settings.on_header_value = [](llhttp_t* p, const char* at, std::size_t n) {
    LlhttpRequest& request = request_of(p);
    request.headers.emplace_back(request.pending_name, std::string_view(at, n));
    return 0;
  };
  settings.on_message_complete = [](llhttp_t* p) {
    ++request_of(p).completed;
    return 0;
  };
  return settings;
}

llhttp_settings_t count_only_settings() {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_message_complete = [](llhttp_t* p) {
    ++request_of(p).completed;
    return 0;
  };
  return settings;
}

void run_llhttp(benchmark::State& state, const std::string& buffer, int requests, const llhttp_settings_t& settings) {
  llhttp_t parser;
  llhttp_init(&parser, HTTP_REQUEST, &settings);
  LlhttpRequest request;
  request.headers.reserve(32);
  parser.data = &request;
  const long before = allocations();
  for (auto _ : state) {
    request.completed = 0;
    if (llhttp_execute(&parser, buffer.data(), buffer.size()) != HPE_OK || request.completed != requests) {
      state.SkipWithError(llhttp_errno_name(llhttp_get_errno(&parser)));
      break;
    }
    benchmark::DoNotOptimize(request);
    benchmark::ClobberMemory();
  }
  report(state, before, requests, buffer.size());
}

const llhttp_settings_t kSpanSettings = span_collecting_settings();
const llhttp_settings_t kCountSettings = count_only_settings();

void BM_llhttp_browser_get(benchmark::State& state) { run_llhttp(state, kBrowserGet, 1, kSpanSettings); }
void BM_llhttp_pipeline16(benchmark::State& state) { run_llhttp(state, kPipeline, kPipelineDepth, kSpanSettings); }
// llhttp validating only, no spans collected: its floor.
void BM_llhttp_browser_get_no_callbacks(benchmark::State& state) { run_llhttp(state, kBrowserGet, 1, kCountSettings); }
void BM_llhttp_pipeline16_no_callbacks(benchmark::State& state) {
  run_llhttp(state, kPipeline, kPipelineDepth, kCountSettings);
}
BENCHMARK(BM_llhttp_browser_get);
BENCHMARK(BM_llhttp_pipeline16);
BENCHMARK(BM_llhttp_browser_get_no_callbacks);
BENCHMARK(BM_llhttp_pipeline16_no_callbacks);

#endif  // AIO_BENCH_HAVE_LLHTTP

}  // namespace

BENCHMARK_MAIN();
