// HTTP client benchmark, the aio side (bench/run_http_client.py): one ClientSession;
// prints a JSON line {"requests": N, "errors": E, "seconds": S}. The runner measures this
// process's CPU time. Two modes:
//   bench_http_client_aio URL CONCURRENCY SECONDS   tasks fetching URL in a loop
//   bench_http_client_aio crawl URL N LIMIT         N distinct URLs (URL?i=0..N-1), one task
//                                                   each, through a session with limit = LIMIT
//
// Run: bench_http_client_aio http://127.0.0.1:8080/plaintext 64 5
#include <aio/aio.hpp>
#include <aio/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Counts {
  long requests = 0;
  long errors = 0;
};

aio::Coro<void> fetch_once(aio::http::ClientSession& session, std::string url, Counts& counts) {
  try {
    aio::http::ClientResponse response = co_await session.get(url);
    std::string body = co_await response.read();
    if (response.status() == 200 && !body.empty())
      ++counts.requests;
    else
      ++counts.errors;
  } catch (const aio::http::ClientError&) {
    ++counts.errors;
  }
}

void report(const Counts& counts, double seconds) {
  std::printf("{\"requests\": %ld, \"errors\": %ld, \"seconds\": %.4f}\n", counts.requests, counts.errors, seconds);
}

aio::Coro<void> crawl(std::string url, int n, int limit) {
  aio::http::SessionOptions options;
  options.limit = static_cast<std::size_t>(limit);
  aio::http::ClientSession session(options);
  Counts counts;
  aio::EventLoop& loop = aio::get_running_loop();
  const double start = loop.time();
  std::vector<aio::Coro<void>> fetches;
  fetches.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) fetches.push_back(fetch_once(session, url + "?i=" + std::to_string(i), counts));
  co_await aio::gather(std::move(fetches));
  const double elapsed = loop.time() - start;
  co_await session.close();
  report(counts, elapsed);
}

aio::Coro<void> worker(aio::http::ClientSession& session, std::string url, double until, Counts& counts) {
  aio::EventLoop& loop = aio::get_running_loop();
  while (loop.time() < until) co_await fetch_once(session, url, counts);
}

aio::Coro<void> run(std::string url, int concurrency, double seconds) {
  aio::http::ClientSession session(aio::http::SessionOptions{.limit = static_cast<std::size_t>(concurrency)});
  Counts counts;
  aio::EventLoop& loop = aio::get_running_loop();
  const double start = loop.time();
  std::vector<aio::Coro<void>> workers;
  for (int i = 0; i < concurrency; ++i) workers.push_back(worker(session, url, start + seconds, counts));
  co_await aio::gather(std::move(workers));
  const double elapsed = loop.time() - start;
  co_await session.close();
  report(counts, elapsed);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "crawl") {
    aio::run(crawl(argv[2], std::atoi(argv[3]), std::atoi(argv[4])));
    return 0;
  }
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s URL CONCURRENCY SECONDS | %s crawl URL N LIMIT\n", argv[0], argv[0]);
    return 2;
  }
  aio::run(run(argv[1], std::atoi(argv[2]), std::atof(argv[3])));
  return 0;
}
