#!/usr/bin/python3
"""End-to-end HTTP benchmark: aio::http against nginx (the floor) and peers, under wrk.

Every server listens on 127.0.0.1:PORT, single process (nginx: a master and one worker),
and answers two routes with its usual Date and Server headers:

  GET /plaintext -> Hello, World!                 (text/plain)
  GET /json      -> {"message":"Hello, World!"}   (application/json, encoded per request)

  nginx    bench/http/nginx.conf.in: `return 200`, access log off (the floor)
  aio      bench/http/http_aio.cpp: aio::http::run_app (BUILD/bench/bench_http_aio), on the
           default backend (io_uring where the kernel allows it; AIO_BACKEND, if set, wins)
  go       bench/http/http_go/: net/http, GOMAXPROCS=1 (built here into BUILD/bench/http_go)
  node     bench/http/http_node.js: Node.js http
  aiohttp  bench/http/http_aiohttp.py: aiohttp web on uvloop (/usr/bin/python3)

Extra servers (--peer 'LABEL=PATH [ARG...]', repeatable): PATH with the port appended,
answering both routes; /usr/bin/env first sets their environment, so one run can compare
aio's backends: --peer "aio-epoll=/usr/bin/env AIO_BACKEND=epoll build/bench/bench_http_aio".

Scenarios (TechEmpower's plaintext and JSON tests, one core each side):

  plaintext  wrk -t1 -cC -dDs --latency  GET /plaintext, one request at a time per connection
  json       the same on GET /json
  pipelined  GET /plaintext with 16 requests per write (bench/http/pipeline.lua -- 16)

Latency (p50, p99) is wrk's: per request, after wrk's coordinated-omission correction.
With pipelining wrk 4.1's percentiles are wrong (see bench/http/pipeline.lua), so the
pipelined scenario reports none.

Each slice: start the server pinned to CPU 1 (taskset -c 1), wait until it answers a GET
(bounded), check with a plain socket client that both routes answer 200 with the exact
body and that 16 pipelined requests get 16 right answers, run wrk pinned to CPU 0 for
a warm-up (--warmup, unmeasured) and then for the measured run, stop the server by its
pid. The server's CPU time (utime + stime of its process tree, /proc/PID/stat) is read
right before and after the measured wrk run; wrk's own CPU time comes from the rusage of
the reaped child. A run in which wrk saw any response with status > 399 counts as failed.
Rounds interleave the servers (the order is rotated every round, so slow drifts of the
machine spread over all of them); the report gives medians over rounds, and ratios against
nginx (the floor) and against aiohttp + uvloop, as Markdown tables for docs/benchmarks.md.

Nothing here contacts anything but 127.0.0.1. Stdlib only; run with /usr/bin/python3.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (build_go, cpu_model, fmt_figure, fmt_ratio, free_port,  # noqa: E402
                      median_of, parse_peers, process_tree_cpu, reproduce_command,
                      stop_process_tree, tool_version, warn)

REPO = Path(__file__).resolve().parent.parent
HTTP = REPO / "bench" / "http"
PYTHON = "/usr/bin/python3"

SERVERS = ["nginx", "aio", "go", "node", "aiohttp"]
LABELS = {"nginx": "nginx (floor)", "aio": "**aio**", "go": "Go net/http",
          "node": "Node.js http", "aiohttp": "aiohttp + uvloop"}
FLOOR = "nginx"
BASELINE = "aiohttp"
# name -> (path, requests per write)
SCENARIOS = {"plaintext": ("/plaintext", 1), "json": ("/json", 1), "pipelined": ("/plaintext", 16)}
# path -> (content type it must start with, exact body)
EXPECTED = {"/plaintext": ("text/plain", b"Hello, World!"),
            "/json": ("application/json", b'{"message":"Hello, World!"}')}
SERVER_CPU = "1"
CLIENT_CPU = "0"
START_TIMEOUT_S = 15.0
PROBE_PIPELINE_DEPTH = 16


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --- finding the servers -----------------------------------------------------------------

def discover_servers(build_dir, wanted):
    """Returns {server: argv prefix} for the servers that can run (the port is appended;
    nginx's argv is made per start, from its config template)."""
    found = {}
    if "nginx" in wanted:
        nginx = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None)
        if nginx:
            found["nginx"] = [nginx]
        else:
            warn("'nginx' not found (Debian: nginx-light); skipping 'nginx'")
    if "aio" in wanted:
        path = (build_dir / "bench" / "bench_http_aio").resolve()
        if path.is_file() and os.access(path, os.X_OK):
            found["aio"] = [str(path)]
        else:
            warn(f"{path} not found (build the bench_http_aio target); skipping 'aio'")
    if "go" in wanted:
        go = build_go(HTTP / "http_go", build_dir / "bench" / "http_go", "the Go HTTP server")
        if go is not None:
            found["go"] = [str(go)]
    if "node" in wanted:
        node = shutil.which("node")
        if node:
            found["node"] = [node, str(HTTP / "http_node.js")]
        else:
            warn("'node' not found; skipping 'node'")
    if "aiohttp" in wanted:
        probe = subprocess.run([PYTHON, "-c", "import aiohttp, uvloop"], capture_output=True, text=True)
        if probe.returncode == 0:
            found["aiohttp"] = [PYTHON, str(HTTP / "http_aiohttp.py")]
        else:
            warn(f"'import aiohttp, uvloop' fails under {PYTHON}; skipping 'aiohttp'")
    return {s: found[s] for s in SERVERS if s in found}


