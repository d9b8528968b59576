// The router's tables: plain paths in a hash map (one lookup, no allocation), patterns
// bucketed by their first path segment and tried in the order they were added.
#pragma once

#include <cstddef>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aio/http/application.hpp"

namespace aio::http::detail {

struct Route {
  std::string method;  // "*" for any
  Handler handler;
};

/// One path (plain or pattern) and the handlers of its methods.
struct Resource {
  enum class Kind : unsigned char { plain, segments, regex, static_files };
  /// A pattern segment: literal text, a variable matching one segment, or the tail.
  struct Segment {
    enum class Kind : unsigned char { literal, variable, tail } kind;
    std::string text;  // literal text, or the variable's name
  };

  Kind kind = Kind::plain;
  std::string path;                                      // as given to add_route
  std::vector<Segment> segments;                         // Kind::segments
  std::optional<std::regex> regex;                       // Kind::regex: the whole path
  std::vector<std::pair<std::string, int>> regex_names;  // variable → capture group
  std::string static_root;                               // Kind::static_files: the canonical directory
  std::vector<Route> routes;
  std::size_t order = 0;  // when it was added

  const Handler* handler_for(std::string_view method) const noexcept;
  /// "GET, HEAD, POST" for a 405's Allow header.
  void append_allowed(std::string& allow) const;
};

/// What resolve() found.
struct Resolution {
  const Handler* handler = nullptr;  // null: 404 or 405
  bool path_known = false;           // a resource matched the path (405 when no handler)
  std::string allow;                 // 405: the methods the path takes
};

/// Heterogeneous lookup: find(std::string_view) without building a std::string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

class RouteTable {
 public:
  void add(std::string method, std::string path, Handler handler);
  void add_static(std::string prefix, std::string directory);
  /// Finds the handler for a method and decoded path; fills `match_info` for patterns.
  /// After a server started: adding routes would move those requests are using.
  void freeze() noexcept { frozen_ = true; }
  Resolution resolve(std::string_view method, std::string_view path,
                     std::vector<std::pair<std::string_view, std::string>>& match_info) const;

 private:
  Resource& resource_for(const std::string& path);
  bool match(const Resource& r, std::string_view path,
             std::vector<std::pair<std::string_view, std::string>>& match_info) const;

  std::unordered_map<std::string, Resource, StringHash, std::equal_to<>> plain_;
  std::vector<Resource> patterns_;
  // First literal segment → indexes into patterns_ (ascending); "" holds the patterns
  // whose first segment is not literal (tried for every path).
  std::unordered_map<std::string, std::vector<std::size_t>, StringHash, std::equal_to<>> buckets_;
  std::size_t added_ = 0;
  bool frozen_ = false;
  void check_not_frozen(const std::string& what) const;
};

}  // namespace aio::http::detail
