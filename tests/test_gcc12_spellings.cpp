// The spellings the README's "GCC 12 and co_await" section recommends, compiled and run with
// both compilers (scripts/test.sh builds this with GCC 12 and with Clang 14).
//
// GCC 12 destroys an aggregate temporary with a destructor twice when it is built inside a
// co_await expression — a struct built with braces, a lambda closure capturing such a value by
// copy — and rejects a braced list of strings there. The rule: build such a value in a
// statement of its own, name it, pass the name. Each test below is one case of the rule; the
// last ones show what stays safe inline (constructor temporaries, by-reference captures,
// aio's option structs, which are trivially destructible on purpose).
//
// Spelled the other way, the first two tests double-free on GCC 12 (glibc aborts with "free():
// double free detected"; docs/gcc12_double_free.cpp shows the bug without aio).
#include <aio/aio.hpp>
#include <aio/testing.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace {

// Longer than std::string's small buffer: its bytes live on the heap, so destroying it twice
// is a double free that glibc and ASan see, not a silent no-op.
const std::string kLongText(64, 'x');

struct Greeting {
  std::string name;
  int times = 1;
};

aio::Coro<std::string> greet(Greeting greeting) {
  co_await aio::sleep(0);
  std::string out;
  for (int i = 0; i < greeting.times; ++i) out += greeting.name;
  co_return out;
}

aio::Coro<std::string> repeat(std::string text, int times) {
  co_await aio::sleep(0);
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  co_return out;
}

aio::Coro<void> append_repeat(std::vector<std::string>& results, std::string text, int times) {
  results.push_back(co_await repeat(std::move(text), times));
}

aio::Coro<bool> is_even(int n) {
  co_await aio::sleep(0);
  co_return n % 2 == 0;
}

// Not `if (co_await is_even(n))` in a coroutine without locals: GCC 12 miscompiles that
// into a hang. The awaited value, named first, is safe.
aio::Coro<int> half_if_even(int n) {
  bool even = co_await is_even(n);
  if (even) co_return n / 2;
  co_return n;
}

}  // namespace

AIO_TEST(Gcc12Spellings, AwaitedConditionNamedFirst) {
  int a = co_await half_if_even(8);
  int b = co_await half_if_even(7);
  EXPECT_EQ(a, 4);
  EXPECT_EQ(b, 7);
}

// Not `co_await greet(Greeting{.name = kLongText, .times = 2})`.
AIO_TEST(Gcc12Spellings, AggregateNamedBeforeTheAwait) {
  Greeting greeting{.name = kLongText, .times = 2};
  const std::string greeted = co_await greet(std::move(greeting));
  EXPECT_EQ(greeted, kLongText + kLongText);
}

// Not `co_await aio::timeout(1.0, [message]() -> aio::Coro<std::string> {...}())`. The named
// lambda also outlives the coroutine it makes, which reads its captures through it.
AIO_TEST(Gcc12Spellings, CapturingLambdaNamedThenCalled) {
  const std::string message = kLongText;
  auto echo_message = [message]() -> aio::Coro<std::string> {
    co_await aio::sleep(0);
    co_return message;
  };
  const std::string echoed = co_await aio::timeout(1.0, echo_message());
  EXPECT_EQ(echoed, kLongText);
  aio::Task<std::string> task = aio::create_task(echo_message());
  const std::string from_task = co_await aio::wait_for(task, 1.0);
  EXPECT_EQ(from_task, kLongText);
}

// Not `co_await aio::create_subprocess_exec({"/bin/echo", "-n", "spelled"}, ...)`, which GCC 12
// rejects ("array used as initializer").
AIO_TEST(Gcc12Spellings, ArgvVectorNamedBeforeTheAwait) {
  const std::vector<std::string> argv{"/bin/echo", "-n", "spelled"};
  aio::Process process = co_await aio::create_subprocess_exec(argv, {.out = aio::PIPE});
  auto [out, err] = co_await process.communicate();
  EXPECT_EQ(out, "spelled");
  EXPECT_EQ(process.returncode(), 0);
}

// asyncio's variadic shape builds the argv inside aio, out of the caller's co_await expression.
AIO_TEST(Gcc12Spellings, VariadicArgvNeedsNoName) {
  aio::Process process =
      co_await aio::create_subprocess_exec("/bin/echo", "-n", "variadic", aio::ProcessOptions{.out = aio::PIPE});
  auto [out, err] = co_await process.communicate();
  EXPECT_EQ(out, "variadic");
}

// A temporary made by a constructor (here std::string from a literal) is not an aggregate:
// the README's first example passes them inline, with either compiler.
AIO_TEST(Gcc12Spellings, ConstructorTemporariesInlineAreSafe) {
  auto [a, b] = co_await aio::gather(repeat(std::string(kLongText), 2), repeat("ab", 3));
  EXPECT_EQ(a, kLongText + kLongText);
  EXPECT_EQ(b, "ababab");
}

// A lambda that captures only by reference has nothing to destroy: task_group's usual
// spelling, with the lambda written inside the co_await expression, is safe. (The group's
// tasks come from a plain function: a coroutine made by a temporary lambda would read its
// captures through a closure gone before the task runs, with any compiler.)
AIO_TEST(Gcc12Spellings, ByReferenceLambdaInlineIsSafe) {
  std::vector<std::string> results;
  co_await aio::task_group([&](aio::TaskGroup& tg) -> aio::Coro<void> {
    tg.create_task(append_repeat(results, kLongText, 1));
    tg.create_task(append_repeat(results, "ab", 2));
    co_return;
  });
  const std::vector<std::string> expected{kLongText, "abab"};
  EXPECT_EQ(results, expected);
}
