// aio's errors: ExceptionGroup's what() and its split / subgroup / contains (Python's
// except*, checked against Python 3.11), and how an exception that leaves main ends the
// process (KeyboardInterrupt: killed by SIGINT, like Python; any other: its type and
// message, then abort) — the last seen from outside, on tests/uncaught_main.cpp.
#include <gtest/gtest.h>

#include <signal.h>

#include <aio/aio.hpp>
#include <aio/testing.hpp>

#include <cerrno>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "support.hpp"

using namespace aio_test;

// Python's exception types, for scenarios written as in Python.
namespace py {
struct ValueError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct TypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct KeyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace py

namespace {

template <class E>
std::exception_ptr error(E e) {
  return std::make_exception_ptr(std::move(e));
}

std::exception_ptr group(std::string message, std::vector<std::exception_ptr> exceptions) {
  return error(aio::ExceptionGroup(std::move(message), std::move(exceptions)));
}

// A group or an exception, written like the Python oracle prints it:
// "Group(outer: ValueError(v1), Group(inner: KeyError(k)))", "none" for no group.
std::string show(const std::exception_ptr& e);

std::string show(const aio::ExceptionGroup& g) {
  std::string out = "Group(" + g.message() + ":";
  for (std::size_t i = 0; i < g.exceptions().size(); ++i) {
    out += i == 0 ? " " : ", ";
    out += show(g.exceptions()[i]);
  }
  return out + ")";
}

std::string show(const std::optional<aio::ExceptionGroup>& g) { return g ? show(*g) : "none"; }

std::string show(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const aio::ExceptionGroup& g) {
    return show(g);
  } catch (const py::ValueError& x) {
    return std::string("ValueError(") + x.what() + ")";
  } catch (const py::TypeError& x) {
    return std::string("TypeError(") + x.what() + ")";
  } catch (const py::KeyError& x) {
    return std::string("KeyError(") + x.what() + ")";
  } catch (...) {
  }
  return aio::describe(e);
}

std::string show(const std::pair<std::optional<aio::ExceptionGroup>, std::optional<aio::ExceptionGroup>>& split) {
  return show(split.first) + " | " + show(split.second);
}

// The tree of the Python scenarios:
//   v1, t1, v2, k, k2 = ValueError("v1"), TypeError("t1"), ValueError("v2"), KeyError("k"), KeyError("k2")
//   inner = ExceptionGroup("inner", [v2, k]); inner2 = ExceptionGroup("inner2", [k2])
//   eg = ExceptionGroup("outer", [v1, inner, t1, inner2])
struct Tree {
  std::exception_ptr v1 = error(py::ValueError("v1"));
  std::exception_ptr t1 = error(py::TypeError("t1"));
  std::exception_ptr v2 = error(py::ValueError("v2"));
  std::exception_ptr k = error(py::KeyError("k"));
  std::exception_ptr k2 = error(py::KeyError("k2"));
  std::exception_ptr inner = group("inner", {v2, k});
  std::exception_ptr inner2 = group("inner2", {k2});
  aio::ExceptionGroup eg{"outer", {v1, inner, t1, inner2}};
};

const std::string kWholeTree =
    "Group(outer: ValueError(v1), Group(inner: ValueError(v2), KeyError(k)), TypeError(t1), "
    "Group(inner2: KeyError(k2)))";

}  // namespace

// ============================================================================================
// what(): Python's str(eg), then each exception's type and message
// ============================================================================================

TEST(ExceptionGroupWhat, ListsEachExceptionWithItsTypeAndMessage) {
  aio::ExceptionGroup eg("unhandled errors in a TaskGroup",
                         {error(aio::TimeoutError()), error(std::invalid_argument("port must be > 0"))});
  EXPECT_STREQ(eg.what(),
               "unhandled errors in a TaskGroup (2 sub-exceptions)\n"
               "  1. aio::TimeoutError: operation timed out\n"
               "  2. std::invalid_argument: port must be > 0");
  aio::ExceptionGroup one("one", {error(py::ValueError("v"))});
  EXPECT_STREQ(one.what(), "one (1 sub-exception)\n  1. py::ValueError: v");  // Python: "one (1 sub-exception)"
}

