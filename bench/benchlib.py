"""What bench/run_core.py and bench/run_echo.py share: warnings, building a Go peer, and
naming the CPU in the report."""
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
from pathlib import Path


def warn(msg):
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def build_go(source_dir: Path, out: Path, what: str):
    """Builds the Go module in source_dir into `out`; returns its path, or None (with a
    warning saying why) when Go is missing or the build fails. `what` names it in warnings."""
    go = shutil.which("go")
    if go is None:
        warn("'go' not found; skipping system 'go'")
        return None
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOFLAGS="-mod=mod",
               GOCACHE=os.environ.get("GOCACHE", "/tmp/gocache"))
    try:
        subprocess.run([go, "build", "-o", str(out), "."], cwd=source_dir,
                       env=env, check=True, capture_output=True, text=True, timeout=300)
    except subprocess.CalledProcessError as e:
        warn(f"building {what} failed; skipping 'go':\n{e.stderr}")
        return None
    except subprocess.TimeoutExpired:
        warn(f"building {what} timed out; skipping 'go'")
        return None
    return out


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def tool_version(argv):
    """The first line a tool prints about its version, or "n/a"."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "n/a"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_table():
    """{pid: (ppid, utime + stime in seconds)} for every process alive now."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                # The command name may hold spaces and parentheses: split after the last ')'.
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return table


def process_tree(root, table=None):
    """`root` and every descendant alive now (or in `table`, from _proc_table), root first."""
    children = {}
    for pid, (ppid, _) in (table or _proc_table()).items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def process_tree_cpu(root):
    """utime + stime (seconds, all threads) of `root` and every descendant alive now: a
    server's CPU time, whether it is one process or a master and its workers (nginx)."""
    table = _proc_table()
    return sum(table[pid][1] for pid in process_tree(root, table) if pid in table)


def _start_time(pid):
    """When `pid` started (clock ticks since boot), or None if it is gone: tells a process
    from a later one that reuses its pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def stop_process_tree(proc, grace_s=5.0):
    """Stops a server started with subprocess.Popen, by pid: SIGTERM to it, SIGKILL if it
    has not exited within `grace_s`, then SIGKILL to any of its descendants still alive
    (an nginx worker whose master died). Returns a complaint, or None when it exited after
    the SIGTERM (or had already exited with status 0)."""
    running = proc.poll() is None
    descendants = [(pid, _start_time(pid)) for pid in process_tree(proc.pid)[1:]] if running else []
    complaint = None
    if running:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            complaint = f"did not exit within {grace_s:g} s of SIGTERM (killed)"
    elif proc.returncode != 0:
        complaint = f"had exited with status {proc.returncode}"
    for pid, started in descendants:
        if started is None or _start_time(pid) != started:
            continue  # gone, or the pid now names another process
        try:
            os.kill(pid, signal.SIGKILL)
            complaint = complaint or f"left process {pid} behind (killed)"
        except ProcessLookupError:
            pass
    return complaint


def median_of(samples, key):
    """The median of sample[key] over a list of dicts, or None for no samples."""
    values = [s[key] for s in samples if s.get(key) is not None]
    return statistics.median(values) if values else None


def fmt_figure(value, digits=None):
    """A figure for a Markdown table: three significant digits (or `digits` decimals),
    thousands separated; "—" for None."""
    if value is None:
        return "—"
    if digits is not None:
        return f"{value:,.{digits}f}"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"


def fmt_ratio(value, base):
    """value / base as "1.23×", or "—" when either is missing."""
    return f"{value / base:.2f}×" if value is not None and base else "—"


def reproduce_command(script_file, python, argv):
    """The command line that reruns this script as it was run: `cd DIR && PYTHON SCRIPT
    ARGS` (relative paths among the arguments are relative to the caller's directory)."""
    script = os.path.relpath(Path(script_file).resolve())
    if script.startswith(".."):
        script = str(Path(script_file).resolve())
    return f"cd {shlex.quote(os.getcwd())} && " + shlex.join([python, script] + list(argv))


def parse_peers(specs, builtin):
    """--peer 'LABEL=PATH [ARG...]' options -> {label: argv prefix}; exits on a bad one.
    `builtin`: the names of the harness's own systems, which a label may not reuse."""
    peers = {}
    for spec in specs or []:
        label, sep, command = spec.partition("=")
        argv = shlex.split(command) if sep else []
        exe = Path(argv[0]).resolve() if argv else None
        if not label or exe is None or not (exe.is_file() and os.access(exe, os.X_OK)):
            sys.exit(f"error: --peer {spec!r}: want LABEL=PATH [ARG...] with PATH an executable")
        if label in builtin:
            sys.exit(f"error: --peer {spec!r}: {label!r} names a built-in system")
        # Paths among the arguments are made absolute: a server may run in a temp dir.
        args = [str(Path(a).resolve()) if "=" not in a and not a.startswith("-") and Path(a).exists() else a
                for a in argv[1:]]
        peers[label] = [str(exe)] + args
    return peers
