// Starting a child: posix_spawn (vfork + exec in glibc: fast, and safe in a threaded
// program), pipes for the PIPE streams, a pidfd to watch its exit.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "aio/subprocess.hpp"
#include "io/owned_fd.hpp"
#include "net/stream_core.hpp"
#include "process/process_state.hpp"

extern char** environ;

namespace aio {

namespace detail {
namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

/// A close-on-exec duplicate of fd numbered 3 or more, so that the file actions' dup2
/// calls onto 0, 1 and 2 can never clobber one another (a parent with its own stdin
/// closed gets fd 0 from pipe2).
OwnedFd dup_high(int fd, const char* what) {
  int r = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (r < 0) throw_errno(errno, std::string("create_subprocess: ") + what);
  return OwnedFd(r);
}

void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
  });
}

/// The spawn attributes every child gets: an empty signal mask, SIGPIPE at its default.
class SpawnAttributes {
 public:
  explicit SpawnAttributes(bool new_session) {
    if (int e = ::posix_spawnattr_init(&attr_)) throw_errno(e, "posix_spawnattr_init");
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);  // ignored by aio in the parent, default in the child
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (new_session) flags |= POSIX_SPAWN_SETSID;
    ::posix_spawnattr_setsigmask(&attr_, &none);
    ::posix_spawnattr_setsigdefault(&attr_, &defaults);
    ::posix_spawnattr_setflags(&attr_, flags);
  }
  ~SpawnAttributes() { ::posix_spawnattr_destroy(&attr_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  const posix_spawnattr_t* get() const noexcept { return &attr_; }

 private:
  posix_spawnattr_t attr_;
};

class FileActions {
 public:
  FileActions() {
    if (int e = ::posix_spawn_file_actions_init(&actions_)) throw_errno(e, "posix_spawn_file_actions_init");
  }
  ~FileActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  void dup2(int from, int to) {
    if (int e = ::posix_spawn_file_actions_adddup2(&actions_, from, to))
      throw_errno(e, "posix_spawn_file_actions_adddup2");
  }
  void close_from(int lowest) {
    if (int e = ::posix_spawn_file_actions_addclosefrom_np(&actions_, lowest))
      throw_errno(e, "posix_spawn_file_actions_addclosefrom_np");
  }
  void chdir(const char* dir) {
    if (int e = ::posix_spawn_file_actions_addchdir_np(&actions_, dir))
      throw_errno(e, "posix_spawn_file_actions_addchdir_np");
  }
  const posix_spawn_file_actions_t* get() const noexcept { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

struct Pipe {
  OwnedFd parent_end;
  OwnedFd child_end;
};

/// A pipe whose parent end is non-blocking (for the loop) and whose child end becomes
/// the child's fd `target` (0: the child reads; 1, 2: the child writes).
Pipe make_pipe(int target) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno(errno, "create_subprocess: pipe2");
  OwnedFd read_end(fds[0]);
  OwnedFd write_end(fds[1]);
  Pipe p;
  if (target == 0) {
    p.parent_end = std::move(write_end);
    p.child_end = dup_high(read_end.get(), "dup of a pipe");
  } else {
    p.parent_end = std::move(read_end);
    p.child_end = dup_high(write_end.get(), "dup of a pipe");
  }
  int flags = ::fcntl(p.parent_end.get(), F_GETFL);
  ::fcntl(p.parent_end.get(), F_SETFL, flags | O_NONBLOCK);
  return p;
}

std::string describe_program(const std::vector<std::string>& argv) {
  std::string what = "create_subprocess: cannot run '";
  what += argv[0];
  what += "'";
  return what;
}

void check_argv(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].empty()) throw std::invalid_argument("create_subprocess_exec: the program name is empty");
  for (const std::string& a : argv)
    if (a.find('\0') != std::string::npos)
      throw std::invalid_argument("create_subprocess_exec: an argument contains a NUL byte");
}

void check_stdio(const ProcessOptions& o) {
  if (o.in == STDOUT || o.out == STDOUT)
    throw std::invalid_argument("create_subprocess: aio::STDOUT is only valid for .err (2>&1)");
  for (const Stdio* s : {&o.in, &o.out, &o.err})
    if (s->kind == Stdio::Kind::fd && s->fd < 0)
      throw std::invalid_argument("create_subprocess: aio::from_fd() needs an open fd (got " + std::to_string(s->fd) +
                                  ")");
}

/// A pidfd for the child, or -1 where the kernel has none (before 5.3): the SIGCHLD
/// watcher takes the child then.
int open_pidfd(pid_t pid) {
  long r = ::syscall(SYS_pidfd_open, pid, 0);
  return r < 0 ? -1 : static_cast<int>(r);
}

}  // namespace

struct OwnedSpawnRequest {
  std::vector<std::string> argv;
  ProcessOptions options;
  std::string cwd;
  std::optional<std::vector<std::string>> env;
  bool search_path = true;
};