TEST(ExceptionGroupWhat, IndentsNestedGroups) {
  Tree tree;
  EXPECT_STREQ(tree.eg.what(),
               "outer (4 sub-exceptions)\n"
               "  1. py::ValueError: v1\n"
               "  2. aio::ExceptionGroup: inner (2 sub-exceptions)\n"
               "       1. py::ValueError: v2\n"
               "       2. py::KeyError: k\n"
               "  3. py::TypeError: t1\n"
               "  4. aio::ExceptionGroup: inner2 (1 sub-exception)\n"
               "       1. py::KeyError: k2");
  aio::ExceptionGroup deeper("top", {group("middle", {tree.inner2})});
  EXPECT_STREQ(deeper.what(),
               "top (1 sub-exception)\n"
               "  1. aio::ExceptionGroup: middle (1 sub-exception)\n"
               "       1. aio::ExceptionGroup: inner2 (1 sub-exception)\n"
               "            1. py::KeyError: k2");
}

TEST(ExceptionGroupWhat, NamesExceptionsThatAreNotStdExceptions) {
  aio::ExceptionGroup eg("odd ones", {error(aio::CancelledError("stop")), error(aio::CancelledError()),
                                      error(aio::KeyboardInterrupt()), error(42)});
  EXPECT_STREQ(eg.what(),
               "odd ones (4 sub-exceptions)\n"
               "  1. aio::CancelledError: stop\n"
               "  2. aio::CancelledError\n"
               "  3. aio::KeyboardInterrupt\n"
               "  4. int");
}

TEST(ExceptionGroupWhat, IndentsTheLinesOfAMultiLineMessage) {
  aio::ExceptionGroup eg("g", {error(std::runtime_error("first line\nsecond line")), error(py::KeyError("k"))});
  EXPECT_STREQ(eg.what(),
               "g (2 sub-exceptions)\n"
               "  1. std::runtime_error: first line\n"
               "     second line\n"
               "  2. py::KeyError: k");
}

TEST(ExceptionGroup, KeepsItsMessageWithoutTheCount) {
  Tree tree;
  EXPECT_EQ(tree.eg.message(), "outer");  // Python: eg.message
  EXPECT_EQ(tree.eg.exceptions().size(), 4u);
}

TEST(ExceptionGroup, DescribeGivesTheTypeThenWhat) {
  Tree tree;
  EXPECT_EQ(aio::describe(error(tree.eg)), std::string("aio::ExceptionGroup: ") + tree.eg.what());
}

TEST(ExceptionGroup, RefusesAnEmptyListAndNullExceptions) {
  // Python: ValueError "second argument (exceptions) must be a non-empty sequence", and
  // "Item 0 of second argument (exceptions) is not an exception".
  try {
    aio::ExceptionGroup eg("empty", {});
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "aio::ExceptionGroup needs at least one exception (it was given none)");
  }
  try {
    aio::ExceptionGroup eg("null", {error(py::ValueError("v")), nullptr});
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "aio::ExceptionGroup: exception 1 is a null exception_ptr; pass the exceptions themselves");
  }
}

namespace {
aio::Coro<void> fails_after_a_step() {
  co_await aio::sleep(0);
  throw std::runtime_error("child failed");
}
}  // namespace

AIO_TEST(ExceptionGroup, ATaskGroupsGroupListsItsErrors) {
  auto body = [](aio::TaskGroup& tg) -> aio::Coro<void> {
    tg.create_task(fails_after_a_step());
    co_return;
  };
  std::exception_ptr e = co_await error_of(aio::task_group(body));
  std::optional<aio::ExceptionGroup> eg = exception_as<aio::ExceptionGroup>(e);
  AIO_ASSERT_TRUE(eg.has_value());
  EXPECT_STREQ(eg->what(), "unhandled errors in a TaskGroup (1 sub-exception)\n  1. std::runtime_error: child failed");
  EXPECT_EQ(eg->message(), "unhandled errors in a TaskGroup");
}

