#!/usr/bin/python3
"""Interleaved core-runtime benchmarks: aio against asio, Go, asyncio, uvloop.

Every system is a separate program speaking one protocol:

    PROGRAM BENCH N    ->  exactly one line on stdout: a number

  task    ns per iteration of "create a task running a trivial coroutine,
          await it" (after a warm-up of min(N/10, 10000) iterations)
  sleep0  ns per yield to the scheduler, two tasks yielding N times each
  gather  median over 5 repetitions of ns per task for gathering N trivial
          coroutines
  memory  RSS bytes per task, N tasks suspended on something that never fires
  queue   ns per item, one producer and one consumer task on an unbounded
          queue; the producer yields after each put, so the consumer is
          suspended in get() when each item arrives (Go: a channel + Gosched)
  queue_bounded  ns per item through a queue of maxsize 1 (Go: chan of cap 1)
  lock    ns per uncontended lock acquire + release (Go: sync.Mutex)
  lock_contended  ns per hand-off of a FIFO lock between two tasks that loop
          acquire/release (Go: a chan of cap 1 used as a lock, since
          sync.Mutex does not hand off; see bench/peers/core_go/main.go)
  to_thread  ns per round trip of "run a trivial function on the loop's
          default thread pool and await its result" (asyncio.to_thread)
  spawn   µs per child process: start /bin/true and await its exit
          (asyncio.create_subprocess_exec + Process.wait)

Runs are interleaved (round -> benchmark -> system, system order rotated
every round) so that slow drifts of the machine (thermal, noisy neighbours)
spread over all systems instead of biasing one. Lower is better everywhere.

Stdlib only; run with /usr/bin/python3 (which has uvloop on Debian).
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import build_go as build_go_module, cpu_model, warn  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PEERS = REPO / "bench" / "peers"
PYTHON = "/usr/bin/python3"

CORE_BENCHES = ["task", "sleep0", "gather", "memory",
                "queue", "queue_bounded", "lock", "lock_contended"]
BENCHES = CORE_BENCHES + ["to_thread", "spawn"]
UNITS = {"task": "ns/task", "sleep0": "ns/yield", "gather": "ns/task",
         "memory": "bytes/task", "queue": "ns/item", "queue_bounded": "ns/item",
         "lock": "ns/acquire+release", "lock_contended": "ns/hand-off",
         "to_thread": "ns/round trip", "spawn": "µs/process"}
SYSTEMS = ["aio", "asio", "go", "asyncio", "uvloop"]
# Boost.Asio (1.74) has no queue or lock for coroutines: it runs the first four only.
# The asio and Go peers have no to_thread / spawn program (Go has no event loop to come
# back to: a goroutine is already a thread-pool job).
SUPPORTS = {"asio": {"task", "sleep0", "gather", "memory"}, "go": set(CORE_BENCHES)}
BASELINE = "aio"
TIMEOUT_S = 120

# Interpreted loops are ~10x slower; smaller N keeps their runs comparable
# in wall time. Per-op results do not depend much on N beyond warm-up.
DEFAULT_N = {
    "task": {"native": 1_000_000, "python": 200_000},
    "sleep0": {"native": 1_000_000, "python": 200_000},
    "gather": {"native": 100_000, "python": 100_000},
    "memory": {"native": 1_000_000, "python": 1_000_000},
    "queue": {"native": 2_000_000, "python": 200_000},
    "queue_bounded": {"native": 2_000_000, "python": 200_000},
    "lock": {"native": 10_000_000, "python": 1_000_000},
    "lock_contended": {"native": 2_000_000, "python": 200_000},
    "to_thread": {"native": 100_000, "python": 20_000},
    "spawn": {"native": 2_000, "python": 1_000},
}
QUICK_N = {"task": 20_000, "sleep0": 20_000, "gather": 20_000, "memory": 100_000,
           "queue": 20_000, "queue_bounded": 20_000, "lock": 100_000,
           "lock_contended": 20_000, "to_thread": 2_000, "spawn": 100}


def supports(system, bench):
    return bench in SUPPORTS.get(system, BENCHES)


def n_for(bench, system, quick):
    if quick:
        return QUICK_N[bench]
    kind = "python" if system in ("asyncio", "uvloop") else "native"
    return DEFAULT_N[bench][kind]


def build_go(build_dir):
    """Builds the Go peer into BUILD/bench/core_go; returns its path or None."""
    return build_go_module(PEERS / "core_go", build_dir / "bench" / "core_go", "the Go peer")


def discover_systems(build_dir, wanted):
    """Returns {system: argv prefix} for the systems that can run here."""
    found = {}
    for name, binary in (("aio", "bench_core_aio"), ("asio", "bench_core_asio")):
        if name not in wanted:
            continue
        path = (build_dir / "bench" / binary).resolve()
        if path.is_file() and os.access(path, os.X_OK):
            found[name] = [str(path)]
        else:
            warn(f"{path} not found; skipping system '{name}'")
    if "go" in wanted:
        go = build_go(build_dir)
        if go is not None:
            found["go"] = [str(go)]
    script = str(PEERS / "core_asyncio.py")
    if "asyncio" in wanted:
        found["asyncio"] = [PYTHON, script, "--loop", "asyncio"]
    if "uvloop" in wanted:
        probe = subprocess.run([PYTHON, "-c", "import uvloop"], capture_output=True)
        if probe.returncode == 0:
            found["uvloop"] = [PYTHON, script, "--loop", "uvloop"]
        else:
            warn(f"'import uvloop' fails under {PYTHON}; skipping system 'uvloop'")
    # Keep a stable, documented order regardless of discovery order.
    return {s: found[s] for s in SYSTEMS if s in found}


def run_one(argv):
    """Runs one benchmark process; returns (value, None) or (None, reason)."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"timeout after {TIMEOUT_S} s"
    except OSError as e:
        return None, f"could not start: {e}"
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no stderr)"]
        return None, f"exit status {proc.returncode}: {tail[0]}"
    lines = proc.stdout.strip().splitlines()
    if len(lines) != 1:
        return None, f"expected one line on stdout, got {proc.stdout!r:.200}"
    try:
        return float(lines[0]), None
    except ValueError:
        return None, f"not a number: {lines[0]!r:.200}"


