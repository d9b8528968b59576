// aio subprocesses — asyncio.create_subprocess_exec / create_subprocess_shell and Process.
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "aio/coro.hpp"
#include "aio/streams.hpp"

namespace aio {

namespace detail {
class ProcessState;
}

/// Where one of the child's standard streams goes (asyncio.subprocess.PIPE and friends).
struct Stdio {
  enum class Kind : unsigned char { inherit, pipe, devnull, stdout_, fd };
  Kind kind = Kind::inherit;
  int fd = -1;  // Kind::fd only

  friend constexpr bool operator==(Stdio, Stdio) = default;
};

/// The parent's own stream (the default).
inline constexpr Stdio INHERIT{Stdio::Kind::inherit};
/// A pipe to the parent: Process::in() / out() / err().
inline constexpr Stdio PIPE{Stdio::Kind::pipe};
/// /dev/null.
inline constexpr Stdio DEVNULL{Stdio::Kind::devnull};
/// For `.err` only: stderr goes wherever stdout goes (2>&1).
inline constexpr Stdio STDOUT{Stdio::Kind::stdout_};
/// An fd of the parent's (a file, a socket, a pipe end), duplicated into the child. The
/// parent keeps its fd and closes it when it likes.
constexpr Stdio from_fd(int fd) noexcept { return Stdio{Stdio::Kind::fd, fd}; }

/// How to start a child process. Every member is a plain value or a view: create_subprocess_*
/// copies what the views point at before it returns, so temporaries are fine.
///
///     auto p = co_await aio::create_subprocess_exec(argv, {.out = aio::PIPE, .cwd = "/tmp"});
struct ProcessOptions {
  Stdio in = INHERIT;
  Stdio out = INHERIT;
  Stdio err = INHERIT;
  /// The child's working directory (empty: the parent's).
  std::string_view cwd{};
  /// The child's whole environment as "NAME=value" entries, replacing the parent's
  /// (asyncio's env=). Unset: the parent's environment. See aio::environment_with().
  std::optional<std::span<const std::string>> env{};
  /// The limit of the out()/err() readers' readline()/readuntil() (asyncio's limit=).
  std::size_t limit = kDefaultStreamLimit;
  /// Runs the child in a new session (setsid), so that signals sent to the parent's
  /// process group (Ctrl-C in a terminal) do not reach it.
  bool start_new_session = false;
  /// Closes every fd above 2 in the child (asyncio's and subprocess's close_fds=True), so
  /// that descriptors the program opened without O_CLOEXEC do not leak into it. false:
  /// the child inherits those (aio's own fds are close-on-exec either way) — the way to
  /// hand it an extra fd.
  bool close_fds = true;
};
// GCC 12 destroys aggregate temporaries with destructors twice inside co_await
// expressions; keeping the options trivially destructible keeps {.out = aio::PIPE} safe.
static_assert(std::is_trivially_destructible_v<ProcessOptions>);

/// The parent's environment with `overrides` ("NAME=value" each) replacing or adding
/// entries: the usual way to build ProcessOptions::env.
std::vector<std::string> environment_with(std::span<const std::string> overrides = {});

/// A running (or finished) child process (asyncio.subprocess.Process).
///
/// The child's exit is watched through a pidfd (or, on kernels without one, SIGCHLD), so
/// wait() costs no thread and no polling. The child is always reaped, so no zombie is left
/// behind. As in asyncio (whose transport kills a child still running when it is closed),
/// dropping the Process while the child still runs kills it (SIGKILL) and the loop reaps
/// it; so does closing the loop. To let a child outlive its Process, wait() for it, or
/// start a daemon that detaches itself. Dropping the Process closes the parent's ends of
/// the pipes.
///
/// SIGPIPE: the first time a child is started with in = PIPE, aio sets SIGPIPE to be
/// ignored if it still has its default disposition (Python does so at startup), so that
/// writing to a child that exited raises std::system_error(EPIPE) from drain() instead of
/// killing the program. Children start with SIGPIPE at its default and an empty signal
/// mask.
class Process {
 public:
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  int pid() const noexcept;
  /// The exit status once the child has exited and been reaped: its exit code, or
  /// -N when signal N killed it. std::nullopt while it runs.
  std::optional<int> returncode() const noexcept;
  /// Waits for the child to exit and returns returncode(). Beware: a child writing to a
  /// PIPE that nobody reads blocks when the pipe is full (64 KiB), and then never exits —
  /// use communicate(), or read out()/err() concurrently. Cancel-safe: cancelling wait()
  /// leaves the child alone.
  Coro<int> wait();
  /// Sends `input` to stdin (then closes it), reads stdout and stderr to their ends and
  /// waits for the child, all at once so that no pipe can fill up and deadlock; returns
  /// {stdout, stderr} ("" for a stream that is not a PIPE). A child that exits without
  /// reading all of its input is not an error (EPIPE is ignored, as in asyncio).
  /// UsageError when `input` is given but stdin is not a PIPE. Cancelling it leaves the
  /// child running.
  Coro<std::pair<std::string, std::string>> communicate(std::string input = {});

