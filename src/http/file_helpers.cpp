// The pure helpers behind add_static(), FileResponse and cookies (see file_helpers.hpp).
#include "http/file_helpers.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "io/owned_fd.hpp"

namespace aio::http::detail {

namespace {

using aio::detail::OwnedFd;

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

void set_why(std::string* why, std::string_view text) {
  if (why) why->assign(text);
}

// Sets `why` and returns nullopt: `return refuse(why, "not found");`.
std::nullopt_t refuse(std::string* why, std::string_view text) {
  set_why(why, text);
  return std::nullopt;
}

// RFC 9110 5.6.2 tchar.
constexpr bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// ---------------------------------------------------------------------------------------
// Static files
// ---------------------------------------------------------------------------------------

// Linux's MAXSYMLINKS: the same bound the kernel puts on one lookup.
constexpr int kMaxSymlinks = 40;

// O_PATH lets the walk pass through directories it may search but not list (mode 0711),
// as a kernel lookup would.
#ifdef O_PATH
constexpr int kDirOpenFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
#else
constexpr int kDirOpenFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
#endif
// O_NONBLOCK: a FIFO swapped in after the fstatat() check must not block the open (fstat
// then refuses it). O_NOCTTY: never acquire a controlling terminal.
constexpr int kFileOpenFlags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;

std::string lookup_error(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return "not found";
    case EACCES:
    case EPERM:
      return "permission denied";
    case ELOOP:  // a component was swapped for a symlink between fstatat() and openat()
      return "not a regular file";
    case ENAMETOOLONG:
      return "path too long";
    default:
      return std::string("lookup failed: ") + std::strerror(err);
  }
}

// Pushes the segments of `path` onto `pending` so that the first segment is popped first.
// Empty and "." segments mean nothing and are dropped here.
void push_segments(std::string_view path, std::vector<std::string>& pending) {
  std::size_t end = path.size();
  while (end > 0) {
    std::size_t slash = path.rfind('/', end - 1);
    std::size_t begin = slash == std::string_view::npos ? 0 : slash + 1;
    std::string_view seg = path.substr(begin, end - begin);
    if (!seg.empty() && seg != ".") pending.emplace_back(seg);
    if (slash == std::string_view::npos) break;
    end = slash;
  }
}

// Checks the request's tail before touching the filesystem.
// Returns the reason to refuse it, or nullopt.
std::optional<std::string_view> refuse_tail(std::string_view tail) {
  if (tail.find('\0') != std::string_view::npos) return "NUL in path";
  if (!tail.empty() && tail.front() == '/') return "absolute path";
  if (tail.size() > PATH_MAX) return "path too long";
  std::size_t begin = 0;
  std::string_view last;
  while (true) {
    std::size_t slash = tail.find('/', begin);
    last = tail.substr(begin, slash == std::string_view::npos ? std::string_view::npos : slash - begin);
    if (last == "..") return "outside the directory";
    if (slash == std::string_view::npos) break;
    begin = slash + 1;
  }
  // "file.txt/" and "file.txt/." name a directory; we never serve one.
  if (last.empty() || last == ".") return "not a regular file";
  return std::nullopt;
}

struct Resolved {
  OwnedFd fd;
  std::string relative;  // below the root, '/'-joined, no symlinks
};

// Resolves `tail` below `root` one component at a time, from an fd of the root: each
// component is fstatat()ed without following it, then opened with openat(O_NOFOLLOW)
// relative to the directory fd already checked. Symlinks are expanded here, in user
// space, so a ".." in a link target pops our own stack of directory fds and can never
// climb above the root. This is a user-space RESOLVE_BENEATH; the alternatives lose:
//  * open(root + tail) and then check /proc/self/fd/N: the open has already happened
//    by the time we learn it reached outside the root (a FIFO blocks, a tape device
//    rewinds, a terminal...), and it needs /proc mounted;
//  * realpath() then open(): the classic TOCTOU — a symlink swapped in between wins;
//  * openat2(RESOLVE_BENEATH): Linux >= 5.6 only and it refuses every absolute symlink,
//    even one that points inside the root.
// A swap between fstatat() and openat() makes the openat() fail (O_NOFOLLOW, and fstat of
// the result confirms its type), so what was checked is what is opened.
std::optional<Resolved> resolve(std::string_view root, std::string_view tail, std::string* why) {
  if (std::optional<std::string_view> reason = refuse_tail(tail)) return refuse(why, *reason);
  if (root.empty() || root.front() != '/' || root.find('\0') != std::string_view::npos) {
    return refuse(why, "root is not an absolute path (use canonical_root())");
  }
  const std::string root_str(root);
  const std::string root_prefix = root_str == "/" ? root_str : root_str + "/";

  std::vector<OwnedFd> dirs;         // dirs[0] is the root; back() the current directory
  std::vector<std::string> names;    // names[i] is dirs[i + 1]'s name in dirs[i]
  std::vector<std::string> pending;  // components still to resolve; back() comes next
  dirs.emplace_back(::open(root_str.c_str(), kDirOpenFlags));
  if (!dirs.back()) return refuse(why, std::string("root directory unavailable: ") + std::strerror(errno));
  push_segments(tail, pending);

  int symlinks = 0;
  while (!pending.empty()) {
    std::string seg = std::move(pending.back());
    pending.pop_back();
    if (seg == "..") {  // only ever from a symlink target
      if (names.empty()) return refuse(why, "outside the directory");
      dirs.pop_back();
      names.pop_back();
      continue;
    }
    const bool last = pending.empty();
    const int dir_fd = dirs.back().get();
    struct stat lst {};
    if (::fstatat(dir_fd, seg.c_str(), &lst, AT_SYMLINK_NOFOLLOW) != 0) return refuse(why, lookup_error(errno));
    if (S_ISLNK(lst.st_mode)) {
      if (++symlinks > kMaxSymlinks) return refuse(why, "too many symbolic links");
      std::array<char, PATH_MAX> buf;
      ssize_t n = ::readlinkat(dir_fd, seg.c_str(), buf.data(), buf.size());
      if (n < 0) return refuse(why, lookup_error(errno));
      if (static_cast<std::size_t>(n) == buf.size()) return refuse(why, "path too long");
      std::string_view target(buf.data(), static_cast<std::size_t>(n));
      if (target.empty()) return refuse(why, "not found");
      if (target.front() == '/') {
        // Absolute: only a path under the canonical root can be followed, from the root.
        if (target != root && !target.starts_with(root_prefix)) {
          return refuse(why, "outside the directory");
        }
        target.remove_prefix(std::min(target.size(), root_prefix.size()));
        dirs.resize(1);
        names.clear();
      }
      push_segments(target, pending);
      continue;
    }
    if (S_ISDIR(lst.st_mode)) {
      if (last) return refuse(why, "not a regular file");
      OwnedFd sub(::openat(dir_fd, seg.c_str(), kDirOpenFlags));
      if (!sub) return refuse(why, lookup_error(errno));
      dirs.push_back(std::move(sub));
      names.push_back(std::move(seg));
      continue;
    }
    if (!last) return refuse(why, "not found");  // "file.txt/more"
    if (!S_ISREG(lst.st_mode)) return refuse(why, "not a regular file");
    OwnedFd file(::openat(dir_fd, seg.c_str(), kFileOpenFlags));
    if (!file) return refuse(why, lookup_error(errno));
    names.push_back(std::move(seg));
    Resolved out{std::move(file), {}};
    for (const std::string& name : names) {
      if (!out.relative.empty()) out.relative += '/';
      out.relative += name;
    }
    return out;
  }
  // The tail (or the last symlink) ended on a directory: "sub/link-to-dir", "link -> ..".
  return refuse(why, "not a regular file");
}

// ---------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------

constexpr std::array<std::string_view, 7> kDayNames = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDayNames = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                           "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years four digits can write.
constexpr std::time_t kMinHttpTime = -62135596800;
constexpr std::time_t kMaxHttpTime = 253402300799;
static_assert(sizeof(std::time_t) >= 8, "HTTP dates up to year 9999 need a 64-bit time_t");

constexpr bool is_leap(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr int days_in_month(std::int64_t y, int m) noexcept {
  constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: count from 0000-03-01
// in 400-year eras so February is the last month of the counted year.
constexpr std::int64_t days_from_civil(std::int64_t y, int m, int d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t year_of_era = y - era * 400;
  const std::int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

void write_2digits(char* out, int v) noexcept {
  out[0] = static_cast<char>('0' + v / 10);
  out[1] = static_cast<char>('0' + v % 10);
}

// A little cursor over a date: each call consumes exactly what the grammar allows or fails.
class DateScanner {
 public:
  explicit DateScanner(std::string_view s) noexcept : s_(s) {}

  bool literal(std::string_view lit) noexcept {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }
  bool digits(std::size_t count, int& value) noexcept {
    if (s_.size() - pos_ < count) return false;
    value = 0;
    for (std::size_t i = 0; i < count; ++i) {
      char c = s_[pos_ + i];
      if (!is_digit(c)) return false;
      value = value * 10 + (c - '0');
    }
    pos_ += count;
    return true;
  }
  // One of `names`; returns its index.
  template <std::size_t N>
  bool name(const std::array<std::string_view, N>& names, int& index) noexcept {
    for (std::size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  bool time_of_day(int& h, int& m, int& sec) noexcept {
    return digits(2, h) && literal(":") && digits(2, m) && literal(":") && digits(2, sec);
  }
  bool at_end() const noexcept { return pos_ == s_.size(); }
  char peek() const noexcept { return pos_ < s_.size() ? s_[pos_] : '\0'; }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

struct DateFields {
  std::int64_t year = 0;
  int month = 0;  // 1..12
  int day = 0, hour = 0, minute = 0, second = 0;
};

std::optional<std::time_t> to_time(const DateFields& f) {
  if (f.month < 1 || f.month > 12) return std::nullopt;
  if (f.day < 1 || f.day > days_in_month(f.year, f.month)) return std::nullopt;
  if (f.hour > 23 || f.minute > 59 || f.second > 60) return std::nullopt;
  return static_cast<std::time_t>(days_from_civil(f.year, f.month, f.day) * 86400 + f.hour * 3600 + f.minute * 60 +
                                  f.second);
}

// Sun, 06 Nov 1994 08:49:37 GMT
bool scan_imf_fixdate(DateScanner& in, DateFields& f) {
  int wday = 0, year = 0;
  if (!in.name(kDayNames, wday) || !in.literal(", ") || !in.digits(2, f.day) || !in.literal(" ")) return false;
  if (!in.name(kMonthNames, f.month) || !in.literal(" ") || !in.digits(4, year) || !in.literal(" ")) return false;
  if (!in.time_of_day(f.hour, f.minute, f.second) || !in.literal(" GMT") || !in.at_end()) return false;
  f.year = year;
  ++f.month;
  return true;
}

// Sunday, 06-Nov-94 08:49:37 GMT
bool scan_rfc850(DateScanner& in, DateFields& f, std::time_t now) {
  int wday = 0, yy = 0;
  if (!in.name(kLongDayNames, wday) || !in.literal(", ") || !in.digits(2, f.day) || !in.literal("-")) return false;
  if (!in.name(kMonthNames, f.month) || !in.literal("-") || !in.digits(2, yy) || !in.literal(" ")) return false;
  if (!in.time_of_day(f.hour, f.minute, f.second) || !in.literal(" GMT") || !in.at_end()) return false;
  ++f.month;
  // RFC 9110 5.6.7: a year more than 50 years in the future is the previous century's.
  struct tm now_tm {};
  std::int64_t this_year = ::gmtime_r(&now, &now_tm) ? now_tm.tm_year + 1900 : 1970;
  f.year = this_year / 100 * 100 + yy;
  if (f.year > this_year + 50) f.year -= 100;
  return true;
}

// Sun Nov  6 08:49:37 1994
bool scan_asctime(DateScanner& in, DateFields& f) {
  int wday = 0, year = 0;
  if (!in.name(kDayNames, wday) || !in.literal(" ") || !in.name(kMonthNames, f.month) || !in.literal(" ")) {
    return false;
  }
  if (in.peek() == ' ') {
    if (!in.literal(" ") || !in.digits(1, f.day)) return false;
  } else if (!in.digits(2, f.day)) {
    return false;
  }
  if (!in.literal(" ") || !in.time_of_day(f.hour, f.minute, f.second) || !in.literal(" ")) return false;
  if (!in.digits(4, year) || !in.at_end()) return false;
  f.year = year;
  ++f.month;
  return true;
}

// ---------------------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------------------

// Non-empty digits, saturating at the largest uint64 ("beyond any file" either way).
std::optional<std::uint64_t> parse_position(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    auto d = static_cast<std::uint64_t>(c - '0');
    v = v > (kMax - d) / 10 ? kMax : v * 10 + d;
  }
  return v;
}

// RFC 9110 14.3: more than one range overlapping another is a broken client or an attack.
bool overlaps_abusively(std::vector<ByteRange> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const ByteRange& a, const ByteRange& b) { return a.first < b.first; });
  int overlapping = 0;
  std::uint64_t reach = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (i > 0 && ranges[i].first <= reach) ++overlapping;
    reach = i == 0 ? ranges[i].last : std::max(reach, ranges[i].last);
  }
  return overlapping > 1;
}

std::string to_hex(std::uint64_t v) {
  std::array<char, 16> buf;
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v, 16);
  (void)ec;  // 16 hex digits always fit a uint64
  return std::string(buf.data(), end);
}

// ---------------------------------------------------------------------------------------
// Entity tags
// ---------------------------------------------------------------------------------------

std::string_view strip_weak(std::string_view tag) noexcept {
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  return tag;
}

// ---------------------------------------------------------------------------------------
// MIME
// ---------------------------------------------------------------------------------------

struct MimeEntry {
  std::string_view extension;  // lower case, no dot
  std::string_view type;
};

// Sorted by extension for the binary search (enforced by the static_assert below).
constexpr std::array kMimeTypes = {
    MimeEntry{"7z", "application/x-7z-compressed"},
    MimeEntry{"aac", "audio/aac"},
    MimeEntry{"apng", "image/apng"},
    MimeEntry{"atom", "application/atom+xml"},
    MimeEntry{"avif", "image/avif"},
    MimeEntry{"bin", "application/octet-stream"},
    MimeEntry{"bmp", "image/bmp"},
    MimeEntry{"bz2", "application/x-bzip2"},
    MimeEntry{"css", "text/css; charset=utf-8"},
    MimeEntry{"csv", "text/csv; charset=utf-8"},
    MimeEntry{"eot", "application/vnd.ms-fontobject"},
    MimeEntry{"flac", "audio/flac"},
    MimeEntry{"gif", "image/gif"},
    MimeEntry{"gz", "application/gzip"},
    MimeEntry{"htm", "text/html; charset=utf-8"},
    MimeEntry{"html", "text/html; charset=utf-8"},
    MimeEntry{"ico", "image/x-icon"},
    MimeEntry{"ics", "text/calendar; charset=utf-8"},
    MimeEntry{"jpeg", "image/jpeg"},
    MimeEntry{"jpg", "image/jpeg"},
    MimeEntry{"js", "text/javascript; charset=utf-8"},
    MimeEntry{"json", "application/json"},
    MimeEntry{"jsonld", "application/ld+json"},
    MimeEntry{"m4a", "audio/mp4"},
    MimeEntry{"map", "application/json"},
    MimeEntry{"md", "text/markdown; charset=utf-8"},
    MimeEntry{"mjs", "text/javascript; charset=utf-8"},
    MimeEntry{"mov", "video/quicktime"},
    MimeEntry{"mp3", "audio/mpeg"},
    MimeEntry{"mp4", "video/mp4"},
    MimeEntry{"mpeg", "video/mpeg"},
    MimeEntry{"oga", "audio/ogg"},
    MimeEntry{"ogg", "audio/ogg"},
    MimeEntry{"ogv", "video/ogg"},
    MimeEntry{"opus", "audio/opus"},
    MimeEntry{"otf", "font/otf"},
    MimeEntry{"pdf", "application/pdf"},
    MimeEntry{"png", "image/png"},
    MimeEntry{"rss", "application/rss+xml"},
    MimeEntry{"svg", "image/svg+xml"},
    MimeEntry{"tar", "application/x-tar"},
    MimeEntry{"tif", "image/tiff"},
    MimeEntry{"tiff", "image/tiff"},
    MimeEntry{"ttf", "font/ttf"},
    MimeEntry{"txt", "text/plain; charset=utf-8"},
    MimeEntry{"vtt", "text/vtt; charset=utf-8"},
    MimeEntry{"wasm", "application/wasm"},
    MimeEntry{"wav", "audio/wav"},
    MimeEntry{"weba", "audio/webm"},
    MimeEntry{"webm", "video/webm"},
    MimeEntry{"webmanifest", "application/manifest+json"},
    MimeEntry{"webp", "image/webp"},
    MimeEntry{"woff", "font/woff"},
    MimeEntry{"woff2", "font/woff2"},
    MimeEntry{"xml", "application/xml"},
    MimeEntry{"xz", "application/x-xz"},
    MimeEntry{"zip", "application/zip"},
};

constexpr bool mime_table_sorted() {
  for (std::size_t i = 1; i < kMimeTypes.size(); ++i) {
    if (!(kMimeTypes[i - 1].extension < kMimeTypes[i].extension)) return false;
  }
  return true;
}
static_assert(mime_table_sorted(), "kMimeTypes must stay sorted by extension for the binary search");

constexpr std::size_t kMaxExtension = 16;

// ---------------------------------------------------------------------------------------
// Cookies
// ---------------------------------------------------------------------------------------

// RFC 6265 4.1.1: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E — US-ASCII without
// controls, whitespace, DQUOTE, comma, semicolon and backslash.
constexpr bool is_cookie_octet(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != '"' && c != ',' && c != ';' && c != '\\';
}

constexpr bool is_ctl_or_non_ascii(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u >= 0x7F;
}

// "';' (0x3B)" or "byte 0xC3" for what a message should show.
std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string hex = {'0', 'x', kHex[u >> 4], kHex[u & 0xF]};
  if (u > 0x20 && u < 0x7F) return std::string("'") + c + "' (" + hex + ")";
  if (u == 0x20) return "space (0x20)";
  if (u < 0x20 || u == 0x7F) return "control character " + hex;
  return "non-ASCII byte " + hex;
}

[[noreturn]] void throw_bad_char(std::string_view what, std::string_view text, std::size_t at, std::string_view fix) {
  throw std::invalid_argument(std::string(what) + " \"" + std::string(text) + "\": " + describe_char(text[at]) +
                              " at offset " + std::to_string(at) + " is not allowed; " + std::string(fix));
}

void check_cookie_name(std::string_view name) {
  if (name.empty()) throw std::invalid_argument("cookie name is empty; a cookie needs a name");
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!is_tchar(name[i])) {
      throw_bad_char("cookie name", name, i,
                     "a cookie name must be an HTTP token (letters, digits and !#$%&'*+-.^_`|~)");
    }
  }
}