// ============================================================================================
// split / subgroup / contains: each expectation is what Python 3.11 printed for the same
// call on the same tree (see Tree), e.g. `eg.split(ValueError)`.
// ============================================================================================

TEST(ExceptionGroupSplit, SplitsLeavesAndKeepsTheNesting) {
  Tree tree;
  EXPECT_EQ(show(tree.eg.split<py::ValueError>()),
            "Group(outer: ValueError(v1), Group(inner: ValueError(v2))) | "
            "Group(outer: Group(inner: KeyError(k)), TypeError(t1), Group(inner2: KeyError(k2)))");
  // A nested group left empty vanishes; one whose leaves all match is rebuilt whole.
  EXPECT_EQ(show(tree.eg.split<py::KeyError>()),
            "Group(outer: Group(inner: KeyError(k)), Group(inner2: KeyError(k2))) | "
            "Group(outer: ValueError(v1), Group(inner: ValueError(v2)), TypeError(t1))");
}

TEST(ExceptionGroupSplit, NothingMatchingGivesOnlyTheRest) {
  Tree tree;
  EXPECT_EQ(show(tree.eg.split<std::system_error>()), "none | " + kWholeTree);  // eg.split(OSError)
  EXPECT_EQ(show(tree.eg.subgroup<std::system_error>()), "none");
  EXPECT_FALSE(tree.eg.contains<std::system_error>());
}

TEST(ExceptionGroupSplit, TheGroupItselfIsTestedFirst) {
  // eg.split(ExceptionGroup) and eg.split(Exception) take the whole group: aio's group is an
  // aio::Error and a std::exception as Python's is an Exception.
  Tree tree;
  EXPECT_EQ(show(tree.eg.split<aio::ExceptionGroup>()), kWholeTree + " | none");
  EXPECT_EQ(show(tree.eg.split<std::exception>()), kWholeTree + " | none");
  EXPECT_EQ(show(tree.eg.split<aio::Error>()), kWholeTree + " | none");
  EXPECT_TRUE(tree.eg.contains<std::exception>());
}

TEST(ExceptionGroupSplit, AllLeavesMatchingGivesTheWholeTreeAndNoRest) {
  // eg.split((ValueError, TypeError, KeyError)): in C++, a predicate over their common base
  // that leaves the groups out.
  Tree tree;
  auto leaf = [](const std::runtime_error& e) { return dynamic_cast<const aio::ExceptionGroup*>(&e) == nullptr; };
  EXPECT_EQ(show(tree.eg.split<std::runtime_error>(leaf)), kWholeTree + " | none");
}

TEST(ExceptionGroupSplit, APredicateSeesTheExceptionsOfItsType) {
  Tree tree;
  // eg.split(lambda e: isinstance(e, ValueError) and e.args[0] == "v2")
  auto is_v2 = [](const py::ValueError& e) { return std::string(e.what()) == "v2"; };
  EXPECT_EQ(show(tree.eg.split<py::ValueError>(is_v2)),
            "Group(outer: Group(inner: ValueError(v2))) | "
            "Group(outer: ValueError(v1), Group(inner: KeyError(k)), TypeError(t1), Group(inner2: KeyError(k2)))");
  EXPECT_TRUE(tree.eg.contains<py::ValueError>(is_v2));
  auto is_v3 = [](const py::ValueError& e) { return std::string(e.what()) == "v3"; };
  EXPECT_FALSE(tree.eg.contains<py::ValueError>(is_v3));
  EXPECT_EQ(show(tree.eg.subgroup<py::ValueError>(is_v3)), "none");
}

