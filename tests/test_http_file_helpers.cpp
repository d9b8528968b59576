// The pure helpers behind add_static(), FileResponse and cookies: safe static path
// resolution (over a real temporary tree), HTTP dates, Range, conditional requests, MIME
// types and cookies.
#include "http/file_helpers.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

using namespace aio::http::detail;

// ---------------------------------------------------------------------------------------
// A temporary tree, built once for the static-file tests:
//
//   <tmp>/outside/secret.txt             "secret"
//   <tmp>/outside/f.txt                  "secret"
//   <tmp>/root/                          the static root
//     file.txt                           "hello"
//     index.html
//     with space ünï файл.txt            "unicode"
//     back\slash.txt                     "backslash"
//     empty.txt                          ""
//     sub/inner.txt                      "inner"
//     sub/deeper/deep.txt                "deep"
//     sub/link_up -> ../file.txt         inside (".." that stays in)
//     link_inside -> file.txt            inside
//     link_abs_inside -> <root>/sub/inner.txt
//     link_outside -> ../outside/secret.txt
//     link_abs_outside -> <tmp>/outside/secret.txt
//     link_out_and_back -> ../root/file.txt   (refused: it leaves the root on the way)
//     link_parent -> ..
//     dirlink_inside -> sub
//     dirlink_outside -> ../outside
//     dirlink_abs_outside -> <tmp>/outside
//     loop_a -> loop_b, loop_b -> loop_a
//     dangling -> nowhere.txt
//     fifo                               a FIFO
// ---------------------------------------------------------------------------------------

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

void write_file(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fd);
}

void make_symlink(const std::string& target, const std::string& link) {
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0) << link;
}

class StaticFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/aio_file_helpers_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::optional<std::string> base = canonical_root(tmpl);
    ASSERT_TRUE(base);
    tmp_ = *base;
    ASSERT_EQ(::chmod(tmp_.c_str(), 0755), 0);  // mkdtemp makes it 0700; one test looks as nobody
    root_ = tmp_ + "/root";
    const std::string out = tmp_ + "/outside";
    ASSERT_EQ(::mkdir(out.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root_ + "/sub").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root_ + "/sub/deeper").c_str(), 0755), 0);
    write_file(out + "/secret.txt", "secret");
    write_file(out + "/f.txt", "secret");
    write_file(root_ + "/file.txt", "hello");
    write_file(root_ + "/index.html", "<h1>hi</h1>");
    write_file(root_ + "/with space ünï файл.txt", "unicode");
    write_file(root_ + "/back\\slash.txt", "backslash");
    write_file(root_ + "/empty.txt", "");
    write_file(root_ + "/sub/inner.txt", "inner");
    write_file(root_ + "/sub/deeper/deep.txt", "deep");
    make_symlink("../file.txt", root_ + "/sub/link_up");
    make_symlink("file.txt", root_ + "/link_inside");
    make_symlink(root_ + "/sub/inner.txt", root_ + "/link_abs_inside");
    make_symlink("../outside/secret.txt", root_ + "/link_outside");
    make_symlink(out + "/secret.txt", root_ + "/link_abs_outside");
    make_symlink("../root/file.txt", root_ + "/link_out_and_back");
    make_symlink("..", root_ + "/link_parent");
    make_symlink("sub", root_ + "/dirlink_inside");
    make_symlink("../outside", root_ + "/dirlink_outside");
    make_symlink(out, root_ + "/dirlink_abs_outside");
    make_symlink("loop_b", root_ + "/loop_a");
    make_symlink("loop_a", root_ + "/loop_b");
    make_symlink("nowhere.txt", root_ + "/dangling");
    ASSERT_EQ(::mkfifo((root_ + "/fifo").c_str(), 0644), 0);
  }

  static void TearDownTestSuite() {
    std::error_code ec;
    // remove_all does not follow symlinks: the outside tree is only removed as our own.
    std::filesystem::remove_all(tmp_, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_FALSE(std::filesystem::exists(tmp_));
  }

  // The reason a tail is refused by both entry points ("" when it is served).
  static std::string refusal(std::string_view tail) {
    std::string why_path = "unset", why_fd = "unset";
    std::optional<std::string> path = resolve_static_path(root_, tail, &why_path);
    struct stat st {};
    int fd = open_static_file(root_, tail, st, &why_fd);
    if (fd >= 0) ::close(fd);
    EXPECT_EQ(path.has_value(), fd >= 0) << tail;
    if (path) return "";
    EXPECT_EQ(why_path, why_fd) << tail;
    return why_path;
  }

  // The content open_static_file() serves for `tail`.
  static std::string served(std::string_view tail) {
    struct stat st {};
    std::string why;
    int fd = open_static_file(root_, tail, st, &why);
    EXPECT_GE(fd, 0) << tail << ": " << why;
    if (fd < 0) return "<refused: " + why + ">";
    std::string content = read_all(fd);
    EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), content.size());
    ::close(fd);
    return content;
  }

  static inline std::string tmp_;
  static inline std::string root_;
};

TEST_F(StaticFiles, CanonicalRoot) {
  EXPECT_EQ(canonical_root(root_ + "/"), root_);
  EXPECT_EQ(canonical_root(root_ + "/./sub/.."), root_);
  EXPECT_EQ(canonical_root(root_ + "/dirlink_inside"), root_ + "/sub");
  std::string why;
  EXPECT_EQ(canonical_root(root_ + "/missing", &why), std::nullopt);
  EXPECT_EQ(why, root_ + "/missing: No such file or directory");
  EXPECT_EQ(canonical_root(root_ + "/file.txt", &why), std::nullopt);
  EXPECT_EQ(why, root_ + "/file.txt: not a directory");
  EXPECT_EQ(canonical_root("", &why), std::nullopt);
  EXPECT_EQ(why, "not a directory path");
}

