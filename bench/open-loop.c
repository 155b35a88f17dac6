// A fixed-rate (open-loop) HTTP/1.1 load generator: request k is due at k / rate whatever the
// answers do, and its latency is timed from when it was due, so a late send counts (no
// coordinated omission). Debian's wrk cannot hold a rate and wrk2 is not packaged.
//
// It is C, not Node.js, because the generator's own pauses are part of every target's figure:
// the Node.js generator (undici) on the bench's core stalled for 5-20 ms at each scavenge and
// at other moments, which put a floor of 14-24 ms under the p99 of the direct baseline at
// 5000 req/s. One thread, epoll, no allocation while it runs.
//
// usage: open-loop HOST PORT RATE SECONDS WARMUP_SECONDS MAX_CONNECTIONS REQUEST
//   REQUEST is the whole request, sent as is on each keep-alive connection.
// stdout: "warm\n" once the warm-up's answers are in (the same connections carry on), then
//   {"sent":N,"ok":N,"errors":N,"p50Ms":X,"p99Ms":X} for the timed part. ok counts statuses < 300.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BUFFER_SIZE = 65536, DRAIN_TIMEOUT_NS = 10000000000LL };

typedef struct {
  int fd;
  int connected;
  long request; // index of the request in flight, -1 when idle
  size_t written;
  size_t length;
  char buffer[BUFFER_SIZE];
} Connection;

static struct sockaddr_in address;
static const char *request_bytes;
static size_t request_length;
static double rate;
static int max_connections;
static int epoll_fd;
static Connection *connections;
static int *idle; // indices of idle connected connections, used as a stack
static int idle_count;
static long *waiting; // due requests without a connection: a ring
static long waiting_head, waiting_tail, waiting_capacity;
static long long phase_start;
static double *latencies;
static long latency_count, ok_count, error_count, in_flight;
static int recording;

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long due_ns(long request) { return phase_start + (long long)((double)request * 1e9 / rate); }

static void watch(Connection *c, int op, unsigned events) {
  struct epoll_event e = { .events = events, .data.u32 = (unsigned)(c - connections) };
  epoll_ctl(epoll_fd, op, c->fd, &e);
}

static void finish(Connection *c, int ok) {
  if (recording && ok >= 0) {
    latencies[latency_count++] = (double)(now_ns() - due_ns(c->request)) / 1e6;
    if (ok) ok_count += 1;
  }
  if (ok < 0) error_count += recording;
  c->request = -1;
  c->written = 0;
  c->length = 0;
  in_flight -= 1;
}

static void drop(Connection *c) {
  if (c->request >= 0) finish(c, -1);
  else if (c->connected) // an idle connection the server closed: off the idle stack
    for (int i = 0; i < idle_count; i++)
      if (idle[i] == (int)(c - connections)) idle[i] = idle[--idle_count];
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
}

static void send_request(Connection *c) {
  while (c->written < request_length) {
    ssize_t n = write(c->fd, request_bytes + c->written, request_length - c->written);
    if (n < 0) {
      if (errno == EAGAIN) {
        watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
        return;
      }
      drop(c);
      return;
    }
    c->written += (size_t)n;
  }
  watch(c, EPOLL_CTL_MOD, EPOLLIN);
}

static void start_on(Connection *c, long request) {
  c->request = request;
  c->written = 0;
  c->length = 0;
  in_flight += 1;
  if (c->connected) send_request(c);
}

static Connection *free_slot(void) {
  for (int i = 0; i < max_connections; i++)
    if (connections[i].fd < 0) return &connections[i];
  return NULL;
}

static void start(long request) {
  if (idle_count > 0) {
    start_on(&connections[idle[--idle_count]], request);
    return;
  }
  Connection *c = free_slot();
  if (!c) { // every connection busy: it waits for one, still timed from when it was due
    waiting[waiting_tail++ % waiting_capacity] = request;
    return;
  }
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->connected = 0;
  watch(c, EPOLL_CTL_ADD, EPOLLIN | EPOLLOUT);
  start_on(c, request);
  if (connect(c->fd, (struct sockaddr *)&address, sizeof address) < 0 && errno != EINPROGRESS) drop(c);
}

static void release(Connection *c) {
  if (waiting_head < waiting_tail) {
    start_on(c, waiting[waiting_head++ % waiting_capacity]);
    return;
  }
  idle[idle_count++] = (int)(c - connections);
}

// The length of a complete response at the start of the buffer, 0 while it is incomplete,
// -1 for a response whose body runs to the end of the connection. *closing is set when the
// server will close the connection after it (nginx does after keepalive_requests).
static long complete_length(Connection *c, int *status, int *closing) {
  char *b = c->buffer;
  size_t n = c->length;
  char *end = memmem(b, n, "\r\n\r\n", 4);
  if (!end) return 0;
  size_t head = (size_t)(end - b) + 4;
  *status = n > 12 ? atoi(b + 9) : 0;
  long content_length = -1;
  int chunked = 0;
  for (char *line = memchr(b, '\n', head); line && line < end; line = memchr(line + 1, '\n', (size_t)(end - line))) {
    char *name = line + 1;
    if (!strncasecmp(name, "content-length:", 15)) content_length = atol(name + 15);
    if (!strncasecmp(name, "connection:", 11) && memmem(name, (size_t)(end - name) < 32 ? (size_t)(end - name) : 32, "close", 5)) *closing = 1;
    if (!strncasecmp(name, "transfer-encoding:", 18) && memmem(name, (size_t)(end - name) < 64 ? (size_t)(end - name) : 64, "chunked", 7)) chunked = 1;
  }
  if (*status == 204 || *status == 304 || (*status >= 100 && *status < 200)) return (long)head;
  if (content_length >= 0) return n >= head + (size_t)content_length ? (long)(head + (size_t)content_length) : 0;
  if (!chunked) return -1;
  size_t at = head;
  for (;;) {
    char *line_end = memmem(b + at, n - at, "\r\n", 2);
    if (!line_end) return 0;
    size_t size = strtoul(b + at, NULL, 16);
    at = (size_t)(line_end - b) + 2;
    if (size == 0) return n >= at + 2 ? (long)(at + 2) : 0; // no trailers
    at += size + 2;
    if (at > n) return 0;
  }
}