TEST(ExceptionGroupSplit, ANestedGroupThatMatchesGoesInWhole) {
  // eg.subgroup(lambda e: isinstance(e, ExceptionGroup) and e.message == "inner"): the
  // nested group is the same object (Python: `m.exceptions[0] is inner`).
  Tree tree;
  auto named_inner = [](const aio::ExceptionGroup& g) { return g.message() == "inner"; };
  std::optional<aio::ExceptionGroup> m = tree.eg.subgroup<aio::ExceptionGroup>(named_inner);
  EXPECT_EQ(show(m), "Group(outer: Group(inner: ValueError(v2), KeyError(k)))");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->exceptions()[0], tree.inner);
}

TEST(ExceptionGroupSplit, LeavesAreSharedAndSplitGroupsAreNew) {
  // Python: split(ValueError)[0].exceptions[0] is v1, .exceptions[1] is not inner; the
  // message stays, the count is the new one: str(m) == "outer (2 sub-exceptions)".
  Tree tree;
  auto [match, rest] = tree.eg.split<py::ValueError>();
  ASSERT_TRUE(match.has_value() && rest.has_value());
  EXPECT_EQ(match->exceptions()[0], tree.v1);
  EXPECT_NE(match->exceptions()[1], tree.inner);
  EXPECT_EQ(match->message(), "outer");
  EXPECT_STREQ(match->what(),
               "outer (2 sub-exceptions)\n"
               "  1. py::ValueError: v1\n"
               "  2. aio::ExceptionGroup: inner (1 sub-exception)\n"
               "       1. py::ValueError: v2");
  EXPECT_EQ(rest->exceptions()[1], tree.t1);
}

TEST(ExceptionGroupSplit, SubgroupIsTheMatchingHalf) {
  Tree tree;
  EXPECT_EQ(show(tree.eg.subgroup<py::KeyError>()),
            "Group(outer: Group(inner: KeyError(k)), Group(inner2: KeyError(k2)))");
  EXPECT_EQ(show(tree.eg.subgroup<aio::ExceptionGroup>()), kWholeTree);
  EXPECT_TRUE(tree.eg.contains<py::KeyError>());  // only in nested groups
  EXPECT_TRUE(tree.eg.contains<py::TypeError>());
  EXPECT_TRUE(tree.eg.contains<std::runtime_error>());
}

TEST(ExceptionGroupSplit, WorksOnTypesThatAreNotStdExceptions) {
  aio::ExceptionGroup eg("mixed", {error(aio::CancelledError("c")), error(42), group("inner", {error(7)})});
  EXPECT_EQ(show(eg.split<int>()), "Group(mixed: int, Group(inner: int)) | Group(mixed: aio::CancelledError: c)");
  EXPECT_EQ(show(eg.subgroup<int>([](int v) { return v == 7; })), "Group(mixed: Group(inner: int))");
  EXPECT_TRUE(eg.contains<aio::CancelledError>());
  EXPECT_FALSE(eg.contains<aio::KeyboardInterrupt>());
}

namespace {
// A program's own group type.
struct RetryableErrors : aio::ExceptionGroup {
  using aio::ExceptionGroup::ExceptionGroup;
};
}  // namespace

TEST(ExceptionGroupSplit, MatchesAProgramsOwnGroupType) {
  Tree tree;
  RetryableErrors retryable("retryable", {tree.k2});
  EXPECT_EQ(show(retryable.split<RetryableErrors>()), "Group(retryable: KeyError(k2)) | none");
  aio::ExceptionGroup outer("outer", {tree.v1, error(retryable)});
  EXPECT_EQ(show(outer.split<RetryableErrors>()),
            "Group(outer: Group(retryable: KeyError(k2))) | Group(outer: ValueError(v1))");
}