# --- a plain HTTP/1.1 client for the checks ------------------------------------------------

class HttpCheckError(Exception):
    pass


class ResponseReader:
    """Reads HTTP/1.1 responses with a Content-Length off a socket, one after another."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise HttpCheckError("the server closed the connection mid-response")
        self.buffer += data

    def read(self):
        """Returns (status, {lower-case header: value}, body)."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise HttpCheckError(f"bad status line {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise HttpCheckError(f"bad header line {line!r}")
            headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise HttpCheckError(f"no Content-Length (headers: {sorted(headers)})")
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(parts[1]), headers, body


def request_bytes(path, port, close=False):
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            + ("Connection: close\r\n" if close else "") + "\r\n").encode()


def check_response(path, status, headers, body):
    """Raises HttpCheckError unless the answer is what every server must send for `path`."""
    content_type, expected_body = EXPECTED[path]
    if status != 200:
        raise HttpCheckError(f"GET {path}: status {status}")
    if body != expected_body:
        raise HttpCheckError(f"GET {path}: body {body[:80]!r}, expected {expected_body!r}")
    if not headers.get("content-type", "").startswith(content_type):
        raise HttpCheckError(f"GET {path}: Content-Type {headers.get('content-type')!r}")
    if "date" not in headers:
        raise HttpCheckError(f"GET {path}: no Date header")