def fmt(value):
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def print_report(results, failures, ns, systems, command, meta):
    print("# aio core-runtime benchmarks\n")
    print(f"- command: `{command}`")
    for key in ("date", "cpu", "cores", "kernel", "python", "go", "pinning", "rounds"):
        print(f"- {key}: {meta[key]}")
    print()
    for bench in BENCHES:
        if bench not in results:
            continue
        print(f"## {bench} ({UNITS[bench]}, lower is better)\n")
        print(f"| system | N | median | min | max | runs | peer / {BASELINE} |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        base_vals = results[bench].get(BASELINE, [])
        base = statistics.median(base_vals) if base_vals else None
        for system in systems:
            vals = results[bench].get(system, [])
            failed = len(failures[bench].get(system, []))
            runs = f"{len(vals)}" + (f" ({failed} failed)" if failed else "")
            if not supports(system, bench):
                continue
            if vals:
                med = statistics.median(vals)
                ratio = "1.00 (baseline)" if system == BASELINE else (
                    f"{med / base:.2f}" if base else "—")
                row = [fmt(med), fmt(min(vals)), fmt(max(vals)), runs, ratio]
            else:
                row = ["—", "—", "—", runs, "—"]
            print(f"| {system} | {ns[bench][system]:,} | " + " | ".join(row) + " |")
        print()
    any_fail = False
    for bench in BENCHES:
        for system, reasons in failures.get(bench, {}).items():
            if not any_fail:
                print("## failures\n")
                any_fail = True
            for reason in sorted(set(reasons)):
                count = reasons.count(reason)
                print(f"- {bench} / {system}: {reason} (x{count})")
    if any_fail:
        print()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="CMake build directory (default: build)")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default: 7)")
    ap.add_argument("--quick", action="store_true", help="small N, for a smoke run")
    ap.add_argument("--json", metavar="FILE", help="write raw values to FILE")
    ap.add_argument("--cpu", type=int, metavar="K",
                    help="pin every run to CPU K with taskset (default: no pinning)")
    ap.add_argument("--bench", action="append", choices=BENCHES,
                    help="run only this benchmark (repeatable; default: all)")
    ap.add_argument("--system", action="append", choices=SYSTEMS,
                    help="run only this system (repeatable; default: all)")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")

    benches = [b for b in BENCHES if args.bench is None or b in args.bench]
    build_dir = Path(args.build)
    if not build_dir.is_absolute():
        build_dir = Path.cwd() / build_dir

    prefix, pinning = [], "none"
    if args.cpu is not None:
        taskset = shutil.which("taskset")
        if taskset:
            prefix, pinning = [taskset, "-c", str(args.cpu)], f"taskset -c {args.cpu}"
        else:
            warn("taskset not found; running unpinned")

    # A system that runs none of the chosen benchmarks is not even discovered (no Go build
    # for `--bench to_thread`).
    wanted = [s for s in (args.system or SYSTEMS) if any(supports(s, b) for b in benches)]
    commands = discover_systems(build_dir, wanted)
    systems = list(commands)
    if not systems:
        sys.exit("error: no system can run")
    if BASELINE not in commands:
        warn(f"baseline '{BASELINE}' is missing: ratios will be blank")

    ns = {b: {s: n_for(b, s, args.quick) for s in systems} for b in benches}
    results = {b: {s: [] for s in systems} for b in benches}
    failures = {b: {} for b in benches}
    for rnd in range(args.rounds):
        # Rotating the order means no system always runs first (cold caches,
        # CPU frequency ramp) or right after the same neighbour.
        order = systems[rnd % len(systems):] + systems[:rnd % len(systems)]
        for bench in benches:
            for system in order:
                if not supports(system, bench):
                    continue
                argv = prefix + commands[system] + [bench, str(ns[bench][system])]
                value, err = run_one(argv)
                status = f"{value:.1f}" if err is None else f"FAILED ({err})"
                print(f"[round {rnd + 1}/{args.rounds}] {bench:6} {system:8} {status}",
                      file=sys.stderr, flush=True)
                if err is None:
                    results[bench][system].append(value)
                else:
                    failures[bench].setdefault(system, []).append(err)

    go = shutil.which("go")
    go_version = (subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
                  if go else "n/a")
    python_version = subprocess.run(
        [PYTHON, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True, text=True).stdout.strip()
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": f"{PYTHON} {python_version}",
        "go": go_version,
        "pinning": pinning,
        "rounds": args.rounds,
    }
    # Relative paths in the arguments (--build, --json) are relative to the
    # caller's directory, so the command starts there.
    script = os.path.relpath(Path(__file__).resolve())
    if script.startswith(".."):
        script = str(Path(__file__).resolve())
    command = f"cd {shlex.quote(os.getcwd())} && " + shlex.join(
        [PYTHON, script] + sys.argv[1:])
    print_report(results, failures, ns, systems, command, meta)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "command": command, "n": ns,
                       "commands": commands, "values": results,
                       "failures": failures}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