namespace {
// A child that answers its cancellation with an error of its own.
aio::Coro<void> times_out_when_cancelled() {
  try {
    co_await aio::sleep(3600);
  } catch (const aio::CancelledError&) {
    throw aio::TimeoutError("the child gave up");
  }
}

aio::Coro<std::string> handle_timeouts_only() {
  auto body = [](aio::TaskGroup& tg) -> aio::Coro<void> {
    tg.create_task(times_out_when_cancelled());
    co_await aio::sleep(0);  // the child is waiting
    throw Boom("the body failed");
  };
  std::string log;
  try {
    co_await aio::task_group(body);
  } catch (const aio::ExceptionGroup& eg) {
    // Python:  except* TimeoutError: log(...)  — the rest goes on.
    auto [timeouts, rest] = eg.split<aio::TimeoutError>();
    if (timeouts) log += "handled: " + show(*timeouts) + "\n";
    if (rest) throw *rest;
  }
  co_return log;
}
}  // namespace

AIO_TEST(ExceptionGroupSplit, ExceptStarHandlesPartAndRethrowsTheRest) {
  std::string log;
  std::exception_ptr rest;
  try {
    log = co_await handle_timeouts_only();
  } catch (...) {
    rest = std::current_exception();
  }
  std::optional<aio::ExceptionGroup> eg = exception_as<aio::ExceptionGroup>(rest);
  AIO_ASSERT_TRUE(eg.has_value());
  EXPECT_STREQ(eg->what(), "unhandled errors in a TaskGroup (1 sub-exception)\n  1. aio_test::Boom: the body failed");
  EXPECT_FALSE(eg->contains<aio::TimeoutError>());
}

// ============================================================================================
// An exception that leaves main (tests/uncaught_main.cpp, one scenario per run)
// ============================================================================================

