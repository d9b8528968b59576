#!/usr/bin/python3
"""The asyncio side of the differential tests (tests/test_differential.cpp).

Each scenario logs what happens, one event per line; the same scenario written with aio
must log the same lines in the same order. `python3 scenarios.py NAME` prints one
scenario's log; `--list` prints the names.

Rules that keep a scenario deterministic in both runtimes: order events with events
(futures, sleep(0), queues), never with wall-clock races; where timers are involved,
their deadlines differ by a wide margin, and the scenario never depends on two timers
becoming due in the same loop iteration.

A `ticker` task logs "tick N" once per loop iteration (it awaits sleep(0) between
lines), which puts every other event on a time axis: it shows how many iterations a
reaction takes, not only its order.
"""
import asyncio
import sys
import time

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def log(*parts):
    print(" ".join(str(p) for p in parts))


async def ticker(n):
    for i in range(n):
        log("tick", i)
        await asyncio.sleep(0)


async def named_after(name, hops):
    for _ in range(hops):
        await asyncio.sleep(0)
    log(name, "done")
    return name


async def fail_after(hops, message):
    for _ in range(hops):
        await asyncio.sleep(0)
    log("fail raises")
    raise Boom(message)


async def tick_past_a_deadline(task, ticks):
    """Lets `task` register its timer, then blocks the loop past it: the timer is due in
    the next iteration, beside the ticker's step, so the order of the wake-up is fixed."""
    await asyncio.sleep(0)
    tick = asyncio.create_task(ticker(ticks))
    time.sleep(0.05)
    await task
    await tick


def describe(exc):
    if isinstance(exc, asyncio.CancelledError):
        return "CancelledError"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "TimeoutError"
    return f"{type(exc).__name__}({exc})"


class Boom(Exception):
    pass


# --- futures: awaiters and done callbacks share one registration order -------------------

@scenario
async def awaiters_and_callbacks():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    async def waiter(name):
        v = await fut
        log(name, "woke", v)

    a = asyncio.create_task(waiter("A"))
    await asyncio.sleep(0)  # A now waits on fut
    fut.add_done_callback(lambda f: log("cb1", f.result()))
    b = asyncio.create_task(waiter("B"))
    await asyncio.sleep(0)  # B too
    fut.add_done_callback(lambda f: log("cb2", f.result()))
    loop.call_soon(lambda: log("soon before"))
    fut.set_result(7)
    loop.call_soon(lambda: log("soon after"))
    log("set")
    await a
    await b
    log("end")


@scenario
async def callback_on_done_future():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    fut.set_result(1)
    loop.call_soon(lambda: log("soon 1"))
    fut.add_done_callback(lambda f: log("cb", f.result()))
    loop.call_soon(lambda: log("soon 2"))
    await asyncio.sleep(0)
    log("after sleep0")
    await asyncio.sleep(0)
    log("end")


@scenario
async def task_awaiting_task():
    async def child():
        log("child runs")
        await asyncio.sleep(0)
        log("child returns")
        return 5

    async def watcher(name, t):
        log(name, "got", await t)

    tick = asyncio.create_task(ticker(6))
    t = asyncio.create_task(child())
    w1 = asyncio.create_task(watcher("w1", t))
    t.add_done_callback(lambda f: log("cb", f.result()))
    w2 = asyncio.create_task(watcher("w2", t))
    await w1
    await w2
    await tick
    log("end")


# --- TaskGroup ----------------------------------------------------------------------------

@scenario
async def taskgroup_two_failures_same_iteration():
    async def fail(name):
        await asyncio.sleep(0)
        log(name, "raises")
        raise Boom(name)

    async def slow():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log("slow cancelled")
            raise

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(fail("a"))
            tg.create_task(fail("b"))
            tg.create_task(slow())
            log("body done")
    except* Boom as eg:
        log("caught", len(eg.exceptions), ",".join(sorted(str(e) for e in eg.exceptions)))
    log("end")


@scenario
async def taskgroup_failure_cancels_body_and_siblings():
    async def fail():
        await asyncio.sleep(0)
        log("fail raises")
        raise Boom("x")

    async def sibling():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log("sibling cancelled")
            raise

    tick = asyncio.create_task(ticker(6))
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(fail())
            tg.create_task(sibling())
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                log("body cancelled")
                raise
    except* Boom as eg:
        log("caught", len(eg.exceptions))
    await tick
    log("end")


