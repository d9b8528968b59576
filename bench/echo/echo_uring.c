/* The io_uring floor of the echo benchmark: a minimal single-threaded liburing echo server.
 *
 * Usage: echo_uring [--zc] PORT   (listens on 127.0.0.1:PORT; prints nothing; SIGTERM ends it)
 *
 * What echo_epoll.c is for epoll, with io_uring's completion model: one multishot accept,
 * one multishot receive per connection into a provided-buffer ring (the kernel picks a
 * buffer when data arrives, so an idle connection holds none), and each received buffer
 * sent straight back from where it landed (no copy), then returned to the ring. Sends on a
 * connection go one at a time, in order (a partial send is resumed from where it stopped).
 * The ring is set up with SINGLE_ISSUER | DEFER_TASKRUN where the kernel has them
 * (COOP_TASKRUN, then nothing, where not). TCP_NODELAY as aio and asyncio set it.
 *
 * --zc sends with IORING_OP_SEND_ZC (zero-copy: the kernel pins the buffer and posts a
 * second, IORING_CQE_F_NOTIF, completion once it no longer uses it; only then does the
 * buffer go back to the ring). To measure what zero-copy sends cost where the kernel
 * cannot use them: on loopback Linux copies the data anyway when it is delivered to the
 * local socket (Documentation/networking/msg_zerocopy.rst, "Loopback").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (32 * 1024)
#define BUF_COUNT 1024 /* a power of two; touched only as used */
#define BUF_GROUP 0
#define SQ_ENTRIES 1024
#define CQ_ENTRIES 16384

enum { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3 };

/* A received buffer waiting to be (or being) sent back: indexed by buffer id, since a
 * buffer belongs to at most one pending send. */
struct pending {
  int next; /* the connection's next pending buffer id, -1 at the end */
  unsigned off, len;
  int notifs; /* --zc: zero-copy notifications still to come for this buffer */
  char sent;  /* --zc: all of it was sent; back to the ring after the last notification */
};

struct conn {
  int head, tail; /* pending sends, in order: buffer ids (-1: none) */
  char sending;   /* the head's send is in flight */
  char receiving; /* the multishot receive is armed */
  char closing;   /* EOF or error seen: close once the sends are done */
};

static struct io_uring ring;
static struct io_uring_buf_ring* buf_ring;
static char* buffers;
static struct pending pend[BUF_COUNT];
static struct conn* conns; /* indexed by fd */
static size_t conns_cap;
static int returned;  /* buffers given back to the ring since the last advance */
static int zero_copy; /* --zc */

static void die(const char* what, int err) {
  fprintf(stderr, "%s: %s\n", what, strerror(err));
  exit(1);
}

static uint64_t tag(int op, int fd, int bid) {
  return ((uint64_t)op << 56) | ((uint64_t)(uint32_t)fd << 16) | (uint64_t)(uint16_t)bid;
}
static int tag_op(uint64_t t) { return (int)(t >> 56); }
static int tag_fd(uint64_t t) { return (int)(uint32_t)(t >> 16); }
static int tag_bid(uint64_t t) { return (int)(uint16_t)t; }

static struct io_uring_sqe* sqe_get(void) {
  struct io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  while (!sqe) { /* the submission queue is full: hand it to the kernel first */
    int r = io_uring_submit(&ring);
    if (r < 0 && r != -EAGAIN && r != -EBUSY) die("io_uring_submit", -r);
    sqe = io_uring_get_sqe(&ring);
  }
  return sqe;
}

static struct conn* conn_for(int fd) {
  if ((size_t)fd >= conns_cap) {
    size_t cap = conns_cap ? conns_cap : 1024;
    while (cap <= (size_t)fd) cap *= 2;
    struct conn* bigger = realloc(conns, cap * sizeof *conns);
    if (!bigger) die("realloc", ENOMEM);
    memset(bigger + conns_cap, 0, (cap - conns_cap) * sizeof *conns);
    conns = bigger;
    conns_cap = cap;
  }
  return &conns[fd];
}

static void give_back(int bid) {
  io_uring_buf_ring_add(buf_ring, buffers + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
                        io_uring_buf_ring_mask(BUF_COUNT), returned);
  ++returned;
}

static void arm_accept(int lfd) {
  struct io_uring_sqe* sqe = sqe_get();
  io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tag(OP_ACCEPT, lfd, 0));
}

static void arm_recv(int fd) {
  struct io_uring_sqe* sqe = sqe_get();
  io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = BUF_GROUP;
  io_uring_sqe_set_data64(sqe, tag(OP_RECV, fd, 0));
  conns[fd].receiving = 1;
}

static void send_head(int fd) {
  struct conn* c = &conns[fd];
  struct pending* p = &pend[c->head];
  struct io_uring_sqe* sqe = sqe_get();
  char* at = buffers + (size_t)c->head * BUF_SIZE + p->off;
  if (zero_copy)
    io_uring_prep_send_zc(sqe, fd, at, p->len - p->off, MSG_NOSIGNAL, 0);
  else
    io_uring_prep_send(sqe, fd, at, p->len - p->off, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, tag(OP_SEND, fd, c->head));
  c->sending = 1;
}

/* The buffer's send is over: back to the ring now, or (zero-copy) after its last notification. */
static void release_sent(int bid) {
  pend[bid].sent = 1;
  if (pend[bid].notifs == 0) give_back(bid);
}

static void maybe_close(int fd) {
  struct conn* c = &conns[fd];
  if (!c->closing || c->sending || c->receiving) return;
  while (c->head >= 0) { /* never sent (the connection failed): back to the ring */
    int next = pend[c->head].next;
    release_sent(c->head);
    c->head = next;
  }
  c->tail = -1;
  c->closing = 0;
  close(fd);
}

