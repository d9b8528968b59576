// A throwaway MariaDB server for the aio::mysql tests: started once per test binary (a
// GoogleTest global environment: startup takes about a second), in a temporary directory,
// on a unix socket and a free 127.0.0.1 port, with TLS certificates made at test time,
// and stopped by pid at the end. Tests skip with a clear message when the server package
// (Debian mariadb-server, installed by scripts/install-deps.sh) is absent.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <aio/mysql.hpp>

#include "interop_support.hpp"
#include "net_support.hpp"

extern char** environ;

namespace aio_test::mysql {

inline constexpr const char* kMariadbd = "/usr/sbin/mariadbd";
inline constexpr const char* kInstallDb = "/usr/bin/mariadb-install-db";
inline constexpr const char* kAdmin = "/usr/bin/mariadb-admin";
inline constexpr const char* kClient = "/usr/bin/mariadb";

// The users the tests log in as (made by the server's setup).
inline constexpr const char* kUser = "aio";
inline constexpr const char* kPassword = "aio-secret";
inline constexpr const char* kTlsUser = "aio_tls";     // REQUIRE SSL
inline constexpr const char* kEd25519User = "aio_ed";  // IDENTIFIED VIA ed25519
inline constexpr const char* kDatabase = "aio_test";

class Server {
 public:
  // The running server, or nullptr (with why_not()) if it could not be started.
  static Server* get() { return instance(); }
  static const std::string& why_not() { return why_not_; }

  int port() const { return port_; }
  const std::string& socket_path() const { return socket_; }
  const std::string& ca_file() const { return ca_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }

  // Runs SQL as root through the mariadb command-line client (setup, outside a loop).
  void sql_as_root(const std::string& sql) const {
    interop::run_command(std::string(kClient) + " --no-defaults --protocol=socket --socket=" + socket_ +
                         " -uroot -e \"" + sql + "\"");
  }

  // The options for the test user over TCP (password and database set).
  aio::mysql::ConnectOptions tcp() const {
    return aio::mysql::ConnectOptions{
        .host = "127.0.0.1", .port = port_, .user = kUser, .password = kPassword, .db = kDatabase};
  }
  aio::mysql::ConnectOptions unix_socket() const {
    aio::mysql::ConnectOptions o = tcp();
    o.unix_socket = socket_;
    return o;
  }

