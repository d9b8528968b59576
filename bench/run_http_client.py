#!/usr/bin/python3
"""HTTP client benchmark: requests/s of one aio::http::ClientSession fetching a small body
from a local nginx, against aiohttp's ClientSession (on uvloop when installed), with 1 and
with 64 concurrent requests.

  aio      BUILD/bench/bench_http_client_aio URL C SECONDS   (bench/http/client_aio.cpp)
  aiohttp  /usr/bin/python3 bench/http/client_aiohttp.py URL C SECONDS

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
from benchlib import free_port, median_of, stop_process_tree, warn  # noqa: E402
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
    args = ap.parse_args()

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    aio_client = Path(args.build) / "bench" / "bench_http_client_aio"
    if not os.access(nginx, os.X_OK):
        sys.exit("nginx not found (Debian: nginx-light)")
    if not aio_client.exists():
        sys.exit(f"{aio_client} not built: cmake --build {args.build} --target bench_http_client_aio")
    clients = {"aio": [str(aio_client)],
               "aiohttp": ["/usr/bin/python3", str(REPO / "bench/http/client_aiohttp.py")]}

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
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            for r in range(args.rounds):
                order = list(clients) if r % 2 == 0 else list(reversed(clients))
                for name in order:
                    report = run_client(pin(0) + clients[name] + [url, str(concurrency), str(args.seconds)])
                    if report["errors"]:
                        warn(f"{name} c={concurrency}: {report['errors']} errors")
                    report["rps"] = report["requests"] / report["seconds"]
                    report["per_cpu_s"] = report["requests"] / max(report["cpu_s"], 1e-9)
                    results.setdefault((name, concurrency), []).append(report)
                    print(f"  {name:8} c={concurrency:<3} {report['rps']:10.0f} req/s "
                          f"{report['per_cpu_s']:10.0f} req/CPU-s", file=sys.stderr)
    finally:
        complaint = stop_process_tree(server)
        if complaint:
            warn(f"nginx {complaint}")
        shutil.rmtree(run_dir, ignore_errors=True)

    loops = {r.get("loop") for r in sum(results.values(), []) if r.get("loop")}
    print(f"aiohttp's loop: {', '.join(sorted(loops))}; {os.cpu_count()} CPUs; {args.seconds:g} s per run, "
          f"{args.rounds} rounds (medians)\n")
    print("| client | concurrency | requests/s | requests per client CPU second | vs aiohttp (req/CPU-s) |")
    print("|---|---|---|---|---|")
    for (name, concurrency), reports in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rps = median_of(reports, "rps")
        per_cpu = median_of(reports, "per_cpu_s")
        base = median_of(results[("aiohttp", concurrency)], "per_cpu_s")
        print(f"| {name} | {concurrency} | {rps:,.0f} | {per_cpu:,.0f} | {per_cpu / base:.2f}x |")


if __name__ == "__main__":
    main()
