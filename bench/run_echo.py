#!/usr/bin/python3
"""End-to-end TCP echo benchmark: aio's streams server against a C epoll floor and peers.

Every system is a server program taking one argument, the port; it listens on
127.0.0.1, prints nothing and runs until SIGTERM:

  epoll          bench/echo/echo_epoll.c: single-threaded C epoll loop (the floor)
  uring          bench/echo/echo_uring.c: single-threaded C liburing loop, multishot
                 receive into a provided-buffer ring (the io_uring floor; built when
                 liburing is installed)
  aio            bench/echo/echo_aio.cpp: aio::start_server, read(64 KiB)/write/drain, on the
                 default backend (io_uring where the kernel allows it; the environment's
                 AIO_BACKEND, if set, wins)
  asio           bench/echo/echo_asio.cpp: Boost.Asio C++20 coroutines, co_spawn per connection
  go             bench/echo/echo_go/: goroutine per connection, GOMAXPROCS=1
  node           bench/echo/echo_node.js: Node.js net, 'data' -> write
  uvloop-proto   bench/echo/echo_asyncio.py --loop uvloop --protocol: a Protocol's data_received
  uvloop         bench/echo/echo_asyncio.py --loop uvloop: streams (as aio's handler)
  asyncio-proto  bench/echo/echo_asyncio.py --protocol
  asyncio        bench/echo/echo_asyncio.py

Throughput (default). For each round, message size and system (system order rotated
every round, so slow drifts of the machine spread over all systems), one slice:
start the server pinned to CPU 0 (taskset -c 0), wait until its port accepts, run the
load generator (bench/echo/loadgen.c) pinned to CPU 1: C connections (default 64), each
sending an S-byte message, waiting for the whole echo and sending the next, for a short
warm-up and then the measured window. The load generator reads the server's CPU time
(utime + stime of /proc/PID/stat, every thread) at both ends of the window, so warm-up
is excluded. Then the server is stopped. Reported per system (medians over rounds):
requests/s, server CPU microseconds per request, how busy the server and the load
generator were, and ratios against the floor and against aio. A load generator that is
near 100 % busy means the throughput is the client's limit, not the server's: CPU per
request is the server-side figure to compare then.

Several workers (--workers 1,2). The systems that can fork (aio: aio::run_workers;
asyncio, uvloop and their -proto variants: os.fork) run once per count N: N = 1 is the
plain single-process server, N > 1 a supervisor with N worker processes, each with its
own event loop and its own SO_REUSEPORT socket on the port (rows "aio x2", ...; the other
systems run with N = 1 only). An N-worker server is pinned to CPUs 0..N-1 while the load
generator stays on CPU 1: on a 2-core machine they share CPU 1, and the table says so.
The load generator reads one process's CPU time, so for N > 1 this script sums utime +
stime over the server's whole process tree (supervisor and workers, /proc/PID/stat) at
10 % and 90 % of the measured window and scales that to the window: "server CPU µs/req"
is then the CPU of all the workers per request, and "server busy" can exceed 100 %. The
server waits until all N workers listen (/proc/net/tcp) before the load starts, so the
kernel spreads the 64 connections over all of them (by a hash of each 4-tuple: not
necessarily evenly).

Idle connections (--idle N). For each round and system (default: aio and the floor):
start the server, serve a few requests (steady state), read its RSS (VmRSS) and open
descriptors, open N idle connections from the load generator, wait until the server
holds all N (its descriptor count), read its RSS again (after it settles), then send one
request on a few of the connections and check that each is echoed. Reported: RSS growth
per connection (user space only: the kernel's socket buffers are not in RSS), twice: for
connections that never received anything, and for the same connections after each has
echoed one byte and gone idle again ("touched": the load generator's "touch" command).

Extra systems (--peer 'LABEL=PATH [ARG...]', repeatable): the server binary PATH, with the
ARGs and then the port, run as the system LABEL — an echo_aio built from an earlier commit,
to compare before and after a change in the same run, or echo_aio with another --api.

Stdlib only; run with /usr/bin/python3 (which has uvloop on Debian).
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import build_go as build_go_module, cpu_model, free_port, parse_peers, tool_version, warn  # noqa: E402
from benchlib import process_tree_cpu as tree_cpu  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ECHO = REPO / "bench" / "echo"
PYTHON = "/usr/bin/python3"

SYSTEMS = ["epoll", "uring", "aio", "asio", "go", "node", "uvloop-proto", "uvloop",
           "asyncio-proto", "asyncio"]
FLOOR = "epoll"
BASELINE = "aio"
IDLE_DEFAULT_SYSTEMS = ["epoll", "aio"]
URING_FLOOR = "uring"
# The systems whose server takes --workers N (several processes on one SO_REUSEPORT port).
WORKER_SYSTEMS = {"aio", "asyncio", "asyncio-proto", "uvloop", "uvloop-proto"}
SERVER_CPU = "0"
CLIENT_CPU = "1"
START_TIMEOUT_S = 15.0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --- finding the systems -----------------------------------------------------------------

def build_go(build_dir):
    """Builds the Go server into BUILD/bench/echo_go; returns its path or None."""
    return build_go_module(ECHO / "echo_go", build_dir / "bench" / "echo_go", "the Go server")


def discover_systems(build_dir, wanted):
    """Returns {system: argv prefix (the port is appended)} for the systems that can run."""
    found = {}
    for name, binary in (("epoll", "echo_epoll"), ("uring", "echo_uring"), ("aio", "echo_aio"),
                         ("asio", "echo_asio")):
        if name not in wanted:
            continue
        path = (build_dir / "bench" / binary).resolve()
        if path.is_file() and os.access(path, os.X_OK):
            found[name] = [str(path)]
        else:
            why = {"asio": " (Boost not found at configure time?)",
                   "uring": " (liburing not found at configure time?)"}.get(name, "")
            warn(f"{path} not found{why}; skipping system '{name}'")
    if "go" in wanted:
        go = build_go(build_dir)
        if go is not None:
            found["go"] = [str(go)]
    if "node" in wanted:
        node = shutil.which("node") or ("/usr/bin/node" if os.access("/usr/bin/node", os.X_OK) else None)
        if node:
            found["node"] = [node, str(ECHO / "echo_node.js")]
        else:
            warn("'node' not found; skipping system 'node'")
    script = str(ECHO / "echo_asyncio.py")
    if "asyncio" in wanted:
        found["asyncio"] = [PYTHON, script, "--loop", "asyncio"]
    if "asyncio-proto" in wanted:
        found["asyncio-proto"] = [PYTHON, script, "--loop", "asyncio", "--protocol"]
    if "uvloop" in wanted or "uvloop-proto" in wanted:
        probe = subprocess.run([PYTHON, "-c", "import uvloop"], capture_output=True)
        if probe.returncode == 0:
            if "uvloop" in wanted:
                found["uvloop"] = [PYTHON, script, "--loop", "uvloop"]
            if "uvloop-proto" in wanted:
                found["uvloop-proto"] = [PYTHON, script, "--loop", "uvloop", "--protocol"]
        else:
            warn(f"'import uvloop' fails under {PYTHON}; skipping 'uvloop' and 'uvloop-proto'")
    return {s: found[s] for s in SYSTEMS if s in found}


# --- running one server ------------------------------------------------------------------



class Server:
    """One server process, pinned, on a fresh port; a context manager that stops it."""

    def __init__(self, system, argv, pin, workers=1):
        self.system = system
        self.workers = workers
        self.port = free_port()
        env = dict(os.environ)
        if system == "go":
            env["GOMAXPROCS"] = "1"
        self.stderr = open(f"/tmp/run_echo_{os.getpid()}_{system}_{workers}.stderr", "w+")
        # taskset execs the server: the PID is the server's own.
        self.proc = subprocess.Popen(pin + argv + [str(self.port)], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.stderr)
        self.pid = self.proc.pid

    def wait_ready(self):
        """Waits until the port accepts a connection; returns None or why it did not."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"exited with status {self.proc.returncode} before accepting: {self.stderr_tail()}"
            if self.workers > 1:
                # Every worker listening, or the early connections all go to the first.
                if listeners(self.port) >= self.workers:
                    return None
                time.sleep(0.02)
                continue
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return None
            except OSError:
                time.sleep(0.02)
        if self.workers > 1:
            return (f"only {listeners(self.port)} of {self.workers} workers listened on port "
                    f"{self.port} within {START_TIMEOUT_S:.0f} s")
        return f"port {self.port} did not accept within {START_TIMEOUT_S:.0f} s"

    def alive(self):
        return self.proc.poll() is None

    def stderr_tail(self):
        self.stderr.flush()
        self.stderr.seek(0)
        lines = [ln for ln in self.stderr.read().strip().splitlines() if ln.strip()]
        return lines[-1] if lines else "(no stderr)"

    def stop(self):
        """Stops the server (SIGTERM, then SIGKILL); returns a complaint or None."""
        complaint = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                complaint = "did not exit within 5 s of SIGTERM (killed)"
        elif self.proc.returncode != 0:
            complaint = f"died with status {self.proc.returncode}: {self.stderr_tail()}"
        out = self.proc.stdout.read()
        self.proc.stdout.close()
        self.stderr.flush()
        self.stderr.seek(0)
        err = self.stderr.read().strip()
        self.stderr.close()
        os.unlink(self.stderr.name)
        if complaint is None and (out or err):
            complaint = f"printed something: {(out.decode(errors='replace') + err).strip()[:200]!r}"
        return complaint

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_complaint = self.stop()
        return False


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def rss_bytes(pid):
    return proc_status(pid, "VmRSS") * 1024


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def listeners(port):
    """Listening TCP sockets on 127.0.0.1:port (one per worker with SO_REUSEPORT)."""
    local = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        next(f)
        return sum(1 for line in f if line.split()[1] == local and line.split()[3] == "0A")