  // Kills the server (SIGKILL), for the "server gone" tests; restart() brings it back.
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  // Starts the server again on the same data, port and socket. Call it from the main
  // thread: the server is killed when the thread that started it exits (PR_SET_PDEATHSIG).
  bool restart() {
    kill_now();
    return launch();
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      auto st = interop::reap_within(pid_, 20);
      if (!st) kill_now();
      pid_ = -1;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  ~Server() { stop(); }

 private:
  static Server*& slot() {
    static Server* s = nullptr;
    return s;
  }
  static Server* instance() { return slot(); }

  static bool start_once();
  friend class Environment;

  bool launch() {
    std::vector<std::string> argv = {kMariadbd,
                                     "--no-defaults",
                                     "--user=root",
                                     "--datadir=" + dir_ + "/data",
                                     "--socket=" + socket_,
                                     "--port=" + std::to_string(port_),
                                     "--bind-address=127.0.0.1",
                                     "--skip-name-resolve",
                                     "--skip-log-bin",
                                     "--pid-file=" + dir_ + "/mariadbd.pid",
                                     "--log-error=" + dir_ + "/error.log",
                                     "--ssl-ca=" + ca_,
                                     "--ssl-cert=" + cert_,
                                     "--ssl-key=" + key_,
                                     "--max-allowed-packet=64M",
                                     "--innodb-buffer-pool-size=32M",
                                     "--innodb-log-file-size=16M",
                                     "--innodb-flush-log-at-trx-commit=0",
                                     "--plugin-load-add=auth_ed25519",
                                     "--max-connections=200"};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const std::string out = dir_ + "/stdout.log";
    // fork + exec rather than posix_spawn, for PR_SET_PDEATHSIG: a test binary that dies
    // (a crash, a timeout's SIGKILL) takes its server with it instead of leaving it running.
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      why_not_ = "fork for mariadbd failed";
      return false;
    }
    if (pid == 0) {  // the child: async-signal-safe calls only
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      int in = ::open("/dev/null", O_RDONLY);
      int log = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (in < 0 || log < 0) ::_exit(127);
      ::dup2(in, 0);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::execv(kMariadbd, args.data());
      ::_exit(127);
    }
    pid_ = pid;
    // Ready when mariadb-admin ping answers (about a second).
    const std::string ping = std::string(kAdmin) + " --no-defaults --protocol=socket --socket=" + socket_ +
                             " -uroot --connect-timeout=2 ping >/dev/null 2>&1";
    for (int i = 0; i < 300; ++i) {
      if (std::system(ping.c_str()) == 0) return true;
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        why_not_ = "mariadbd exited during startup; see " + dir_ + "/error.log";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    why_not_ = "mariadbd did not answer ping within 15 s";
    kill_now();
    return false;
  }

  std::string dir_, socket_, ca_, cert_, key_;
  int port_ = 0;
  pid_t pid_ = -1;
  static inline std::string why_not_ = "the MariaDB server was not started";
};

inline bool Server::start_once() {
  if (!interop::have_program(kMariadbd) || !interop::have_program(kInstallDb) || !interop::have_program(kAdmin)) {
    why_not_ =
        "no MariaDB server here (Debian packages mariadb-server and mariadb-client; scripts/install-deps.sh "
        "installs them)";
    return false;
  }
  auto s = std::make_unique<Server>();
  char tmpl[] = "/tmp/aio-mariadb-XXXXXX";
  if (!::mkdtemp(tmpl)) return false;
  s->dir_ = tmpl;
  s->socket_ = s->dir_ + "/mysqld.sock";
  const interop::TestPki& pki = interop::TestPki::get();
  s->ca_ = pki.path("ca.pem");
  s->cert_ = pki.path("server.pem");
  s->key_ = pki.path("server.key");
  s->port_ = net::unused_port();
  try {
    interop::run_command(std::string(kInstallDb) + " --no-defaults --datadir=" + s->dir_ +
                         "/data --user=root --auth-root-authentication-method=normal --skip-test-db");
  } catch (const std::exception& e) {
    why_not_ = std::string("mariadb-install-db failed: ") + e.what();
    return false;
  }
  if (!s->launch()) return false;
  try {
    s->sql_as_root(std::string("CREATE DATABASE ") + kDatabase + " CHARACTER SET utf8mb4; " + "CREATE USER '" + kUser +
                   "'@'%' IDENTIFIED BY '" + kPassword + "'; " + "GRANT ALL ON *.* TO '" + kUser +
                   "'@'%' WITH GRANT OPTION; " + "CREATE USER '" + kTlsUser + "'@'%' IDENTIFIED BY '" + kPassword +
                   "' REQUIRE SSL; " + "GRANT ALL ON " + kDatabase + ".* TO '" + kTlsUser + "'@'%'; " +
                   "CREATE USER '" + kEd25519User + "'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('" + kPassword +
                   "');");
  } catch (const std::exception& e) {
    why_not_ = std::string("setting up the test users failed: ") + e.what();
    return false;
  }
  slot() = s.release();
  return true;
}

// Starts the server before the first test and stops it after the last.
class Environment : public ::testing::Environment {
 public:
  void SetUp() override { Server::start_once(); }
  void TearDown() override {
    delete Server::slot();
    Server::slot() = nullptr;
  }
};

inline const bool kEnvironmentRegistered = [] {
  ::testing::AddGlobalTestEnvironment(new Environment);
  return true;
}();

/// A connection to the test server over 127.0.0.1 TCP, as the test user (options named
/// first: GCC 12 and temporaries inside co_await).
inline aio::Coro<aio::mysql::Connection> connect_tcp(Server* s) {
  aio::mysql::ConnectOptions o = s->tcp();
  co_return co_await aio::mysql::connect(o);
}

// Waits (bounded: 10 s) until the background KILLs of abandoned statements
// (ConnectOptions::kill_on_cancel) have finished; true if they have. A test that abandons a
// statement awaits this before it ends: AIO_TEST fails a test that leaves tasks running.
inline aio::Coro<bool> kills_done() {
  for (int i = 0; i < 1000; ++i) {
    bool pending = false;
    for (const aio::TaskRef& t : aio::all_tasks())
      if (t.get_name().rfind("aio::mysql KILL ", 0) == 0) pending = true;
    if (!pending) co_return true;
    co_await aio::sleep(0.01);
  }
  co_return false;
}

}  // namespace aio_test::mysql

// Skips the (coroutine) test when no server could be started.
#define AIO_REQUIRE_MYSQL(server)                                                        \
  aio_test::mysql::Server* server = aio_test::mysql::Server::get();                      \
  if (!server) {                                                                         \
    GTEST_MESSAGE_(("no MariaDB server: " + aio_test::mysql::Server::why_not()).c_str(), \
                   ::testing::TestPartResult::kSkip);                                    \
    co_return;                                                                           \
  }
