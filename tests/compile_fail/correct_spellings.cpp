// The control case: the right spellings of everything the other files get wrong compile
// cleanly (so a failure there is the mistake's, not the harness's).
// expect: success
#include <aio/aio.hpp>

#include <string_view>
#include <vector>

aio::Coro<void> child() { co_return; }

aio::Coro<void> correct() {
  co_await aio::sleep(0);
  aio::Lock lock;
  { auto guard = co_await lock.lock(); }
  co_await lock.acquire();
  lock.release();
  aio::Semaphore sem;
  co_await sem.acquire();
  sem.release();
  aio::Queue<int> q;
  co_await q.put(1);
  int item = co_await q.get();
  (void)item;
  aio::Event ev;
  ev.set();
  co_await ev.wait();
  co_await child();
  auto t = aio::create_task(child());  // fire and forget is allowed: the loop keeps it alive
  aio::create_task(child());
  co_await aio::gather(t, t);
  co_await aio::wait_for(child(), 1.0);
  aio::Future<int> fut;
  fut.set_result(1);
  int v = co_await fut;
  (void)v;
}

aio::Coro<void> correct_reads(aio::StreamReader& reader) {
  aio::ReadView view = co_await reader.read_view(16);  // named: its bytes live as long as it
  std::string_view bytes = view.bytes();
  (void)bytes;
}
