// Router and RouteTable: path patterns compiled once, resolved per request.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "aio/errors.hpp"
#include "aio/http/application.hpp"
#include "aio/http/errors.hpp"
#include "aio/http/response.hpp"
#include "http/file_helpers.hpp"
#include "http/route_table.hpp"

namespace aio::http {
namespace detail {
namespace {

bool is_token_method(std::string_view m) {
  if (m.empty()) return false;
  return std::all_of(m.begin(), m.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

std::string_view first_segment(std::string_view path) {
  path.remove_prefix(1);  // the leading '/'
  return path.substr(0, path.find('/'));
}

std::string regex_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Capturing groups a user's expression opens ("(a)(?:b)" has one).
int count_groups(std::string_view re) {
  int n = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\') {
      ++i;
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
    } else if (c == '(' && !(i + 1 < re.size() && re[i + 1] == '?')) {
      ++n;
    }
  }
  return n;
}

// A static route's handler (a plain function: its arguments live in the coroutine frame).
Coro<Response> serve_static(std::string root, std::size_t prefix_size, Request& request) {
  std::string_view tail = std::string_view(request.path()).substr(prefix_size);
  if (!tail.empty() && tail.front() == '/') tail.remove_prefix(1);  // "/static" + "/a.css"
  struct stat st {};
  const int fd = open_static_file(root, tail, st);  // every component checked, no symlink out
  if (fd < 0) throw HttpError(404);
  co_return file_response_from_fd(fd, std::string(tail));
}

[[noreturn]] void bad_path(const std::string& path, const std::string& why) {
  throw std::invalid_argument("aio::http::Router: bad path \"" + path + "\": " + why);
}

// Compiles a pattern path ("/users/{id}", "/f/{tail:.*}", "/x/{n:\\d+}.json") into r.
void compile_pattern(Resource& r) {
  const std::string& path = r.path;
  std::vector<std::string> names;
  std::string regex = "^";
  bool simple = true;  // only whole-segment {name} variables, literal segments, a final tail
  std::vector<Resource::Segment> segments;
  int group = 0;
  std::size_t i = 0;
  while (i < path.size()) {
    // One segment: from the '/' at i to the next '/' outside braces.
    if (path[i] != '/') bad_path(path, "expected '/'");
    regex.push_back('/');
    ++i;
    std::string literal;
    int vars_in_segment = 0;
    bool segment_is_single_var = false;
    std::size_t seg_start = i;
    while (i < path.size() && path[i] != '/') {
      if (path[i] == '}') bad_path(path, "'}' without '{'");
      if (path[i] != '{') {
        literal.push_back(path[i]);
        regex += regex_escape(std::string_view(&path[i], 1));
        ++i;
        continue;
      }
      // A variable: {name} or {name:regex} (the regex may hold braces, balanced).
      int depth = 0;
      std::size_t j = i;
      for (; j < path.size(); ++j) {
        if (path[j] == '\\') {
          ++j;
          continue;
        }
        if (path[j] == '{') ++depth;
        if (path[j] == '}' && --depth == 0) break;
      }
      if (j >= path.size()) bad_path(path, "'{' without '}'");
      const std::string body = path.substr(i + 1, j - i - 1);
      const std::size_t colon = body.find(':');
      const std::string name = body.substr(0, colon);
      if (name.empty() ||
          !std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; }))
        bad_path(path, "variable name \"" + name + "\" must be letters, digits and '_'");
      if (std::find(names.begin(), names.end(), name) != names.end()) bad_path(path, "variable \"" + name + "\" twice");
      names.push_back(name);
      const std::string expr = colon == std::string::npos ? "[^{}/]+" : body.substr(colon + 1);
      if (expr.empty()) bad_path(path, "empty regular expression for \"" + name + "\"");
      regex += "(" + expr + ")";
      r.regex_names.emplace_back(name, ++group);
      group += count_groups(expr);
      ++vars_in_segment;
      const bool whole_segment = seg_start == i && (j + 1 == path.size() || path[j + 1] == '/');
      if (colon == std::string::npos && whole_segment) {
        segment_is_single_var = true;
        segments.push_back({Resource::Segment::Kind::variable, name});
      } else if (expr == ".*" && whole_segment && j + 1 == path.size()) {
        segment_is_single_var = true;
        segments.push_back({Resource::Segment::Kind::tail, name});
      } else {
        simple = false;
      }
      i = j + 1;
    }
    if (vars_in_segment == 0)
      segments.push_back({Resource::Segment::Kind::literal, literal});
    else if (vars_in_segment > 1 || !segment_is_single_var)
      simple = false;
  }
  if (simple) {
    r.kind = Resource::Kind::segments;
    r.segments = std::move(segments);
    r.regex_names.clear();
    return;
  }
  r.kind = Resource::Kind::regex;
  regex.push_back('$');
  try {
    r.regex.emplace(regex, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    bad_path(path, std::string("bad regular expression: ") + e.what());
  }
}

}  // namespace

const Handler* Resource::handler_for(std::string_view method) const noexcept {
  const Handler* any = nullptr;
  const Handler* get = nullptr;
  for (const Route& route : routes) {
    if (route.method == method) return &route.handler;
    if (route.method == "*") any = &route.handler;
    if (route.method == "GET") get = &route.handler;
  }
  if (any) return any;
  return method == "HEAD" ? get : nullptr;  // a GET route answers HEAD
}

void Resource::append_allowed(std::string& allow) const {
  auto add = [&](std::string_view m) {
    // Keep the list free of repeats across resources.
    std::size_t pos = 0;
    while ((pos = allow.find(m, pos)) != std::string::npos) {
      const bool starts = pos == 0 || allow[pos - 1] == ' ';
      const bool ends = pos + m.size() == allow.size() || allow[pos + m.size()] == ',';
      if (starts && ends) return;
      pos += m.size();
    }
    if (!allow.empty()) allow.append(", ");
    allow.append(m);
  };
  for (const Route& route : routes) {
    add(route.method);
    if (route.method == "GET") add("HEAD");
  }
}

Resource& RouteTable::resource_for(const std::string& path) {
  if (path.empty() || path[0] != '/') bad_path(path, "it must start with '/'");
  if (path.find('{') == std::string::npos) {
    if (path.find('}') != std::string::npos) bad_path(path, "'}' without '{'");
    auto [it, inserted] = plain_.try_emplace(path);
    if (inserted) {
      it->second.path = path;
      it->second.order = added_++;
    }
    return it->second;
  }
  for (Resource& r : patterns_)
    if (r.kind != Resource::Kind::static_files && r.path == path) return r;
  Resource r;
  r.path = path;
  r.order = added_++;
  compile_pattern(r);
  const std::string_view first = first_segment(path);
  const bool literal_first = first.find('{') == std::string_view::npos;
  buckets_[literal_first ? std::string(first) : std::string()].push_back(patterns_.size());
  patterns_.push_back(std::move(r));
  return patterns_.back();
}

void RouteTable::check_not_frozen(const std::string& what) const {
  if (frozen_)
    throw UsageError("aio::http::Router: cannot add " + what +
                     " after a server started with this application (add every route first)");
}

void RouteTable::add(std::string method, std::string path, Handler handler) {
  check_not_frozen(method + " " + path);
  if (!handler) throw std::invalid_argument("aio::http::Router: the handler for " + method + " " + path + " is empty");
  if (method != "*" && !is_token_method(method))
    throw std::invalid_argument("aio::http::Router: \"" + method + "\" is not an HTTP method");
  Resource& r = resource_for(path);
  for (const Route& route : r.routes)
    if (route.method == method)
      throw std::invalid_argument("aio::http::Router: " + method + " " + path + " has a route already");
  r.routes.push_back({std::move(method), std::move(handler)});
}

void RouteTable::add_static(std::string prefix, std::string directory) {
  check_not_frozen("static route " + prefix);
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (prefix.empty() || prefix[0] != '/') bad_path(prefix, "a static prefix must start with '/'");
  if (prefix.find_first_of("{}") != std::string::npos) bad_path(prefix, "a static prefix cannot have variables");
  std::optional<std::string> root = canonical_root(directory);
  if (!root) throw std::invalid_argument("aio::http::Router::add_static: \"" + directory + "\" is not a directory");
  Resource r;
  r.kind = Resource::Kind::static_files;
  r.path = prefix;
  r.static_root = *root;
  r.order = added_++;
  const std::string root_copy = *root;
  const std::size_t prefix_size = prefix == "/" ? 0 : prefix.size();
  r.routes.push_back(
      {"GET", [root_copy, prefix_size](Request& request) { return serve_static(root_copy, prefix_size, request); }});
  buckets_[std::string(first_segment(prefix))].push_back(patterns_.size());
  patterns_.push_back(std::move(r));
}

bool RouteTable::match(const Resource& r, std::string_view path,
                       std::vector<std::pair<std::string_view, std::string>>& match_info) const {
  switch (r.kind) {
    case Resource::Kind::plain:
      return path == r.path;
    case Resource::Kind::static_files:
      return r.path == "/" || path == r.path ||
             (path.size() > r.path.size() && path.substr(0, r.path.size()) == r.path && path[r.path.size()] == '/');
    case Resource::Kind::segments: {
      const std::size_t first_var = match_info.size();
      std::size_t pos = 0;  // at a '/'
      for (const Resource::Segment& s : r.segments) {
        if (pos >= path.size() || path[pos] != '/') return match_info.resize(first_var), false;
        ++pos;
        if (s.kind == Resource::Segment::Kind::tail) {
          match_info.emplace_back(s.text, std::string(path.substr(pos)));
          return true;
        }
        const std::size_t end = std::min(path.find('/', pos), path.size());
        const std::string_view segment = path.substr(pos, end - pos);
        if (s.kind == Resource::Segment::Kind::literal) {
          if (segment != s.text) return match_info.resize(first_var), false;
        } else {
          if (segment.empty()) return match_info.resize(first_var), false;
          match_info.emplace_back(s.text, std::string(segment));
        }
        pos = end;
      }
      if (pos != path.size()) return match_info.resize(first_var), false;
      return true;
    }
    case Resource::Kind::regex: {
      std::match_results<std::string_view::const_iterator> m;
      if (!std::regex_match(path.begin(), path.end(), m, *r.regex)) return false;
      for (const auto& [name, group] : r.regex_names) match_info.emplace_back(name, m[group].str());
      return true;
    }
  }
  return false;
}

Resolution RouteTable::resolve(std::string_view method, std::string_view path,
                               std::vector<std::pair<std::string_view, std::string>>& match_info) const {
  Resolution out;
  if (auto it = plain_.find(path); it != plain_.end()) {
    out.path_known = true;
    if ((out.handler = it->second.handler_for(method))) return out;
    it->second.append_allowed(out.allow);
  }
  if (patterns_.empty() || path.empty() || path[0] != '/') return out;
  static const std::vector<std::size_t> none;
  auto bucket = [&](std::string_view key) -> const std::vector<std::size_t>& {
    auto it = buckets_.find(key);
    return it == buckets_.end() ? none : it->second;
  };
  const std::vector<std::size_t>& literal = bucket(first_segment(path));
  const std::vector<std::size_t>& wild = bucket("");
  // Both lists ascend: walk them merged, so patterns are tried in the order they were added.
  std::size_t a = 0, b = 0;
  while (a < literal.size() || b < wild.size()) {
    const std::size_t index =
        b >= wild.size() || (a < literal.size() && literal[a] < wild[b]) ? literal[a++] : wild[b++];
    const Resource& r = patterns_[index];
    const std::size_t before = match_info.size();
    if (!match(r, path, match_info)) continue;
    out.path_known = true;
    if ((out.handler = r.handler_for(method))) return out;
    match_info.resize(before);
    r.append_allowed(out.allow);
  }
  return out;
}

}  // namespace detail