def run_loadgen(loadgen, pin, port, pid, connections, size, warmup, seconds):
    """One throughput slice; returns (result dict, None) or (None, why it failed)."""
    argv = pin + [loadgen, "--port", str(port), "--connections", str(connections),
                  "--size", str(size), "--warmup", str(warmup), "--duration", str(seconds),
                  "--pid", str(pid)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=warmup + seconds + 30)
    except subprocess.TimeoutExpired:
        return None, "the load generator timed out"
    lines = proc.stdout.strip().splitlines()
    try:
        res = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no stderr)"]
        return None, f"load generator: status {proc.returncode}, no result: {tail[0]}"
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no stderr)"]
        return None, f"load generator: {res.get('errors')} errors, {res.get('requests')} requests: {tail[0]}"
    if res.get("server_cpu") is None:
        return None, "could not read the server's CPU time"
    return res, None


def run_loadgen_tree(loadgen, pin, port, pid, connections, size, warmup, seconds):
    """run_loadgen for a server of several processes: the server's CPU is the sum over its
    process tree, sampled here at 10 % and 90 % of the load generator's measured window
    and scaled to the whole window."""
    argv = pin + [loadgen, "--port", str(port), "--connections", str(connections),
                  "--size", str(size), "--warmup", str(warmup), "--duration", str(seconds)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start = time.monotonic()
    samples = []
    for at in (warmup + 0.1 * seconds, warmup + 0.9 * seconds):
        time.sleep(max(0.0, start + at - time.monotonic()))
        samples.append((time.monotonic(), tree_cpu(pid)))
    try:
        out, err_text = proc.communicate(timeout=warmup + seconds + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None, "the load generator timed out"
    lines = out.strip().splitlines()
    try:
        res = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = err_text.strip().splitlines()[-1:] or ["(no stderr)"]
        return None, f"load generator: status {proc.returncode}, no result: {tail[0]}"
    if proc.returncode != 0:
        tail = err_text.strip().splitlines()[-1:] or ["(no stderr)"]
        return None, f"load generator: {res.get('errors')} errors, {res.get('requests')} requests: {tail[0]}"
    (t0, cpu0), (t1, cpu1) = samples
    res["server_cpu"] = (cpu1 - cpu0) / (t1 - t0) * res["elapsed"]
    return res, None


def throughput_slice(argv, system, loadgen, args, size, pins, workers=1):
    """Runs one server for one slice; returns (sample, None) or (None, why)."""
    server_pin, client_pin = pins
    with Server(system, argv, server_pin, workers) as srv:
        err = srv.wait_ready()
        if err:
            return None, err
        measure = run_loadgen_tree if workers > 1 else run_loadgen
        res, err = measure(loadgen, client_pin, srv.port, srv.pid, args.connections,
                           size, args.warmup, args.seconds)
        if err is None and not srv.alive():
            err = f"the server died during the run: {srv.stderr_tail()}"
    if err is None and srv.stop_complaint:
        warn(f"{system}: {srv.stop_complaint}")
    if err:
        return None, err
    elapsed = res["elapsed"]
    requests = res["requests"]
    return {
        "requests": requests,
        "elapsed": elapsed,
        "server_cpu": res["server_cpu"],
        "client_cpu": res["client_cpu"],
        "rps": requests / elapsed,
        "cpu_us": res["server_cpu"] * 1e6 / requests,
        "server_busy": res["server_cpu"] / elapsed,
        "client_busy": res["client_cpu"] / elapsed,
    }, None


def idle_once(argv, system, loadgen, n, probes, pins):
    """One idle-connection measurement; returns (sample, None) or (None, why)."""
    server_pin, client_pin = pins
    with Server(system, argv, server_pin) as srv:
        err = srv.wait_ready()
        if err:
            return None, err
        # Steady state first: a few requests (lazy set-up, first allocations, imports).
        res, err = run_loadgen(loadgen, client_pin, srv.port, srv.pid, 8, 1024, 0.1, 0.3)
        if err:
            return None, f"warm-up: {err}"
        deadline = time.monotonic() + 5
        base_fds = fd_count(srv.pid)
        while time.monotonic() < deadline:  # the warm-up's connections going away
            time.sleep(0.1)
            fds = fd_count(srv.pid)
            if fds == base_fds:
                break
            base_fds = fds
        base_rss = rss_bytes(srv.pid)

        gen = subprocess.Popen(client_pin + [loadgen, "--port", str(srv.port), "--idle", str(n),
                                             "--probe", str(probes)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        try:
            line = gen.stdout.readline()
            try:
                opened = json.loads(line)["connected"]
            except (ValueError, KeyError):
                return None, f"load generator: no result ({gen.stderr.read().strip()[-200:]})"
            if opened != n:
                return None, f"only {opened} of {n} connections connected"
            # Connected is not accepted: wait until the server holds every one.
            deadline = time.monotonic() + 60
            held = fd_count(srv.pid) - base_fds
            while held < n and time.monotonic() < deadline and srv.alive():
                time.sleep(0.1)
                held = fd_count(srv.pid) - base_fds
            if not srv.alive():
                return None, f"the server died holding {held} connections: {srv.stderr_tail()}"
            if held < n:
                return None, f"the server holds only {held} of {n} connections after 60 s"
            # Let the server finish setting up the last ones.
            rss = settled_rss(srv.pid)
            # Every connection echoes one byte and goes idle again.
            gen.stdin.write("touch\n")
            gen.stdin.flush()
            try:
                touch = json.loads(gen.stdout.readline())
            except ValueError:
                return None, "the touch got no answer from the load generator"
            if touch["echoed"] != touch["probed"]:
                return None, f"only {touch['echoed']} of {touch['probed']} touched connections echoed"
            touched = settled_rss(srv.pid)
            gen.stdin.write("probe\n")
            gen.stdin.flush()
            try:
                probe = json.loads(gen.stdout.readline())
            except ValueError:
                return None, "the probe got no answer from the load generator"
            if probe["echoed"] != probe["probed"]:
                return None, f"only {probe['echoed']} of {probe['probed']} probed connections echoed"
        finally:
            if gen.stdin and not gen.stdin.closed:
                gen.stdin.close()
            try:
                gen.wait(30)
            except subprocess.TimeoutExpired:
                gen.kill()
                gen.wait()
            gen.stdout.close()
            gen.stderr.close()
    if srv.stop_complaint:
        warn(f"{system}: {srv.stop_complaint}")
    return {"connections": n, "held": held, "probed": probe["probed"],
            "rss_before": base_rss, "rss_after": rss, "rss_touched": touched,
            "bytes_per_conn": (rss - base_rss) / n,
            "bytes_per_touched_conn": (touched - base_rss) / n}, None


def settled_rss(pid):
    """The server's RSS once it has been steady for 0.3 s (at most 5 s)."""
    rss = rss_bytes(pid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = rss_bytes(pid)
        if now == rss:
            break
        rss = now
    return rss


# --- reporting ---------------------------------------------------------------------------



def fmt(value, digits=None):
    if value is None:
        return "—"
    if digits is not None:
        return f"{value:,.{digits}f}"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"


def med(samples, key):
    vals = [s[key] for s in samples]
    return statistics.median(vals) if vals else None


def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "—"


def print_failures(failures):
    lines = []
    for key, reasons in failures.items():
        for reason in sorted(set(reasons)):
            lines.append(f"- {key}: {reason} (x{reasons.count(reason)})")
    if lines:
        print("## failures\n")
        print("\n".join(lines))
        print()


def print_throughput(results, failures, systems, sizes, args):
    for size in sizes:
        print(f"## {size}-byte messages, {args.connections} connections\n")
        print("Medians over rounds. req/s: higher is better; server CPU µs/req: lower is "
              "better. `÷ floor`, `÷ uring` (the C io_uring floor) and `÷ aio`: the system's figure "
              "divided by theirs. "
              "Busy: CPU time / wall time (server on CPU 0, load generator on CPU 1).\n")
        if any(" x" in s for s in systems):
            print("Rows \"SYSTEM xN\": N worker processes on one SO_REUSEPORT port, pinned to "
                  "CPUs 0..N-1 (the load generator stays on CPU 1 and shares it); server CPU "
                  "µs/req and server busy sum every process of the server (100 % = one core), "
                  "so they count all the CPU the workers spent per request.\n")
        print("| system | req/s | ÷ floor | ÷ aio | server CPU µs/req | ÷ floor | ÷ uring | ÷ aio "
              "| server busy | loadgen busy | runs |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        floor = results[size].get(FLOOR, [])
        base = results[size].get(BASELINE, [])
        f_rps, f_cpu = med(floor, "rps"), med(floor, "cpu_us")
        b_rps, b_cpu = med(base, "rps"), med(base, "cpu_us")
        u_cpu = med(results[size].get(URING_FLOOR, []), "cpu_us")
        for system in systems:
            samples = results[size].get(system, [])
            failed = len(failures.get(f"{size} / {system}", []))
            runs = f"{len(samples)}" + (f" ({failed} failed)" if failed else "")
            if not samples:
                print(f"| {system} | — | — | — | — | — | — | — | — | — | {runs} |")
                continue
            rps, cpu = med(samples, "rps"), med(samples, "cpu_us")
            name = f"{system} (floor)" if system == FLOOR else system
            print(f"| {name} | {fmt(rps, 0)} | {ratio(rps, f_rps)} | {ratio(rps, b_rps)} "
                  f"| {fmt(cpu)} | {ratio(cpu, f_cpu)} | {ratio(cpu, u_cpu)} | {ratio(cpu, b_cpu)} "
                  f"| {100 * med(samples, 'server_busy'):.0f} % "
                  f"| {100 * med(samples, 'client_busy'):.0f} % | {runs} |")
        print()


def print_idle(results, failures, systems, n):
    print(f"## memory per idle connection ({n:,} connections)\n")
    print("Server RSS growth / connections, after a few requests (steady state) and with all "
          "connections accepted and idle; median over rounds. User space only. \"never used\": "
          "the connections have not received anything yet; \"touched\": each has then echoed "
          "one byte and is idle again.\n")
    print("| system | bytes per connection, never used | ÷ floor | ÷ aio "
          "| bytes per connection, touched | ÷ floor | ÷ aio | RSS before (MiB) "
          "| RSS idle (MiB) | RSS touched (MiB) | held | probes echoed | runs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    f_b = med(results.get(FLOOR, []), "bytes_per_conn")
    a_b = med(results.get(BASELINE, []), "bytes_per_conn")
    f_t = med(results.get(FLOOR, []), "bytes_per_touched_conn")
    a_t = med(results.get(BASELINE, []), "bytes_per_touched_conn")
    for system in systems:
        samples = results.get(system, [])
        failed = len(failures.get(f"idle / {system}", []))
        runs = f"{len(samples)}" + (f" ({failed} failed)" if failed else "")
        if not samples:
            print(f"| {system} | — | — | — | — | — | — | — | — | — | — | — | {runs} |")
            continue
        b = med(samples, "bytes_per_conn")
        t = med(samples, "bytes_per_touched_conn")
        name = f"{system} (floor)" if system == FLOOR else system
        print(f"| {name} | {fmt(b, 0)} | {ratio(b, f_b)} | {ratio(b, a_b)} "
              f"| {fmt(t, 0)} | {ratio(t, f_t)} | {ratio(t, a_t)} "
              f"| {med(samples, 'rss_before') / 2**20:.1f} | {med(samples, 'rss_after') / 2**20:.1f} "
              f"| {med(samples, 'rss_touched') / 2**20:.1f} "
              f"| {min(s['held'] for s in samples):,} | {min(s['probed'] for s in samples)} each "
              f"| {runs} |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="CMake build directory (default: build)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default: 5; --quick: 1)")
    ap.add_argument("--seconds", type=float, help="measured seconds per slice (default: 3; --quick: 1)")
    ap.add_argument("--warmup", type=float, help="warm-up seconds per slice (default: 0.5; --quick: 0.3)")
    ap.add_argument("--sizes", default="1024,16384", help="message sizes in bytes (default: 1024,16384)")
    ap.add_argument("--connections", type=int, default=64, help="client connections (default: 64)")
    ap.add_argument("--system", action="append", choices=SYSTEMS,
                    help="run only this system (repeatable; default: all, or epoll and aio with --idle)")
    ap.add_argument("--peer", action="append", metavar="LABEL=PATH [ARG...]",
                    help="also run the server PATH with ARGs (the port is appended) as system "
                         "LABEL (repeatable), e.g. aio-before=/tmp/echo_aio or "
                         "'aio-into=build/dev/bench/echo_aio --api read_into'")
    ap.add_argument("--idle", type=int, metavar="N",
                    help="instead of throughput: memory per idle connection with N connections")
    ap.add_argument("--probes", type=int, default=10,
                    help="--idle: connections that get a request after the measurement (default: 10)")
    ap.add_argument("--quick", action="store_true", help="1 round, 1-second slices: a smoke run")
    ap.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    ap.add_argument("--json", metavar="FILE", help="write every sample to FILE")
    ap.add_argument("--workers", default="1", metavar="N[,N...]",
                    help="worker process counts for the systems that can fork (default: 1); "
                         "e.g. 1,2 runs aio and aio x2")
    args = ap.parse_args()
    args.rounds = args.rounds if args.rounds is not None else (1 if args.quick else 5)
    args.seconds = args.seconds if args.seconds is not None else (1.0 if args.quick else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if args.quick else 0.5)
    if args.rounds < 1 or args.seconds <= 0 or args.warmup < 0 or args.connections < 1:
        ap.error("--rounds, --seconds and --connections must be positive")
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error("--sizes: comma-separated byte counts")
    if not sizes or min(sizes) < 1:
        ap.error("--sizes: comma-separated byte counts")
    try:
        worker_counts = sorted({int(w) for w in args.workers.split(",") if w.strip()})
    except ValueError:
        ap.error("--workers: comma-separated process counts")
    if not worker_counts or min(worker_counts) < 1:
        ap.error("--workers: comma-separated process counts")
    if args.idle and worker_counts != [1]:
        ap.error("--workers applies to throughput runs, not --idle")

    build_dir = Path(args.build)
    if not build_dir.is_absolute():
        build_dir = Path.cwd() / build_dir
    loadgen = (build_dir / "bench" / "echo_loadgen").resolve()
    if not (loadgen.is_file() and os.access(loadgen, os.X_OK)):
        sys.exit(f"error: {loadgen} not found (build the echo_loadgen target)")

    # Descriptors: the children (servers, load generator) inherit our soft limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.idle and hard != resource.RLIM_INFINITY and hard < args.idle + 100:
        sys.exit(f"error: --idle {args.idle} needs more descriptors than the hard limit ({hard})")

    pins, pinning = ([], []), "none"
    taskset = shutil.which("taskset")
    if args.no_pin:
        pass
    elif taskset and (os.cpu_count() or 1) >= 2:
        pins = ([taskset, "-c", SERVER_CPU], [taskset, "-c", CLIENT_CPU])
        pinning = f"server: taskset -c {SERVER_CPU}, load generator: taskset -c {CLIENT_CPU}"
    else:
        warn("taskset missing or fewer than 2 CPUs; running unpinned")

    wanted = args.system or (IDLE_DEFAULT_SYSTEMS if args.idle else SYSTEMS)
    commands = discover_systems(build_dir, wanted)
    commands.update(parse_peers(args.peer, SYSTEMS))
    systems = list(commands)
    if not systems:
        sys.exit("error: no system can run")
    for must in (FLOOR, BASELINE):
        if must not in commands:
            warn(f"'{must}' is not in this run: ratios against it will be blank")

    # What runs: one row per system and worker count ("aio" for 1, "aio x2" for 2, ...).
    variants = {}  # row label -> (system, workers, argv prefix)
    for system in systems:
        for w in (worker_counts if system in WORKER_SYSTEMS else [1]):
            if w == 1:
                variants[system] = (system, 1, commands[system])
            else:
                variants[f"{system} x{w}"] = (system, w, commands[system] + ["--workers", str(w)])
    skipped = [s for s in systems if s not in WORKER_SYSTEMS]
    if max(worker_counts) > 1 and skipped:
        warn(f"no --workers for {', '.join(skipped)}: they run as one process only")

    def pins_for(workers):
        if workers == 1 or not pins[0]:
            return pins
        if workers > (os.cpu_count() or 1):
            return ([], pins[1])
        return ([pins[0][0], "-c", f"0-{workers - 1}"], pins[1])

    failures = {}
    if args.idle:
        results = {s: [] for s in systems}
        for rnd in range(args.rounds):
            order = systems[rnd % len(systems):] + systems[:rnd % len(systems)]
            for system in order:
                sample, err = idle_once(commands[system], system, str(loadgen), args.idle,
                                        args.probes, pins)
                status = (f"{sample['bytes_per_conn']:.0f} B/conn" if err is None
                          else f"FAILED ({err})")
                log(f"[round {rnd + 1}/{args.rounds}] idle {system:13} {status}")
                if err is None:
                    results[system].append(sample)
                else:
                    failures.setdefault(f"idle / {system}", []).append(err)
    else:
        labels = list(variants)
        results = {size: {label: [] for label in labels} for size in sizes}
        for rnd in range(args.rounds):
            # Rotating the order means no system always runs first or after the same one.
            order = labels[rnd % len(labels):] + labels[:rnd % len(labels)]
            for size in sizes:
                for system in order:
                    base, workers, argv = variants[system]
                    sample, err = throughput_slice(argv, base, str(loadgen), args, size,
                                                   pins_for(workers), workers)
                    status = (f"{sample['rps']:9,.0f} req/s {sample['cpu_us']:7.2f} µs/req "
                              f"(server {100 * sample['server_busy']:3.0f} %, "
                              f"loadgen {100 * sample['client_busy']:3.0f} %)"
                              if err is None else f"FAILED ({err})")
                    log(f"[round {rnd + 1}/{args.rounds}] {size:6} {system:13} {status}")
                    if err is None:
                        results[size][system].append(sample)
                    else:
                        failures.setdefault(f"{size} / {system}", []).append(err)

    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": f"{PYTHON} " + tool_version([PYTHON, "-c", "import sys; print(sys.version.split()[0])"]),
        "go": tool_version(["go", "version"]) if shutil.which("go") else "n/a",
        "node": tool_version(["node", "--version"]) if shutil.which("node") else "n/a",
        "pinning": pinning,
        "rounds": args.rounds,
    }
    if args.idle:
        meta["connections"] = args.idle
    else:
        meta.update({"seconds": args.seconds, "warmup": args.warmup,
                     "connections": args.connections, "sizes": sizes})
        if max(worker_counts) > 1:
            meta["workers"] = (f"{worker_counts} (SYSTEM xN: N processes, pinned to CPUs "
                               f"0..N-1; CPU summed over the process tree)")
    # Relative paths in the arguments (--build, --json) are relative to the caller's
    # directory, so the command starts there.
    script = os.path.relpath(Path(__file__).resolve())
    if script.startswith(".."):
        script = str(Path(__file__).resolve())
    command = f"cd {shlex.quote(os.getcwd())} && " + shlex.join([PYTHON, script] + sys.argv[1:])

    print("# aio end-to-end TCP echo benchmark\n")
    print(f"- command: `{command}`")
    for key, value in meta.items():
        print(f"- {key}: {value}")
    print()
    if args.idle:
        print_idle(results, failures, systems, args.idle)
    else:
        print_throughput(results, failures, list(variants), sizes, args)
    print_failures(failures)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "command": command,
                       "commands": {k: v[2] for k, v in variants.items()} if not args.idle else commands,
                       "mode": "idle" if args.idle else "throughput",
                       "samples": {str(k): v for k, v in results.items()},
                       "failures": failures}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