void check_cookie_value(std::string_view name, std::string_view value) {
  std::string_view inner = value;
  if (inner.size() >= 2 && inner.front() == '"' && inner.back() == '"') inner = inner.substr(1, inner.size() - 2);
  const auto offset = static_cast<std::size_t>(inner.data() - value.data());
  for (std::size_t i = 0; i < inner.size(); ++i) {
    if (!is_cookie_octet(inner[i])) {
      throw_bad_char("value of cookie " + std::string(name), value, offset + i,
                     "cookie values may hold only RFC 6265 cookie-octets (no spaces, '\"', ',', ';', '\\', "
                     "control or non-ASCII characters): encode the value, e.g. percent-encode or "
                     "base64url-encode it");
    }
  }
}

void check_cookie_path(std::string_view path) {
  if (path.front() != '/') {
    throw std::invalid_argument("cookie path \"" + std::string(path) +
                                "\" must start with '/' (browsers ignore other paths)");
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == ';' || is_ctl_or_non_ascii(path[i])) {
      throw_bad_char("cookie path", path, i, "percent-encode it");
    }
  }
}

void check_cookie_domain(std::string_view domain) {
  for (std::size_t i = 0; i < domain.size(); ++i) {
    char c = domain[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '.';
    if (!ok) {
      throw_bad_char("cookie domain", domain, i,
                     "a domain is letters, digits, '-' and '.' (write an internationalized name in its "
                     "punycode \"xn--\" form)");
    }
  }
}

std::string_view normalized_same_site(std::string_view same_site) {
  for (std::string_view v : {"Strict", "Lax", "None"}) {
    if (iequals(same_site, v)) return v;
  }
  throw std::invalid_argument("cookie SameSite \"" + std::string(same_site) +
                              "\" is not one of \"Strict\", \"Lax\" or \"None\"");
}

constexpr std::size_t kMaxCookieSize = 4096;

}  // namespace

