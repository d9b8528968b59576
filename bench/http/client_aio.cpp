// HTTP client benchmark, the aio side (bench/run_http_client.py): one ClientSession,
// `concurrency` tasks each fetching `url` in a loop for `seconds`; prints a JSON line
// {"requests": N, "errors": E, "seconds": S}. The runner measures this process's CPU time.
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

aio::Coro<void> worker(aio::http::ClientSession& session, std::string url, double until, Counts& counts) {
  aio::EventLoop& loop = aio::get_running_loop();
  while (loop.time() < until) {
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
  std::printf("{\"requests\": %ld, \"errors\": %ld, \"seconds\": %.4f}\n", counts.requests, counts.errors, elapsed);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s URL CONCURRENCY SECONDS\n", argv[0]);
    return 2;
  }
  aio::run(run(argv[1], std::atoi(argv[2]), std::atof(argv[3])));
  return 0;
}
