/* Load generator of the echo benchmark (bench/run_echo.py). One thread, epoll.
 *
 * Throughput mode (default):
 *   loadgen --port P [--host 127.0.0.1] [--connections 64] [--size 1024]
 *           [--warmup 0.5] [--duration 3] [--pid SERVER_PID]
 *   Opens N connections; each sends a message of S bytes, waits for all S bytes to come
 *   back, and sends the next one (closed loop, one message in flight per connection).
 *   After the warm-up it counts, for D seconds, the messages whose echo completed. With
 *   --pid it reads the server's CPU time (utime + stime of /proc/PID/stat, all its
 *   threads) at the start and the end of that window, so warm-up is excluded exactly.
 *   Prints one JSON line:
 *     {"mode":"throughput","connections":N,"size":S,"requests":R,"elapsed":SECONDS,
 *      "server_cpu":SECONDS|null,"client_cpu":SECONDS,"errors":E}
 *   client_cpu is this process's own CPU time in the window: near `elapsed` means the
 *   load generator, not the server, was the bottleneck. Every echoed byte is checked.
 *
 * Idle mode:
 *   loadgen --port P --idle N [--probe K]
 *   Opens N connections (at most 256 handshakes in flight), sends nothing, prints
 *     {"mode":"idle","connected":N,"errors":E}
 *   and waits. Each line "probe" on stdin makes it send one 64-byte message on K
 *   connections spread over the N (first, last, evenly between) and wait up to 10 s for
 *   their echoes; it prints {"mode":"probe","probed":K,"echoed":M}. Each line "touch"
 *   does the same with a one-byte message on every connection (each then has carried
 *   traffic and is idle again). EOF on stdin ends it.
 *
 * The exit status is 0 when the run had no errors (in throughput mode: every connection
 * connected, no connection failed, and at least one request completed).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 512
#define PROBE_SIZE 64

struct conn {
  int fd;
  int connected;
  size_t sent;  /* bytes of the current message written */
  size_t recvd; /* bytes of its echo received */
};

static struct conn* conns;
static int nconns;
static size_t msg_size;
static char* message; /* the message every connection sends (a byte pattern) */
static char recv_buf[256 * 1024];
static long errors;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double self_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec * 1e-6;
}

/* utime + stime of a process (all its threads), in seconds; < 0 if unreadable. */
static double proc_cpu(int pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char* p = strrchr(buf, ')'); /* the command name may contain spaces */
  if (!p) return -1;
  unsigned long utime = 0, stime = 0;
  /* After ")": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
     cmajflt utime(14) stime(15). */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return -1;
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void die(const char* what) {
  perror(what);
  exit(2);
}

static int open_conn(int ep, const struct sockaddr_in* addr, int index) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (const struct sockaddr*)addr, sizeof *addr) < 0 && errno != EINPROGRESS) die("connect");
  struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (unsigned)index};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl(ADD)");
  return fd;
}

static void set_events(int ep, int index, unsigned events) {
  struct epoll_event ev = {.events = events, .data.u32 = (unsigned)index};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, conns[index].fd, &ev) < 0) die("epoll_ctl(MOD)");
}

static void fail_conn(int ep, int index, const char* why) {
  struct conn* c = &conns[index];
  if (c->fd < 0) return;
  fprintf(stderr, "loadgen: connection %d: %s\n", index, why);
  ++errors;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
}

/* Sends what is left of the current message. Returns 0, or -1 if the connection failed. */
static int send_some(int ep, int index) {
  struct conn* c = &conns[index];
  while (c->sent < msg_size) {
    ssize_t n = send(c->fd, message + c->sent, msg_size - c->sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        set_events(ep, index, EPOLLIN | EPOLLOUT);
        return 0;
      }
      fail_conn(ep, index, strerror(errno));
      return -1;
    }
    c->sent += (size_t)n;
  }
  return 0;
}

/* Checks that connect() succeeded; returns 0 or -1. */
static int finish_connect(int ep, int index) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(conns[index].fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) {
    fail_conn(ep, index, strerror(err));
    return -1;
  }
  conns[index].connected = 1;
  return 0;
}

static void usage(const char* argv0) {
  fprintf(stderr,
          "usage: %s --port P [--host H] [--connections N] [--size S] [--warmup W] [--duration D] [--pid PID]\n"
          "       %s --port P [--host H] --idle N [--probe K]\n",
          argv0, argv0);
  exit(2);
}

/* ----- throughput mode ------------------------------------------------------------- */