// ---------------------------------------------------------------------------------------
// Static files
// ---------------------------------------------------------------------------------------

std::optional<std::string> canonical_root(std::string_view dir, std::string* why) {
  if (dir.empty() || dir.find('\0') != std::string_view::npos) {
    set_why(why, "not a directory path");
    return std::nullopt;
  }
  const std::string path(dir);
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) {
    set_why(why, path + ": " + std::strerror(errno));
    return std::nullopt;
  }
  std::string out(real);
  std::free(real);
  struct stat st {};
  if (::stat(out.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    set_why(why, path + ": not a directory");
    return std::nullopt;
  }
  return out;
}

int open_static_file(std::string_view canonical_root, std::string_view decoded_tail, struct stat& st,
                     std::string* why) {
  std::optional<Resolved> resolved = resolve(canonical_root, decoded_tail, why);
  if (!resolved) return -1;
  const int fd = resolved->fd.get();
  if (::fstat(fd, &st) != 0) {
    set_why(why, lookup_error(errno));
    return -1;
  }
  // The fstatat() before the open saw a regular file; this sees what was opened.
  if (!S_ISREG(st.st_mode)) {
    set_why(why, "not a regular file");
    return -1;
  }
  // O_NONBLOCK was only for the open; drop it so a caller's read() or sendfile() of the
  // file behaves as with any other fd.
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return resolved->fd.release();
}

