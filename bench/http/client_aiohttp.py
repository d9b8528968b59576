"""HTTP client benchmark, the aiohttp side (bench/run_http_client.py): one ClientSession
(on uvloop when installed), `concurrency` tasks each fetching URL in a loop for `seconds`;
prints {"requests": N, "errors": E, "seconds": S}.

Run: /usr/bin/python3 bench/http/client_aiohttp.py http://127.0.0.1:8080/plaintext 64 5
     /usr/bin/python3 bench/http/client_aiohttp.py crawl URL N LIMIT   (N distinct URLs,
     URL?i=0..N-1, one task each, through a session whose connector has limit=LIMIT)
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


async def fetch_once(session, url, counts):
    try:
        async with session.get(url) as response:
            body = await response.read()
            if response.status == 200 and body:
                counts["requests"] += 1
            else:
                counts["errors"] += 1
    except aiohttp.ClientError:
        counts["errors"] += 1


async def worker(session, url, until, counts):
    while time.monotonic() < until:
        await fetch_once(session, url, counts)


async def crawl(url, n, limit):
    counts = {"requests": 0, "errors": 0}
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic()
        await asyncio.gather(*(fetch_once(session, f"{url}?i={i}", counts) for i in range(n)))
        counts["seconds"] = round(time.monotonic() - start, 4)
    counts["loop"] = "uvloop" if uvloop else "asyncio (uvloop not installed)"
    print(json.dumps(counts), flush=True)


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
    if sys.argv[1] == "crawl":
        asyncio.run(crawl(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    else:
        asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
