/* The floor of the echo benchmark: a minimal single-threaded C epoll echo server.
 *
 * Usage: echo_epoll PORT      (listens on 127.0.0.1:PORT; prints nothing; SIGTERM ends it)
 *
 * Level-triggered epoll, nonblocking sockets, TCP_NODELAY (as aio and asyncio set it).
 * Each readiness event reads once, up to 64 KiB, into one buffer shared by all
 * connections, and writes it straight back. Only bytes the kernel did not take (a partial
 * write) are copied into a per-connection buffer; the connection then waits for EPOLLOUT
 * and is not read again until that buffer is flushed (the reader stops, TCP flow control
 * stops the peer). So an idle connection costs its socket and 16 bytes here: this is the
 * least any server can spend, the floor both for CPU per request and memory per
 * connection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_SIZE (64 * 1024)
#define MAX_EVENTS 256

/* What a connection keeps between events: the bytes it still has to send back. */
struct conn {
  char* pending; /* malloc'd, only while a write was partial */
  unsigned pending_len;
  unsigned pending_off;
};

static struct conn* conns; /* indexed by fd */
static size_t conns_cap;
static char read_buf[READ_SIZE];

static void die(const char* what) {
  perror(what);
  exit(1);
}

static struct conn* conn_for(int fd) {
  if ((size_t)fd >= conns_cap) {
    size_t cap = conns_cap ? conns_cap : 1024;
    while (cap <= (size_t)fd) cap *= 2;
    struct conn* bigger = realloc(conns, cap * sizeof *conns);
    if (!bigger) die("realloc");
    memset(bigger + conns_cap, 0, (cap - conns_cap) * sizeof *conns);
    conns = bigger;
    conns_cap = cap;
  }
  return &conns[fd];
}

static void close_conn(int ep, int fd) {
  struct conn* c = &conns[fd];
  free(c->pending);
  c->pending = NULL;
  c->pending_len = c->pending_off = 0;
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
}

static void set_interest(int ep, int fd, unsigned events) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0) die("epoll_ctl(MOD)");
}

/* Writes what is left of a partial write. Returns -1 when the connection must close. */
static int flush_pending(int ep, int fd) {
  struct conn* c = &conns[fd];
  while (c->pending_off < c->pending_len) {
    ssize_t n = write(fd, c->pending + c->pending_off, c->pending_len - c->pending_off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0; /* still waiting for EPOLLOUT */
      return -1;
    }
    c->pending_off += (unsigned)n;
  }
  free(c->pending);
  c->pending = NULL;
  c->pending_len = c->pending_off = 0;
  set_interest(ep, fd, EPOLLIN);
  return 0;
}

/* One read, echoed back. Returns -1 when the connection must close. */
static int on_readable(int ep, int fd) {
  ssize_t n;
  do {
    n = read(fd, read_buf, sizeof read_buf);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return -1;
  if (n < 0) return errno == EAGAIN ? 0 : -1;
  size_t off = 0;
  while (off < (size_t)n) {
    ssize_t w = write(fd, read_buf + off, (size_t)n - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return -1;
      struct conn* c = conn_for(fd);
      c->pending_len = (unsigned)((size_t)n - off);
      c->pending_off = 0;
      c->pending = malloc(c->pending_len);
      if (!c->pending) die("malloc");
      memcpy(c->pending, read_buf + off, c->pending_len);
      set_interest(ep, fd, EPOLLOUT);
      return 0;
    }
    off += (size_t)w;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  signal(SIGPIPE, SIG_IGN);
  /* Many idle connections: take the hard limit on descriptors. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) < 0) die("bind");
  if (listen(lfd, 1024) < 0) die("listen");

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl(ADD listener)");

  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(ep, events, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN) perror("accept4");
            break;
          }
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn_for(cfd); /* grow the table now, not on a partial write */
          struct epoll_event ev = {.events = EPOLLIN, .data.fd = cfd};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev) < 0) die("epoll_ctl(ADD)");
        }
        continue;
      }
      int r;
      if (conns[fd].pending) {
        r = (events[i].events & (EPOLLERR | EPOLLHUP)) && !(events[i].events & EPOLLOUT) ? -1 : flush_pending(ep, fd);
      } else {
        r = on_readable(ep, fd);
      }
      if (r < 0) close_conn(ep, fd);
    }
  }
}