@scenario
async def taskgroup_children_finish_order():
    async def child(name, hops):
        for _ in range(hops):
            await asyncio.sleep(0)
        log(name, "done")

    tick = asyncio.create_task(ticker(6))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(child("c2", 2))
        tg.create_task(child("c0", 0))
        tg.create_task(child("c1", 1))
        log("body done")
    log("group done")
    await tick


# --- gather -------------------------------------------------------------------------------

@scenario
async def gather_versus_direct_await():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    async def child():
        return await fut

    t = asyncio.create_task(child())

    async def via_gather():
        r = await asyncio.gather(t)
        log("via gather", r[0])

    async def direct():
        log("direct", await t)

    g = asyncio.create_task(via_gather())
    d = asyncio.create_task(direct())
    tick = asyncio.create_task(ticker(6))
    await asyncio.sleep(0)
    fut.set_result(3)
    log("set")
    await g
    await d
    await tick
    log("end")


@scenario
async def gather_of_finished_tasks():
    async def value(v):
        return v

    a = asyncio.create_task(value(1))
    b = asyncio.create_task(value(2))
    await asyncio.sleep(0)
    log("children done", a.done(), b.done())
    tick = asyncio.create_task(ticker(5))
    r = await asyncio.gather(a, b)
    log("gather", r)
    await tick


@scenario
async def gather_first_error():
    async def ok(hops):
        for _ in range(hops):
            await asyncio.sleep(0)
        log("ok done")
        return hops

    async def bad():
        await asyncio.sleep(0)
        log("bad raises")
        raise Boom("bad")

    tick = asyncio.create_task(ticker(6))
    try:
        await asyncio.gather(ok(3), bad())
    except Boom as e:
        log("caught", describe(e))
    await tick
    log("end")


@scenario
async def gather_cancelled_by_caller():
    async def child(name):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log(name, "cancelled")
            raise

    async def parent():
        try:
            await asyncio.gather(child("a"), child("b"))
        except asyncio.CancelledError:
            log("parent sees CancelledError")
            raise

    p = asyncio.create_task(parent())
    tick = asyncio.create_task(ticker(6))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    p.cancel()
    log("cancel requested")
    try:
        await p
    except asyncio.CancelledError:
        log("parent cancelled", p.cancelled())
    await tick


# --- wait, as_completed, shield -----------------------------------------------------------

@scenario
async def wait_first_completed():
    tick = asyncio.create_task(ticker(6))
    a = asyncio.create_task(named_after("a", 2))
    b = asyncio.create_task(named_after("b", 4))
    done, pending = await asyncio.wait([a, b], return_when=asyncio.FIRST_COMPLETED)
    log("wait returned", len(done), len(pending), a in done)
    await b
    await tick


@scenario
async def as_completed_order():
    tick = asyncio.create_task(ticker(8))
    tasks = [asyncio.create_task(named_after("slow", 3)), asyncio.create_task(named_after("fast", 1))]
    for next_done in asyncio.as_completed(tasks):
        log("got", await next_done)
    await tick


@scenario
async def shield_pending_task():
    async def inner():
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        log("inner done")
        return 4

    tick = asyncio.create_task(ticker(6))
    t = asyncio.create_task(inner())
    log("shield got", await asyncio.shield(t))
    await tick


@scenario
async def shield_cancelled_outer():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    async def inner():
        v = await fut
        log("inner done", v)
        return v

    t = asyncio.create_task(inner())

    async def outer():
        try:
            await asyncio.shield(t)
        except asyncio.CancelledError:
            log("outer cancelled")
            raise

    o = asyncio.create_task(outer())
    await asyncio.sleep(0)
    o.cancel()
    await asyncio.sleep(0)
    log("inner still running", not t.done())
    fut.set_result(9)
    log("inner result", await t)
    log("outer cancelled?", o.cancelled())


# --- timeouts -----------------------------------------------------------------------------

@scenario
async def timeout_expires():
    async def stuck():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log("stuck cancelled")
            raise

    try:
        async with asyncio.timeout(0.05):
            await stuck()
    except TimeoutError:
        log("timed out")
    log("end")


@scenario
async def timeout_not_reached():
    async def quick():
        await asyncio.sleep(0)
        return 1

    async with asyncio.timeout(5):
        log("got", await quick())
    log("end")


# --- sleep and timers ---------------------------------------------------------------------

@scenario
async def sleep_wakeup_versus_call_later():
    loop = asyncio.get_running_loop()

    async def sleeper():
        await asyncio.sleep(0.05)
        log("sleeper woke")

    s = asyncio.create_task(sleeper())
    await asyncio.sleep(0)  # the sleeper's timer is registered first
    loop.call_later(0.1, lambda: log("call_later fired"))
    await asyncio.sleep(0.2)
    await s
    log("end")