TEST_F(StaticFiles, ServesFilesInside) {
  EXPECT_EQ(resolve_static_path(root_, "file.txt"), root_ + "/file.txt");
  EXPECT_EQ(resolve_static_path(root_, "sub/inner.txt"), root_ + "/sub/inner.txt");
  EXPECT_EQ(resolve_static_path(root_, "sub/deeper/deep.txt"), root_ + "/sub/deeper/deep.txt");
  EXPECT_EQ(resolve_static_path(root_, "./file.txt"), root_ + "/file.txt");
  EXPECT_EQ(resolve_static_path(root_, "sub/./inner.txt"), root_ + "/sub/inner.txt");
  EXPECT_EQ(resolve_static_path(root_, "sub//deeper///deep.txt"), root_ + "/sub/deeper/deep.txt");
  EXPECT_EQ(resolve_static_path(root_, "with space ünï файл.txt"), root_ + "/with space ünï файл.txt");
  EXPECT_EQ(resolve_static_path(root_, "back\\slash.txt"), root_ + "/back\\slash.txt");
  EXPECT_EQ(resolve_static_path(root_, "empty.txt"), root_ + "/empty.txt");
  EXPECT_EQ(served("file.txt"), "hello");
  EXPECT_EQ(served("with space ünï файл.txt"), "unicode");
  EXPECT_EQ(served("back\\slash.txt"), "backslash");
  EXPECT_EQ(served("empty.txt"), "");
}

TEST_F(StaticFiles, FollowsSymlinksThatStayInside) {
  // The path returned is the real one, symlinks resolved.
  EXPECT_EQ(resolve_static_path(root_, "link_inside"), root_ + "/file.txt");
  EXPECT_EQ(resolve_static_path(root_, "sub/link_up"), root_ + "/file.txt");
  EXPECT_EQ(resolve_static_path(root_, "link_abs_inside"), root_ + "/sub/inner.txt");
  EXPECT_EQ(resolve_static_path(root_, "dirlink_inside/inner.txt"), root_ + "/sub/inner.txt");
  EXPECT_EQ(resolve_static_path(root_, "dirlink_inside/link_up"), root_ + "/file.txt");
  EXPECT_EQ(served("link_inside"), "hello");
  EXPECT_EQ(served("sub/link_up"), "hello");
  EXPECT_EQ(served("link_abs_inside"), "inner");
  EXPECT_EQ(served("dirlink_inside/deeper/deep.txt"), "deep");
}

TEST_F(StaticFiles, RefusesTraversal) {
  EXPECT_EQ(refusal(".."), "outside the directory");
  EXPECT_EQ(refusal("../outside/secret.txt"), "outside the directory");
  EXPECT_EQ(refusal("a/../../x"), "outside the directory");
  EXPECT_EQ(refusal("sub/../file.txt"), "outside the directory");  // any ".." at all
  EXPECT_EQ(refusal("sub/.."), "outside the directory");
  EXPECT_EQ(refusal("/etc/passwd"), "absolute path");
  EXPECT_EQ(refusal("/file.txt"), "absolute path");
  EXPECT_EQ(refusal(std::string_view("file.txt\0.png", 13)), "NUL in path");
  EXPECT_EQ(refusal(std::string(5000, 'a')), "path too long");
  // A backslash is an ordinary character on Linux: "..\\x" is a (missing) name, not a step up.
  EXPECT_EQ(refusal("..\\outside\\secret.txt"), "not found");
  // "..." is a name too.
  EXPECT_EQ(refusal("..."), "not found");
}

TEST_F(StaticFiles, RefusesSymlinksLeadingOutside) {
  EXPECT_EQ(refusal("link_outside"), "outside the directory");
  EXPECT_EQ(refusal("link_abs_outside"), "outside the directory");
  EXPECT_EQ(refusal("dirlink_outside/secret.txt"), "outside the directory");
  EXPECT_EQ(refusal("dirlink_abs_outside/secret.txt"), "outside the directory");
  EXPECT_EQ(refusal("link_parent/outside/secret.txt"), "outside the directory");
  EXPECT_EQ(refusal("sub/deeper/../../link_outside"), "outside the directory");
  // Leaving the root and coming back in is refused too (the kernel's RESOLVE_BENEATH
  // refuses it as well): the walk never looks outside the root.
  EXPECT_EQ(refusal("link_out_and_back"), "outside the directory");
}

TEST_F(StaticFiles, RefusesWhatIsNotARegularFile) {
  EXPECT_EQ(refusal(""), "not a regular file");
  EXPECT_EQ(refusal("."), "not a regular file");
  EXPECT_EQ(refusal("sub"), "not a regular file");
  EXPECT_EQ(refusal("sub/"), "not a regular file");
  EXPECT_EQ(refusal("sub/deeper"), "not a regular file");
  EXPECT_EQ(refusal("dirlink_inside"), "not a regular file");
  EXPECT_EQ(refusal("file.txt/"), "not a regular file");
  EXPECT_EQ(refusal("file.txt/."), "not a regular file");
  EXPECT_EQ(refusal("fifo"), "not a regular file");
  EXPECT_EQ(refusal("link_parent"), "outside the directory");
  EXPECT_EQ(refusal("sub/link_up/x"), "not found");
}

TEST_F(StaticFiles, RefusesMissingFiles) {
  EXPECT_EQ(refusal("missing.txt"), "not found");
  EXPECT_EQ(refusal("sub/missing.txt"), "not found");
  EXPECT_EQ(refusal("missing/file.txt"), "not found");
  EXPECT_EQ(refusal("file.txt/more"), "not found");
  EXPECT_EQ(refusal("dangling"), "not found");
  EXPECT_EQ(refusal("loop_a"), "too many symbolic links");
  EXPECT_EQ(refusal(std::string(300, 'n')), "path too long");  // over NAME_MAX
}

TEST_F(StaticFiles, RefusesAWrongRoot) {
  std::string why;
  struct stat st {};
  EXPECT_EQ(open_static_file("relative/root", "file.txt", st, &why), -1);
  EXPECT_EQ(why, "root is not an absolute path (use canonical_root())");
  EXPECT_EQ(open_static_file(root_ + "/missing", "file.txt", st, &why), -1);
  EXPECT_EQ(why, "root directory unavailable: No such file or directory");
  // `why` is optional.
  EXPECT_EQ(open_static_file(root_, "missing", st), -1);
  EXPECT_EQ(resolve_static_path(root_, "missing"), std::nullopt);
}