// --- Router ---------------------------------------------------------------------------

Router::Router() : table_(std::make_unique<detail::RouteTable>()) {}
Router::~Router() = default;

void Router::add_get(std::string path, Handler handler) { add_route("GET", std::move(path), std::move(handler)); }
void Router::add_post(std::string path, Handler handler) { add_route("POST", std::move(path), std::move(handler)); }
void Router::add_put(std::string path, Handler handler) { add_route("PUT", std::move(path), std::move(handler)); }
void Router::add_patch(std::string path, Handler handler) { add_route("PATCH", std::move(path), std::move(handler)); }
void Router::add_delete(std::string path, Handler handler) { add_route("DELETE", std::move(path), std::move(handler)); }
void Router::add_head(std::string path, Handler handler) { add_route("HEAD", std::move(path), std::move(handler)); }
void Router::add_route(std::string method, std::string path, Handler handler) {
  table_->add(std::move(method), std::move(path), std::move(handler));
}
void Router::add_static(std::string prefix, std::string directory) {
  table_->add_static(std::move(prefix), std::move(directory));
}

RouteDef get(std::string path, Handler handler) { return {"GET", std::move(path), std::move(handler)}; }
RouteDef post(std::string path, Handler handler) { return {"POST", std::move(path), std::move(handler)}; }
RouteDef put(std::string path, Handler handler) { return {"PUT", std::move(path), std::move(handler)}; }
RouteDef patch(std::string path, Handler handler) { return {"PATCH", std::move(path), std::move(handler)}; }
RouteDef delete_(std::string path, Handler handler) { return {"DELETE", std::move(path), std::move(handler)}; }
RouteDef head(std::string path, Handler handler) { return {"HEAD", std::move(path), std::move(handler)}; }
RouteDef route(std::string method, std::string path, Handler handler) {
  return {std::move(method), std::move(path), std::move(handler)};
}

}  // namespace aio::http
