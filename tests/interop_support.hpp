// Helpers for the interoperability tests (test_server.cpp, test_tls.cpp): child processes
// that aio did not write — `openssl s_server`, `openssl s_client`, /usr/bin/python3 running
// asyncio — started with posix_spawn and driven through pipes, and TLS certificates made at
// test time with the `openssl` command.
//
// aio has no subprocess API yet, so a Child's pipes are read and the child is reaped with
// blocking calls run on the loop's thread pool (aio::to_thread): the loop is never blocked.
// Every blocking call is bounded by a timeout. A Child owns its pipe fds and its process:
// the destructor kills (SIGKILL) and reaps a child that is still running, so a test that
// fails half-way leaves no process and no fd behind (AIO_TEST checks fds).
//
// Do not cancel a task while it awaits a Child operation: the worker thread keeps using the
// pipe fd until its own timeout (the tests here never do).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <aio/aio.hpp>
#include <aio/to_thread.hpp>

#include "io/owned_fd.hpp"

extern char** environ;

namespace aio_test::interop {

[[noreturn]] inline void throw_errno(const std::string& what, int err = errno) {
  throw std::system_error(err, std::generic_category(), what);
}

using aio::detail::OwnedFd;

// What one blocking read of a child's pipe gave.
struct PipeRead {
  std::string data;
  bool eof = false;
  bool timed_out = false;
};

// Waits (poll, at most `timeout` seconds) for fd to be readable and reads what is there.
// Runs on a worker thread.
inline PipeRead read_pipe_once(int fd, double timeout) {
  PipeRead out;
  pollfd p{fd, POLLIN, 0};
  int r;
  do r = ::poll(&p, 1, static_cast<int>(timeout * 1000));
  while (r < 0 && errno == EINTR);
  if (r == 0) {
    out.timed_out = true;
    return out;
  }
  if (r < 0) throw_errno("poll(child stdout)");
  char buf[16384];
  ssize_t n;
  do n = ::read(fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("read(child stdout)");
  if (n == 0) out.eof = true;
  out.data.assign(buf, static_cast<std::size_t>(n));
  return out;
}

// Writes all of data to fd (a pipe). Runs on a worker thread.
inline void write_pipe_all(int fd, std::string data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write(child stdin)");
    }
    done += static_cast<std::size_t>(n);
  }
}

// Reaps pid, polling (2 ms naps) for at most `timeout` seconds: the raw wait status, or
// nullopt if it is still running. Runs on a worker thread.
inline std::optional<int> reap_within(pid_t pid, double timeout) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) throw_errno("waitpid");
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// The exit code of a wait status, or -signal for a child killed by a signal.
inline int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1000;
}

// A child process with its stdin and stdout on pipes; its stderr goes to an anonymous
// temporary file, shown by stderr_text() (for failure messages).
class Child {
 public:
  // Starts argv[0] (an absolute path) with argv. Throws std::system_error.
  static Child spawn(const std::vector<std::string>& argv) {
    Child c;
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) < 0) throw_errno("pipe2");
    OwnedFd in_r(in[0]);
    c.stdin_ = OwnedFd(in[1]);
    if (::pipe2(out, O_CLOEXEC) < 0) throw_errno("pipe2");
    c.stdout_ = OwnedFd(out[0]);
    OwnedFd out_w(out[1]);
    char tmpl[] = "/tmp/aio-child-stderr-XXXXXX";
    c.stderr_ = OwnedFd(::mkostemp(tmpl, O_CLOEXEC));
    if (!c.stderr_) throw_errno("mkostemp");
    ::unlink(tmpl);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, c.stderr_.get(), 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults, empty;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);  // the test process may ignore it; the child must not
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigemptyset(&empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int err = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0) throw_errno("posix_spawn " + argv[0], err);
    c.pid_ = pid;
    c.argv0_ = argv[0];
    return c;
  }

  Child() = default;
  Child(Child&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)),
        stdin_(std::move(o.stdin_)),
        stdout_(std::move(o.stdout_)),
        stderr_(std::move(o.stderr_)),
        buffer_(std::move(o.buffer_)),
        eof_(o.eof_),
        status_(o.status_),
        argv0_(std::move(o.argv0_)) {}
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Kills and reaps a child still running (it cannot outlive the test).
  ~Child() { kill_now(); }

  pid_t pid() const noexcept { return pid_; }
  bool running() const noexcept { return pid_ > 0 && !status_; }

  // The next line of the child's stdout (with its "\n"); what is left (maybe "") at EOF;
  // nullopt if no full line came within `timeout` seconds.
  aio::Coro<std::optional<std::string>> read_line(double timeout = 10) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    for (;;) {
      std::size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl + 1);
        buffer_.erase(0, nl + 1);
        co_return line;
      }
      if (eof_) {
        std::string rest = std::move(buffer_);
        buffer_.clear();
        co_return rest;
      }
      double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) co_return std::nullopt;
      co_await fill(left);
    }
  }

  // Reads stdout until a line containing `marker` (lines before it are dropped, but
  // returned joined, for messages). nullopt on EOF or timeout.
  aio::Coro<std::optional<std::string>> read_until_line_containing(std::string marker, double timeout = 10) {
    std::string seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    for (;;) {
      double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) co_return std::nullopt;
      std::optional<std::string> line = co_await read_line(left);
      if (!line) co_return std::nullopt;
      seen += *line;
      if (line->find(marker) != std::string::npos) co_return seen;
      if (line->empty() && eof_) co_return std::nullopt;
    }
  }

  // Everything on stdout until EOF (bounded by `timeout`; what came so far otherwise).
  aio::Coro<std::string> read_all(double timeout = 10) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    while (!eof_) {
      double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) break;
      co_await fill(left);
    }
    std::string all = std::move(buffer_);
    buffer_.clear();
    co_return all;
  }

  // Writes to the child's stdin (on a worker thread: a full pipe cannot block the loop).
  aio::Coro<void> write(std::string data) {
    if (!stdin_) throw std::logic_error("Child::write: stdin is closed");
    co_await aio::to_thread(write_pipe_all, stdin_.get(), std::move(data));
  }
  void close_stdin() noexcept { stdin_.reset(); }

  // Waits (at most `timeout` s) for the child to exit: its exit code, or -signal. A child
  // still running after the timeout is killed, and nullopt returned.
  aio::Coro<std::optional<int>> wait(double timeout = 10) {
    if (!status_ && pid_ > 0) {
      std::optional<int> st = co_await aio::to_thread(reap_within, pid_, timeout);
      if (!st) {
        kill_now();
        co_return std::nullopt;
      }
      status_ = st;
    }
    if (!status_) co_return std::nullopt;
    co_return exit_code_of(*status_);
  }

  // Kills (SIGKILL) and reaps the child now if it is still running.
  void kill_now() noexcept {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
      status_ = st;
    }
  }

  // What the child wrote to stderr so far.
  std::string stderr_text() const {
    if (!stderr_) return {};
    std::string out;
    char buf[4096];
    off_t off = 0;
    for (;;) {
      ssize_t n = ::pread(stderr_.get(), buf, sizeof buf, off);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
      off += n;
    }
    return out;
  }

  // A description for failure messages: the program and its stderr.
  std::string describe() const { return argv0_ + " stderr:\n" + stderr_text(); }

 private:
  aio::Coro<void> fill(double timeout) {
    PipeRead r = co_await aio::to_thread(read_pipe_once, stdout_.get(), timeout);
    buffer_ += r.data;
    if (r.eof) eof_ = true;
  }

  pid_t pid_ = -1;
  OwnedFd stdin_, stdout_, stderr_;
  std::string buffer_;
  bool eof_ = false;
  std::optional<int> status_;
  std::string argv0_;
};