def check_server(port):
    """Checks both routes on one keep-alive connection, then 16 pipelined requests in one
    write; returns the headers of the /plaintext answer. Raises HttpCheckError, OSError."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        reader = ResponseReader(sock)
        answers = {}
        for path in EXPECTED:
            sock.sendall(request_bytes(path, port))
            status, headers, body = reader.read()
            check_response(path, status, headers, body)
            answers[path] = headers
        sock.sendall(request_bytes("/plaintext", port) * PROBE_PIPELINE_DEPTH)
        for i in range(PROBE_PIPELINE_DEPTH):
            try:
                status, headers, body = reader.read()
            except HttpCheckError as e:
                raise HttpCheckError(f"pipelined request {i + 1} of {PROBE_PIPELINE_DEPTH}: {e}")
            check_response("/plaintext", status, headers, body)
    return answers["/plaintext"]


# --- running one server ------------------------------------------------------------------

def nginx_argv(nginx, prefix, port):
    """Writes prefix/nginx.conf from the template; returns the command that runs it."""
    conf = (HTTP / "nginx.conf.in").read_text()
    conf = (conf.replace("@PREFIX@", str(prefix)).replace("@PORT@", str(port))
            .replace("@USER@", "user root;" if os.geteuid() == 0 else ""))
    (prefix / "nginx.conf").write_text(conf)
    return [nginx, "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]


class Server:
    """One server process, pinned, on a fresh port, with its own temporary directory; a
    context manager that stops it by its pid and removes the directory."""

    def __init__(self, name, argv, pin, run_dir):
        self.name = name
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=run_dir))
        if name == "nginx":
            argv = nginx_argv(argv[0], self.dir, self.port)
        else:
            argv = argv + [str(self.port)]
        env = dict(os.environ, PORT=str(self.port))
        if name == "go":
            env["GOMAXPROCS"] = "1"
        self.output = open(self.dir / "output", "w+")
        # taskset execs the server: the pid is the server's own.
        self.proc = subprocess.Popen(pin + argv, env=env, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=self.output, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.headers = {}
        self.stop_complaint = None

    def wait_ready(self):
        """Waits until the server answers a GET, then checks its answers; returns None or
        why it is not usable."""
        deadline = time.monotonic() + START_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"exited with status {self.proc.returncode} before answering: {self.output_tail()}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(request_bytes("/plaintext", self.port, close=True))
                    ResponseReader(sock).read()
                break
            except (OSError, HttpCheckError) as e:
                last = str(e)
                time.sleep(0.05)
        else:
            return f"did not answer GET /plaintext on port {self.port} within {START_TIMEOUT_S:.0f} s ({last})"
        try:
            self.headers = check_server(self.port)
        except (OSError, HttpCheckError) as e:
            return f"wrong answer: {e}"
        return None

    def alive(self):
        return self.proc.poll() is None

    def output_tail(self):
        self.output.flush()
        self.output.seek(0)
        lines = [ln for ln in self.output.read().strip().splitlines() if ln.strip()]
        error_log = self.dir / "error.log"  # nginx's
        if error_log.exists():
            lines += [ln for ln in error_log.read_text().splitlines() if ln.strip()]
        return lines[-1] if lines else "(no output)"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.stop_complaint = stop_process_tree(self.proc)
        finally:
            self.output.close()
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


# --- one slice -----------------------------------------------------------------------------

def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(pin, port, scenario, seconds, connections):
    """Runs wrk once; returns (result dict from pipeline.lua's done(), None) or (None, why)."""
    path, depth = SCENARIOS[scenario]
    argv = pin + ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                  "-s", str(HTTP / "pipeline.lua"), f"http://127.0.0.1:{port}{path}", "--", str(depth)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        return None, "wrk did not finish in time"
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if proc.returncode != 0 or line is None:
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or ["(no output)"]
        return None, f"wrk: status {proc.returncode}: {tail[0]}"
    res = json.loads(line.split(" ", 1)[1])
    if res["requests"] == 0:
        return None, "wrk completed no request"
    if res["errors"]["status"]:
        return None, f"{res['errors']['status']} of {res['requests']} responses had a status > 399"
    return res, None


def run_slice(name, argv, scenario, args, pins, run_dir):
    """One server, one scenario; returns (sample, None) or (None, why)."""
    server_pin, client_pin = pins
    with Server(name, argv, server_pin, run_dir) as srv:
        err = srv.wait_ready()
        if err:
            return None, err
        if args.warmup:
            _, err = run_wrk(client_pin, srv.port, scenario, args.warmup, args.connections)
            if err:
                return None, f"warm-up: {err}"
        cpu_before, client_before, start = process_tree_cpu(srv.pid), children_cpu(), time.monotonic()
        res, err = run_wrk(client_pin, srv.port, scenario, args.duration, args.connections)
        cpu_after, client_after, wall = process_tree_cpu(srv.pid), children_cpu(), time.monotonic() - start
        if err is None and not srv.alive():
            err = f"the server died during the run: {srv.output_tail()}"
        server_header = srv.headers.get("server")
    if err:
        return None, err
    if srv.stop_complaint:
        warn(f"{name}: {srv.stop_complaint}")
    requests, server_cpu = res["requests"], cpu_after - cpu_before
    socket_errors = sum(res["errors"][k] for k in ("connect", "read", "write", "timeout"))
    return {
        "requests": requests,
        "seconds": res["duration_us"] / 1e6,
        "rps": requests / (res["duration_us"] / 1e6),
        "cpu_us": server_cpu * 1e6 / requests,
        "server_busy": server_cpu / wall,
        "client_busy": (client_after - client_before) / wall,
        "p50_us": res["latency_us"]["p50"] if SCENARIOS[scenario][1] == 1 else None,
        "p99_us": res["latency_us"]["p99"] if SCENARIOS[scenario][1] == 1 else None,
        "bytes_per_response": res["bytes"] / requests,
        "socket_errors": socket_errors,
        "errors": res["errors"],
        "server_header": server_header,
    }, None


# --- reporting -----------------------------------------------------------------------------

def fmt_latency(us):
    if us is None:
        return "—"
    return f"{fmt_figure(us)} µs" if us < 1000 else f"{fmt_figure(us / 1000)} ms"


def print_scenario(scenario, results, failures, servers, args):
    path, depth = SCENARIOS[scenario]
    what = f"GET {path}" + (f", {depth} requests per write" if depth > 1 else "")
    print(f"## {scenario}: {what}, {args.connections} connections\n")
    floor, base = results.get(FLOOR, []), results.get(BASELINE, [])
    f_rps, f_cpu = median_of(floor, "rps"), median_of(floor, "cpu_us")
    b_rps, b_cpu = median_of(base, "rps"), median_of(base, "cpu_us")
    if depth > 1:
        print(f"No latency: wrk 4.1's percentiles are wrong with {depth} requests per write "
              "(bench/http/pipeline.lua).\n")
    print(f"| {scenario} | req/s | ÷ nginx | ÷ aiohttp | server CPU µs/req | ÷ nginx | ÷ aiohttp "
          f"| p50 | p99 | server busy | wrk busy | bytes/resp | runs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in servers:
        samples = results.get(name, [])
        failed = len(failures.get(f"{scenario} / {name}", []))
        runs = f"{len(samples)}" + (f" ({failed} failed)" if failed else "")
        if not samples:
            print(f"| {LABELS.get(name, name)} | — | — | — | — | — | — | — | — | — | — | — | {runs} |")
            continue
        rps, cpu = median_of(samples, "rps"), median_of(samples, "cpu_us")
        print(f"| {LABELS.get(name, name)} | {fmt_figure(rps, 0)} | {fmt_ratio(rps, f_rps)} | {fmt_ratio(rps, b_rps)} "
              f"| {fmt_figure(cpu)} | {fmt_ratio(cpu, f_cpu)} | {fmt_ratio(cpu, b_cpu)} "
              f"| {fmt_latency(median_of(samples, 'p50_us'))} | {fmt_latency(median_of(samples, 'p99_us'))} "
              f"| {100 * median_of(samples, 'server_busy'):.0f} % | {100 * median_of(samples, 'client_busy'):.0f} % "
              f"| {median_of(samples, 'bytes_per_response'):.0f} | {runs} |")
    print()


def print_notes(results, failures):
    lines = []
    for scenario, per_server in results.items():
        for name, samples in per_server.items():
            errors = [s["socket_errors"] for s in samples]
            if any(errors):
                lines.append(f"- {scenario} / {name}: wrk socket errors (connect + read + write + "
                             f"timeout) per run: {errors}")
    for key, reasons in failures.items():
        for reason in sorted(set(reasons)):
            lines.append(f"- {key} FAILED: {reason} (x{reasons.count(reason)})")
    if lines:
        print("## failures and errors\n")
        print("\n".join(lines))
        print()


def python_peer_versions():
    code = "import aiohttp, uvloop, sys; print(f'Python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}, uvloop {uvloop.__version__}')"
    return tool_version([PYTHON, "-c", code])


# --- main ------------------------------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build",
                    help="CMake build directory: BUILD/bench/bench_http_aio; the Go server is "
                         "built into BUILD/bench/http_go (default: build)")
    ap.add_argument("--duration", type=int, default=10, help="measured seconds per run (default: 10)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="unmeasured wrk seconds before each measured run (default: 1; 0: none)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default: 3)")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (default: 64)")
    ap.add_argument("--only", action="append", choices=SERVERS, metavar="NAME",
                    help=f"run only this server (repeatable; default: all of {', '.join(SERVERS)})")
    ap.add_argument("--scenario", action="append", choices=list(SCENARIOS), metavar="NAME",
                    help=f"run only this scenario (repeatable; default: all of {', '.join(SCENARIOS)})")
    ap.add_argument("--peer", action="append", metavar="LABEL=PATH [ARG...]",
                    help="an extra server: PATH [ARG...] with the port appended, answering both "
                         "routes as the others do (repeatable). With /usr/bin/env first it can set "
                         "the environment: 'aio-epoll=/usr/bin/env AIO_BACKEND=epoll "
                         "build/bench/bench_http_aio'")
    ap.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    ap.add_argument("--json", metavar="FILE", help="also write every sample to FILE")
    args = ap.parse_args()
    if args.duration < 1 or args.warmup < 0 or args.rounds < 1 or args.connections < 1:
        ap.error("--duration, --rounds and --connections must be positive, --warmup not negative")
    return args