@scenario
async def sleep_wakeup_after_due():
    async def sleeper():
        await asyncio.sleep(0.01)
        log("sleeper woke")

    await tick_past_a_deadline(asyncio.create_task(sleeper()), 4)


@scenario
async def wait_timeout_after_due():
    async def never():
        await asyncio.sleep(10)

    t = asyncio.create_task(never())

    async def waiter():
        done, pending = await asyncio.wait([t], timeout=0.01)
        log("wait returned", len(done), len(pending))

    await tick_past_a_deadline(asyncio.create_task(waiter()), 4)
    t.cancel()


@scenario
async def timeout_after_due():
    async def guarded():
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(10)
        except TimeoutError:
            log("timed out")

    await tick_past_a_deadline(asyncio.create_task(guarded()), 4)


@scenario
async def sleep_cancelled_when_due():
    # The sleeper's timer is due in the iteration where main cancels it: the cancellation
    # wins, and the wake-up the timer queued does not resume it a second time.
    async def sleeper():
        try:
            await asyncio.sleep(0.01)
            log("sleeper woke")
        except asyncio.CancelledError:
            log("sleeper cancelled")
            raise

    s = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    tick = asyncio.create_task(ticker(4))
    time.sleep(0.05)
    await asyncio.sleep(0)  # main runs first in the iteration where the timer is due
    s.cancel()
    log("cancel requested")
    await asyncio.gather(s, return_exceptions=True)
    log("sleeper cancelled?", s.cancelled())
    await tick


@scenario
async def sleep_zero_round_robin():
    async def worker(name):
        for i in range(3):
            log(name, i)
            await asyncio.sleep(0)

    await asyncio.gather(worker("a"), worker("b"), worker("c"))
    log("end")


# --- synchronization ----------------------------------------------------------------------

@scenario
async def queue_getters_fifo():
    q = asyncio.Queue()

    async def consumer(name):
        item = await q.get()
        log(name, "got", item)

    cs = [asyncio.create_task(consumer(n)) for n in ("c1", "c2", "c3")]
    await asyncio.sleep(0)
    tick = asyncio.create_task(ticker(4))
    q.put_nowait(1)
    q.put_nowait(2)
    log("put two")
    await asyncio.sleep(0)
    q.put_nowait(3)
    log("put three")
    for c in cs:
        await c
    await tick


@scenario
async def queue_bounded_putters():
    q = asyncio.Queue(maxsize=1)

    async def producer(name):
        await q.put(name)
        log(name, "put")

    q.put_nowait("first")
    ps = [asyncio.create_task(producer(n)) for n in ("p1", "p2")]
    await asyncio.sleep(0)
    tick = asyncio.create_task(ticker(5))
    for _ in range(3):
        log("got", await q.get())
    for p in ps:
        await p
    await tick


@scenario
async def lock_handoff_fifo():
    lock = asyncio.Lock()

    async def user(name):
        async with lock:
            log(name, "has the lock")
            await asyncio.sleep(0)
        log(name, "released")

    await lock.acquire()
    us = [asyncio.create_task(user(n)) for n in ("u1", "u2", "u3")]
    await asyncio.sleep(0)
    tick = asyncio.create_task(ticker(8))
    lock.release()
    log("main released")
    for u in us:
        await u
    await tick


@scenario
async def lock_waiter_cancelled():
    lock = asyncio.Lock()

    async def user(name):
        try:
            async with lock:
                log(name, "has the lock")
        except asyncio.CancelledError:
            log(name, "cancelled")
            raise

    await lock.acquire()
    u1 = asyncio.create_task(user("u1"))
    u2 = asyncio.create_task(user("u2"))
    await asyncio.sleep(0)
    lock.release()
    u1.cancel()
    log("released, u1 cancelled")
    await asyncio.gather(u1, u2, return_exceptions=True)
    log("end", lock.locked())


@scenario
async def event_wakes_all_in_order():
    loop = asyncio.get_running_loop()
    ev = asyncio.Event()

    async def waiter(name):
        await ev.wait()
        log(name, "woke")

    ws = [asyncio.create_task(waiter(n)) for n in ("w1", "w2", "w3")]
    await asyncio.sleep(0)
    loop.call_soon(lambda: log("soon before set"))
    ev.set()
    loop.call_soon(lambda: log("soon after set"))
    log("set")
    for w in ws:
        await w
    log("end")


