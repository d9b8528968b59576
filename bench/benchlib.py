"""What bench/run_core.py and bench/run_echo.py share: warnings, building a Go peer, and
naming the CPU in the report."""
import os
import platform
import shutil
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
