"""MySQL client benchmark, the Python peers (bench/run_mysql.py): PyMySQL (blocking) and
aiomysql (asyncio, on uvloop when installed). Same arguments and output as
bench/mysql/mysql_aio.cpp:

  python3 mysql_python.py {pymysql|aiomysql|aiomysql-uvloop} HOST PORT USER PASSWORD DB SCENARIO N

PyMySQL has no pool and no server-side prepared statements: its pool scenario runs the N
queries one after another, and its (and aiomysql's) insert is cursor.execute() per row with
the parameters formatted into the text by the client (PEP 249 style), not executemany(),
which would fold the rows into one multi-row INSERT.
"""
import asyncio
import json
import sys
import time

INSERT = "INSERT INTO bench_insert (id, name, amount) VALUES (%s, %s, %s)"
ROWS = "SELECT id, k, name, amount FROM bench_rows"


def report(ops, seconds):
    print(json.dumps({"ops": ops, "seconds": round(seconds, 6)}), flush=True)


def run_pymysql(host, port, user, password, db, scenario, n):
    import pymysql
    import pymysql.cursors
    conn = pymysql.connect(host=host, port=port, user=user, password=password, database=db)
    ops = 0
    if scenario == "insert":
        with conn.cursor() as cur:
            cur.execute("TRUNCATE TABLE bench_insert")
    start = time.monotonic()
    if scenario in ("select1", "pool"):
        with conn.cursor() as cur:
            for _ in range(n):
                cur.execute("SELECT 1")
                ops += len(cur.fetchall())
    elif scenario == "rows":
        with conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(ROWS)
            total = 0
            for row in cur:  # fetched one at a time, unbuffered
                total += row[0]
                ops += 1
    elif scenario == "insert":
        conn.begin()
        with conn.cursor() as cur:
            for i in range(n):
                cur.execute(INSERT, (i, f"name-{i}", i / 3.0))
                ops += 1
        conn.commit()
    seconds = time.monotonic() - start
    conn.close()
    report(ops, seconds)


async def run_aiomysql(host, port, user, password, db, scenario, n):
    import aiomysql
    ops = 0
    if scenario == "pool":
        pool = await aiomysql.create_pool(host=host, port=port, user=user, password=password, db=db,
                                          minsize=10, maxsize=10)

        async def task(count):
            done = 0
            for _ in range(count):
                async with pool.acquire() as conn:
                    async with conn.cursor() as cur:
                        await cur.execute("SELECT 1")
                        done += len(await cur.fetchall())
            return done

        start = time.monotonic()
        ops = sum(await asyncio.gather(*(task(n // 100) for _ in range(100))))
        seconds = time.monotonic() - start
        pool.close()
        await pool.wait_closed()
        report(ops, seconds)
        return
    conn = await aiomysql.connect(host=host, port=port, user=user, password=password, db=db)
    if scenario == "insert":
        async with conn.cursor() as cur:
            await cur.execute("TRUNCATE TABLE bench_insert")
    start = time.monotonic()
    if scenario == "select1":
        async with conn.cursor() as cur:
            for _ in range(n):
                await cur.execute("SELECT 1")
                ops += len(await cur.fetchall())
    elif scenario == "rows":
        async with conn.cursor(aiomysql.SSCursor) as cur:
            await cur.execute(ROWS)
            total = 0
            while (row := await cur.fetchone()) is not None:
                total += row[0]
                ops += 1
    elif scenario == "insert":
        await conn.begin()
        async with conn.cursor() as cur:
            for i in range(n):
                await cur.execute(INSERT, (i, f"name-{i}", i / 3.0))
                ops += 1
        await conn.commit()
    seconds = time.monotonic() - start
    conn.close()
    report(ops, seconds)


def main():
    driver, host, port, user, password, db, scenario, n = sys.argv[1:9]
    args = (host, int(port), user, password, db, scenario, int(n))
    if driver == "pymysql":
        run_pymysql(*args)
    elif driver == "aiomysql-uvloop":
        import uvloop
        uvloop.install()
        asyncio.run(run_aiomysql(*args))
    else:
        asyncio.run(run_aiomysql(*args))


if __name__ == "__main__":
    main()
