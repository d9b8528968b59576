#!/usr/bin/python3
"""File reads: aio::fs on its two paths against plain C loops and asyncio's thread pool.

  python3 bench/run_fs.py [--build build/bench] [--size-mib 1024] [--rounds 3]

Systems (each a program printing "<bytes> <wall s> <process CPU s>"):
  c             bench/fs/fs_c.c: blocking read()/pread() in a loop, as cat and dd (the floor)
  aio-io_uring  bench/fs/fs_aio.cpp with AIO_BACKEND=io_uring: reads through the ring
  aio-epoll     the same with AIO_BACKEND=epoll: each read is a job on the thread pool
  aio-io_uring-into, aio-epoll-into
                the same with --into: File::read_into / read_at_into into the caller's
                buffer (no std::string per read, no zero-fill, no copy by aio)
  asyncio       bench/fs/fs_python.py: each read in loop.run_in_executor (aiofiles' way)
  uvloop        the same on uvloop (when python3-uvloop is installed)

Scenarios:
  seq-1MiB        the whole file, read() 1 MiB at a time (one File)
  rand-64KiB      16 384 read_at()s of 64 KiB at random 64 KiB-aligned offsets, one task
  rand-64KiB-x16  the same reads split over 16 tasks, each with its own File (the C floor
                  does them one after another)

The file is made in a temp dir on disk (not tmpfs) and read once before the runs, so the
figures are page-cache reads: they compare what each path costs per read (copies, thread
hops, submissions), not the disk. Each system runs --rounds times per scenario, in rotated
order; reported: median MB/s, median CPU seconds, and both against the C floor.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchlib import cpu_model, warn  # noqa: E402

BLOCK_SEQ = 1 << 20
BLOCK_RAND = 64 << 10
RANDOM_READS = 16384


def systems(build: Path):
    fs_aio, fs_c = build / "bench" / "bench_fs_aio", build / "bench" / "bench_fs_c"
    py = [sys.executable, str(HERE / "fs" / "fs_python.py")]
    out = {
        "c": ([str(fs_c)], {}),
        "aio-io_uring": ([str(fs_aio)], {"AIO_BACKEND": "io_uring"}),
        "aio-epoll": ([str(fs_aio)], {"AIO_BACKEND": "epoll"}),
        "aio-io_uring-into": ([str(fs_aio), "--into"], {"AIO_BACKEND": "io_uring"}),
        "aio-epoll-into": ([str(fs_aio), "--into"], {"AIO_BACKEND": "epoll"}),
        "asyncio": (py, {}),
    }
    try:
        import uvloop  # noqa: F401
        out["uvloop"] = (py[:2] + ["--uvloop"], {})
    except ImportError:
        warn("python3-uvloop not installed; skipping 'uvloop'")
    for name, (argv, _) in list(out.items()):
        if argv[0].startswith("/") and not Path(argv[0]).exists() and argv[0] != sys.executable:
            warn(f"{argv[0]} not built; skipping '{name}' (cmake --build {build} --target bench_fs_aio bench_fs_c)")
            del out[name]
    return out


def run_once(argv, env, args):
    r = subprocess.run(argv + args, capture_output=True, text=True, timeout=600, env=dict(os.environ, **env))
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv + args)} failed: {r.stderr.strip()}")
    nbytes, wall, cpu = r.stdout.split()
    return int(nbytes), float(wall), float(cpu)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/bench", type=Path)
    ap.add_argument("--size-mib", default=1024, type=int)
    ap.add_argument("--rounds", default=3, type=int)
    ap.add_argument("--dir", default="/var/tmp", help="where the test file is made (on disk, not tmpfs)")
    opts = ap.parse_args()
    chosen = systems(opts.build)
    tmp = Path(tempfile.mkdtemp(prefix="aio-fs-bench-", dir=opts.dir))
    try:
        path = tmp / "data"
        with open(path, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(opts.size_mib):
                f.write(chunk)
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # into the page cache
        scenarios = {
            "seq-1MiB": ["seq", str(path), str(BLOCK_SEQ)],
            "rand-64KiB": ["random", str(path), str(BLOCK_RAND), str(RANDOM_READS), "1"],
            "rand-64KiB-x16": ["random", str(path), str(BLOCK_RAND), str(RANDOM_READS), "16"],
        }
        print(f"# file reads, {opts.size_mib} MiB file in the page cache, {opts.rounds} rounds; CPU: {cpu_model()}")
        names = list(chosen)
        for scenario, args in scenarios.items():
            results = {n: [] for n in names}
            for rnd in range(opts.rounds):
                order = names[rnd % len(names):] + names[:rnd % len(names)]
                for n in order:
                    argv, env = chosen[n]
                    results[n].append(run_once(argv, env, args))
            floor = results.get("c")
            floor_mbs = statistics.median(b / w / 1e6 for b, w, _ in floor) if floor else None
            floor_cpu = statistics.median(c for _, _, c in floor) if floor else None
            print(f"\n## {scenario}")
            print(f"{'system':<18} {'MB/s':>9} {'CPU s':>8} {'MB/s vs c':>10} {'CPU vs c':>9}")
            for n in names:
                mbs = statistics.median(b / w / 1e6 for b, w, _ in results[n])
                cpu = statistics.median(c for _, _, c in results[n])
                vs = f"{mbs / floor_mbs:.2f}x" if floor_mbs else "-"
                vc = f"{cpu / floor_cpu:.2f}x" if floor_cpu else "-"
                print(f"{n:<18} {mbs:>9.0f} {cpu:>8.3f} {vs:>10} {vc:>9}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
