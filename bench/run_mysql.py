#!/usr/bin/python3
"""MySQL client benchmark: aio::mysql against aiomysql (on uvloop when installed), PyMySQL
and MariaDB Connector/C (blocking, the C floor), all against one throwaway MariaDB server
started here, in one run.

  aio       BUILD/bench/bench_mysql_aio ARGS      (bench/mysql/mysql_aio.cpp), once with
                                                  AIO_BACKEND=io_uring, once with epoll
  aio-row   the same, rows scenario only, reading owning Rows (RowStream::next()) where
            `aio` reads RowViews (RowStream::next_view())
  c         BUILD/bench/bench_mysql_c ARGS        (bench/mysql/mysql_c.c; built where
                                                   pkg-config finds libmariadb)
  c-nonblock BUILD/bench/bench_mysql_c nonblock ARGS  (its non-blocking API: _start/_cont
                                                   calls, poll() on the socket in between)
  aiomysql  /usr/bin/python3 bench/mysql/mysql_python.py aiomysql[-uvloop] ARGS
  pymysql   /usr/bin/python3 bench/mysql/mysql_python.py pymysql ARGS
with ARGS = HOST PORT USER PASSWORD DB SCENARIO N; each prints {"ops": N, "seconds": S},
S timing only the measured loop (not start-up or connecting).

Scenarios (all clients over TCP to 127.0.0.1, for fairness; the server also listens on a
unix socket, used for setup only):
  select1  --queries `SELECT 1` one after another on one connection
  pool     --queries `SELECT 1` from 100 tasks through a pool of 10 connections (C and
           PyMySQL have neither tasks nor a pool: they run the queries sequentially)
  rows     every row of a 1,000,000-row table (id, k, name, amount), streamed unbuffered:
           aio's query_stream (RowStream::next_view; aio-row: next), mysql_use_result (and
           mysql_fetch_row_start/_cont), PyMySQL's and aiomysql's SSCursor
  insert   --inserts rows through a prepared INSERT in one transaction (C: mysql_stmt_execute;
           aio: Statement::execute; PyMySQL/aiomysql have no server-side prepare: execute()
           per row with client-side formatting)

The server (mariadbd, pinned to CPU 1) and each client (pinned to CPU 0, taskset when
present) run for --rounds rounds per scenario in rotated order; reported are medians of
ops/s, client CPU per op (the rusage of the reaped child, less the CPU of the same client
just connecting and quitting, measured each round: Python's start-up is ~0.1 s) and server
CPU per op (mariadbd's utime + stime from /proc). Stdlib only; run with /usr/bin/python3.

  bench/run_mysql.py --build build/bench [--rounds 3] [--queries 20000] [--inserts 10000]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchlib import (cpu_model, fmt_figure, free_port, median_of, process_tree_cpu,  # noqa: E402
                      reproduce_command, stop_process_tree, tool_version, warn)

MARIADBD, INSTALL_DB, ADMIN, CLIENT = "/usr/sbin/mariadbd", "/usr/bin/mariadb-install-db", "/usr/bin/mariadb-admin", \
    "/usr/bin/mariadb"
USER, PASSWORD, DB = "bench", "bench-secret", "bench"
ROWS = 1_000_000
SCENARIOS = ("select1", "pool", "rows", "insert")
AIO = ("aio-io_uring", "aio-epoll")
# Clients that run only some scenarios: client -> {scenario: the argument that runs it}.
ONLY = {"aio-row-io_uring": {"rows": "rows-owned"}, "aio-row-epoll": {"rows": "rows-owned"}}


def pin(cpu):
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(cpu)] if taskset and (os.cpu_count() or 1) > cpu else []


class Server:
    """A throwaway MariaDB in a temp dir, as tests/mysql_support.hpp starts it."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="aio-mysql-bench-"))
        self.socket = str(self.dir / "mysqld.sock")
        self.port = free_port()
        self.proc = None

    def start(self):
        subprocess.run([INSTALL_DB, "--no-defaults", f"--datadir={self.dir}/data", "--user=root",
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, capture_output=True, timeout=120)
        argv = [MARIADBD, "--no-defaults", "--user=root", f"--datadir={self.dir}/data", f"--socket={self.socket}",
                f"--port={self.port}", "--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin",
                f"--pid-file={self.dir}/mariadbd.pid", f"--log-error={self.dir}/error.log",
                "--innodb-buffer-pool-size=512M", "--max-connections=200"]
        self.proc = subprocess.Popen(pin(1) + argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            ping = subprocess.run([ADMIN, "--no-defaults", "--protocol=socket", f"--socket={self.socket}", "-uroot",
                                   "--connect-timeout=2", "ping"], capture_output=True)
            if ping.returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        sys.exit(f"mariadbd did not start; see {self.dir}/error.log")

    def sql(self, text):
        subprocess.run([CLIENT, "--no-defaults", "--protocol=socket", f"--socket={self.socket}", "-uroot", "-e", text],
                       check=True, timeout=600)

    def cpu(self):
        return process_tree_cpu(self.proc.pid)

    def stop(self):
        if self.proc:
            complaint = stop_process_tree(self.proc, grace_s=30)
            if complaint:
                warn(f"mariadbd {complaint}")
        shutil.rmtree(self.dir, ignore_errors=True)


def clients(build):
    out = {}
    aio, c = build / "bench" / "bench_mysql_aio", build / "bench" / "bench_mysql_c"
    if aio.exists():  # on each of its backends (`env`: the rusage is still the client's)
        out["aio-io_uring"] = ["env", "AIO_BACKEND=io_uring", str(aio)]
        out["aio-epoll"] = ["env", "AIO_BACKEND=epoll", str(aio)]
        out["aio-row-io_uring"] = out["aio-io_uring"]
        out["aio-row-epoll"] = out["aio-epoll"]
    else:
        warn(f"{aio} not built; skipping 'aio' (cmake --build {build} --target bench_mysql_aio)")
    if c.exists():
        out["c"] = [str(c)]
        out["c-nonblock"] = [str(c), "nonblock"]
    else:
        warn(f"{c} not built; skipping 'c' (Debian libmariadb-dev, then cmake --build {build} --target bench_mysql_c)")
    py = ["/usr/bin/python3", str(HERE / "mysql" / "mysql_python.py")]
    have = lambda mod: subprocess.run(["/usr/bin/python3", "-c", f"import {mod}"], capture_output=True).returncode == 0
    if have("aiomysql"):
        out["aiomysql"] = py + (["aiomysql-uvloop"] if have("uvloop") else ["aiomysql"])
    else:
        warn("python3-aiomysql not installed; skipping 'aiomysql'")
    if have("pymysql"):
        out["pymysql"] = py + ["pymysql"]
    else:
        warn("python3-pymysql not installed; skipping 'pymysql'")
    return out


def run_client(argv, timeout_s=900):
    """Runs one client to completion; its report with cpu_s (the reaped child's rusage)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(pin(0) + argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        timer = threading.Timer(timeout_s, proc.kill)
        timer.daemon = True  # an interrupted run must not wait for it
        timer.start()
        try:
            out = proc.stdout.read()
            proc.stdout.close()
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {err.read().decode()[-800:]}")
    report = json.loads(out.decode().strip().splitlines()[-1])
    report["cpu_s"] = usage.ru_utime + usage.ru_stime
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/bench", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--queries", type=int, default=20000, help="SELECT 1s per run (select1 and pool)")
    ap.add_argument("--inserts", type=int, default=10000)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = ap.parse_args()
    for tool in (MARIADBD, INSTALL_DB, ADMIN, CLIENT):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} not found (Debian mariadb-server and mariadb-client)")
    chosen = clients(args.build)
    if not chosen:
        sys.exit("no client to run")
    scenarios = [s for s in args.scenarios.split(",") if s]
    counts = {"select1": args.queries, "pool": args.queries, "rows": ROWS, "insert": args.inserts}

    server = Server()
    results = {}
    try:
        server.start()
        t0 = time.monotonic()
        server.sql(f"CREATE DATABASE {DB} CHARACTER SET utf8mb4;"
                   f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';"
                   f"GRANT ALL ON {DB}.* TO '{USER}'@'127.0.0.1';"
                   f"USE {DB}; CREATE TABLE bench_rows (id INT PRIMARY KEY, k INT NOT NULL, name VARCHAR(32) NOT NULL,"
                   " amount DOUBLE NOT NULL);"
                   f"INSERT INTO bench_rows SELECT seq, seq * 7 % 1000, CONCAT('name-', seq), seq / 3"
                   f" FROM seq_1_to_{ROWS};"
                   f"CREATE TABLE bench_insert (id BIGINT PRIMARY KEY, name VARCHAR(32), amount DOUBLE);")
        print(f"# table of {ROWS:,} rows made in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        base = ["127.0.0.1", str(server.port), USER, PASSWORD, DB]
        names = list(chosen)
        for scenario in scenarios:
            for rnd in range(args.rounds):
                order = names[rnd % len(names):] + names[:rnd % len(names)]
                for name in order:
                    if name in ONLY and scenario not in ONLY[name]:
                        continue
                    argument = ONLY.get(name, {}).get(scenario, scenario)
                    startup = run_client(chosen[name] + base + ["connect", "0"])["cpu_s"]
                    cpu0 = server.cpu()
                    r = run_client(chosen[name] + base + [argument, str(counts[scenario])])
                    r["server_cpu_s"] = server.cpu() - cpu0
                    if r["ops"] != counts[scenario]:
                        warn(f"{name} {scenario}: {r['ops']} ops, expected {counts[scenario]}")
                    r["ops_s"] = r["ops"] / r["seconds"]
                    r["cpu_us"] = max(r["cpu_s"] - startup, 0.0) / r["ops"] * 1e6
                    r["server_us"] = r["server_cpu_s"] / r["ops"] * 1e6
                    results.setdefault((scenario, name), []).append(r)
                    print(f"  {scenario:8} {name:9} {r['ops_s']:12,.0f} ops/s {r['cpu_us']:8.2f} client µs/op "
                          f"{r['server_us']:8.2f} server µs/op", file=sys.stderr)
    finally:
        server.stop()

    version = tool_version([MARIADBD, "--version"])
    print(f"# {reproduce_command(__file__, '/usr/bin/python3', sys.argv[1:])}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; CPU: {cpu_model()}, {os.cpu_count()} CPUs; "
          f"{version}; aiomysql client: {' '.join(chosen.get('aiomysql', ['-'])[2:])}; "
          f"{args.rounds} rounds, medians\n")
    print("| scenario | client | ops/s | client CPU µs/op | server CPU µs/op | aio vs it (ops/s) "
          "| aio vs it (client CPU/op) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    def paired(scenario, a, peer, key):
        """The median over rounds of a's figure ÷ peer's in the same round: a round's two
        runs are seconds apart, so a load that comes and goes between rounds cancels out."""
        pairs = list(zip(results.get((scenario, a), []), results.get((scenario, peer), [])))
        return statistics.median(x[key] / y[key] for x, y in pairs) if pairs else None

    def ratio(value):
        return f"{value:.2f}×" if value else "—"

    for scenario in scenarios:  # aio's ratios: its better backend in that scenario
        best = max(AIO, key=lambda a: median_of(results.get((scenario, a), []), "ops_s") or 0)
        for name in chosen:
            rs = results.get((scenario, name))
            if not rs:
                continue
            label = name + (" (sequential)" if scenario == "pool" and name in ("c", "c-nonblock", "pymysql") else "")
            vs_ops = ratio(paired(scenario, best, name, "ops_s")) if name not in AIO else "—"
            vs_cpu = ratio(paired(scenario, name, best, "cpu_us")) if name not in AIO else "—"
            print(f"| {scenario} | {label} | {fmt_figure(median_of(rs, 'ops_s'))} | "
                  f"{fmt_figure(median_of(rs, 'cpu_us'))} | {fmt_figure(median_of(rs, 'server_us'))} | {vs_ops} | "
                  f"{vs_cpu} |")
    targets = [("select1", "aiomysql", 10.0), ("pool", "aiomysql", 10.0), ("select1", "c", 1.0), ("rows", "c", 1.0),
               ("select1", "c-nonblock", 1.0), ("rows", "c-nonblock", 1.0)]
    print("\n(ratios: the median over rounds of the two clients' ratio in the same round; aio: its better backend)\n")
    for scenario, peer, goal in targets:
        for a in AIO:
            r = paired(scenario, a, peer, "ops_s")
            if r:
                print(f"- target {scenario}: {a} ≥ {goal:g}× {peer} (ops/s): {r:.2f}× ({'met' if r >= goal else 'MISSED'})")

if __name__ == "__main__":
    main()
