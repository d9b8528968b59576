#!/usr/bin/python3
"""HTTP client benchmark: requests/s of one aio::http::ClientSession fetching a small body
from a local nginx, against aiohttp's ClientSession (on uvloop when installed), Go's
net/http client and Node's fetch, with 1 and with 64 concurrent requests; then a crawl of
--crawl distinct URLs (default 10 000) with at most 100 connections.

  aio      BUILD/bench/bench_http_client_aio URL C SECONDS   (bench/http/client_aio.cpp)
  aiohttp  /usr/bin/python3 bench/http/client_aiohttp.py URL C SECONDS
  go       bench/http/client_go (built by this script; GOMAXPROCS=1, as the others use one core)
  node     node bench/http/client_node.js URL C SECONDS (Node's built-in fetch, undici)
Each also takes `crawl URL N LIMIT`: N requests to URL?i=0..N-1, all started at once
(Go and Node: LIMIT workers), through a client limited to LIMIT connections.

nginx (bench/http/nginx.conf.in, `return 200 "Hello, World!"`, one worker) is pinned to
CPU 1, each client to CPU 0 (taskset, when present). A client reports its requests and
elapsed time; its CPU time (user + system) is the rusage of the reaped child. Rounds
alternate the clients; the report gives medians of requests/s and of requests per client
CPU second, and aio's ratio to aiohttp, as a Markdown table.

Nothing here contacts anything but 127.0.0.1. Stdlib only; run with /usr/bin/python3.

  bench/run_http_client.py --build build/bench [--seconds 5] [--rounds 3]
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import build_go, free_port, median_of, stop_process_tree, warn  # noqa: E402
from run_http import nginx_argv  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def pin(cpu):
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(cpu)] if taskset and os.cpu_count() and os.cpu_count() > cpu else []


def wait_ready(port, deadline_s=5.0):
    import socket
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def run_client(argv):
    """Runs one client to completion; returns its report with cpu_s added."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    report = json.loads(out.stdout.strip().splitlines()[-1])
    report["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/bench", help="CMake build directory with bench targets")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", default="1,64")
    ap.add_argument("--crawl", type=int, default=10000, help="URLs in the crawl (0: no crawl)")
    ap.add_argument("--crawl-limit", type=int, default=100)
    args = ap.parse_args()

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    aio_client = Path(args.build) / "bench" / "bench_http_client_aio"
    if not os.access(nginx, os.X_OK):
        sys.exit("nginx not found (Debian: nginx-light)")
    if not aio_client.exists():
        sys.exit(f"{aio_client} not built: cmake --build {args.build} --target bench_http_client_aio")
    clients = {"aio": [str(aio_client)],
               "aiohttp": ["/usr/bin/python3", str(REPO / "bench/http/client_aiohttp.py")]}
    go_client = build_go(REPO / "bench/http/client_go", Path(args.build) / "bench" / "client_go", "the Go client")
    if go_client:
        clients["go"] = ["env", "GOMAXPROCS=1", str(go_client)]
    node = shutil.which("node")
    if node:
        clients["node"] = [node, str(REPO / "bench/http/client_node.js")]
    else:
        warn("node not found; skipping 'node'")

    run_dir = Path(tempfile.mkdtemp(prefix="aio-http-client-bench-"))
    port = free_port()
    argv = nginx_argv(nginx, run_dir, port)
    server = subprocess.Popen(pin(1) + argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT, cwd=run_dir)
    try:
        if not wait_ready(port):
            sys.exit(f"nginx did not start: see {run_dir}/error.log")
        url = f"http://127.0.0.1:{port}/plaintext"
        results = {}
        scenarios = [(str(c), [url, str(c), str(args.seconds)]) for c in args.concurrency.split(",")]
        if args.crawl:
            scenarios.append((f"crawl {args.crawl}/{args.crawl_limit}",
                              ["crawl", url, str(args.crawl), str(args.crawl_limit)]))
        for concurrency, client_args in scenarios:
            for r in range(args.rounds):
                names = list(clients)
                order = names[r % len(names):] + names[:r % len(names)]
                for name in order:
                    report = run_client(pin(0) + clients[name] + client_args)
                    if report["errors"]:
                        warn(f"{name} c={concurrency}: {report['errors']} errors")
                    report["rps"] = report["requests"] / report["seconds"]
                    report["per_cpu_s"] = report["requests"] / max(report["cpu_s"], 1e-9)
                    results.setdefault((name, concurrency), []).append(report)
                    print(f"  {name:8} {concurrency:<12} {report['rps']:10.0f} req/s "
                          f"{report['per_cpu_s']:10.0f} req/CPU-s", file=sys.stderr)
    finally:
        complaint = stop_process_tree(server)
        if complaint:
            warn(f"nginx {complaint}")
        shutil.rmtree(run_dir, ignore_errors=True)

    loops = {r.get("loop") for r in sum(results.values(), []) if r.get("loop")}
    print(f"aiohttp's loop: {', '.join(sorted(loops))}; {os.cpu_count()} CPUs; {args.seconds:g} s per run, "
          f"{args.rounds} rounds (medians)\n")
    print("| client | concurrency | requests/s | requests per client CPU second | vs aiohttp (req/CPU-s) "
          "| aio vs it (req/CPU-s) |")
    print("|---|---|---|---|---|---|")
    for concurrency, _ in scenarios:
        for name in clients:
            reports = results[(name, concurrency)]
            rps = median_of(reports, "rps")
            per_cpu = median_of(reports, "per_cpu_s")
            base = median_of(results[("aiohttp", concurrency)], "per_cpu_s")
            aio = median_of(results[("aio", concurrency)], "per_cpu_s")
            print(f"| {name} | {concurrency} | {rps:,.0f} | {per_cpu:,.0f} | {per_cpu / base:.2f}x | {aio / per_cpu:.2f}x |")


if __name__ == "__main__":
    main()