def pinning(args):
    """(server pin, client pin) argv prefixes and a description."""
    taskset = shutil.which("taskset")
    if args.no_pin:
        return ([], []), "none"
    if taskset and (os.cpu_count() or 1) >= 2:
        return (([taskset, "-c", SERVER_CPU], [taskset, "-c", CLIENT_CPU]),
                f"server: taskset -c {SERVER_CPU}, wrk: taskset -c {CLIENT_CPU}")
    warn("taskset missing or fewer than 2 CPUs; running unpinned")
    return ([], []), "none"


def interrupt(signum, frame):
    """A SIGTERM unwinds like Ctrl-C: every server is stopped by its pid, temp dirs go."""
    raise KeyboardInterrupt


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    if shutil.which("wrk") is None:
        sys.exit("error: 'wrk' not found (Debian: apt-get install wrk)")
    build_dir = Path(args.build)
    if not build_dir.is_absolute():
        build_dir = Path.cwd() / build_dir
    scenarios = [s for s in SCENARIOS if s in (args.scenario or SCENARIOS)]
    commands = discover_servers(build_dir, args.only or SERVERS)
    commands.update(parse_peers(args.peer, SERVERS))
    servers = list(commands)
    if not servers:
        sys.exit("error: no server can run")
    for must in (FLOOR, BASELINE):
        if must not in commands:
            warn(f"'{must}' is not in this run: ratios against it will be blank")
    pins, pin_text = pinning(args)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:  # inherited by the servers and wrk
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "wrk": tool_version(["wrk", "-v"]).split(" Copyright")[0],
        "nginx": tool_version([commands["nginx"][0], "-v"]) if "nginx" in commands else "n/a",
        "go": tool_version(["go", "version"]) if "go" in commands else "n/a",
        "node": tool_version(["node", "--version"]) if "node" in commands else "n/a",
        "python": python_peer_versions() if "aiohttp" in commands else "n/a",
        "pinning": pin_text,
        "rounds": args.rounds,
        "duration": f"{args.duration} s measured after {args.warmup} s of warm-up, per run",
        "connections": f"{args.connections} (wrk -t1)",
    }

    results = {s: {name: [] for name in servers} for s in scenarios}
    failures = {}
    interrupted = False
    run_dir = tempfile.mkdtemp(prefix="run_http-")
    try:
        for rnd in range(args.rounds):
            # Rotating the order means no server always runs first or after the same one.
            order = servers[rnd % len(servers):] + servers[:rnd % len(servers)]
            for scenario in scenarios:
                for name in order:
                    sample, err = run_slice(name, commands[name], scenario, args, pins, run_dir)
                    status = (f"{sample['rps']:10,.0f} req/s {sample['cpu_us']:7.2f} µs/req "
                              f"p50 {fmt_latency(sample['p50_us']):>9} p99 {fmt_latency(sample['p99_us']):>9} "
                              f"(server {100 * sample['server_busy']:3.0f} %, wrk {100 * sample['client_busy']:3.0f} %)"
                              if err is None else f"FAILED ({err})")
                    log(f"[round {rnd + 1}/{args.rounds}] {scenario:9} {name:8} {status}")
                    if err is None:
                        results[scenario][name].append(sample)
                    else:
                        failures.setdefault(f"{scenario} / {name}", []).append(err)
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: servers stopped; reporting what was measured")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)

    command = reproduce_command(__file__, PYTHON, sys.argv[1:])
    print("# aio HTTP benchmark (wrk)\n")
    print(f"- command: `{command}`")
    for key, value in meta.items():
        print(f"- {key}: {value}")
    print("- figures: medians over rounds; `÷ nginx`, `÷ aiohttp`: the server's figure divided "
          "by theirs (req/s: higher is better; CPU µs/req: lower is better); server busy: its CPU "
          "time / wall time; p50, p99: wrk's latency percentiles (after its coordinated-omission "
          "correction); bytes/resp: what wrk read per response (headers differ)\n")
    for scenario in scenarios:
        print_scenario(scenario, results[scenario], failures, servers, args)
    print_notes(results, failures)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "command": command, "commands": commands,
                       "samples": results, "failures": failures}, f, indent=2)
            f.write("\n")
    if interrupted:
        sys.exit(130)


if __name__ == "__main__":
    main()