static int run_throughput(const struct sockaddr_in* addr, double warmup, double duration, int server_pid) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  for (int i = 0; i < nconns; ++i) conns[i] = (struct conn){.fd = open_conn(ep, addr, i)};

  long completed = 0, completed_at_start = 0;
  double t_start = now(), t_measure = t_start + warmup, t_end = t_measure + duration;
  double cpu_server_start = -1, cpu_self_start = 0, t_window_start = 0;
  int measuring = 0;
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    double t = now();
    if (!measuring && t >= t_measure) {
      measuring = 1;
      t_window_start = t;
      completed_at_start = completed;
      cpu_self_start = self_cpu();
      if (server_pid > 0) cpu_server_start = proc_cpu(server_pid);
    }
    if (measuring && t >= t_end) break;
    double until = measuring ? t_end : t_measure;
    int timeout_ms = (int)((until - t) * 1000.0) + 1;
    int n = epoll_wait(ep, events, MAX_EVENTS, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; ++e) {
      int i = (int)events[e].data.u32;
      struct conn* c = &conns[i];
      if (c->fd < 0) continue;
      if (!c->connected) {
        if (finish_connect(ep, i) < 0) continue;
        set_events(ep, i, EPOLLIN);
        c->sent = c->recvd = 0;
        send_some(ep, i);
        continue;
      }
      if ((events[e].events & EPOLLOUT) && c->sent < msg_size) {
        if (send_some(ep, i) < 0) continue;
        if (c->sent == msg_size) set_events(ep, i, EPOLLIN);
      }
      if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t r = recv(c->fd, recv_buf, sizeof recv_buf, 0);
        if (r < 0) {
          if (errno == EAGAIN || errno == EINTR) continue;
          fail_conn(ep, i, strerror(errno));
          continue;
        }
        if (r == 0) {
          fail_conn(ep, i, "closed by the server");
          continue;
        }
        if (c->recvd + (size_t)r > c->sent || memcmp(recv_buf, message + c->recvd, (size_t)r) != 0) {
          fail_conn(ep, i, "the echo differs from what was sent");
          continue;
        }
        c->recvd += (size_t)r;
        if (c->recvd == msg_size) {
          ++completed;
          c->sent = c->recvd = 0;
          send_some(ep, i);
        }
      }
    }
  }
  double t_window_end = now();
  double cpu_self = self_cpu() - cpu_self_start;
  double cpu_server = -1;
  if (server_pid > 0 && cpu_server_start >= 0) {
    double end = proc_cpu(server_pid);
    if (end >= 0) cpu_server = end - cpu_server_start;
  }
  for (int i = 0; i < nconns; ++i) {
    if (conns[i].fd >= 0 && !conns[i].connected) {
      fprintf(stderr, "loadgen: connection %d never connected\n", i);
      ++errors;
    }
  }
  long requests = completed - completed_at_start;
  printf("{\"mode\":\"throughput\",\"connections\":%d,\"size\":%zu,\"requests\":%ld,\"elapsed\":%.6f,", nconns,
         msg_size, requests, t_window_end - t_window_start);
  if (cpu_server >= 0)
    printf("\"server_cpu\":%.3f,", cpu_server);
  else
    printf("\"server_cpu\":null,");
  printf("\"client_cpu\":%.3f,\"errors\":%ld}\n", cpu_self, errors);
  fflush(stdout);
  return errors == 0 && requests > 0 ? 0 : 1;
}

/* ----- idle mode ------------------------------------------------------------------- */

