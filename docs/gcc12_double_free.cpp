// GCC 12's coroutine bug without aio: an aggregate temporary with a destructor, or a lambda
// closure capturing one by copy, built inside a co_await expression is destroyed twice.
// Not part of the test suite (it fails on GCC 12 by design); the README's "GCC 12 and
// co_await" section quotes what it prints. Check a compiler with:
//
//   g++ -std=c++20 -g -fsanitize=address docs/gcc12_double_free.cpp -o /tmp/gcc12_repro
//   /tmp/gcc12_repro aggregate; /tmp/gcc12_repro lambda; /tmp/gcc12_repro named
//
// GCC 12.2: "AddressSanitizer: attempting double-free" for `aggregate` and `lambda`, "ok" for
// `named`. Clang 14: "ok" for all three.
#include <coroutine>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

// The smallest lazy coroutine type that can be awaited: enough to show the bug.
struct Lazy {
  struct promise_type {
    std::coroutine_handle<> parent = std::noop_coroutine();
    Lazy get_return_object() { return Lazy{std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct ResumeParent {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          return h.promise().parent;
        }
        void await_resume() noexcept {}
      };
      return ResumeParent{};
    }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
  explicit Lazy(std::coroutine_handle<promise_type> h) : handle(h) {}
  Lazy(Lazy&& other) noexcept : handle(std::exchange(other.handle, {})) {}
  ~Lazy() {
    if (handle) handle.destroy();
  }
  bool await_ready() { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) {
    handle.promise().parent = parent;
    return handle;
  }
  void await_resume() {}

  std::coroutine_handle<promise_type> handle;
};

struct Options {
  std::string name;  // a destructor makes the aggregate's temporary a victim
};

Lazy use(Options options) {
  std::printf("%zu bytes\n", options.name.size());
  co_return;
}
Lazy use_text(const std::string& text) {
  std::printf("%zu bytes\n", text.size());
  co_return;
}
Lazy run(Lazy inner) { co_await inner; }  // stands for aio::timeout(1.0, inner)

Lazy body(std::string_view which) {
  const std::string text(64, 'x');  // on the heap: freeing it twice is visible
  if (which == "aggregate") co_await use(Options{.name = text});
  if (which == "lambda") co_await run([text]() -> Lazy { co_await use_text(text); }());
  if (which == "named") {
    Options options{.name = text};
    auto make_inner = [text]() -> Lazy { co_await use_text(text); };
    co_await use(std::move(options));
    co_await run(make_inner());
  }
}

int main(int argc, char** argv) {
  Lazy lazy = body(argc > 1 ? argv[1] : "named");
  lazy.handle.resume();
  std::printf("ok\n");
}