TEST_F(StaticFiles, UnreadableFileIsPermissionDenied) {
  const std::string path = root_ + "/sub/noperm.txt";
  write_file(path, "x");
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  if (::geteuid() != 0) {
    EXPECT_EQ(refusal("sub/noperm.txt"), "permission denied");
  } else {
    // root reads any file: ask from a child that has become nobody.
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
      struct stat st {};
      std::string why;
      int fd = open_static_file(root_, "sub/noperm.txt", st, &why);
      ::_exit(fd < 0 && why == "permission denied" ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  ::unlink(path.c_str());
}

TEST_F(StaticFiles, OpenedFdMatchesStatAndFlags) {
  struct stat st {};
  std::string why;
  int fd = open_static_file(root_, "sub/inner.txt", st, &why);
  ASSERT_GE(fd, 0) << why;
  struct stat direct {};
  ASSERT_EQ(::stat((root_ + "/sub/inner.txt").c_str(), &direct), 0);
  EXPECT_EQ(st.st_ino, direct.st_ino);
  EXPECT_EQ(st.st_dev, direct.st_dev);
  EXPECT_EQ(st.st_size, 5);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  const int flags = ::fcntl(fd, F_GETFL);
  EXPECT_EQ(flags & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(flags & O_NONBLOCK, 0);
  EXPECT_EQ(::fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  ::close(fd);
}

// What was checked is what was opened: once open, swapping the name for a symlink to a
// secret changes nothing for the fd; a request after the swap is refused.
TEST_F(StaticFiles, OpenedFdIsTheCheckedFile) {
  const std::string name = root_ + "/swap.txt";
  write_file(name, "inside");
  struct stat st {};
  int fd = open_static_file(root_, "swap.txt", st, nullptr);
  ASSERT_GE(fd, 0);
  const std::string tmp_link = root_ + "/swap.tmp";
  make_symlink(tmp_ + "/outside/secret.txt", tmp_link);
  ASSERT_EQ(::rename(tmp_link.c_str(), name.c_str()), 0);
  EXPECT_EQ(read_all(fd), "inside");
  ::close(fd);
  EXPECT_EQ(refusal("swap.txt"), "outside the directory");
  ::unlink(name.c_str());
}

// A thread keeps exchanging a good file with a symlink to a secret (and a good directory
// with a symlinked directory outside) while requests are served: every open either fails
// or yields the inside content, never the secret, whichever instant the swap lands.
TEST_F(StaticFiles, ConcurrentSymlinkSwapsNeverEscape) {
  const std::string dir = tmp_ + "/race";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir + "/d").c_str(), 0755), 0);
  write_file(dir + "/f.txt", "inside");
  write_file(dir + "/d/f.txt", "inside");
  make_symlink(tmp_ + "/outside/secret.txt", dir + "/f_evil");
  make_symlink(tmp_ + "/outside", dir + "/d_evil");
  if (::renameat2(AT_FDCWD, (dir + "/f.txt").c_str(), AT_FDCWD, (dir + "/f_evil").c_str(), RENAME_EXCHANGE) != 0) {
    GTEST_SKIP() << "renameat2(RENAME_EXCHANGE) unsupported here";
  }
  const std::optional<std::string> race_root = canonical_root(dir);
  ASSERT_TRUE(race_root);

  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    const std::string f = dir + "/f.txt", f_evil = dir + "/f_evil";
    const std::string d = dir + "/d", d_evil = dir + "/d_evil";
    while (!stop.load(std::memory_order_relaxed)) {
      ::renameat2(AT_FDCWD, f.c_str(), AT_FDCWD, f_evil.c_str(), RENAME_EXCHANGE);
      ::renameat2(AT_FDCWD, d.c_str(), AT_FDCWD, d_evil.c_str(), RENAME_EXCHANGE);
    }
  });
  int served_inside = 0, refused = 0, leaked = 0;
  for (int i = 0; i < 20000; ++i) {
    for (std::string_view tail : {"f.txt", "d/f.txt"}) {
      struct stat st {};
      std::string why;
      int fd = open_static_file(*race_root, tail, st, &why);
      if (fd < 0) {
        ++refused;
        continue;
      }
      std::string content = read_all(fd);
      ::close(fd);
      if (content == "inside") {
        ++served_inside;
      } else {
        ++leaked;
      }
    }
  }
  stop = true;
  swapper.join();
  EXPECT_EQ(leaked, 0);
  EXPECT_GT(served_inside, 0);
  EXPECT_GT(refused, 0);
}

// ---------------------------------------------------------------------------------------
// HTTP dates
// ---------------------------------------------------------------------------------------

constexpr std::time_t kRfcExample = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr std::time_t kNow2026 = 1767225600;    // Thu, 01 Jan 2026 00:00:00 GMT

