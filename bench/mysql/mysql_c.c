/* MySQL client benchmark, the C floor (bench/run_mysql.py): MariaDB Connector/C, blocking.
 * Same arguments and output as bench/mysql/mysql_aio.cpp:
 *
 *   bench_mysql_c HOST PORT USER PASSWORD DB SCENARIO N
 *
 * The pool scenario has no pool here: it runs its N queries one after another on one
 * connection (a blocking client has no concurrency to offer on one thread). */
#include <mysql.h>

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

static void query(MYSQL* db, const char* sql) {
  if (mysql_query(db, sql)) die(db, sql);
}

static long select1(MYSQL* db, long n) {
  long ops = 0;
  for (long i = 0; i < n; ++i) {
    query(db, "SELECT 1");
    MYSQL_RES* res = mysql_store_result(db);
    if (!res) die(db, "mysql_store_result");
    while (mysql_fetch_row(res)) ++ops;
    mysql_free_result(res);
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
  while ((row = mysql_fetch_row(res))) {
    sum += strtoll(row[0], NULL, 10);
    ++ops;
  }
  if (mysql_errno(db)) die(db, "mysql_fetch_row");
  mysql_free_result(res);
  if (sum <= 0) fprintf(stderr, "bench_mysql_c: no rows?\n");
  return ops;
}

static long insert(MYSQL* db, long n) {
  static const char sql[] = "INSERT INTO bench_insert (id, name, amount) VALUES (?, ?, ?)";
  MYSQL_STMT* stmt = mysql_stmt_init(db);
  if (!stmt || mysql_stmt_prepare(stmt, sql, sizeof sql - 1)) die(db, "mysql_stmt_prepare");
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
    if (mysql_stmt_execute(stmt)) die(db, mysql_stmt_error(stmt));
    ++ops;
  }
  query(db, "COMMIT");
  mysql_stmt_close(stmt);
  return ops;
}

int main(int argc, char** argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: %s HOST PORT USER PASSWORD DB SCENARIO N\n", argv[0]);
    return 2;
  }
  const char* scenario = argv[6];
  long n = atol(argv[7]);
  MYSQL* db = mysql_init(NULL);
  if (!mysql_real_connect(db, argv[1], argv[3], argv[4], argv[5], (unsigned)atoi(argv[2]), NULL, 0)) die(db, "connect");
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
  mysql_close(db);
  printf("{\"ops\": %ld, \"seconds\": %.6f}\n", ops, seconds);
  return 0;
}
