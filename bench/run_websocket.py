#!/usr/bin/python3
"""WebSocket echo benchmark: aio::http's WebSocket server against Python's websockets
(asyncio, and uvloop when installed) and Node's ws, driven by the same load.

Every server listens on 127.0.0.1 and echoes each message:
  aio                 bench/websocket/ws_echo_aio.cpp (server mode)
  websockets          bench/websocket/ws_echo_websockets.py (Debian python3-websockets, asyncio)
  websockets-uvloop   the same on uvloop (python3-uvloop)
  node-ws             bench/websocket/ws_echo_node.js (Debian node-ws)

For each round and system: start the server pinned to CPU 0 (taskset, when present), wait
until its port accepts, run the load (ws_echo_aio in client mode, pinned to CPU 1): C
connections (default 16), each sending an S-byte text message and awaiting its echo, for
the window (default 3 s), without compression. The server's CPU time (utime + stime, from
/proc) is read around the window. Reported (medians over rounds): messages/s and the
server's CPU microseconds per message, with ratios against aio.

  python3 bench/run_websocket.py --build build/bench [--rounds 3] [--conns 16] [--size 64]
"""
import argparse
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

HERE = Path(__file__).resolve().parent


def wait_for_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def systems(build):
    aio = build / "bench" / "ws_echo_aio"
    out = {"aio": lambda port: [str(aio), "server", str(port)]}
    out["websockets"] = lambda port: ["/usr/bin/python3", str(HERE / "websocket" / "ws_echo_websockets.py"), str(port)]
    if subprocess.run(["/usr/bin/python3", "-c", "import uvloop"], capture_output=True).returncode == 0:
        out["websockets-uvloop"] = lambda port: ["/usr/bin/python3", str(HERE / "websocket" / "ws_echo_websockets.py"),
                                                 str(port), "--loop", "uvloop"]
    else:
        benchlib.warn("python3-uvloop is not installed: no websockets-uvloop row")
    node = shutil.which("node")
    if node and Path("/usr/share/nodejs/ws/index.js").exists():
        out["node-ws"] = lambda port: [node, str(HERE / "websocket" / "ws_echo_node.js"), str(port)]
    else:
        benchlib.warn("node or Debian's node-ws is missing: no node-ws row")
    return out


def pinned(cpu, argv):
    return (["taskset", "-c", str(cpu)] + argv) if shutil.which("taskset") else argv


def one_slice(name, command, args):
    port = benchlib.free_port()
    server = subprocess.Popen(pinned(0, command(port)), stdout=subprocess.DEVNULL)
    try:
        if not wait_for_port(port):
            benchlib.warn(f"{name}: the server did not listen")
            return None
        before = benchlib.process_tree_cpu(server.pid)
        load = subprocess.run(pinned(1, [str(args.build / "bench" / "ws_echo_aio"), "client", f"ws://127.0.0.1:{port}/",
                                         str(args.conns), str(args.seconds), str(args.size)]),
                              capture_output=True, text=True, timeout=args.seconds + 60)
        cpu = benchlib.process_tree_cpu(server.pid) - before
        if load.returncode != 0 or not load.stdout.startswith("messages/s"):
            benchlib.warn(f"{name}: the load failed: {load.stderr.strip()}")
            return None
        rate = float(load.stdout.split()[1])
        return {"rate": rate, "cpu_us": cpu * 1e6 / (rate * args.seconds) if rate else None}
    finally:
        complaint = benchlib.stop_process_tree(server)
        if complaint and name != "aio":
            pass  # peers killed by SIGTERM are fine


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", type=Path, default=Path("build/bench"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--conns", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seconds", type=float, default=3.0)
    args = p.parse_args()
    table = systems(args.build)
    samples = {name: [] for name in table}
    names = list(table)
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            s = one_slice(name, table[name], args)
            if s:
                samples[name].append(s)
    print(f"WebSocket echo, {args.conns} connections, {args.size}-byte text messages, no compression; "
          f"CPU: {benchlib.cpu_model()}; medians of {args.rounds} rounds\n")
    print("| server | messages/s | server CPU µs/message | messages/s vs aio |")
    print("|---|---:|---:|---:|")
    base = benchlib.median_of(samples["aio"], "rate")
    for name in names:
        rate = benchlib.median_of(samples[name], "rate")
        cpu = benchlib.median_of(samples[name], "cpu_us")
        print(f"| {name} | {benchlib.fmt_figure(rate)} | {benchlib.fmt_figure(cpu)} | {benchlib.fmt_ratio(rate, base)} |")


if __name__ == "__main__":
    main()