TEST(HttpDate, Formats) {
  EXPECT_EQ(format_http_date(kRfcExample), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
  EXPECT_EQ(format_http_date(-2203891200), "Thu, 01 Mar 1900 00:00:00 GMT");
  EXPECT_EQ(format_http_date(kNow2026), "Thu, 01 Jan 2026 00:00:00 GMT");
  EXPECT_EQ(format_http_date(4107456000), "Sun, 28 Feb 2100 00:00:00 GMT");
}

TEST(HttpDate, FormatsLeapDays) {
  EXPECT_EQ(format_http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(format_http_date(1709164800), "Thu, 29 Feb 2024 00:00:00 GMT");
  EXPECT_EQ(format_http_date(951782400 + 86400), "Wed, 01 Mar 2000 00:00:00 GMT");
}

TEST(HttpDate, ClampsToFourDigitYears) {
  EXPECT_EQ(format_http_date(253402300799), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(format_http_date(253402300800), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(format_http_date(std::numeric_limits<std::time_t>::max()), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(format_http_date(-62135596800), "Mon, 01 Jan 0001 00:00:00 GMT");
  EXPECT_EQ(format_http_date(std::numeric_limits<std::time_t>::min()), "Mon, 01 Jan 0001 00:00:00 GMT");
}

TEST(HttpDate, FormatsIntoAFixedBufferWithoutTerminator) {
  char buf[kHttpDateLength + 1];
  buf[kHttpDateLength] = '#';
  format_http_date(kRfcExample, buf);
  EXPECT_EQ(std::string_view(buf, sizeof buf), "Sun, 06 Nov 1994 08:49:37 GMT#");
}

TEST(HttpDate, ParsesAllThreeFormats) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kRfcExample);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", kNow2026), kRfcExample);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kRfcExample);
  EXPECT_EQ(parse_http_date("Sun Nov 06 08:49:37 1994"), kRfcExample);
  EXPECT_EQ(parse_http_date("Sun Nov 16 08:49:37 1994"), kRfcExample + 10 * 86400);
  EXPECT_EQ(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT\t"), kRfcExample);
  // The weekday must be a name, not the right one (as nginx and Go do).
  EXPECT_EQ(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT"), kRfcExample);
}

TEST(HttpDate, Rfc850TwoDigitYearsFollowTheFiftyYearRule) {
  EXPECT_EQ(parse_http_date("Thursday, 01-Jan-26 00:00:00 GMT", kNow2026), kNow2026);
  // 2076 is 50 years ahead: kept. 2077 would be more: 1977.
  EXPECT_EQ(format_http_date(*parse_http_date("Friday, 01-Jan-76 00:00:00 GMT", kNow2026)),
            "Wed, 01 Jan 2076 00:00:00 GMT");
  EXPECT_EQ(format_http_date(*parse_http_date("Saturday, 01-Jan-77 00:00:00 GMT", kNow2026)),
            "Sat, 01 Jan 1977 00:00:00 GMT");
  EXPECT_EQ(format_http_date(*parse_http_date("Monday, 01-Jan-00 00:00:00 GMT", kNow2026)),
            "Sat, 01 Jan 2000 00:00:00 GMT");
  EXPECT_EQ(format_http_date(*parse_http_date("Monday, 01-Jan-99 00:00:00 GMT", kNow2026)),
            "Fri, 01 Jan 1999 00:00:00 GMT");
}

TEST(HttpDate, RoundTrips) {
  for (std::time_t t = -2208988800; t < 4102444800; t += 86400 * 37 + 12345) {
    std::string text = format_http_date(t);
    ASSERT_EQ(parse_http_date(text), t) << text;
  }
  for (std::time_t t : {std::time_t{0}, std::time_t{951782400}, std::time_t{-62135596800}, std::time_t{253402300799}}) {
    EXPECT_EQ(parse_http_date(format_http_date(t)), t);
  }
}

TEST(HttpDate, LeapYearsAndFieldRanges) {
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);  // divisible by 400
  EXPECT_EQ(parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT"), 1709164800);
  EXPECT_EQ(parse_http_date("Mon, 29 Feb 2100 00:00:00 GMT"), std::nullopt);  // by 100, not 400
  EXPECT_EQ(parse_http_date("Thu, 29 Feb 2023 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 31 Apr 1994 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 32 Jan 1994 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 00 Jan 1994 00:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 24:00:00 GMT"), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 23:60:00 GMT"), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 23:59:61 GMT"), std::nullopt);
  // A leap second is the instant after :59.
  EXPECT_EQ(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"), parse_http_date("Sun, 01 Jan 2017 00:00:00 GMT"));
  EXPECT_EQ(parse_http_date("Sun Feb 29 00:00:00 2100"), std::nullopt);
  EXPECT_EQ(parse_http_date("Sunday, 29-Feb-23 00:00:00 GMT", kNow2026), std::nullopt);
}

TEST(HttpDate, RejectsGarbage) {
  for (std::string_view bad : {
           "",
           "garbage",
           "Sun,",
           "Sun, 06 Nov 1994 08:49:37 UTC",
           "Sun, 06 Nov 1994 08:49:37 gmt",
           "sun, 06 Nov 1994 08:49:37 GMT",
           "Sun, 06 nov 1994 08:49:37 GMT",
           "Sun, 6 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov 94 08:49:37 GMT",
           "Sun, 06 Nov 1994 08:49:37 GMTx",
           "Sun, 06 Nov 1994 08:49:37",
           "Sun, 06 Nov 1994 08:49 GMT",
           "Sun, 06 Nov 1994 8:49:37 GMT",
           "Sun, 06 Foo 1994 08:49:37 GMT",
           "Xyz, 06 Nov 1994 08:49:37 GMT",
           "Sun,  06 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov +994 08:49:37 GMT",
           "Sunday, 06-Nov-1994 08:49:37 GMT",
           "Sunday, 06 Nov 94 08:49:37 GMT",
           "Sundae, 06-Nov-94 08:49:37 GMT",
           "Sun Nov 6 08:49:37 1994",
           "Sun Nov  6 08:49:37 94",
           "Sun Nov  6 08:49:37 1994 GMT",
           "1994-11-06T08:49:37Z",
           "784111777",
       }) {
    EXPECT_EQ(parse_http_date(bad, kNow2026), std::nullopt) << bad;
  }
}

// ---------------------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------------------

using Ranges = std::vector<ByteRange>;

struct Parsed {
  RangeResult result;
  Ranges ranges;
  friend bool operator==(const Parsed&, const Parsed&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Parsed& p) {
    os << "result " << static_cast<int>(p.result) << " [";
    for (const ByteRange& r : p.ranges) os << ' ' << r.first << '-' << r.last;
    return os << " ]";
  }
};

Parsed range(std::string_view header, std::uint64_t size) {
  Parsed p{RangeResult::none, {{7, 7}}};  // out is cleared on entry
  p.result = parse_range(header, size, p.ranges);
  return p;
}

constexpr auto kSat = RangeResult::satisfiable;
constexpr auto kUnsat = RangeResult::unsatisfiable;
constexpr auto kIgnore = RangeResult::ignore;

TEST(Range, SingleForms) {
  EXPECT_EQ(range("bytes=0-99", 1000), (Parsed{kSat, {{0, 99}}}));
  EXPECT_EQ(range("bytes=100-", 1000), (Parsed{kSat, {{100, 999}}}));
  EXPECT_EQ(range("bytes=-500", 1000), (Parsed{kSat, {{500, 999}}}));
  EXPECT_EQ(range("bytes=999-999", 1000), (Parsed{kSat, {{999, 999}}}));
  EXPECT_EQ(range("bytes=0-0", 1000), (Parsed{kSat, {{0, 0}}}));
  EXPECT_EQ(range("bytes=-1", 1000), (Parsed{kSat, {{999, 999}}}));
  EXPECT_EQ(range("BYTES=0-9", 1000), (Parsed{kSat, {{0, 9}}}));
  EXPECT_EQ(range("  bytes=0-9  ", 1000), (Parsed{kSat, {{0, 9}}}));
}

TEST(Range, ClipsToTheFile) {
  EXPECT_EQ(range("bytes=-2000", 1000), (Parsed{kSat, {{0, 999}}}));   // suffix longer than the file
  EXPECT_EQ(range("bytes=0-5000", 1000), (Parsed{kSat, {{0, 999}}}));  // last beyond EOF
  EXPECT_EQ(range("bytes=0-99999999999999999999999", 1000), (Parsed{kSat, {{0, 999}}}));
  EXPECT_EQ(range("bytes=-99999999999999999999999", 1000), (Parsed{kSat, {{0, 999}}}));
  EXPECT_EQ(range("bytes=0-18446744073709551615", 1000), (Parsed{kSat, {{0, 999}}}));
}

TEST(Range, Unsatisfiable) {
  EXPECT_EQ(range("bytes=1000-", 1000), (Parsed{kUnsat, {}}));
  EXPECT_EQ(range("bytes=1000-2000", 1000), (Parsed{kUnsat, {}}));
  EXPECT_EQ(range("bytes=-0", 1000), (Parsed{kUnsat, {}}));
  EXPECT_EQ(range("bytes=99999999999999999999-", 1000), (Parsed{kUnsat, {}}));
  EXPECT_EQ(range("bytes=2000-3000, 3000-", 1000), (Parsed{kUnsat, {}}));
}

TEST(Range, ZeroLengthFile) {
  EXPECT_EQ(range("bytes=0-", 0), (Parsed{kUnsat, {}}));
  EXPECT_EQ(range("bytes=0-0", 0), (Parsed{kUnsat, {}}));
  EXPECT_EQ(range("bytes=-0", 0), (Parsed{kUnsat, {}}));
  EXPECT_EQ(range("bytes=-5", 0), (Parsed{kIgnore, {}}));  // satisfiable but empty: serve the (empty) file
  EXPECT_EQ(range("bytes=0-0,-5", 0), (Parsed{kIgnore, {}}));
  EXPECT_EQ(range("", 0), (Parsed{RangeResult::none, {}}));
}

TEST(Range, NoHeader) {
  EXPECT_EQ(range("", 1000), (Parsed{RangeResult::none, {}}));
  EXPECT_EQ(range(" \t ", 1000), (Parsed{RangeResult::none, {}}));
}

TEST(Range, InvalidSyntaxIsIgnored) {
  for (std::string_view bad : {
           "bytes",     "bytes=",    "bytes=,",    "bytes 0-5",       "bytes:0-5",  "items=0-5",   "bytes=5-3",
           "bytes=a-b", "bytes=0-b", "bytes=--5",  "bytes=0-5-",      "bytes=0 -5", "bytes=0- 5",  "bytes=- 5",
           "bytes=5",   "bytes=-",   "bytes=+1-2", "bytes=0x10-0x20", "bytes =0-5", "bytes=0-1,x", "bytes=0-1;2-3",
       }) {
    EXPECT_EQ(range(bad, 1000), (Parsed{kIgnore, {}})) << bad;
  }
}

TEST(Range, MultipleRanges) {
  EXPECT_EQ(range("bytes=0-1,5-6", 1000), (Parsed{kSat, {{0, 1}, {5, 6}}}));
  EXPECT_EQ(range("bytes=0-1 , 5-6,\t-3", 1000), (Parsed{kSat, {{0, 1}, {5, 6}, {997, 999}}}));
  EXPECT_EQ(range("bytes=0-1,,5-6,", 1000), (Parsed{kSat, {{0, 1}, {5, 6}}}));          // empty list elements
  EXPECT_EQ(range("bytes=500-599,0-99", 1000), (Parsed{kSat, {{500, 599}, {0, 99}}}));  // request order kept
  EXPECT_EQ(range("bytes=0-5,2000-3000", 1000), (Parsed{kSat, {{0, 5}}}));              // unsatisfiable one dropped
  EXPECT_EQ(range("bytes=0-10,5-15", 1000), (Parsed{kSat, {{0, 10}, {5, 15}}}));        // one overlap is fine
}

TEST(Range, AbusiveRangeSetsAreIgnored) {
  std::string sixteen = "bytes=0-0";
  for (int i = 1; i < 16; ++i) {
    // Appended piece by piece: GCC 12 -O3 misreports `"," + std::to_string(..)` (-Wrestrict).
    sixteen += ',';
    sixteen += std::to_string(i * 10);
    sixteen += '-';
    sixteen += std::to_string(i * 10);
  }
  Parsed p = range(sixteen, 1000);
  EXPECT_EQ(p.result, kSat);
  EXPECT_EQ(p.ranges.size(), 16u);
  EXPECT_EQ(range(sixteen + ",900-901", 1000), (Parsed{kIgnore, {}}));
  EXPECT_EQ(range("bytes=0-10,5-15,8-20", 1000), (Parsed{kIgnore, {}}));
  EXPECT_EQ(range("bytes=0-,0-,0-", 1000), (Parsed{kIgnore, {}}));
  EXPECT_EQ(range("bytes=-500,-500,-500", 1000), (Parsed{kIgnore, {}}));
}

TEST(Range, Coalesce) {
  Ranges r{{10, 19}, {0, 9}, {30, 39}, {35, 50}, {60, 60}};
  coalesce(r);
  EXPECT_EQ(r, (Ranges{{0, 19}, {30, 50}, {60, 60}}));
  Ranges contained{{0, 100}, {5, 10}};
  coalesce(contained);
  EXPECT_EQ(contained, (Ranges{{0, 100}}));
  Ranges gap{{0, 9}, {11, 19}};
  coalesce(gap);
  EXPECT_EQ(gap, (Ranges{{0, 9}, {11, 19}}));
  Ranges one{{3, 4}};
  coalesce(one);
  EXPECT_EQ(one, (Ranges{{3, 4}}));
  Ranges none;
  coalesce(none);
  EXPECT_TRUE(none.empty());
}

TEST(Range, ContentRange) {
  EXPECT_EQ(content_range({0, 99}, 1000), "bytes 0-99/1000");
  EXPECT_EQ(content_range({999, 999}, 1000), "bytes 999-999/1000");
  EXPECT_EQ(content_range_unsatisfiable(1000), "bytes */1000");
  EXPECT_EQ(content_range_unsatisfiable(0), "bytes */0");
  EXPECT_EQ((ByteRange{0, 99}.length()), 100u);
  EXPECT_EQ((ByteRange{5, 5}.length()), 1u);
}

// ---------------------------------------------------------------------------------------
// Conditional requests
// ---------------------------------------------------------------------------------------

struct stat stat_with(std::time_t sec, long nsec, off_t size) {
  struct stat st {};
  st.st_mtim.tv_sec = sec;
  st.st_mtim.tv_nsec = nsec;
  st.st_size = size;
  return st;
}

TEST(Conditional, MakeEtag) {
  EXPECT_EQ(make_etag(stat_with(1, 0, 0x1234)), "\"3b9aca00-1234\"");
  EXPECT_EQ(make_etag(stat_with(1, 0, 0x1234), true), "W/\"3b9aca00-1234\"");
  EXPECT_EQ(make_etag(stat_with(1700000000, 123456789, 0)), "\"17979cfe3d85cd15-0\"");
  // Nanoseconds matter: two writes in the same second differ.
  EXPECT_NE(make_etag(stat_with(5, 1, 10)), make_etag(stat_with(5, 2, 10)));
  EXPECT_NE(make_etag(stat_with(5, 1, 10)), make_etag(stat_with(5, 1, 11)));
}

TEST(Conditional, EtagMatchesIfNoneMatch) {
  const std::string_view tag = "\"abc-12\"";
  EXPECT_TRUE(etag_matches("\"abc-12\"", tag));
  EXPECT_TRUE(etag_matches("*", tag));
  EXPECT_TRUE(etag_matches(" * ", tag));
  EXPECT_TRUE(etag_matches("\"x\", \"abc-12\"", tag));
  EXPECT_TRUE(etag_matches("\"x\",\"y\" ,\t\"abc-12\" ", tag));
  EXPECT_TRUE(etag_matches("W/\"abc-12\"", tag));  // weak comparison
  EXPECT_TRUE(etag_matches("\"abc-12\"", "W/\"abc-12\""));
  EXPECT_TRUE(etag_matches("W/\"abc-12\"", "W/\"abc-12\""));
  EXPECT_TRUE(etag_matches("\"a,b\", \"abc-12\"", tag));  // a comma inside a tag
  EXPECT_TRUE(etag_matches("\"a,b\"", "\"a,b\""));
  EXPECT_TRUE(etag_matches("abc-12, \"abc-12\"", tag));  // a malformed member is skipped
  EXPECT_FALSE(etag_matches("abc-12", tag));             // unquoted: not a tag
  EXPECT_FALSE(etag_matches("", tag));
  EXPECT_FALSE(etag_matches("\"abc-13\"", tag));
  EXPECT_FALSE(etag_matches("\"abc-12", tag));  // unterminated
  EXPECT_FALSE(etag_matches("\"abc\", \"12\"", tag));
  EXPECT_FALSE(etag_matches("W/", tag));
  EXPECT_FALSE(etag_matches(",,, ,", tag));
}

TEST(Conditional, NotModifiedSince) {
  EXPECT_TRUE(not_modified_since("Sun, 06 Nov 1994 08:49:37 GMT", kRfcExample));
  EXPECT_TRUE(not_modified_since("Sun, 06 Nov 1994 08:49:37 GMT", kRfcExample - 1));
  EXPECT_FALSE(not_modified_since("Sun, 06 Nov 1994 08:49:37 GMT", kRfcExample + 1));
  EXPECT_TRUE(not_modified_since("Sun Nov  6 08:49:37 1994", kRfcExample));
  EXPECT_FALSE(not_modified_since("yesterday", kRfcExample));
  EXPECT_FALSE(not_modified_since("", kRfcExample));
}

TEST(Conditional, IfRange) {
  const std::string_view tag = "\"abc-12\"";
  EXPECT_TRUE(if_range_matches("\"abc-12\"", tag, kRfcExample));
  EXPECT_TRUE(if_range_matches(" \"abc-12\" ", tag, kRfcExample));
  EXPECT_FALSE(if_range_matches("\"abc-13\"", tag, kRfcExample));
  EXPECT_FALSE(if_range_matches("W/\"abc-12\"", tag, kRfcExample));  // weak never matches
  EXPECT_FALSE(if_range_matches("W/\"abc-12\"", "W/\"abc-12\"", kRfcExample));
  EXPECT_FALSE(if_range_matches("\"abc-12\"", "W/\"abc-12\"", kRfcExample));
  EXPECT_TRUE(if_range_matches("Sun, 06 Nov 1994 08:49:37 GMT", tag, kRfcExample));
  EXPECT_FALSE(if_range_matches("Sun, 06 Nov 1994 08:49:37 GMT", tag, kRfcExample - 1));  // exact only
  EXPECT_FALSE(if_range_matches("Sun, 06 Nov 1994 08:49:37 GMT", tag, kRfcExample + 1));
  EXPECT_FALSE(if_range_matches("garbage", tag, kRfcExample));
  EXPECT_FALSE(if_range_matches("", tag, kRfcExample));
}

// ---------------------------------------------------------------------------------------
// MIME types
// ---------------------------------------------------------------------------------------

TEST(Mime, CommonTypes) {
  const std::vector<std::pair<std::string_view, std::string_view>> expected = {
      {"index.html", "text/html; charset=utf-8"},
      {"old.htm", "text/html; charset=utf-8"},
      {"style.css", "text/css; charset=utf-8"},
      {"app.js", "text/javascript; charset=utf-8"},
      {"mod.mjs", "text/javascript; charset=utf-8"},
      {"data.json", "application/json"},
      {"notes.txt", "text/plain; charset=utf-8"},
      {"feed.xml", "application/xml"},
      {"logo.svg", "image/svg+xml"},
      {"a.png", "image/png"},
      {"a.jpg", "image/jpeg"},
      {"a.jpeg", "image/jpeg"},
      {"a.gif", "image/gif"},
      {"a.webp", "image/webp"},
      {"a.avif", "image/avif"},
      {"favicon.ico", "image/x-icon"},
      {"m.wasm", "application/wasm"},
      {"doc.pdf", "application/pdf"},
      {"a.zip", "application/zip"},
      {"a.gz", "application/gzip"},
      {"v.mp4", "video/mp4"},
      {"v.webm", "video/webm"},
      {"s.mp3", "audio/mpeg"},
      {"s.wav", "audio/wav"},
      {"f.woff", "font/woff"},
      {"f.woff2", "font/woff2"},
      {"f.ttf", "font/ttf"},
      {"f.otf", "font/otf"},
      {"t.csv", "text/csv; charset=utf-8"},
      {"README.md", "text/markdown; charset=utf-8"},
      {"app.js.map", "application/json"},
      {"site.webmanifest", "application/manifest+json"},
  };
  for (auto [path, type] : expected) EXPECT_EQ(mime_type_for(path), type) << path;
}

TEST(Mime, ExtensionRules) {
  EXPECT_EQ(mime_type_for("INDEX.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type_for("Photo.JpG"), "image/jpeg");
  EXPECT_EQ(mime_type_for("/srv/www/static/app.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type_for("archive.tar.gz"), "application/gzip");
  EXPECT_EQ(mime_type_for("dir.d/file"), "application/octet-stream");  // the dot is in a directory
  EXPECT_EQ(mime_type_for(".bashrc"), "application/octet-stream");     // a dotfile has no extension
  EXPECT_EQ(mime_type_for("sub/.html"), "application/octet-stream");
  EXPECT_EQ(mime_type_for("file."), "application/octet-stream");
  EXPECT_EQ(mime_type_for("file"), "application/octet-stream");
  EXPECT_EQ(mime_type_for(""), "application/octet-stream");
  EXPECT_EQ(mime_type_for("x.unknown"), "application/octet-stream");
  EXPECT_EQ(mime_type_for("x.htmlhtmlhtmlhtmlhtml"), "application/octet-stream");
  EXPECT_EQ(mime_type_for("x.ht"), "application/octet-stream");
}

// ---------------------------------------------------------------------------------------
// Cookies
// ---------------------------------------------------------------------------------------

std::string thrown_message(std::string_view name, std::string_view value, const CookieOptions& options = {}) {
  try {
    format_set_cookie(name, value, options);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

TEST(Cookie, FormatsPlain) {
  EXPECT_EQ(format_set_cookie("sid", "abc"), "sid=abc; Path=/");
  EXPECT_EQ(format_set_cookie("sid", ""), "sid=; Path=/");
  EXPECT_EQ(format_set_cookie("sid", "\"quoted\""), "sid=\"quoted\"; Path=/");
  EXPECT_EQ(format_set_cookie("sid", "a%20b=="), "sid=a%20b==; Path=/");
  EXPECT_EQ(format_set_cookie("sid", "abc", {.path = ""}), "sid=abc");
  EXPECT_EQ(format_set_cookie("!#$%&'*+-.^_`|~", "v"), "!#$%&'*+-.^_`|~=v; Path=/");
}

TEST(Cookie, FormatsEveryAttribute) {
  const CookieOptions all{.max_age = 3600,
                          .expires = kRfcExample,
                          .path = "/app",
                          .domain = "example.com",
                          .secure = true,
                          .http_only = true,
                          .same_site = "lax"};
  EXPECT_EQ(format_set_cookie("sid", "abc", all),
            "sid=abc; Domain=example.com; Path=/app; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=3600; Secure; "
            "HttpOnly; SameSite=Lax");
  EXPECT_EQ(format_set_cookie("sid", "", {.max_age = 0}), "sid=; Path=/; Max-Age=0");
  EXPECT_EQ(format_set_cookie("sid", "x", {.max_age = -1}), "sid=x; Path=/; Max-Age=-1");
  EXPECT_EQ(format_set_cookie("sid", "x", {.same_site = "STRICT"}), "sid=x; Path=/; SameSite=Strict");
  EXPECT_EQ(format_set_cookie("sid", "x", {.secure = true, .same_site = "none"}),
            "sid=x; Path=/; Secure; SameSite=None");
  EXPECT_EQ(format_set_cookie("sid", "x", {.domain = ".example.com"}), "sid=x; Domain=.example.com; Path=/");
  EXPECT_EQ(format_set_cookie("__Secure-id", "x", {.secure = true}), "__Secure-id=x; Path=/; Secure");
  EXPECT_EQ(format_set_cookie("__Host-id", "x", {.secure = true}), "__Host-id=x; Path=/; Secure");
}

TEST(Cookie, RejectsBadNamesWithAHelpfulMessage) {
  const std::string token_help = "a cookie name must be an HTTP token (letters, digits and !#$%&'*+-.^_`|~)";
  EXPECT_EQ(thrown_message("a b", "v"), "cookie name \"a b\": space (0x20) at offset 1 is not allowed; " + token_help);
  EXPECT_EQ(thrown_message("a=b", "v"), "cookie name \"a=b\": '=' (0x3D) at offset 1 is not allowed; " + token_help);
  EXPECT_EQ(thrown_message("a;", "v"), "cookie name \"a;\": ';' (0x3B) at offset 1 is not allowed; " + token_help);
  EXPECT_EQ(thrown_message("\xc3\xa9", "v"),
            "cookie name \"\xc3\xa9\": non-ASCII byte 0xC3 at offset 0 is not allowed; " + token_help);
  EXPECT_EQ(thrown_message("a\tb", "v"),
            "cookie name \"a\tb\": control character 0x09 at offset 1 is not allowed; " + token_help);
  EXPECT_EQ(thrown_message("", "v"), "cookie name is empty; a cookie needs a name");
}

TEST(Cookie, RejectsBadValuesWithAHelpfulMessage) {
  const std::string value_help =
      "cookie values may hold only RFC 6265 cookie-octets (no spaces, '\"', ',', ';', '\\', control or non-ASCII "
      "characters): encode the value, e.g. percent-encode or base64url-encode it";
  EXPECT_EQ(thrown_message("sid", "a;b"),
            "value of cookie sid \"a;b\": ';' (0x3B) at offset 1 is not allowed; " + value_help);
  EXPECT_EQ(thrown_message("sid", "hello world"),
            "value of cookie sid \"hello world\": space (0x20) at offset 5 is not allowed; " + value_help);
  EXPECT_EQ(thrown_message("sid", "\"a b\""),
            "value of cookie sid \"\"a b\"\": space (0x20) at offset 2 is not allowed; " + value_help);
  for (std::string_view bad : {"a,b", "a\"b", "a\\b", "caf\xc3\xa9", "a\x01", "a\x7f", "\"", "\"abc"}) {
    EXPECT_THROW(format_set_cookie("sid", bad), std::invalid_argument) << bad;
  }
}

TEST(Cookie, RejectsBadAttributes) {
  EXPECT_EQ(thrown_message("sid", "v", {.path = "app"}),
            "cookie path \"app\" must start with '/' (browsers ignore other paths)");
  EXPECT_EQ(thrown_message("sid", "v", {.path = "/a;b"}),
            "cookie path \"/a;b\": ';' (0x3B) at offset 2 is not allowed; percent-encode it");
  EXPECT_EQ(thrown_message("sid", "v", {.domain = "exa mple.com"}),
            "cookie domain \"exa mple.com\": space (0x20) at offset 3 is not allowed; a domain is letters, digits, "
            "'-' and '.' (write an internationalized name in its punycode \"xn--\" form)");
  EXPECT_EQ(thrown_message("sid", "v", {.same_site = "sometimes"}),
            "cookie SameSite \"sometimes\" is not one of \"Strict\", \"Lax\" or \"None\"");
  EXPECT_EQ(thrown_message("sid", "v", {.same_site = "None"}),
            "cookie sid: SameSite=None requires secure = true (browsers reject it otherwise)");
  EXPECT_EQ(thrown_message("__Secure-id", "v"), "cookie __Secure-id: a __Secure- cookie requires secure = true");
  EXPECT_EQ(thrown_message("__Host-id", "v", {.domain = "example.com", .secure = true}),
            "cookie __Host-id: a __Host- cookie requires secure = true, path \"/\" and no domain");
  EXPECT_EQ(thrown_message("__Host-id", "v", {.path = "/app", .secure = true}),
            "cookie __Host-id: a __Host- cookie requires secure = true, path \"/\" and no domain");
  EXPECT_EQ(thrown_message("big", std::string(4094, 'x')),
            "cookie big: name and value are 4097 bytes; browsers drop cookies over 4096 bytes — keep the data on "
            "the server and send a key");
  EXPECT_EQ(format_set_cookie("big", std::string(4093, 'x'), {.path = ""}), "big=" + std::string(4093, 'x'));
}

using CookiePairs = std::vector<std::pair<std::string_view, std::string_view>>;

CookiePairs cookies(std::string_view header) {
  CookiePairs out;
  parse_cookie_header(header, out);
  return out;
}

TEST(Cookie, ParsesRequestHeader) {
  EXPECT_EQ(cookies("a=1; b=2"), (CookiePairs{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(cookies("a=1;b=2"), (CookiePairs{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(cookies("sid=\"quoted value\""), (CookiePairs{{"sid", "quoted value"}}));
  EXPECT_EQ(cookies("tok=abc=="), (CookiePairs{{"tok", "abc=="}}));
  EXPECT_EQ(cookies("  a = 1 ;b=2;;c;=d; e=;"), (CookiePairs{{"a", "1"}, {"b", "2"}, {"e", ""}}));
  EXPECT_EQ(cookies("q=\""), (CookiePairs{{"q", "\""}}));  // a lone quote is kept
  EXPECT_EQ(cookies("q=\"\""), (CookiePairs{{"q", ""}}));
  EXPECT_EQ(cookies("a=1; a=2"), (CookiePairs{{"a", "1"}, {"a", "2"}}));  // duplicates kept, in order
  EXPECT_EQ(cookies(""), CookiePairs{});
  EXPECT_EQ(cookies(";;; "), CookiePairs{});
  EXPECT_EQ(cookies("garbage"), CookiePairs{});
}

TEST(Cookie, ParsingAppendsAndRoundTrips) {
  CookiePairs out{{"x", "0"}};
  parse_cookie_header("a=1", out);
  parse_cookie_header("b=2", out);
  EXPECT_EQ(out, (CookiePairs{{"x", "0"}, {"a", "1"}, {"b", "2"}}));

  const std::string set = format_set_cookie("sid", "\"v1\"", {.path = ""});
  EXPECT_EQ(cookies(set), (CookiePairs{{"sid", "v1"}}));
}

}  // namespace