static void probe(int ep, int k) {
  if (k > nconns) k = nconns;
  int* which = calloc((size_t)k, sizeof *which);
  if (!which) die("calloc");
  for (int j = 0; j < k; ++j) which[j] = k == 1 ? 0 : (int)((long)j * (nconns - 1) / (k - 1));
  int waiting = 0;
  for (int j = 0; j < k; ++j) {
    struct conn* c = &conns[which[j]];
    if (c->fd < 0) continue;
    c->sent = c->recvd = 0;
    if (send_some(ep, which[j]) == 0) {
      set_events(ep, which[j], EPOLLIN | (c->sent < msg_size ? EPOLLOUT : 0));
      ++waiting;
    }
  }
  int echoed = 0;
  double deadline = now() + 10.0;
  struct epoll_event events[MAX_EVENTS];
  while (echoed < waiting && now() < deadline) {
    int n = epoll_wait(ep, events, MAX_EVENTS, 100);
    for (int e = 0; e < n; ++e) {
      int i = (int)events[e].data.u32;
      struct conn* c = &conns[i];
      if (c->fd < 0) continue;
      if ((events[e].events & EPOLLOUT) && c->sent < msg_size) {
        if (send_some(ep, i) < 0) continue;
        if (c->sent == msg_size) set_events(ep, i, EPOLLIN);
      }
      if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t r = recv(c->fd, recv_buf, sizeof recv_buf, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r <= 0) {
          fail_conn(ep, i, r == 0 ? "closed by the server" : strerror(errno));
          continue;
        }
        if (c->recvd + (size_t)r > c->sent || memcmp(recv_buf, message + c->recvd, (size_t)r) != 0) {
          fail_conn(ep, i, "the echo differs from what was sent");
          continue;
        }
        c->recvd += (size_t)r;
        if (c->recvd == msg_size) {
          ++echoed;
          set_events(ep, i, 0); /* idle again */
        }
      }
    }
  }
  printf("{\"mode\":\"probe\",\"probed\":%d,\"echoed\":%d}\n", k, echoed);
  fflush(stdout);
  free(which);
}

static int run_idle(const struct sockaddr_in* addr, int probe_count) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  const int window = 256; /* handshakes in flight: keeps the server's accept queue short */
  int opened = 0, done = 0;
  struct epoll_event events[MAX_EVENTS];
  double deadline = now() + 120.0;
  while (done < nconns) {
    while (opened < nconns && opened - done < window) {
      conns[opened] = (struct conn){.fd = open_conn(ep, addr, opened)};
      ++opened;
    }
    if (now() > deadline) {
      fprintf(stderr, "loadgen: %d of %d connections established after 120 s\n", done, nconns);
      break;
    }
    int n = epoll_wait(ep, events, MAX_EVENTS, 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; ++e) {
      int i = (int)events[e].data.u32;
      if (conns[i].fd < 0 || conns[i].connected) continue;
      ++done;
      if (finish_connect(ep, i) == 0) set_events(ep, i, 0); /* idle: no events until probed */
    }
  }
  int connected = 0;
  for (int i = 0; i < nconns; ++i) connected += conns[i].fd >= 0 && conns[i].connected;
  printf("{\"mode\":\"idle\",\"connected\":%d,\"errors\":%ld}\n", connected, errors);
  fflush(stdout);

  char line[64];
  while (fgets(line, sizeof line, stdin)) {
    if (strncmp(line, "probe", 5) == 0) {
      probe(ep, probe_count);
    } else if (strncmp(line, "touch", 5) == 0) {
      size_t saved = msg_size;
      msg_size = 1;
      probe(ep, nconns);
      msg_size = saved;
    }
  }
  return errors == 0 && connected == nconns ? 0 : 1;
}

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  int port = 0, server_pid = 0, idle = 0, probe_count = 10;
  double warmup = 0.5, duration = 3.0;
  nconns = 64;
  msg_size = 1024;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (i + 1 >= argc) usage(argv[0]);
    const char* v = argv[++i];
    if (!strcmp(a, "--host"))
      host = v;
    else if (!strcmp(a, "--port"))
      port = atoi(v);
    else if (!strcmp(a, "--connections"))
      nconns = atoi(v);
    else if (!strcmp(a, "--size"))
      msg_size = (size_t)atol(v);
    else if (!strcmp(a, "--warmup"))
      warmup = atof(v);
    else if (!strcmp(a, "--duration"))
      duration = atof(v);
    else if (!strcmp(a, "--pid"))
      server_pid = atoi(v);
    else if (!strcmp(a, "--idle"))
      idle = atoi(v);
    else if (!strcmp(a, "--probe"))
      probe_count = atoi(v);
    else
      usage(argv[0]);
  }
  if (port <= 0 || nconns <= 0 || msg_size == 0 || duration <= 0 || warmup < 0) usage(argv[0]);
  if (idle > 0) {
    nconns = idle;
    msg_size = PROBE_SIZE;
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
    return 2;
  }
  message = malloc(msg_size);
  conns = calloc((size_t)nconns, sizeof *conns);
  if (!message || !conns) die("malloc");
  /* A pattern that shifts by one every 251 bytes, so misplaced chunks are caught. */
  for (size_t i = 0; i < msg_size; ++i) message[i] = (char)('a' + (i + i / 251) % 26);
  return idle > 0 ? run_idle(&addr, probe_count) : run_throughput(&addr, warmup, duration, server_pid);
}
