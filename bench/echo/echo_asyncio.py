#!/usr/bin/python3
"""Echo benchmark peer: CPython asyncio or uvloop (see bench/run_echo.py).

Usage: echo_asyncio.py [--loop asyncio|uvloop] [--protocol] PORT

Listens on 127.0.0.1:PORT, prints nothing, runs until killed (SIGTERM).
  default     asyncio streams, the handler aio's echo mirrors: read up to 64 KiB,
              write it back, drain
  --protocol  an asyncio.Protocol whose data_received writes the bytes back (the
              fastest way to echo on either loop; no per-connection task)
Both loops set TCP_NODELAY on every TCP connection.
"""

import argparse
import asyncio
import resource


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


async def serve(port: int, protocol: bool) -> None:
    loop = asyncio.get_running_loop()
    if protocol:
        server = await loop.create_server(EchoProtocol, "127.0.0.1", port, backlog=1024)
    else:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    ap.add_argument("--protocol", action="store_true")
    ap.add_argument("port", type=int)
    args = ap.parse_args()
    # Many idle connections (run_echo.py --idle): take the hard limit on descriptors.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.loop == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(serve(args.port, args.protocol))


if __name__ == "__main__":
    main()
