// aio's side of bench/run_fs.py: reads a file with aio::fs and prints
//   <bytes read> <wall seconds> <process CPU seconds>
// Usage:
//   fs_aio [--into] seq    FILE BLOCK              read() the whole file, BLOCK bytes at a time
//   fs_aio [--into] random FILE BLOCK COUNT TASKS  COUNT read_at()s of BLOCK bytes at random
//                                                  BLOCK-aligned offsets, split over TASKS
//                                                  tasks (each with its own File: one File
//                                                  runs one operation at a time)
// --into: read_into() / read_at_into() into one buffer per task instead of read() /
// read_at(), which return a new std::string per call.
// The loop's backend decides the path: AIO_BACKEND=epoll → the thread pool, io_uring → the ring.
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <aio/aio.hpp>

namespace {

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// The same offsets as fs_c.c and fs_python.py: a 64-bit LCG, per task.
std::uint64_t next_offset(std::uint64_t& state, std::uint64_t blocks, std::uint64_t block) {
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return ((state >> 33) % blocks) * block;
}

bool into = false;  // --into

aio::Coro<std::uint64_t> read_sequentially(std::string path, std::int64_t block) {
  aio::fs::File f = co_await aio::fs::open(path);
  std::uint64_t total = 0;
  if (into) {
    std::vector<char> buffer(static_cast<std::size_t>(block));
    while (std::size_t n = co_await f.read_into(buffer)) total += n;
    co_return total;
  }
  for (;;) {
    std::string chunk = co_await f.read(block);
    if (chunk.empty()) break;
    total += chunk.size();
  }
  co_return total;
}

aio::Coro<std::uint64_t> read_randomly(std::string path, std::size_t block, long count, std::uint64_t seed) {
  aio::fs::File f = co_await aio::fs::open(path);
  const std::uint64_t blocks = co_await f.size() / block;
  std::uint64_t state = seed;
  std::uint64_t total = 0;
  if (into) {
    std::vector<char> buffer(block);
    for (long i = 0; i < count; ++i) total += co_await f.read_at_into(buffer, next_offset(state, blocks, block));
    co_return total;
  }
  for (long i = 0; i < count; ++i) {
    std::string chunk = co_await f.read_at(block, next_offset(state, blocks, block));
    total += chunk.size();
  }
  co_return total;
}

aio::Coro<std::uint64_t> run(int argc, char** argv) {
  const std::string mode = argv[1];
  const std::string path = argv[2];
  const long block = std::atol(argv[3]);
  if (mode == "seq") co_return co_await read_sequentially(path, block);
  const long count = std::atol(argv[4]);
  const long tasks = argc > 5 ? std::atol(argv[5]) : 1;
  std::vector<aio::Task<std::uint64_t>> readers;
  for (long t = 0; t < tasks; ++t)
    readers.push_back(aio::create_task(
        read_randomly(path, static_cast<std::size_t>(block), count / tasks, static_cast<std::uint64_t>(t) + 1)));
  std::uint64_t total = 0;
  for (auto& r : readers) total += co_await r;
  co_return total;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--into") {
    into = true;
    --argc;
    ++argv;
  }
  if (argc < 4 || (std::string(argv[1]) != "seq" && argc < 5)) {
    std::fprintf(stderr, "usage: fs_aio [--into] seq FILE BLOCK | fs_aio [--into] random FILE BLOCK COUNT [TASKS]\n");
    return 2;
  }
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t bytes = aio::run(run(argc, argv));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%llu %.6f %.6f\n", static_cast<unsigned long long>(bytes), wall, cpu_seconds() - cpu0);
  return 0;
}