Coro<Process> spawn_request(OwnedSpawnRequest request) {
  EventLoop& loop = get_running_loop();
  const ProcessOptions& o = request.options;
  check_argv(request.argv);
  check_stdio(o);
  if (request.cwd.find('\0') != std::string::npos)
    throw std::invalid_argument("create_subprocess: the cwd contains a NUL byte");
  if (request.env)
    for (const std::string& e : *request.env)
      if (e.find('\0') != std::string::npos)
        throw std::invalid_argument("create_subprocess: an environment entry contains a NUL byte");

  FileActions actions;
  std::array<Pipe, 3> pipes;
  OwnedFd devnull;
  std::array<OwnedFd, 3> user_fds;  // from_fd(): duplicates numbered >= 3
  const std::array<Stdio, 3> spec{o.in, o.out, o.err};
  for (int target = 0; target < 3; ++target) {
    const Stdio& s = spec[static_cast<std::size_t>(target)];
    switch (s.kind) {
      case Stdio::Kind::inherit:
        break;
      case Stdio::Kind::pipe: {
        if (target == 0) ignore_sigpipe_once();
        pipes[static_cast<std::size_t>(target)] = make_pipe(target);
        actions.dup2(pipes[static_cast<std::size_t>(target)].child_end.get(), target);
        break;
      }
      case Stdio::Kind::devnull:
        if (devnull.get() < 0) {
          int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
          if (fd < 0) throw_errno(errno, "create_subprocess: open /dev/null");
          devnull = OwnedFd(fd);
          devnull = dup_high(devnull.get(), "dup of /dev/null");
        }
        actions.dup2(devnull.get(), target);
        break;
      case Stdio::Kind::stdout_:
        actions.dup2(1, 2);  // after fd 1 is set up: the actions run in order
        break;
      case Stdio::Kind::fd:
        user_fds[static_cast<std::size_t>(target)] = dup_high(s.fd, "dup of the fd given with aio::from_fd");
        actions.dup2(user_fds[static_cast<std::size_t>(target)].get(), target);
        break;
    }
  }
  if (o.close_fds) actions.close_from(3);  // after the dup2s, which read fds >= 3
  if (!request.cwd.empty()) actions.chdir(request.cwd.c_str());
  SpawnAttributes attributes(o.start_new_session);

  std::vector<char*> argv;
  argv.reserve(request.argv.size() + 1);
  for (std::string& a : request.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  char** env = environ;
  if (request.env) {
    envp.reserve(request.env->size() + 1);
    for (std::string& e : *request.env) envp.push_back(e.data());
    envp.push_back(nullptr);
    env = envp.data();
  }

  pid_t pid = -1;
  int e = request.search_path ? ::posix_spawnp(&pid, argv[0], actions.get(), attributes.get(), argv.data(), env)
                              : ::posix_spawn(&pid, argv[0], actions.get(), attributes.get(), argv.data(), env);
  if (e != 0) {
    std::string what = describe_program(request.argv);
    struct stat st {};
    if (!request.cwd.empty() && ::stat(request.cwd.c_str(), &st) != 0) {
      what += " in cwd '";
      what += request.cwd;
      what += "' (the directory does not exist)";
    }
    throw_errno(e, what);
  }
  int pidfd = open_pidfd(pid);  // the child cannot be reaped before we wait: no pid reuse race

  // The child has its copies: close ours (all close-on-exec, so no other child got them).
  for (Pipe& p : pipes) p.child_end.reset();
  devnull.reset();
  for (OwnedFd& fd : user_fds) fd.reset();

  auto* state = new ProcessState(loop, pid, pidfd);
  Process process(state);
  state->watch();  // first: whatever fails below, the child is killed and reaped
  auto stream = [&](Pipe& p) {
    return new StreamCore(loop, IoHandle(loop, p.parent_end.release()), o.limit, StreamTransport::pipe);
  };
  if (pipes[0].parent_end.get() >= 0) {
    state->in = StreamWriter(stream(pipes[0]));
    state->has_in = true;
  }
  if (pipes[1].parent_end.get() >= 0) {
    state->out = StreamReader(stream(pipes[1]));
    state->has_out = true;
  }
  if (pipes[2].parent_end.get() >= 0) {
    state->err = StreamReader(stream(pipes[2]));
    state->has_err = true;
  }
  co_return process;
}

Coro<Process> spawn_owned(std::vector<std::string> argv, const ProcessOptions& options, bool search_path) {
  // Copy what the options' views point at: the caller's temporaries are gone by the time
  // the lazy coroutine runs.
  OwnedSpawnRequest request;
  request.argv = std::move(argv);
  request.options = options;
  request.cwd = std::string(options.cwd);
  request.options.cwd = {};
  if (options.env) request.env = std::vector<std::string>(options.env->begin(), options.env->end());
  request.options.env = std::nullopt;
  request.search_path = search_path;
  return spawn_request(std::move(request));
}

}  // namespace detail

std::vector<std::string> environment_with(std::span<const std::string> overrides) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  for (const std::string& o : overrides) {
    std::size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("environment_with: '" + o + "' is not of the form NAME=value");
    std::string_view name(o.data(), eq + 1);  // "NAME="
    std::erase_if(env, [&](const std::string& v) { return std::string_view(v).starts_with(name); });
    env.push_back(o);
  }
  return env;
}

}  // namespace aio
