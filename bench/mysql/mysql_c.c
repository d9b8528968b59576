/* MySQL client benchmark, the C floor (bench/run_mysql.py): MariaDB Connector/C, blocking,
 * or (with a first argument `nonblock`) through its non-blocking API: MYSQL_OPT_NONBLOCK,
 * every call as `_start` then `_cont` until done, waiting with poll() on mysql_get_socket()
 * for the events `_start`/`_cont` ask for (what an event loop would do; plain TCP, no TLS).
 * Same arguments and output as bench/mysql/mysql_aio.cpp:
 *
 *   bench_mysql_c [nonblock] HOST PORT USER PASSWORD DB SCENARIO N
 *
 * The pool scenario has no pool here: it runs its N queries one after another on one
 * connection (one connection on one thread has no concurrency to offer). */
#include <mysql.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(MYSQL* db, const char* what) {
  fprintf(stderr, "bench_mysql_c: %s: %s\n", what, mysql_error(db));
  exit(1);
}

/* --- each call blocking, or as _start/_cont with poll() in between ------------------------ */

static int nonblock;
static MYSQL* conn; /* whose socket the waits poll */

/* Waits for what a _start/_cont asked for (MYSQL_WAIT_*) and says what happened. */
static int wait_io(int status) {
  struct pollfd pfd = {.fd = mysql_get_socket(conn), .events = 0, .revents = 0};
  if (status & MYSQL_WAIT_READ) pfd.events |= POLLIN;
  if (status & MYSQL_WAIT_WRITE) pfd.events |= POLLOUT;
  if (status & MYSQL_WAIT_EXCEPT) pfd.events |= POLLPRI;
  int timeout = (status & MYSQL_WAIT_TIMEOUT) ? (int)mysql_get_timeout_value_ms(conn) : -1;
  int n;
  while ((n = poll(&pfd, 1, timeout)) < 0 && errno == EINTR) {
  }
  if (n < 0) die(conn, "poll");
  if (n == 0) return MYSQL_WAIT_TIMEOUT;
  int ready = 0;
  if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) ready |= MYSQL_WAIT_READ; /* the library sees the error */
  if (pfd.revents & POLLOUT) ready |= MYSQL_WAIT_WRITE;
  if (pfd.revents & POLLPRI) ready |= MYSQL_WAIT_EXCEPT;
  return ready;
}

/* Runs `start`, then `cont` (which reads `ready_`, the events waited for) until the call
 * is done. */
#define NONBLOCK(start, cont)        \
  do {                               \
    int status_ = (start);           \
    while (status_) {                \
      int ready_ = wait_io(status_); \
      status_ = (cont);              \
    }                                \
  } while (0)

static void query(MYSQL* db, const char* sql) {
  int err = 0;
  if (!nonblock) {
    err = mysql_query(db, sql);
  } else {
    NONBLOCK(mysql_real_query_start(&err, db, sql, (unsigned long)strlen(sql)),
             mysql_real_query_cont(&err, db, ready_));
  }
  if (err) die(db, sql);
}

static MYSQL_RES* store_result(MYSQL* db) {
  MYSQL_RES* res = NULL;
  if (!nonblock) return mysql_store_result(db);
  NONBLOCK(mysql_store_result_start(&res, db), mysql_store_result_cont(&res, db, ready_));
  return res;
}

static MYSQL_ROW fetch_row(MYSQL_RES* res) {
  MYSQL_ROW row = NULL;
  if (!nonblock) return mysql_fetch_row(res);
  NONBLOCK(mysql_fetch_row_start(&row, res), mysql_fetch_row_cont(&row, res, ready_));
  return row;
}

static void free_result(MYSQL_RES* res) {
  if (!nonblock) {
    mysql_free_result(res);
    return;
  }
  NONBLOCK(mysql_free_result_start(res), mysql_free_result_cont(res, ready_));
}

static int stmt_prepare(MYSQL_STMT* stmt, const char* sql, unsigned long length) {
  int err = 0;
  if (!nonblock) return mysql_stmt_prepare(stmt, sql, length);
  NONBLOCK(mysql_stmt_prepare_start(&err, stmt, sql, length), mysql_stmt_prepare_cont(&err, stmt, ready_));
  return err;
}

static int stmt_execute(MYSQL_STMT* stmt) {
  int err = 0;
  if (!nonblock) return mysql_stmt_execute(stmt);
  NONBLOCK(mysql_stmt_execute_start(&err, stmt), mysql_stmt_execute_cont(&err, stmt, ready_));
  return err;
}

