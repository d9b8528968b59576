#include "aio/errors.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <typeinfo>
#include <utility>
#include <vector>

namespace aio {

IncompleteReadError::IncompleteReadError(std::string partial, std::size_t expected)
    : Error(std::to_string(partial.size()) + " bytes read on a total of " +
            (expected == 0 ? std::string("undefined") : std::to_string(expected)) + " expected bytes"),
      partial_(std::move(partial)),
      expected_(expected) {}

namespace {

std::string demangled(const std::type_info& t) {
  int status = 0;
  char* name = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && name ? name : t.name();
  std::free(name);
  return out;
}

const std::vector<std::exception_ptr>& checked(const std::vector<std::exception_ptr>& exceptions) {
  if (exceptions.empty())
    throw std::invalid_argument("aio::ExceptionGroup needs at least one exception (it was given none)");
  for (std::size_t i = 0; i < exceptions.size(); ++i) {
    if (exceptions[i]) continue;
    std::string what = "aio::ExceptionGroup: exception ";
    what += std::to_string(i);
    what += " is a null exception_ptr; pass the exceptions themselves";
    throw std::invalid_argument(what);
  }
  return exceptions;
}

// Python's str(eg), then a numbered item per exception; the lines a nested group (or a
// multi-line message) brings along are aligned under its item's text.
std::string group_what(const std::string& message, const std::vector<std::exception_ptr>& exceptions) {
  const std::size_t n = exceptions.size();
  std::string out = message;
  out += " (";
  out += std::to_string(n);
  out += n == 1 ? " sub-exception)" : " sub-exceptions)";
  for (std::size_t i = 0; i < n; ++i) {
    std::string bullet = "  ";
    bullet += std::to_string(i + 1);
    bullet += ". ";
    const std::string indent(bullet.size(), ' ');
    out += '\n';
    out += bullet;
    for (char c : describe(exceptions[i])) {
      out += c;
      if (c == '\n') out += indent;
    }
  }
  return out;
}

}  // namespace

ExceptionGroup::ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions)
    : Error(group_what(message, checked(exceptions))),
      message_(std::move(message)),
      exceptions_(std::move(exceptions)) {}

namespace {

struct SplitParts {
  std::vector<std::exception_ptr> match;
  std::vector<std::exception_ptr> rest;
};

// Python's _split_recursive over a group's exceptions (the group itself did not match): a
// match goes in whole; a nested group that does not match is split in turn, and each
// non-empty part is rebuilt around the nested group's message.
template <class Condition>
void split_exceptions(const std::vector<std::exception_ptr>& exceptions, const Condition& condition, bool want_rest,
                      SplitParts& out) {
  for (const std::exception_ptr& e : exceptions) {
    if (condition.test(e, condition.context)) {
      out.match.push_back(e);
      continue;
    }
    try {
      std::rethrow_exception(e);
    } catch (const ExceptionGroup& nested) {
      SplitParts parts;
      split_exceptions(nested.exceptions(), condition, want_rest, parts);
      if (!parts.match.empty())
        out.match.push_back(std::make_exception_ptr(ExceptionGroup(nested.message(), std::move(parts.match))));
      if (!parts.rest.empty())
        out.rest.push_back(std::make_exception_ptr(ExceptionGroup(nested.message(), std::move(parts.rest))));
      continue;
    } catch (...) {
    }
    if (want_rest) out.rest.push_back(e);
  }
}

template <class Condition>
bool any_matches(const std::vector<std::exception_ptr>& exceptions, const Condition& condition) {
  for (const std::exception_ptr& e : exceptions) {
    if (condition.test(e, condition.context)) return true;
    try {
      std::rethrow_exception(e);
    } catch (const ExceptionGroup& nested) {
      if (any_matches(nested.exceptions(), condition)) return true;
    } catch (...) {
    }
  }
  return false;
}

}  // namespace

std::pair<std::optional<ExceptionGroup>, std::optional<ExceptionGroup>> ExceptionGroup::split_by(
    bool whole_group_matches, Condition condition, bool want_rest) const {
  if (whole_group_matches) return {*this, std::nullopt};
  SplitParts parts;
  split_exceptions(exceptions_, condition, want_rest, parts);
  std::pair<std::optional<ExceptionGroup>, std::optional<ExceptionGroup>> out;
  if (!parts.match.empty()) out.first.emplace(message_, std::move(parts.match));
  if (!parts.rest.empty()) out.second.emplace(message_, std::move(parts.rest));
  return out;
}

bool ExceptionGroup::contains_by(bool whole_group_matches, Condition condition) const {
  return whole_group_matches || any_matches(exceptions_, condition);
}

std::string describe(const std::exception_ptr& e) {
  if (!e) return "no exception";
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError& c) {
    return c.message().empty() ? "aio::CancelledError" : "aio::CancelledError: " + c.message();
  } catch (const std::exception& x) {
    return demangled(typeid(x)) + ": " + x.what();
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    return t ? demangled(*t) : std::string("unknown exception");
  }
}

}  // namespace aio