  /// Sends `sig` to the child. Does nothing once the child has been reaped (its pid may
  /// belong to another process by then). std::system_error if kill(2) fails otherwise.
  void send_signal(int sig);
  void terminate();  // SIGTERM
  void kill();       // SIGKILL

  /// The pipes (asyncio's proc.stdin / stdout / stderr). UsageError when that stream was
  /// not started as a PIPE.
  StreamWriter& in();
  StreamReader& out();
  StreamReader& err();

  explicit Process(detail::ProcessState* state) noexcept;

 private:
  detail::ProcessState* state_ = nullptr;
};

namespace detail {
/// Copies what the options' views point at into storage the spawn coroutine owns.
Coro<Process> spawn_owned(std::vector<std::string> argv, const ProcessOptions& options, bool search_path);

template <class T>
concept StringLike = std::convertible_to<const T&, std::string_view>;
}  // namespace detail

/// Starts argv[0] (looked up in PATH when it has no '/') with argv as its arguments
/// (asyncio.create_subprocess_exec). The spawn error comes from here: std::system_error
/// with ENOENT when the program (or cwd) does not exist, EACCES when it is not executable.
///
///     std::vector<std::string> argv{"ls", "-l"};
///     aio::Process p = co_await aio::create_subprocess_exec(argv, {.out = aio::PIPE});
///     auto [out, err] = co_await p.communicate();
///
/// (GCC 12 rejects a braced list of string literals inside a co_await expression, "array
/// used as initializer": name the vector, or use the variadic form below.)
/// std::invalid_argument for an empty argv, or a NUL byte in an argument, the cwd or an
/// environment entry.
inline Coro<Process> create_subprocess_exec(std::vector<std::string> argv, ProcessOptions options = {}) {
  return detail::spawn_owned(std::move(argv), options, true);
}

/// asyncio's variadic shape: create_subprocess_exec("ls", "-l") and, with options as the
/// last argument, create_subprocess_exec("ls", "-l", aio::ProcessOptions{.out = aio::PIPE}).
template <class... Args>
requires(sizeof...(Args) > 0 &&
         ((detail::StringLike<Args> || std::same_as<std::remove_cvref_t<Args>, ProcessOptions>)&&...))
    Coro<Process> create_subprocess_exec(std::string_view program, const Args&... args) {
  std::vector<std::string> argv;
  argv.reserve(sizeof...(Args) + 1);
  argv.emplace_back(program);
  ProcessOptions options{};
  auto take = [&](const auto& a) {
    if constexpr (std::same_as<std::remove_cvref_t<decltype(a)>, ProcessOptions>) {
      options = a;
    } else {
      argv.emplace_back(std::string_view(a));
    }
  };
  (take(args), ...);
  return detail::spawn_owned(std::move(argv), options, true);
}

/// create_subprocess_exec with just the program: create_subprocess_exec("true").
inline Coro<Process> create_subprocess_exec(std::string_view program) {
  return detail::spawn_owned({std::string(program)}, {}, true);
}

/// Runs `cmd` with /bin/sh -c (asyncio.create_subprocess_shell). The shell's own errors
/// (command not found: 127) come back as the return code. Quote untrusted input yourself.
inline Coro<Process> create_subprocess_shell(std::string cmd, ProcessOptions options = {}) {
  std::vector<std::string> argv;
  argv.emplace_back("/bin/sh");
  argv.emplace_back("-c");
  argv.push_back(std::move(cmd));
  return detail::spawn_owned(std::move(argv), options, false);
}

}  // namespace aio