static void stmt_close(MYSQL_STMT* stmt) {
  my_bool err = 0;
  if (!nonblock) {
    mysql_stmt_close(stmt);
    return;
  }
  NONBLOCK(mysql_stmt_close_start(&err, stmt), mysql_stmt_close_cont(&err, stmt, ready_));
}

static int connect_to(MYSQL* db, char** a) {
  MYSQL* ok = NULL;
  const unsigned port = (unsigned)atoi(a[1]);
  if (!nonblock) return mysql_real_connect(db, a[0], a[2], a[3], a[4], port, NULL, 0) != NULL;
  mysql_options(db, MYSQL_OPT_NONBLOCK, 0);
  NONBLOCK(mysql_real_connect_start(&ok, db, a[0], a[2], a[3], a[4], port, NULL, 0),
           mysql_real_connect_cont(&ok, db, ready_));
  return ok != NULL;
}

static void close_connection(MYSQL* db) {
  if (!nonblock) {
    mysql_close(db);
    return;
  }
  NONBLOCK(mysql_close_start(db), mysql_close_cont(db, ready_));
}

/* --- the scenarios ------------------------------------------------------------------------ */

static long select1(MYSQL* db, long n) {
  long ops = 0;
  for (long i = 0; i < n; ++i) {
    query(db, "SELECT 1");
    MYSQL_RES* res = store_result(db);
    if (!res) die(db, "mysql_store_result");
    while (fetch_row(res)) ++ops;
    free_result(res);
  }
  return ops;
}

static long rows(MYSQL* db) {
  query(db, "SELECT id, k, name, amount FROM bench_rows");
  MYSQL_RES* res = mysql_use_result(db);
  if (!res) die(db, "mysql_use_result");
  long ops = 0;
  long long sum = 0;
  MYSQL_ROW row;
  while ((row = fetch_row(res))) {
    sum += strtoll(row[0], NULL, 10);
    ++ops;
  }
  if (mysql_errno(db)) die(db, "mysql_fetch_row");
  free_result(res);
  if (sum <= 0) fprintf(stderr, "bench_mysql_c: no rows?\n");
  return ops;
}

static long insert(MYSQL* db, long n) {
  static const char sql[] = "INSERT INTO bench_insert (id, name, amount) VALUES (?, ?, ?)";
  MYSQL_STMT* stmt = mysql_stmt_init(db);
  if (!stmt || stmt_prepare(stmt, sql, sizeof sql - 1)) die(db, "mysql_stmt_prepare");
  long long id = 0;
  char name[32];
  unsigned long name_length = 0;
  double amount = 0;
  MYSQL_BIND bind[3];
  memset(bind, 0, sizeof bind);
  bind[0].buffer_type = MYSQL_TYPE_LONGLONG;
  bind[0].buffer = &id;
  bind[1].buffer_type = MYSQL_TYPE_STRING;
  bind[1].buffer = name;
  bind[1].length = &name_length;
  bind[2].buffer_type = MYSQL_TYPE_DOUBLE;
  bind[2].buffer = &amount;
  if (mysql_stmt_bind_param(stmt, bind)) die(db, "mysql_stmt_bind_param");
  query(db, "BEGIN");
  long ops = 0;
  for (long i = 0; i < n; ++i) {
    id = i;
    name_length = (unsigned long)snprintf(name, sizeof name, "name-%ld", i);
    amount = (double)i / 3.0;
    if (stmt_execute(stmt)) die(db, mysql_stmt_error(stmt));
    ++ops;
  }
  query(db, "COMMIT");
  stmt_close(stmt);
  return ops;
}

int main(int argc, char** argv) {
  nonblock = argc == 9 && strcmp(argv[1], "nonblock") == 0;
  if (argc != 8 + nonblock) {
    fprintf(stderr, "usage: %s [nonblock] HOST PORT USER PASSWORD DB SCENARIO N\n", argv[0]);
    return 2;
  }
  char** a = argv + 1 + nonblock;
  const char* scenario = a[5];
  long n = atol(a[6]);
  MYSQL* db = conn = mysql_init(NULL);
  if (!connect_to(db, a)) die(db, "connect");
  if (strcmp(scenario, "insert") == 0) query(db, "TRUNCATE TABLE bench_insert");
  double start = now();
  long ops = 0;
  if (strcmp(scenario, "select1") == 0 || strcmp(scenario, "pool") == 0)
    ops = select1(db, n);
  else if (strcmp(scenario, "rows") == 0)
    ops = rows(db);
  else if (strcmp(scenario, "insert") == 0)
    ops = insert(db, n);
  double seconds = now() - start;
  close_connection(db);
  printf("{\"ops\": %ld, \"seconds\": %.6f}\n", ops, seconds);
  return 0;
}