std::optional<std::string> resolve_static_path(std::string_view canonical_root, std::string_view decoded_tail,
                                               std::string* why) {
  struct stat st {};
  std::optional<Resolved> resolved = resolve(canonical_root, decoded_tail, why);
  if (!resolved) return std::nullopt;
  if (::fstat(resolved->fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    set_why(why, "not a regular file");
    return std::nullopt;
  }
  std::string path(canonical_root);
  if (path != "/") path += '/';
  path += resolved->relative;
  return path;
}

// ---------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------

void format_http_date(std::time_t t, char out[kHttpDateLength]) noexcept {
  t = std::clamp(t, kMinHttpTime, kMaxHttpTime);
  struct tm tm {};
  if (!::gmtime_r(&t, &tm)) {  // not for a clamped time; be safe anyway
    std::memcpy(out, "Thu, 01 Jan 1970 00:00:00 GMT", kHttpDateLength);
    return;
  }
  const int year = tm.tm_year + 1900;
  std::memcpy(out, kDayNames[static_cast<std::size_t>(tm.tm_wday)].data(), 3);
  out[3] = ',';
  out[4] = ' ';
  write_2digits(out + 5, tm.tm_mday);
  out[7] = ' ';
  std::memcpy(out + 8, kMonthNames[static_cast<std::size_t>(tm.tm_mon)].data(), 3);
  out[11] = ' ';
  write_2digits(out + 12, year / 100);
  write_2digits(out + 14, year % 100);
  out[16] = ' ';
  write_2digits(out + 17, tm.tm_hour);
  out[19] = ':';
  write_2digits(out + 20, tm.tm_min);
  out[22] = ':';
  write_2digits(out + 23, tm.tm_sec);
  std::memcpy(out + 25, " GMT", 4);
}

std::string format_http_date(std::time_t t) {
  std::string out(kHttpDateLength, '\0');
  format_http_date(t, out.data());
  return out;
}

std::optional<std::time_t> parse_http_date(std::string_view value, std::time_t now) {
  value = trim_ows(value);
  if (value.size() < 4) return std::nullopt;
  DateScanner in(value);
  DateFields fields;
  bool ok = false;
  if (value[3] == ',') {
    ok = scan_imf_fixdate(in, fields);
  } else if (value[3] == ' ') {
    ok = scan_asctime(in, fields);
  } else {
    ok = scan_rfc850(in, fields, now);
  }
  if (!ok) return std::nullopt;
  return to_time(fields);
}

std::optional<std::time_t> parse_http_date(std::string_view value) {
  return parse_http_date(value, std::time(nullptr));
}

// ---------------------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------------------

RangeResult parse_range(std::string_view header_value, std::uint64_t file_size, std::vector<ByteRange>& out) {
  out.clear();
  const std::string_view value = trim_ows(header_value);
  if (value.empty()) return RangeResult::none;
  const std::size_t eq = value.find('=');
  if (eq == std::string_view::npos || !iequals(value.substr(0, eq), "bytes")) return RangeResult::ignore;

  std::size_t specs = 0;
  bool empty_suffix_of_empty_file = false;
  std::string_view rest = value.substr(eq + 1);
  auto invalid = [&out] {
    out.clear();
    return RangeResult::ignore;
  };
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view spec = trim_ows(rest.substr(0, comma));
    // The #rule lets a list carry empty elements ("bytes=0-1,,5-6"); they count for nothing.
    if (!spec.empty()) {
      if (++specs > kMaxRanges) return invalid();
      const std::size_t dash = spec.find('-');
      if (dash == std::string_view::npos) return invalid();
      if (dash == 0) {  // suffix-range: the last N bytes
        std::optional<std::uint64_t> length = parse_position(spec.substr(1));
        if (!length) return invalid();
        if (*length > 0 && file_size == 0) empty_suffix_of_empty_file = true;
        if (*length > 0 && file_size > 0) out.push_back({file_size - std::min(*length, file_size), file_size - 1});
      } else {
        std::optional<std::uint64_t> first = parse_position(spec.substr(0, dash));
        if (!first) return invalid();
        std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
        if (dash + 1 < spec.size()) {
          std::optional<std::uint64_t> parsed = parse_position(spec.substr(dash + 1));
          if (!parsed || *parsed < *first) return invalid();
          last = *parsed;
        }
        if (*first < file_size) out.push_back({*first, std::min(last, file_size - 1)});
      }
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (specs == 0) return RangeResult::ignore;
  if (out.empty()) return empty_suffix_of_empty_file ? RangeResult::ignore : RangeResult::unsatisfiable;
  if (overlaps_abusively(out)) return invalid();
  return RangeResult::satisfiable;
}

void coalesce(std::vector<ByteRange>& ranges) {
  if (ranges.size() < 2) return;
  std::sort(ranges.begin(), ranges.end(), [](const ByteRange& a, const ByteRange& b) { return a.first < b.first; });
  std::size_t kept = 0;
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    ByteRange& current = ranges[kept];
    // `last + 1` cannot overflow: a range's last is below the file size.
    if (ranges[i].first <= current.last + 1) {
      current.last = std::max(current.last, ranges[i].last);
    } else {
      ranges[++kept] = ranges[i];
    }
  }
  ranges.resize(kept + 1);
}

std::string content_range(ByteRange r, std::uint64_t size) {
  return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" + std::to_string(size);
}

std::string content_range_unsatisfiable(std::uint64_t size) { return "bytes */" + std::to_string(size); }

// ---------------------------------------------------------------------------------------
// Conditional requests
// ---------------------------------------------------------------------------------------

bool not_modified_since(std::string_view if_modified_since, std::time_t mtime) {
  std::optional<std::time_t> since = parse_http_date(if_modified_since);
  return since && mtime <= *since;
}

std::string make_etag(const struct stat& st, bool weak) {
  // Two's complement wrap for a pre-1970 mtime: still unique and stable.
  const auto mtime_ns =
      static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
  std::string tag = weak ? "W/\"" : "\"";
  tag += to_hex(mtime_ns);
  tag += '-';
  tag += to_hex(static_cast<std::uint64_t>(st.st_size));
  tag += '"';
  return tag;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  const std::string_view opaque = strip_weak(etag);
  std::string_view rest = if_none_match;
  while (true) {
    while (!rest.empty() && (is_ows(rest.front()) || rest.front() == ',')) rest.remove_prefix(1);
    if (rest.empty()) return false;
    if (rest.front() == '*') return true;
    rest = strip_weak(rest);
    if (rest.empty()) return false;
    if (rest.front() == '"') {
      // An entity tag may hold commas: find its closing quote, not the next comma.
      const std::size_t close = rest.find('"', 1);
      if (close == std::string_view::npos) return false;
      if (rest.substr(0, close + 1) == opaque) return true;
      rest.remove_prefix(close + 1);
    }
    // Whatever follows up to the next comma is malformed (or nothing): skip it.
    const std::size_t comma = rest.find(',');
    if (comma == std::string_view::npos) return false;
    rest.remove_prefix(comma);
  }
}

bool if_range_matches(std::string_view if_range, std::string_view etag, std::time_t mtime) {
  if_range = trim_ows(if_range);
  if (if_range.starts_with("W/")) return false;  // a weak tag never matches strongly
  if (if_range.starts_with('"')) return !etag.starts_with("W/") && if_range == etag;
  std::optional<std::time_t> date = parse_http_date(if_range);
  return date && *date == mtime;
}

// ---------------------------------------------------------------------------------------
// MIME
// ---------------------------------------------------------------------------------------

std::string_view mime_type_for(std::string_view path) noexcept {
  constexpr std::string_view kDefault = "application/octet-stream";
  const std::size_t slash = path.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == base.size()) return kDefault;
  const std::string_view ext = base.substr(dot + 1);
  if (ext.size() > kMaxExtension) return kDefault;
  std::array<char, kMaxExtension> lower;
  std::transform(ext.begin(), ext.end(), lower.begin(), ascii_lower);
  const std::string_view key(lower.data(), ext.size());
  auto it = std::lower_bound(kMimeTypes.begin(), kMimeTypes.end(), key,
                             [](const MimeEntry& e, std::string_view k) { return e.extension < k; });
  return it != kMimeTypes.end() && it->extension == key ? it->type : kDefault;
}

