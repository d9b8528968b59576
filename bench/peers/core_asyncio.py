#!/usr/bin/python3
"""Core-runtime benchmark peer: CPython asyncio (or uvloop).

Usage: core_asyncio.py --loop asyncio|uvloop BENCH N

Prints exactly one number on stdout (see bench/run_core.py for the protocol):
  task    ns per create-task + await
  sleep0  ns per `await asyncio.sleep(0)` (two tasks yielding concurrently)
  gather  median ns per task of asyncio.gather over N coroutines (5 reps)
  memory  RSS bytes per suspended task
  queue   ns per item through an unbounded asyncio.Queue, producer yielding
          after each put (the consumer waits in get() for every item)
  queue_bounded  ns per item through asyncio.Queue(maxsize=1)
  lock    ns per uncontended `async with lock`
  lock_contended  ns per hand-off of an asyncio.Lock between two tasks
  to_thread  ns per `await asyncio.to_thread(f)` round trip, f trivial
  spawn   µs per `await asyncio.create_subprocess_exec('/bin/true')` + `await p.wait()`
"""

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time

# perf_counter_ns is CLOCK_MONOTONIC on Linux, with ns resolution.
now_ns = time.perf_counter_ns


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


async def trivial() -> int:
    return 1


async def bench_task(n: int) -> float:
    create_task = asyncio.get_running_loop().create_task
    for _ in range(min(n // 10, 10000)):
        await create_task(trivial())
    t0 = now_ns()
    for _ in range(n):
        await create_task(trivial())
    return (now_ns() - t0) / n


async def bench_sleep0(n: int) -> float:
    async def yielder() -> None:
        sleep = asyncio.sleep
        for _ in range(n):
            await sleep(0)

    t0 = now_ns()
    await asyncio.gather(yielder(), yielder())
    return (now_ns() - t0) / (2 * n)


async def bench_gather(n: int) -> float:
    samples = []
    for _ in range(5):
        t0 = now_ns()
        results = await asyncio.gather(*[trivial() for _ in range(n)])
        samples.append((now_ns() - t0) / n)
        assert len(results) == n
    return statistics.median(samples)


async def bench_memory(n: int) -> float:
    release = asyncio.Event()
    started = 0

    async def waiter() -> None:
        nonlocal started
        started += 1
        await release.wait()

    create_task = asyncio.get_running_loop().create_task
    gc.collect()
    before = rss_bytes()
    # The list costs 8 bytes/task; it is kept so the tasks are certainly
    # alive (the loop only holds weak references to pending tasks).
    tasks = [create_task(waiter()) for _ in range(n)]
    while started < n:
        await asyncio.sleep(0)
    gc.collect()
    after = rss_bytes()

    release.set()
    await asyncio.gather(*tasks)
    return (after - before) / n


async def queue_consumer(q: asyncio.Queue, n: int) -> None:
    get = q.get
    for _ in range(n):
        await get()


async def bench_queue(n: int) -> float:
    q = asyncio.Queue()

    async def producer() -> None:
        put, sleep = q.put, asyncio.sleep
        for i in range(n):
            await put(i)
            await sleep(0)

    t0 = now_ns()
    await asyncio.gather(queue_consumer(q, n), producer())
    return (now_ns() - t0) / n


async def bench_queue_bounded(n: int) -> float:
    q = asyncio.Queue(1)

    async def producer() -> None:
        put = q.put
        for i in range(n):
            await put(i)

    t0 = now_ns()
    await asyncio.gather(queue_consumer(q, n), producer())
    return (now_ns() - t0) / n


async def bench_lock(n: int) -> float:
    lock = asyncio.Lock()
    t0 = now_ns()
    for _ in range(n):
        async with lock:
            pass
    return (now_ns() - t0) / n


async def bench_lock_contended(n: int) -> float:
    lock = asyncio.Lock()

    async def looper() -> None:
        for i in range(n):
            async with lock:
                if i == 0:
                    await asyncio.sleep(0)  # once, holding it: the other task queues

    t0 = now_ns()
    await asyncio.gather(looper(), looper())
    return (now_ns() - t0) / (2 * n)


def trivial_job() -> int:
    return 1


async def bench_to_thread(n: int) -> float:
    to_thread = asyncio.to_thread
    for _ in range(min(n // 10, 1000)):
        await to_thread(trivial_job)
    t0 = now_ns()
    for _ in range(n):
        await to_thread(trivial_job)
    return (now_ns() - t0) / n


async def spawn_true_and_wait() -> int:
    p = await asyncio.create_subprocess_exec("/bin/true")
    return await p.wait()


async def bench_spawn(n: int) -> float:
    for _ in range(min(n // 10, 20)):
        await spawn_true_and_wait()
    t0 = now_ns()
    for _ in range(n):
        await spawn_true_and_wait()
    return (now_ns() - t0) / 1000 / n


BENCHES = {
    "task": bench_task,
    "sleep0": bench_sleep0,
    "gather": bench_gather,
    "memory": bench_memory,
    "queue": bench_queue,
    "queue_bounded": bench_queue_bounded,
    "lock": bench_lock,
    "lock_contended": bench_lock_contended,
    "to_thread": bench_to_thread,
    "spawn": bench_spawn,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    ap.add_argument("bench", choices=sorted(BENCHES))
    ap.add_argument("n", type=int)
    args = ap.parse_args()
    if args.n <= 0:
        ap.error("N must be positive")

    loop_factory = None
    if args.loop == "uvloop":
        import uvloop  # fails loudly if not installed; the runner checks first
        loop_factory = uvloop.new_event_loop

    coro = BENCHES[args.bench](args.n)
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            value = runner.run(coro)
    else:
        if loop_factory is not None:
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        value = asyncio.run(coro)
    print(f"{value:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
