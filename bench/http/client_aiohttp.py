"""HTTP client benchmark, the aiohttp side (bench/run_http_client.py): one ClientSession
(on uvloop when installed), `concurrency` tasks each fetching URL in a loop for `seconds`;
prints {"requests": N, "errors": E, "seconds": S}.

Run: /usr/bin/python3 bench/http/client_aiohttp.py http://127.0.0.1:8080/plaintext 64 5
"""
import asyncio
import json
import sys
import time

import aiohttp

try:
    import uvloop
except ImportError:
    uvloop = None


async def worker(session, url, until, counts):
    while time.monotonic() < until:
        try:
            async with session.get(url) as response:
                body = await response.read()
                if response.status == 200 and body:
                    counts["requests"] += 1
                else:
                    counts["errors"] += 1
        except aiohttp.ClientError:
            counts["errors"] += 1


async def main(url, concurrency, seconds):
    counts = {"requests": 0, "errors": 0}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic()
        await asyncio.gather(*(worker(session, url, start + seconds, counts) for _ in range(concurrency)))
        counts["seconds"] = round(time.monotonic() - start, 4)
    counts["loop"] = "uvloop" if uvloop else "asyncio (uvloop not installed)"
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    if uvloop:
        uvloop.install()
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