// ---------------------------------------------------------------------------------------
// Cookies
// ---------------------------------------------------------------------------------------

std::string format_set_cookie(std::string_view name, std::string_view value, const CookieOptions& options) {
  check_cookie_name(name);
  check_cookie_value(name, value);
  if (name.size() + value.size() > kMaxCookieSize) {
    throw std::invalid_argument("cookie " + std::string(name) + ": name and value are " +
                                std::to_string(name.size() + value.size()) +
                                " bytes; browsers drop cookies over 4096 bytes — keep the data on the server and "
                                "send a key");
  }
  if (!options.path.empty()) check_cookie_path(options.path);
  if (!options.domain.empty()) check_cookie_domain(options.domain);
  std::string_view same_site = options.same_site.empty() ? std::string_view() : normalized_same_site(options.same_site);
  if (same_site == "None" && !options.secure) {
    throw std::invalid_argument("cookie " + std::string(name) +
                                ": SameSite=None requires secure = true (browsers reject it otherwise)");
  }
  if (istarts_with(name, "__Secure-") && !options.secure) {
    throw std::invalid_argument("cookie " + std::string(name) + ": a __Secure- cookie requires secure = true");
  }
  if (istarts_with(name, "__Host-") && (!options.secure || options.path != "/" || !options.domain.empty())) {
    throw std::invalid_argument("cookie " + std::string(name) +
                                ": a __Host- cookie requires secure = true, path \"/\" and no domain");
  }

  std::string out;
  out.reserve(name.size() + value.size() + 128);
  out.append(name).append("=").append(value);
  if (!options.domain.empty()) out.append("; Domain=").append(options.domain);
  if (!options.path.empty()) out.append("; Path=").append(options.path);
  if (options.expires) out.append("; Expires=").append(format_http_date(*options.expires));
  if (options.max_age) out.append("; Max-Age=").append(std::to_string(*options.max_age));
  if (options.secure) out.append("; Secure");
  if (options.http_only) out.append("; HttpOnly");
  if (!same_site.empty()) out.append("; SameSite=").append(same_site);
  return out;
}

void parse_cookie_header(std::string_view cookie_header,
                         std::vector<std::pair<std::string_view, std::string_view>>& out) {
  std::string_view rest = cookie_header;
  while (!rest.empty()) {
    const std::size_t semi = rest.find(';');
    const std::string_view pair = rest.substr(0, semi);
    rest.remove_prefix(semi == std::string_view::npos ? rest.size() : semi + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = trim_ows(pair.substr(0, eq));
    std::string_view value = trim_ows(pair.substr(eq + 1));
    if (name.empty()) continue;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    out.emplace_back(name, value);
  }
}

}  // namespace aio::http::detail
