"""The Python peer of bench/run_fs.py: asyncio with aiofiles' approach (each blocking read
runs on the loop's default thread pool, run_in_executor). Same command line and output as
fs_aio: <bytes read> <wall seconds> <process CPU seconds>. --uvloop runs it on uvloop."""
import asyncio
import os
import sys
import time


def next_offset(state, blocks, block):
    state = (state * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    return state, ((state >> 33) % blocks) * block


async def read_sequentially(path, block):
    loop = asyncio.get_running_loop()
    f = await loop.run_in_executor(None, open, path, "rb", 0)
    total = 0
    while True:
        chunk = await loop.run_in_executor(None, f.read, block)
        if not chunk:
            break
        total += len(chunk)
    await loop.run_in_executor(None, f.close)
    return total


async def read_randomly(path, block, count, seed):
    loop = asyncio.get_running_loop()
    fd = await loop.run_in_executor(None, os.open, path, os.O_RDONLY | os.O_CLOEXEC)
    blocks = os.fstat(fd).st_size // block
    state, total = seed, 0
    for _ in range(count):
        state, offset = next_offset(state, blocks, block)
        total += len(await loop.run_in_executor(None, os.pread, fd, block, offset))
    os.close(fd)
    return total


async def main(argv):
    mode, path, block = argv[0], argv[1], int(argv[2])
    if mode == "seq":
        return await read_sequentially(path, block)
    count = int(argv[3])
    tasks = int(argv[4]) if len(argv) > 4 else 1
    results = await asyncio.gather(*(read_randomly(path, block, count // tasks, t + 1) for t in range(tasks)))
    return sum(results)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--uvloop":
        import uvloop
        uvloop.install()
        args = args[1:]
    cpu0, t0 = time.process_time(), time.monotonic()
    total = asyncio.run(main(args))
    print(f"{total} {time.monotonic() - t0:.6f} {time.process_time() - cpu0:.6f}")
