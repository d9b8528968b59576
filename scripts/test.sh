#!/usr/bin/env bash
# Quick start, step 2: install what is missing, build and run every test.
#
#   1. Release build with GCC 12 (-Werror): the whole suite, the examples, the benchmarks
#      (built, not run), and the install, checked by tests/consumer/check_install.sh: file
#      names, a find_package(aio) consumer and a pkg-config one. The suite runs once per
#      backend: epoll, then io_uring (AIO_BACKEND=io_uring; skipped, with a message, where
#      the kernel or a seccomp profile refuses io_uring).
#   2. Release build with Clang 14 (-Werror): the deep-await tests (symmetric transfer is
#      not what keeps the stack flat; the trampoline is, with either compiler) and the
#      README's GCC 12 spellings (test_gcc12_spellings, which step 1 runs with GCC 12).
#   3. ASan + UBSan build with Clang 14: the whole suite, on io_uring where the kernel has it
#      (else on epoll).
#   4. TSan build with Clang 14: the thread-crossing tests (test names containing Thread,
#      Threadsafe or Executor: call_soon_threadsafe, to_thread, executors, files on the
#      thread pool, signals raised on other threads, ContextVars carried to other threads),
#      on epoll and then on io_uring (whose cross-thread wake-up is a read on the ring).
#   5. libFuzzer on the HTTP request parser (Clang, ASan + UBSan), for a bounded time
#      (AIO_FUZZ_SECONDS, default 60) from the corpus kept in tests/fuzz/corpus/.
# Set AIO_TEST_ONLY=release|clang|asan|tsan|consumer|fuzz to run one step.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

jobs=$(nproc)
only=${AIO_TEST_ONLY:-}
step() { [[ -z "$only" || "$only" == "$1" ]]; }
banner() { printf '\n==== %s ====\n' "$*"; }
# Whether this kernel lets us run io_uring (kernel.io_uring_disabled, seccomp, old kernel):
# a loop forced onto it says why not. Needs that build's test_backend (default build/release).
io_uring_refused() {
  "${1:-build/release}/tests/test_backend" --gtest_filter='Backends.NameIsTheOneAskedFor/io_uring' 2>&1 |
    grep -o 'io_uring is not available here: .*' || true
}

if step release; then
  banner "GCC 12 Release: full suite"
  cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ -DAIO_WERROR=ON
  cmake --build build/release -j "$jobs"
  banner "GCC 12 Release: full suite on epoll"
  AIO_BACKEND=epoll ctest --test-dir build/release --output-on-failure -j "$jobs"
  refused=$(io_uring_refused)
  if [[ -n "$refused" ]]; then
    banner "GCC 12 Release: io_uring SKIPPED — $refused"
  else
    banner "GCC 12 Release: full suite on io_uring"
    AIO_BACKEND=io_uring ctest --test-dir build/release --output-on-failure -j "$jobs"
  fi
fi

if step consumer; then
  banner "install, then consumers: find_package(aio) and pkg-config"
  [[ -d build/release ]] || cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DAIO_WERROR=ON
  rm -rf build/prefix build/consumer
  cmake --build build/release --target aio aio_http aio_mysql
  cmake --install build/release --prefix build/prefix
  bash tests/consumer/check_install.sh build/prefix build/consumer
fi

if step clang; then
  banner "Clang 14 Release: deep-await tests and the GCC 12 spellings"
  cmake -S . -B build/clang-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
    -DAIO_WERROR=ON -DAIO_BUILD_BENCH=OFF -DAIO_BUILD_EXAMPLES=OFF
  cmake --build build/clang-release -j "$jobs" --target test_coro test_stress test_gcc12_spellings
  ctest --test-dir build/clang-release --output-on-failure -j "$jobs" -R '^(Coro|Stress|Gcc12Spellings)\.'
fi

if step asan; then
  banner "Clang 14 ASan + UBSan: full suite"
  cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DAIO_WERROR=ON -DAIO_SANITIZE=address,undefined -DAIO_BUILD_BENCH=OFF
  cmake --build build/asan -j "$jobs"
  asan_backend=io_uring
  refused=$(io_uring_refused build/asan)
  if [[ -n "$refused" ]]; then
    echo "io_uring SKIPPED under ASan — $refused; the ASan run uses epoll"
    asan_backend=epoll
  fi
  AIO_BACKEND=$asan_backend ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build/asan --output-on-failure -j "$jobs"
fi

if step tsan; then
  banner "Clang 14 TSan: thread-crossing tests"
  cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DAIO_WERROR=ON -DAIO_SANITIZE=thread -DAIO_BUILD_BENCH=OFF -DAIO_BUILD_EXAMPLES=OFF
  cmake --build build/tsan -j "$jobs" --target test_backend test_loop test_runners test_executor test_fs test_signals \
    test_context_var
  for backend in epoll io_uring; do
    refused=$([[ $backend == io_uring ]] && io_uring_refused build/tsan || true)
    if [[ -n "$refused" ]]; then
      banner "Clang 14 TSan: io_uring SKIPPED — $refused"
      continue
    fi
    banner "Clang 14 TSan: thread-crossing tests on $backend"
    AIO_BACKEND=$backend TSAN_OPTIONS=halt_on_error=1 \
      ctest --test-dir build/tsan --output-on-failure -j "$jobs" -R 'Threadsafe|Thread|Executor'
  done
fi

if step fuzz; then
  banner "Clang 14 libFuzzer: the HTTP request parser (${AIO_FUZZ_SECONDS:-60} s)"
  mkdir -p build/fuzz
  clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc -Iinclude \
    tests/fuzz/http_parser_fuzz.cpp src/http/parser.cpp -o build/fuzz/http_parser_fuzz
  # A scratch copy: what the fuzzer learns is not written into the repository.
  rm -rf build/fuzz/corpus && cp -r tests/fuzz/corpus/http_parser build/fuzz/corpus
  ./build/fuzz/http_parser_fuzz -max_total_time="${AIO_FUZZ_SECONDS:-60}" -print_final_stats=1 build/fuzz/corpus
fi