static void on_recv(int fd, int res, unsigned flags) {
  struct conn* c = &conns[fd];
  if (!(flags & IORING_CQE_F_MORE)) c->receiving = 0;
  if (res > 0) {
    int bid = (int)(flags >> IORING_CQE_BUFFER_SHIFT);
    pend[bid] = (struct pending){.next = -1, .off = 0, .len = (unsigned)res, .notifs = 0, .sent = 0};
    if (c->tail >= 0)
      pend[c->tail].next = bid;
    else
      c->head = bid;
    c->tail = bid;
    if (!c->sending) send_head(fd);
    if (!c->receiving && !c->closing) arm_recv(fd);
    return;
  }
  if (res == -ENOBUFS) { /* every buffer is out: receive again (the bytes wait in the socket) */
    if (!c->receiving && !c->closing) arm_recv(fd);
    return;
  }
  /* EOF or an error: finish the sends, then close. */
  c->closing = 1;
  if (c->receiving) { /* an error with more to come cannot happen; be safe */
    struct io_uring_sqe* sqe = sqe_get();
    io_uring_prep_cancel64(sqe, tag(OP_RECV, fd, 0), 0);
    io_uring_sqe_set_data64(sqe, 0);
  }
  maybe_close(fd);
}

static void on_send(int fd, int bid, int res, unsigned flags) {
  struct pending* p = &pend[bid];
  if (flags & IORING_CQE_F_NOTIF) { /* zero-copy: the kernel let go of the buffer */
    if (--p->notifs == 0 && p->sent) give_back(bid);
    return;
  }
  if (flags & IORING_CQE_F_MORE) ++p->notifs; /* a notification follows */
  struct conn* c = &conns[fd];
  c->sending = 0;
  if (res < 0) {
    c->closing = 1;
  } else if (p->off + (unsigned)res < p->len) {
    p->off += (unsigned)res; /* partial: send the rest */
    if (!c->closing) {
      send_head(fd);
      return;
    }
  }
  c->head = p->next;
  if (c->head < 0) c->tail = -1;
  release_sent(bid);
  if (c->closing) {
    if (c->receiving) {
      struct io_uring_sqe* sqe = sqe_get();
      io_uring_prep_cancel64(sqe, tag(OP_RECV, fd, 0), 0);
      io_uring_sqe_set_data64(sqe, 0);
    }
    maybe_close(fd);
    return;
  }
  if (c->head >= 0) send_head(fd);
}

static void on_accept(int lfd, int res, unsigned flags) {
  if (!(flags & IORING_CQE_F_MORE)) arm_accept(lfd);
  if (res < 0) return; /* EMFILE and friends: the next accept may do better */
  int one = 1;
  setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct conn* c = conn_for(res);
  *c = (struct conn){.head = -1, .tail = -1};
  arm_recv(res);
}

static void setup_ring(void) {
  static const unsigned variants[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  int r = -EINVAL;
  for (size_t i = 0; i < sizeof variants / sizeof *variants; ++i) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = variants[i] | IORING_SETUP_CQSIZE;
    p.cq_entries = CQ_ENTRIES;
    r = io_uring_queue_init_params(SQ_ENTRIES, &ring, &p);
    if (r == 0) break;
  }
  if (r < 0) die("io_uring_queue_init_params", -r);

  size_t ring_bytes = BUF_COUNT * sizeof(struct io_uring_buf);
  if (posix_memalign((void**)&buf_ring, 4096, ring_bytes)) die("posix_memalign", ENOMEM);
  memset(buf_ring, 0, ring_bytes);
  io_uring_buf_ring_init(buf_ring);
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof reg);
  reg.ring_addr = (uint64_t)(uintptr_t)buf_ring;
  reg.ring_entries = BUF_COUNT;
  reg.bgid = BUF_GROUP;
  r = io_uring_register_buf_ring(&ring, &reg, 0);
  if (r < 0) die("io_uring_register_buf_ring", -r);
  buffers = malloc((size_t)BUF_COUNT * BUF_SIZE); /* pages are touched only when used */
  if (!buffers) die("malloc", ENOMEM);
  for (int bid = 0; bid < BUF_COUNT; ++bid) give_back(bid);
  io_uring_buf_ring_advance(buf_ring, returned);
  returned = 0;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "--zc") == 0) {
    zero_copy = 1;
    --argc;
    ++argv;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s [--zc] PORT\n", argv[0]);
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

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket", errno);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) < 0) die("bind", errno);
  if (listen(lfd, 1024) < 0) die("listen", errno);

  setup_ring();
  arm_accept(lfd);
  for (;;) {
    int r = io_uring_submit_and_wait(&ring, 1);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) die("io_uring_submit_and_wait", -r);
    struct io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      uint64_t t = io_uring_cqe_get_data64(cqe);
      switch (tag_op(t)) {
        case OP_ACCEPT:
          on_accept(tag_fd(t), cqe->res, cqe->flags);
          break;
        case OP_RECV:
          on_recv(tag_fd(t), cqe->res, cqe->flags);
          break;
        case OP_SEND:
          on_send(tag_fd(t), tag_bid(t), cqe->res, cqe->flags);
          break;
        default: /* a cancellation's own completion */
          break;
      }
    }
    io_uring_cq_advance(&ring, seen);
    if (returned) {
      io_uring_buf_ring_advance(buf_ring, returned);
      returned = 0;
    }
  }
}
