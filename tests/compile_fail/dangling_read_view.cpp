// Must not compile: a view of a ReadView that dies at the end of the expression.
// expect: deleted
#include <aio/aio.hpp>

#include <string_view>

aio::Coro<void> mistake(aio::StreamReader& reader) {
  std::string_view bytes = (co_await reader.read_view(16)).bytes();
  (void)bytes;
}
