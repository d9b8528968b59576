#!/usr/bin/python3
"""HTTP benchmark peer: aiohttp's web server on uvloop (see bench/run_http.py).

Usage: /usr/bin/python3 http_aiohttp.py [PORT]   (PORT defaults to $PORT; listens on
127.0.0.1:PORT; prints nothing; SIGTERM ends it)

  GET /plaintext -> "Hello, World!"               (text/plain)
  GET /json      -> {"message":"Hello, World!"}   (application/json, encoded per request)

aiohttp adds Date and Server itself. The JSON is encoded compactly, as the other peers
encode it, so that every peer sends the same body.
"""
import functools
import json
import os
import sys

import uvloop
from aiohttp import web

HELLO = "Hello, World!"
compact_dumps = functools.partial(json.dumps, separators=(",", ":"))


async def plaintext(request):
    return web.Response(text=HELLO, content_type="text/plain")


async def json_handler(request):
    return web.json_response({"message": HELLO}, dumps=compact_dumps)


def main():
    arg = sys.argv[1] if len(sys.argv) == 2 else os.environ.get("PORT", "")
    if len(sys.argv) > 2 or not arg.isdigit() or int(arg) <= 0:
        sys.exit("usage: http_aiohttp.py PORT (or PORT in the environment)")
    uvloop.install()  # run_app's loop is then a uvloop loop
    app = web.Application()
    app.router.add_get("/plaintext", plaintext)
    app.router.add_get("/json", json_handler)
    # print=None: no "Running on" banner; SIGTERM ends run_app gracefully.
    web.run_app(app, host="127.0.0.1", port=int(arg), access_log=None, print=None,
                backlog=1024)


if __name__ == "__main__":
    main()
