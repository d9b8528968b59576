#include "aio/errors.hpp"

#include <cxxabi.h>

#include <string>
#include <system_error>
#include <typeinfo>

namespace aio {

IncompleteReadError::IncompleteReadError(std::string partial, std::size_t expected)
    : Error(std::to_string(partial.size()) + " bytes read on a total of " +
            (expected == 0 ? std::string("undefined") : std::to_string(expected)) + " expected bytes"),
      partial_(std::move(partial)),
      expected_(expected) {}

namespace {
std::string group_message(const std::string& message, std::size_t n) {
  return message + " (" + std::to_string(n) + (n == 1 ? " sub-exception)" : " sub-exceptions)");
}
}  // namespace

ExceptionGroup::ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions)
    : Error(group_message(message, exceptions.size())), exceptions_(std::move(exceptions)) {}

namespace {
std::string demangled(const std::type_info& t) {
  int status = 0;
  char* name = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && name ? name : t.name();
  std::free(name);
  return out;
}
}  // namespace

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