static void on_readable(Connection *c) {
  for (;;) {
    if (c->length == BUFFER_SIZE) { // an answer larger than the buffer: counted as an error
      drop(c);
      return;
    }
    ssize_t n = read(c->fd, c->buffer + c->length, BUFFER_SIZE - c->length);
    if (n == 0) {
      int status = 0, closing = 0;
      if (c->request >= 0 && complete_length(c, &status, &closing) == -1) finish(c, status < 300);
      drop(c);
      return;
    }
    if (n < 0) {
      if (errno != EAGAIN) drop(c);
      return;
    }
    c->length += (size_t)n;
    if (c->request < 0) continue; // bytes nobody asked for: ignored
    int status = 0, closing = 0;
    long length = complete_length(c, &status, &closing);
    if (length > 0) {
      finish(c, status < 300);
      if (closing) drop(c);
      else release(c);
      return;
    }
  }
}

static void run(double seconds, int record) {
  long total = (long)(seconds * rate + 0.5);
  long sent = 0;
  struct epoll_event events[64];
  recording = record;
  phase_start = now_ns();
  long long drain_until = 0;
  for (;;) {
    long long t = now_ns();
    double elapsed = (double)(t - phase_start) / 1e9;
    long due = elapsed >= seconds ? total : (long)(elapsed * rate) + 1;
    if (due > total) due = total;
    for (; sent < due; sent++) start(sent);
    while (waiting_head < waiting_tail && (idle_count > 0 || free_slot())) start(waiting[waiting_head++ % waiting_capacity]);
    if (sent >= total) {
      if (in_flight == 0 && waiting_head == waiting_tail) return;
      if (!drain_until) drain_until = t + DRAIN_TIMEOUT_NS;
      if (t > drain_until) { // answers that never came: errors, and their connections closed
        for (int i = 0; i < max_connections; i++)
          if (connections[i].fd >= 0 && connections[i].request >= 0) drop(&connections[i]);
        error_count += recording * (waiting_tail - waiting_head);
        waiting_head = waiting_tail = 0;
        return;
      }
    }
    long long wait = sent < total ? due_ns(sent) - t : 100000000LL;
    if (wait < 0) wait = 0;
    struct timespec timeout = { .tv_sec = wait / 1000000000LL, .tv_nsec = wait % 1000000000LL };
    int ready = epoll_pwait2(epoll_fd, events, 64, &timeout, NULL);
    for (int i = 0; i < ready; i++) {
      Connection *c = &connections[events[i].data.u32];
      if (c->fd < 0) continue;
      if (!c->connected && (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int error = 0;
        socklen_t size = sizeof error;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &size);
        if (error) {
          drop(c);
          continue;
        }
        c->connected = 1;
        if (c->request >= 0) send_request(c);
        else watch(c, EPOLL_CTL_MOD, EPOLLIN);
        continue;
      }
      if (events[i].events & EPOLLOUT) send_request(c);
      if (c->fd >= 0 && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) on_readable(c);
    }
  }
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

// The same rule as percentile() in bench/support.ts.
static double percentile(double p) {
  if (latency_count == 0) return 0;
  long i = (long)(p / 100 * (double)latency_count);
  return latencies[i < latency_count ? i : latency_count - 1];
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: open-loop HOST PORT RATE SECONDS WARMUP_SECONDS MAX_CONNECTIONS REQUEST\n");
    return 2;
  }
  address.sin_family = AF_INET;
  address.sin_port = htons((unsigned short)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) {
    fprintf(stderr, "open-loop: HOST must be an IPv4 address, got %s\n", argv[1]);
    return 2;
  }
  rate = atof(argv[3]);
  double seconds = atof(argv[4]), warm_up = atof(argv[5]);
  max_connections = atoi(argv[6]);
  request_bytes = argv[7];
  request_length = strlen(request_bytes);
  if (rate <= 0 || seconds <= 0 || warm_up < 0 || max_connections <= 0) {
    fprintf(stderr, "open-loop: RATE, SECONDS and MAX_CONNECTIONS must be positive, WARMUP_SECONDS not negative\n");
    return 2;
  }
  long most = (long)((seconds > warm_up ? seconds : warm_up) * rate) + 2;
  connections = calloc((size_t)max_connections, sizeof *connections);
  idle = calloc((size_t)max_connections, sizeof *idle);
  waiting_capacity = most;
  waiting = calloc((size_t)most, sizeof *waiting);
  latencies = calloc((size_t)most, sizeof *latencies);
  if (!connections || !idle || !waiting || !latencies) return 1;
  for (int i = 0; i < max_connections; i++) connections[i].fd = -1, connections[i].request = -1;
  epoll_fd = epoll_create1(0);
  if (warm_up > 0) run(warm_up, 0);
  write(1, "warm\n", 5);
  run(seconds, 1);
  qsort(latencies, (size_t)latency_count, sizeof *latencies, compare);
  printf("{\"sent\":%ld,\"ok\":%ld,\"errors\":%ld,\"p50Ms\":%.6f,\"p99Ms\":%.6f}", (long)(seconds * rate + 0.5), ok_count, error_count, percentile(50), percentile(99));
  return 0;
}
