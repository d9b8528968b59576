#!/usr/bin/python3
"""The WebSocket echo benchmark's Python peer: websockets (Debian python3-websockets) on
asyncio, or uvloop with --loop uvloop. Usage: ws_echo_websockets.py PORT [--loop uvloop]."""
import asyncio
import sys

import websockets


async def echo(ws):
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def main(port):
    async with websockets.serve(echo, "127.0.0.1", port, max_size=2**24):
        await asyncio.Future()


if __name__ == "__main__":
    if "--loop" in sys.argv and sys.argv[sys.argv.index("--loop") + 1] == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(main(int(sys.argv[1])))