@scenario
async def semaphore_release_order():
    sem = asyncio.Semaphore(0)

    async def waiter(name):
        await sem.acquire()
        log(name, "acquired")

    ws = [asyncio.create_task(waiter(n)) for n in ("s1", "s2", "s3")]
    await asyncio.sleep(0)
    sem.release()
    sem.release()
    log("released two")
    await asyncio.sleep(0)
    log("after one iteration")
    sem.release()
    for w in ws:
        await w
    log("end")


@scenario
async def condition_notify():
    cond = asyncio.Condition()

    async def waiter(name):
        async with cond:
            await cond.wait()
            log(name, "notified")

    ws = [asyncio.create_task(waiter(n)) for n in ("n1", "n2", "n3")]
    await asyncio.sleep(0)
    async with cond:
        cond.notify(2)
        log("notified two")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    async with cond:
        cond.notify_all()
        log("notified all")
    for w in ws:
        await w
    log("end")


@scenario
async def queue_join_waits_for_task_done():
    q = asyncio.Queue()

    async def worker():
        while True:
            item = await q.get()
            log("work", item)
            await asyncio.sleep(0)
            q.task_done()
            log("done", item)

    w = asyncio.create_task(worker())
    for i in range(3):
        q.put_nowait(i)
    tick = asyncio.create_task(ticker(8))
    await q.join()
    log("joined")
    w.cancel()
    await tick


@scenario
async def barrier_parties():
    barrier = asyncio.Barrier(3)

    async def party(name, hops):
        for _ in range(hops):
            await asyncio.sleep(0)
        log(name, "arrives")
        index = await barrier.wait()
        log(name, "passes", index)

    tick = asyncio.create_task(ticker(6))
    await asyncio.gather(party("p0", 0), party("p1", 1), party("p2", 2))
    await tick


# --- more combinators ---------------------------------------------------------------------

@scenario
async def wait_all_completed_on_done_tasks():
    async def value(v):
        return v

    ts = [asyncio.create_task(value(1)), asyncio.create_task(value(2))]
    await asyncio.sleep(0)
    tick = asyncio.create_task(ticker(4))
    done, pending = await asyncio.wait(ts)
    log("wait returned", len(done), len(pending))
    await tick


@scenario
async def wait_first_exception():
    tick = asyncio.create_task(ticker(6))
    a = asyncio.create_task(fail_after(1, "x"))
    b = asyncio.create_task(named_after("b", 4))
    done, pending = await asyncio.wait([a, b], return_when=asyncio.FIRST_EXCEPTION)
    log("wait returned", len(done), len(pending), a in done)
    await b
    await tick


@scenario
async def gather_return_exceptions_order():
    tick = asyncio.create_task(ticker(6))
    r = await asyncio.gather(named_after("a", 2), fail_after(1, "y"), return_exceptions=True)
    log("gather", r[0], describe(r[1]))
    await tick


@scenario
async def as_completed_with_done_tasks():
    async def value(v):
        return v

    ts = [asyncio.create_task(value("x")), asyncio.create_task(value("y"))]
    await asyncio.sleep(0)
    tick = asyncio.create_task(ticker(5))
    got = []
    for next_done in asyncio.as_completed(ts):  # (a set inside: any order of x and y)
        got.append(await next_done)
        log("got one")
    log("got", sorted(got))
    await tick


@scenario
async def taskgroup_body_raises():
    async def child():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log("child cancelled")
            raise

    tick = asyncio.create_task(ticker(5))
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child())
            await asyncio.sleep(0)
            log("body raises")
            raise Boom("body")
    except* Boom as eg:
        log("caught", len(eg.exceptions))
    await tick


# --- cancellation -------------------------------------------------------------------------

@scenario
async def cancel_task_awaiting_task():
    async def inner():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log("inner cancelled")
            raise

    async def outer(t):
        try:
            await t
        except asyncio.CancelledError:
            log("outer cancelled")
            raise

    tick = asyncio.create_task(ticker(5))
    i = asyncio.create_task(inner())
    o = asyncio.create_task(outer(i))
    await asyncio.sleep(0)
    o.cancel()
    log("cancel requested")
    await asyncio.gather(o, return_exceptions=True)
    log("inner cancelled?", i.cancelled(), "outer cancelled?", o.cancelled())
    await tick


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: scenarios.py NAME | --list")
    if sys.argv[1] == "--list":
        print("\n".join(SCENARIOS))
        return
    asyncio.run(SCENARIOS[sys.argv[1]]())


if __name__ == "__main__":
    main()