namespace {

struct Ending {
  int returncode = 0;  // -N: killed by signal N
  std::string out;
  std::string err;
};

aio::Coro<Ending> run_uncaught_main(std::string scenario) {
  std::vector<std::string> argv{AIO_UNCAUGHT_MAIN, std::move(scenario)};
  aio::ProcessOptions options{.out = aio::PIPE, .err = aio::PIPE};
  aio::Process p = co_await aio::create_subprocess_exec(argv, options);
  auto [out, err] = co_await aio::wait_for(p.communicate(), 60);  // a safety net only
  co_return Ending{p.returncode().value_or(-1000), std::move(out), std::move(err)};
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

AIO_TEST(Uncaught, KeyboardInterruptKillsTheProcessBySigintAfterTheShutdown) {
  Ending end = co_await run_uncaught_main("keyboard-interrupt");
  EXPECT_EQ(end.returncode, -SIGINT);
  EXPECT_EQ(end.err, "KeyboardInterrupt\n");
  // The other task was cancelled and cleaned up first, and stdio was flushed (Python's
  // finalization), although no one caught the exception.
  EXPECT_EQ(end.out, "main started\nbackground task cancelled\n");
}

AIO_TEST(Uncaught, TheShellSeesStatus130) {
  std::string command = std::string("'") + AIO_UNCAUGHT_MAIN + "' keyboard-interrupt; echo \"status $?\"";
  aio::ProcessOptions options{.out = aio::PIPE, .err = aio::PIPE};
  aio::Process p = co_await aio::create_subprocess_shell(command, options);
  auto [out, err] = co_await aio::wait_for(p.communicate(), 60);
  EXPECT_TRUE(out.ends_with("status 130\n")) << out;
  EXPECT_EQ(err, "KeyboardInterrupt\n");
}

AIO_TEST(Uncaught, CtrlCOnARunningProgramEndsItLikePython) {
  // End to end: a real SIGINT from outside, once the program says it is waiting.
  std::vector<std::string> argv{AIO_UNCAUGHT_MAIN, "wait-for-ctrl-c"};
  aio::ProcessOptions options{.out = aio::PIPE, .err = aio::PIPE};
  aio::Process p = co_await aio::create_subprocess_exec(argv, options);
  std::string ready = co_await aio::wait_for(p.out().readline(), 60);
  AIO_ASSERT_EQ(ready, "ready\n");
  p.send_signal(SIGINT);
  auto [out, err] = co_await aio::wait_for(p.communicate(), 60);
  EXPECT_EQ(p.returncode(), std::optional<int>(-SIGINT));
  EXPECT_EQ(err, "KeyboardInterrupt\n");
  EXPECT_EQ(out, "");
}

AIO_TEST(Uncaught, ACaughtKeyboardInterruptEndsTheWayTheProgramSays) {
  Ending end = co_await run_uncaught_main("keyboard-interrupt-caught");
  EXPECT_EQ(end.returncode, 1);
  EXPECT_EQ(end.err, "");
  EXPECT_EQ(end.out, "main started\nbackground task cancelled\ninterrupted, bye\n");
}

AIO_TEST(Uncaught, KeyboardInterruptKillsEvenWithSigintIgnoredAndBlocked) {
  // Python resets SIGINT to its default before killing itself with it.
  Ending end = co_await run_uncaught_main("keyboard-interrupt-with-sigint-ignored-and-blocked");
  EXPECT_EQ(end.returncode, -SIGINT);
  EXPECT_EQ(end.err, "KeyboardInterrupt\n");
}

AIO_TEST(Uncaught, AnErrorIsNamedThenAborts) {
  Ending end = co_await run_uncaught_main("timeout-error");
  EXPECT_EQ(end.returncode, -SIGABRT);
  EXPECT_EQ(end.err, "aio: uncaught exception aio::TimeoutError: no reply from the database within 5 s\n");
  EXPECT_EQ(end.out, "background task cancelled\n");  // the shutdown ran before the abort
}

AIO_TEST(Uncaught, ASystemErrorShowsItsErrno) {
  Ending end = co_await run_uncaught_main("system-error");
  EXPECT_EQ(end.returncode, -SIGABRT);
  EXPECT_EQ(end.err, "aio: uncaught exception std::system_error: connect to 10.0.0.1:443: Connection refused\n");
}

AIO_TEST(Uncaught, ACancelledErrorIsNamed) {
  Ending end = co_await run_uncaught_main("cancelled");
  EXPECT_EQ(end.returncode, -SIGABRT);
  EXPECT_EQ(end.err, "aio: uncaught exception aio::CancelledError: shutting down\n");
}

AIO_TEST(Uncaught, AnExceptionGroupListsItsErrors) {
  Ending end = co_await run_uncaught_main("task-group");
  EXPECT_EQ(end.returncode, -SIGABRT);
  EXPECT_EQ(end.err,
            "aio: uncaught exception aio::ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n"
            "  1. std::runtime_error: child failed\n");
}

AIO_TEST(Uncaught, AnUnknownTypeIsNamed) {
  Ending end = co_await run_uncaught_main("unknown-type");
  EXPECT_EQ(end.returncode, -SIGABRT);
  EXPECT_EQ(end.err, "aio: uncaught exception int\n");
}

AIO_TEST(Uncaught, AProgramsOwnTerminateHandlerWins) {
  // Set before the first aio::run (aio leaves it in place) or after (it replaces aio's).
  const std::vector<std::string> scenarios{"own-handler-set-before-run", "own-handler-set-after-run"};
  for (const std::string& scenario : scenarios) {
    Ending end = co_await run_uncaught_main(scenario);
    EXPECT_EQ(end.returncode, 3) << scenario;
    EXPECT_EQ(end.out, "the program's own terminate handler\n") << scenario;
    EXPECT_EQ(end.err, "") << scenario;
  }
}

AIO_TEST(Uncaught, TerminateWithoutAnExceptionKeepsTheRuntimesMessage) {
  Ending end = co_await run_uncaught_main("terminate-without-exception");
  EXPECT_EQ(end.returncode, -SIGABRT);
  EXPECT_TRUE(has(end.err, "terminate called without an active exception")) << end.err;
}

AIO_TEST(Uncaught, AProgramThatNeverRanALoopKeepsTheRuntimesHandler) {
  // aio installs its handler in aio::run, not at start-up.
  Ending end = co_await run_uncaught_main("no-run");
  EXPECT_EQ(end.returncode, -SIGABRT);
  EXPECT_TRUE(has(end.err, "terminate called after throwing an instance of 'aio::TimeoutError'")) << end.err;
}