// Runs a shell command line (for one-off setup like making certificates: outside any
// loop). Throws std::runtime_error with the command if it fails.
inline void run_command(const std::string& cmd) {
  int r = std::system((cmd + " >/dev/null 2>&1").c_str());
  if (r != 0) throw std::runtime_error("command failed (" + std::to_string(r) + "): " + cmd);
}

// Whether a program can be run (an executable file at that path).
inline bool have_program(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// --- test certificates ------------------------------------------------------------------------

// A private test PKI made once per process with the `openssl` command (EC P-256 keys: fast),
// in a temporary directory removed at exit:
//   ca.pem / ca.key          a CA ("aio test CA")
//   server.pem / server.key  CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1, by the CA
//   chain.pem                server.pem followed by ca.pem
//   expired.pem              the same key and names, by the CA, expired (notAfter in the past)
//   wrong_host.pem           the same key, by the CA, for DNS:wrong.example only
//   self.pem / self.key      self-signed, CN=localhost with the right SANs
//   other_ca.pem             another CA, which signed other.pem (key: server.key)
class TestPki {
 public:
  static const TestPki& get() {
    static TestPki pki;
    return pki;
  }
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;
  ~TestPki() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

 private:
  TestPki() {
    char tmpl[] = "/tmp/aio-pki-XXXXXX";
    if (!::mkdtemp(tmpl)) throw_errno("mkdtemp");
    dir_ = tmpl;
    const std::string o = "/usr/bin/openssl";
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    auto p = [&](const char* n) { return path(n); };
    write_file(p("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n");
    write_file(p("wrong.ext"), "subjectAltName=DNS:wrong.example\n");
    run_command(o + " req -x509" + ec + " -keyout " + p("ca.key") + " -out " + p("ca.pem") +
                " -days 2 -subj '/CN=aio test CA' -addext basicConstraints=critical,CA:TRUE" +
                " -addext keyUsage=critical,keyCertSign,cRLSign");
    run_command(o + " req" + ec + " -keyout " + p("server.key") + " -out " + p("server.csr") + " -subj /CN=localhost");
    auto sign = [&](const char* out, const char* ext, const char* days, const char* ca, const char* serial) {
      run_command(o + " x509 -req -in " + p("server.csr") + " -CA " + p(ca) + ".pem -CAkey " + p(ca) +
                  ".key -set_serial " + serial + " -out " + p(out) + " -days " + days + " -extfile " + p(ext));
    };
    sign("server.pem", "san.ext", "2", "ca", "2");
    sign("expired.pem", "san.ext", "-1", "ca", "3");  // notAfter = yesterday
    sign("wrong_host.pem", "wrong.ext", "2", "ca", "4");
    run_command(o + " req -x509" + ec + " -keyout " + p("self.key") + " -out " + p("self.pem") +
                " -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1");
    run_command(o + " req -x509" + ec + " -keyout " + p("other_ca.key") + " -out " + p("other_ca.pem") +
                " -days 2 -subj '/CN=another CA' -addext basicConstraints=critical,CA:TRUE" +
                " -addext keyUsage=critical,keyCertSign,cRLSign");
    sign("other.pem", "san.ext", "2", "other_ca", "5");
    write_file(p("chain.pem"), read_file(p("server.pem")) + read_file(p("ca.pem")));
  }
  static void write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
    if (!f) throw std::runtime_error("cannot write " + path);
  }
  static std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  std::string dir_;
};

}  // namespace aio_test::interop
