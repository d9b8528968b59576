#!/usr/bin/python3
"""Echo benchmark peer: CPython asyncio or uvloop (see bench/run_echo.py).

Usage: echo_asyncio.py [--loop asyncio|uvloop] [--protocol] [--workers N] PORT

Listens on 127.0.0.1:PORT, prints nothing, runs until killed (SIGTERM).
  default      asyncio streams, the handler aio's echo mirrors: read up to 64 KiB,
               write it back, drain
  --protocol   an asyncio.Protocol whose data_received writes the bytes back (the
               fastest way to echo on either loop; no per-connection task)
  --workers N  (N > 1) fork N processes, each with its own loop and its own listening
               socket on PORT (SO_REUSEPORT), as aio::run_workers does; this process
               forwards SIGINT/SIGTERM to them and exits when they all have
Both loops set TCP_NODELAY on every TCP connection.
"""

import argparse
import asyncio
import os
import resource
import signal
import sys
import traceback


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass  # the client went away mid-request
    finally:
        writer.close()


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def serve(port: int, protocol: bool, reuse_port: bool) -> None:
    loop = asyncio.get_running_loop()
    if protocol:
        server = await loop.create_server(EchoProtocol, "127.0.0.1", port, backlog=1024,
                                          reuse_port=reuse_port)
    else:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024,
                                            reuse_port=reuse_port)
    async with server:
        await server.serve_forever()


def run_server(args, reuse_port: bool) -> None:
    if args.loop == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(serve(args.port, args.protocol, reuse_port))


def run_workers(args) -> int:
    """Forks args.workers servers on one port; forwards SIGINT/SIGTERM; waits for all."""
    stop_signals = (signal.SIGINT, signal.SIGTERM)
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # until the handlers are set
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            # A worker dies the default way on SIGINT/SIGTERM (prints nothing).
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
            code = 1
            try:
                run_server(args, reuse_port=True)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)

    def forward(signum, _frame):
        for child in children:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    for sig in stop_signals:
        signal.signal(sig, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
    failed = 0
    for child in children:
        _, status = os.waitpid(child, 0)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, -signal.SIGTERM, -signal.SIGINT):
            failed = 1
    return failed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    ap.add_argument("--protocol", action="store_true")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("port", type=int)
    args = ap.parse_args()
    if args.workers < 1:
        ap.error("--workers: at least 1")
    # Many idle connections (run_echo.py --idle): take the hard limit on descriptors.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.workers > 1:
        sys.exit(run_workers(args))
    run_server(args, reuse_port=False)


if __name__ == "__main__":
    main()
