/*
 * loadgen: a small epoll load generator for TCP echo servers (Linux only).
 *
 * Every byte sent on a connection follows a deterministic pattern,
 * byte i = (i * 31 + id) & 0xff, where id is the connection's number, and every
 * byte echoed back is checked against it.  Results are printed as ONE JSON
 * object on stdout; progress notes go to stderr.  It only ever connects to a
 * loopback IPv4 address (127.0.0.0/8).
 *
 * With --tls every TCP mode but flood speaks TLS (OpenSSL, non-blocking): the
 * pattern is the plaintext.  --mode udp sends datagrams instead.
 *
 * Build: cc -O2 -Wall -Wextra -o loadgen loadgen.c -lssl -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: loadgen --mode MODE --port PORT [options]\n"
    "\n"
    "modes:\n"
    "  pingpong    --conns C --size S: each connection sends S bytes and waits for\n"
    "              the whole echo before sending again; messages/s, MB/s, p50/p99 RTT\n"
    "  stream      --conns C --inflight B --chunk K: send and read at once, at most\n"
    "              B bytes unechoed per connection; MB/s (10^6) and MiB/s (2^20) echoed\n"
    "  churn       --concurrency K: connect, send 16 bytes, read them back, close;\n"
    "              K connections in flight; connections/s\n"
    "              (pingpong, stream and churn take --idle N: N more connections, each\n"
    "              echoes one 16-byte ping, opened before warm-up and held to the end)\n"
    "  idle        --conns N [--check]: open N connections (each echoes one 16-byte\n"
    "              ping), print 'ready N' on stderr, hold them until stdin closes or\n"
    "              --duration passes; --check then asks a fresh connection for an echo\n"
    "  slowreader  --total T --pause P: one connection sends T bytes as fast as the\n"
    "              server takes them, reads nothing for P seconds, then reads all\n"
    "  flood       --conns N --total T: N connections each send up to T bytes (default\n"
    "              4 MiB) and never read, while the server takes them, for at most\n"
    "              --duration s or until nothing was taken for --stall s; then hold\n"
    "              --hold s, close all, print what each sent\n"
    "  ticker      --conns N --interval SEC: open N connections (each echoes one 16-byte\n"
    "              ping), print 'ready N' on stderr, then each sends a 16-byte ping every\n"
    "              SEC seconds (random phase) and checks its echo, for --duration s;\n"
    "              'done' on stderr when ticking ends; RTT p50/p99 of the ticks\n"
    "  udp         --conns N --size S: N UDP sockets, each sends an S-byte datagram\n"
    "              (8-byte sequence number, then the pattern) and waits for its echo\n"
    "              before sending the next; an echo not back within --timeout is lost;\n"
    "              messages/s, p50/p99 RTT, lost, stale (echoes of an earlier datagram)\n"
    "\n"
    "options:\n"
    "  --host ADDR        loopback IPv4 address (default 127.0.0.1)\n"
    "  --port PORT        server port (required)\n"
    "  --duration SEC     measured time (pingpong, stream, churn, ticker), hold time\n"
    "                     (idle), overall timeout (slowreader, flood); default 3\n"
    "  --warmup SEC       unmeasured load before measuring (default 0)\n"
    "  --count N          stop after N messages / connections (default: no limit)\n"
    "  --conns N          connections (default 1)\n"
    "  --size BYTES       pingpong message size (default 64)\n"
    "  --inflight BYTES   stream window per connection (default 262144)\n"
    "  --chunk BYTES      stream/slowreader/flood write size (default 65536)\n"
    "  --concurrency K    churn connections in flight (default 8)\n"
    "  --total BYTES      slowreader bytes (default 268435456); flood bytes per\n"
    "                     connection (default 4194304)\n"
    "  --pause SEC        slowreader time before reading (default 5)\n"
    "  --check            idle: check a fresh connection still gets its echo\n"
    "  --connect-timeout SEC  idle and --idle: time allowed to open all connections\n"
    "                     (default 60)\n"
    "  --idle N           pingpong, stream, churn: hold N idle connections meanwhile\n"
    "  --interval SEC     ticker: seconds between one connection's pings (default 1)\n"
    "  --hold SEC         flood: hold time before closing (default 1)\n"
    "  --stall SEC        flood: stop once nothing was sent for this long (default 1)\n"
    "  --tls              every TCP mode but flood: TLS 1.3 (OpenSSL) on each\n"
    "                     connection, its handshake done before it counts as open\n"
    "                     (pingpong, stream, slowreader: before warm-up)\n"
    "  --tls-ca FILE      with --tls: verify the server's certificate against this\n"
    "                     CA (PEM), for the --host address; without it, no check\n"
    "  --timeout SEC      udp: how long an echo may take before its datagram counts\n"
    "                     as lost (default 1)\n"
    "  --server-pid PID   pingpong, stream, churn, udp: read PID's utime and stime from\n"
    "                     /proc/PID/stat when measuring starts and ends; report the\n"
    "                     difference as server_utime_s, server_stime_s\n";

enum { PATTERN_PERIOD = 256, RBUF_SIZE = 256 * 1024, MAX_EVENTS = 512 };
enum { PING_SIZE = 16, DRAIN_NS = 2000000000LL, SAMPLE_CAP = 2000000 };
enum { FLOOD_DEFAULT_TOTAL = 4 << 20, UDP_HEADER = 8, UDP_MAX = 65507 };

typedef struct {
    const char *mode;
    struct sockaddr_in addr;
    double duration, warmup, pause, connect_timeout, interval, hold, stall, timeout;
    long long count, total;
    long conns, size, inflight, chunk, concurrency, idle, server_pid;
    int check, total_given, tls;
    const char *host, *tls_ca;
} options_t;

typedef enum {
    ST_FREE, ST_CONNECTING, ST_HANDSHAKE, ST_WAIT_ECHO, ST_IDLE, ST_OPEN
} conn_state_t;

typedef struct {
    int fd;
    uint32_t id;
    conn_state_t state;
    uint32_t events;        /* current epoll interest */
    const uint8_t *pat;     /* pattern for this id, PATTERN_PERIOD + maxchunk bytes */
    uint64_t sent, recvd;   /* stream offsets */
    uint64_t msg_end;       /* pingpong/churn: offset where this message ends */
    int64_t t_start;        /* pingpong/churn/ticker: when this message started */
    int64_t due;            /* ticker: when the next ping is due */
    SSL *ssl;               /* --tls: the session on fd; NULL for plain TCP */
} conn_t;

/* Shared state of one run. */
static options_t opt;
static int epfd = -1;
static uint8_t rbuf[RBUF_SIZE];
static uint8_t *patterns[PATTERN_PERIOD];
static size_t maxchunk = PING_SIZE;
static uint64_t mismatches, errors, extra_bytes;

/* Latency samples in nanoseconds, reservoir-sampled beyond SAMPLE_CAP. */
static uint32_t *samples;
static uint64_t nsamples, seen_samples;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* utime and stime (seconds) of a whole process, all threads, from /proc/PID/stat;
 * 0 on success.  The kernel counts them in clock ticks (1/100 s here). */
static int proc_times(long pid, double *utime, double *stime) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and ')' */
    unsigned long ut, st;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    double tck = (double)sysconf(_SC_CLK_TCK);
    *utime = ut / tck;
    *stime = st / tck;
    return 0;
}

static void die(const char *msg) {
    fprintf(stderr, "loadgen: %s\n", msg);
    exit(2);
}

/* ---------- pattern and verification ---------- */

static const uint8_t *pattern_for(uint32_t id) {
    uint32_t slot = id & 0xff;
    if (!patterns[slot]) {
        size_t len = PATTERN_PERIOD + maxchunk;
        uint8_t *p = malloc(len);
        if (!p) die("out of memory");
        for (size_t k = 0; k < len; k++) p[k] = (uint8_t)((k * 31 + slot) & 0xff);
        patterns[slot] = p;
    }
    return patterns[slot];
}

/* Compare n received bytes at stream offset off with the pattern; count bad bytes. */
static void verify(const conn_t *c, uint64_t off, const uint8_t *buf, size_t n) {
    while (n > 0) {
        size_t k = n < maxchunk ? n : maxchunk;
        const uint8_t *exp = c->pat + (off & (PATTERN_PERIOD - 1));
        if (memcmp(exp, buf, k) != 0)
            for (size_t j = 0; j < k; j++) mismatches += exp[j] != buf[j];
        off += k;
        buf += k;
        n -= k;
    }
}

/* ---------- latency samples ---------- */

static void record_latency(int64_t ns) {
    uint32_t v = ns > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)(ns < 0 ? 0 : ns);
    seen_samples++;
    if (nsamples < SAMPLE_CAP) {
        samples[nsamples++] = v;
    } else {
        uint64_t j = ((uint64_t)random() << 31 | (uint64_t)random()) % seen_samples;
        if (j < SAMPLE_CAP) samples[j] = v;
    }
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double percentile_us(double p) {
    if (nsamples == 0) return -1;
    uint64_t idx = (uint64_t)(p / 100.0 * (double)(nsamples - 1) + 0.5);
    return samples[idx] / 1000.0;
}

/* ---------- sockets ---------- */

static void set_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl failed");
}

/* ---------- TLS (--tls) ---------- */

static SSL_CTX *tls_ctx; /* NULL: plain TCP */
static char tls_version[32], tls_cipher[64]; /* what the first handshake agreed */
static uint64_t tls_handshakes;

/* OpenSSL's reason for a failure, on stderr (the first few only), then forgotten. */
static void tls_complain(const char *what) {
    static int shown;
    unsigned long e = ERR_peek_last_error();
    if (shown++ < 3) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        fprintf(stderr, "loadgen: tls %s: %s\n", what, e ? buf : strerror(errno));
    }
    ERR_clear_error();
}

static void tls_init(void) {
    tls_ctx = SSL_CTX_new(TLS_client_method());
    if (!tls_ctx) die("SSL_CTX_new failed");
    SSL_CTX_set_min_proto_version(tls_ctx, TLS1_3_VERSION);
    /* A write may end after whole records (partial), and its retry after WANT_WRITE
     * passes the same bytes from wherever the pattern window sits; a server's FIN
     * without close_notify reads as the end of the stream, as it does in plain TCP. */
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (opt.tls_ca) {
        if (SSL_CTX_load_verify_locations(tls_ctx, opt.tls_ca, NULL) != 1) {
            tls_complain("--tls-ca");
            die("cannot load the --tls-ca file");
        }
        SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
    }
}

/* A client session on c's connected socket; 0, or -1 (reason on stderr). */
static int tls_attach(conn_t *c) {
    c->ssl = SSL_new(tls_ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1
        || (opt.tls_ca && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), opt.host) != 1)) {
        tls_complain("session");
        return -1;
    }
    SSL_set_connect_state(c->ssl);
    return 0;
}

static void tls_done(conn_t *c) {
    tls_handshakes++;
    if (!tls_version[0]) {
        snprintf(tls_version, sizeof tls_version, "%s", SSL_get_version(c->ssl));
        snprintf(tls_cipher, sizeof tls_cipher, "%s", SSL_get_cipher_name(c->ssl));
    }
}

/* One step of a non-blocking handshake: 1 done, 0 not yet (*want: the epoll event
 * it waits for), -1 failed. */
static int tls_step(conn_t *c, uint32_t *want) {
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        tls_done(c);
        return 1;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
        return 0;
    }
    tls_complain("handshake");
    return -1;
}

/* The whole handshake on a blocking socket (the fixed connection sets). */
static void tls_handshake_blocking(conn_t *c) {
    if (tls_attach(c) < 0) exit(3);
    ERR_clear_error();
    if (SSL_connect(c->ssl) != 1) {
        tls_complain("handshake");
        exit(3);
    }
    tls_done(c);
}

/* Send up to k bytes: the count taken, 0 if it would block, -1 on error.  After 0
 * the caller retries with the same bytes (as TLS requires after WANT_WRITE). */
static ssize_t io_send(conn_t *c, const uint8_t *buf, size_t k) {
    if (!c->ssl) {
        ssize_t n = send(c->fd, buf, k, MSG_NOSIGNAL);
        if (n >= 0) return n;
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    }
    ERR_clear_error();
    int n = SSL_write(c->ssl, buf, (int)k);
    if (n > 0) return n;
    int e = SSL_get_error(c->ssl, n);
    /* WANT_READ: a record must be read first; every mode keeps EPOLLIN on while
     * it writes, and the read that follows lets the retry through */
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return 0;
    tls_complain("write");
    return -1;
}

/* Read up to k bytes: the count, 0 at the end of the stream, -1 with errno EAGAIN
 * once nothing is left to read now, -1 with another errno on error.  Callers read
 * until EAGAIN, so no decrypted byte is left in OpenSSL (SSL_pending) where epoll
 * would never report it. */
static ssize_t io_recv(conn_t *c, uint8_t *buf, size_t k) {
    if (!c->ssl) return recv(c->fd, buf, k, 0);
    ERR_clear_error();
    int n = SSL_read(c->ssl, buf, (int)k);
    if (n > 0) return n;
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    /* WANT_WRITE here (a key update, which no server here sends) would need an
     * EPOLLOUT a reading connection does not ask for: an error, not a hang */
    tls_complain(e == SSL_ERROR_WANT_WRITE ? "read wants a write" : "read");
    errno = EIO;
    return -1;
}

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#define SOURCES 200

/* New connections come from 127.0.0.2 .. 127.0.0.201 in turn. The client side of a
   churn leaves each closed connection in TIME_WAIT for 60 s; from one source address
   connect()'s search for a free port slows down as they pile up, until the kernel's
   cap (tcp_max_tw_buckets) is reached and it speeds up again, so churn rates (12,500
   against 18,000 connections/s here) depended on what ran the minute before. With
   200 sources the ports never run short. The port is still chosen at connect(). */
static int bind_next_source(int fd) {
    static uint32_t next;
    static int unavailable; /* 127.0.0.2 and up are not local here: one source */
    if (unavailable) return 0;
    struct sockaddr_in src;
    memset(&src, 0, sizeof src);
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000002u + next++ % SOURCES);
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) == 0) return 0;
    if (errno != EADDRNOTAVAIL) return -1;
    unavailable = 1;
    fprintf(stderr, "loadgen: 127.0.0.2 is not a local address here; connecting from"
                    " the default source only\n");
    return 0;
}

/* Start a non-blocking connect; returns fd or -1 (errno set). */
static int start_connect(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind_next_source(fd) < 0
        || (connect(fd, (struct sockaddr *)&opt.addr, sizeof opt.addr) < 0
            && errno != EINPROGRESS)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static void conn_init(conn_t *c, int fd, uint32_t id);

/* Blocking connect (and with --tls the whole handshake) into slot c, then
 * non-blocking: the fixed connection set of a mode. */
static void connect_blocking(conn_t *c, uint32_t id) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket failed");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&opt.addr, sizeof opt.addr) < 0) {
        perror("loadgen: connect");
        exit(3);
    }
    conn_init(c, fd, id);
    if (tls_ctx) tls_handshake_blocking(c);
    set_nonblocking(fd);
}

static void ep_set(conn_t *c, uint32_t events) {
    if (c->events == events) return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    int op = c->events == 0 ? EPOLL_CTL_ADD : (events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
    if (epoll_ctl(epfd, op, c->fd, &ev) < 0) die("epoll_ctl failed");
    c->events = events;
}

static void conn_close(conn_t *c) {
    ep_set(c, 0);
    if (c->ssl) {
        SSL_shutdown(c->ssl); /* one try at a close_notify; a failure changes nothing */
        SSL_free(c->ssl);
        c->ssl = NULL;
        ERR_clear_error();
    }
    close(c->fd);
    c->fd = -1;
    c->state = ST_FREE;
}

static void close_all(conn_t *cs, long n) {
    for (long i = 0; i < n; i++)
        if (cs[i].state != ST_FREE) conn_close(&cs[i]);
}

static void conn_init(conn_t *c, int fd, uint32_t id) {
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->id = id;
    c->pat = pattern_for(id);
}

/* Send pattern bytes until offset `until`; returns 0 on EAGAIN/done, -1 on error. */
static int send_until(conn_t *c, uint64_t until) {
    while (c->sent < until) {
        uint64_t left = until - c->sent;
        size_t k = left < maxchunk ? (size_t)left : maxchunk;
        ssize_t n = io_send(c, c->pat + (c->sent & (PATTERN_PERIOD - 1)), k);
        if (n <= 0) return n;
        c->sent += (uint64_t)n;
    }
    return 0;
}

/* Read everything available and verify it; returns bytes read, -1 on EOF/error. */
static long long read_verify(conn_t *c) {
    long long got = 0;
    for (;;) {
        ssize_t n = io_recv(c, rbuf, sizeof rbuf);
        if (n > 0) {
            uint64_t expected_max = c->sent - c->recvd;
            size_t ok = (uint64_t)n > expected_max ? (size_t)expected_max : (size_t)n;
            verify(c, c->recvd, rbuf, ok);
            extra_bytes += (size_t)n - ok;
            c->recvd += ok;
            got += n;
            continue;
        }
        if (n == 0) return -1;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return got;
        if (errno == EINTR) continue;
        return -1;
    }
}

static int wait_events(struct epoll_event *evs, int64_t deadline) {
    int64_t left = deadline - now_ns();
    int timeout = left <= 0 ? 0 : (int)(left / 1000000 + 1);
    if (timeout > 100) timeout = 100;
    int n = epoll_wait(epfd, evs, MAX_EVENTS, timeout);
    if (n < 0 && errno != EINTR) die("epoll_wait failed");
    return n < 0 ? 0 : n;
}

/* ---------- measurement window shared by the timed modes ---------- */

typedef struct {
    int64_t start, measure_start, measure_end;
    double cpu_start;
    double srv_u0, srv_s0, srv_u, srv_s; /* --server-pid: times at start, then deltas */
    int srv_ok;
    int measuring, stopping;
    uint64_t ops, bytes;
} window_t;

static void window_init(window_t *w) {
    memset(w, 0, sizeof *w);
    w->start = now_ns();
    w->measure_start = w->start + (int64_t)(opt.warmup * 1e9);
    w->measure_end = w->measure_start + (int64_t)(opt.duration * 1e9);
}

/* Advance the phase (warm-up -> measuring -> stopping) by the clock and count. */
static void window_tick(window_t *w) {
    int64_t t = now_ns();
    if (!w->measuring && !w->stopping && t >= w->measure_start) {
        w->measuring = 1;
        w->ops = w->bytes = 0;
        nsamples = seen_samples = 0;
        w->measure_start = t;
        w->measure_end = t + (int64_t)(opt.duration * 1e9);
        w->cpu_start = cpu_seconds();
        /* read at the same instant the message count restarts, so the server's
         * CPU and the messages cover one window */
        w->srv_ok = opt.server_pid > 0 && proc_times(opt.server_pid, &w->srv_u0, &w->srv_s0) == 0;
    }
    if (w->measuring && (t >= w->measure_end || (opt.count > 0 && (long long)w->ops >= opt.count))) {
        w->measuring = 0;
        w->stopping = 1;
        w->measure_end = t;
        double u, s;
        if (w->srv_ok && proc_times(opt.server_pid, &u, &s) == 0) {
            w->srv_u = u - w->srv_u0;
            w->srv_s = s - w->srv_s0;
        } else {
            w->srv_ok = 0;
        }
    }
}

static void print_common(const window_t *w) {
    double secs = (w->measure_end - w->measure_start) / 1e9;
    double cpu = cpu_seconds() - w->cpu_start;
    printf("\"seconds\": %.4f, \"loadgen_cpu_pct\": %.1f, \"mismatches\": %llu, "
           "\"extra_bytes\": %llu, \"errors\": %llu",
           secs, secs > 0 ? 100.0 * cpu / secs : 0.0, (unsigned long long)mismatches,
           (unsigned long long)extra_bytes, (unsigned long long)errors);
    if (tls_ctx)
        printf(", \"tls\": true, \"tls_version\": \"%s\", \"tls_cipher\": \"%s\", "
               "\"tls_handshakes\": %llu", tls_version, tls_cipher,
               (unsigned long long)tls_handshakes);
    if (w->srv_ok)
        printf(", \"server_pid\": %ld, \"server_utime_s\": %.3f, \"server_stime_s\": %.3f",
               opt.server_pid, w->srv_u, w->srv_s);
}

/* ---------- connect, ping 16 bytes, wait for the echo (churn, idle, --idle) ---------- */

static uint32_t next_id;

/* Start a new connection in slot c; returns 0 or -1 (counted as an error). */
static int ping_start(conn_t *c) {
    int fd = start_connect();
    if (fd < 0) {
        errors++;
        return -1;
    }
    conn_init(c, fd, next_id++);
    c->state = ST_CONNECTING;
    c->t_start = now_ns();
    ep_set(c, EPOLLOUT);
    return 0;
}

/* Drive one connection through connect -> ping -> echo; returns 1 when echoed, -1 on failure. */
static int ping_event(conn_t *c, uint32_t ev) {
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (ev & EPOLLERR)) return -1;
        if (tls_ctx) {
            if (tls_attach(c) < 0) return -1;
            c->state = ST_HANDSHAKE;
        }
    }
    if (c->state == ST_HANDSHAKE) {
        uint32_t want = 0;
        int r = tls_step(c, &want);
        if (r <= 0) {
            if (r == 0) ep_set(c, want);
            return r;
        }
    }
    if (c->state == ST_CONNECTING || c->state == ST_HANDSHAKE) {
        c->msg_end = PING_SIZE;
        if (send_until(c, c->msg_end) < 0 || c->sent != c->msg_end) return -1;
        c->state = ST_WAIT_ECHO;
        ep_set(c, EPOLLIN);
        return 0;
    }
    if (c->state == ST_WAIT_ECHO) {
        if (read_verify(c) < 0) return -1;
        return c->recvd == c->msg_end ? 1 : 0;
    }
    /* ST_IDLE: any event means the server closed or sent something unexpected. */
    return read_verify(c) < 0 ? -1 : 0;
}

/* Open n connections into cs, at most 64 connecting at once, each echoing one ping;
 * those that echoed are left in ST_IDLE.  Counts go to *established and *failed. */
static void open_pinged(conn_t *cs, long n, long *established, long *failed) {
    long window = 64, started = 0;
    struct epoll_event evs[MAX_EVENTS];
    int64_t deadline = now_ns() + (int64_t)(opt.connect_timeout * 1e9);
    *established = *failed = 0;
    while (*established + *failed < n && now_ns() < deadline) {
        while (started < n && started - *established - *failed < window)
            if (ping_start(&cs[started++]) < 0) (*failed)++;
        int k = wait_events(evs, deadline);
        for (int i = 0; i < k; i++) {
            conn_t *c = evs[i].data.ptr;
            int r = ping_event(c, evs[i].events);
            if (r > 0) {
                (*established)++;
                c->state = ST_IDLE;
            } else if (r < 0) {
                (*failed)++;
                conn_close(c);
            }
        }
    }
    for (long i = 0; i < started; i++) /* give up on connections still in progress */
        if (cs[i].state == ST_CONNECTING || cs[i].state == ST_HANDSHAKE
            || cs[i].state == ST_WAIT_ECHO) {
            (*failed)++;
            conn_close(&cs[i]);
        }
}

/* ---------- --idle N: idle connections held through a timed load ---------- */

static conn_t *held;
static long held_connected, held_failed, held_dropped;

/* Open the --idle connections (before warm-up, so their setup is not measured). */
static void held_open(void) {
    if (opt.idle <= 0) return;
    held = calloc((size_t)opt.idle, sizeof *held);
    if (!held) die("out of memory");
    open_pinged(held, opt.idle, &held_connected, &held_failed);
    fprintf(stderr, "holding %ld idle connections\n", held_connected);
}

/* An event on a held connection: the server closed it or sent something unasked. */
static int held_event(conn_t *c, uint32_t ev) {
    if (c->state != ST_IDLE) return 0;
    if (ping_event(c, ev) < 0) {
        held_dropped++;
        conn_close(c);
    }
    return 1;
}

/* Close the held connections and print their JSON fields (nothing without --idle). */
static void held_close_print(void) {
    if (opt.idle <= 0) return;
    long still_open = 0;
    for (long i = 0; i < opt.idle; i++) still_open += held[i].state == ST_IDLE;
    close_all(held, opt.idle);
    printf("\"idle\": %ld, \"idle_connected\": %ld, \"idle_dropped\": %ld, "
           "\"idle_still_open\": %ld, ",
           opt.idle, held_connected, held_dropped, still_open);
}

/* ---------- pingpong ---------- */

static void pp_begin(conn_t *c, const window_t *w) {
    if (w->stopping) return;
    c->t_start = now_ns();
    c->msg_end = c->sent + (uint64_t)opt.size;
    if (send_until(c, c->msg_end) < 0) {
        errors++;
        conn_close(c);
        return;
    }
    ep_set(c, EPOLLIN | (c->sent < c->msg_end ? EPOLLOUT : 0));
}

static void pp_event(conn_t *c, uint32_t ev, window_t *w) {
    if (ev & EPOLLOUT) {
        if (send_until(c, c->msg_end) < 0) goto fail;
        if (c->sent == c->msg_end) ep_set(c, EPOLLIN);
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (read_verify(c) < 0) goto fail;
        if (c->recvd == c->msg_end && c->sent == c->msg_end) {
            if (w->measuring) {
                record_latency(now_ns() - c->t_start);
                w->ops++;
                w->bytes += (uint64_t)opt.size;
            }
            pp_begin(c, w);
        }
    }
    return;
fail:
    errors++;
    conn_close(c);
}

static int outstanding(const conn_t *cs, long n) {
    int busy = 0;
    for (long i = 0; i < n; i++) busy += cs[i].state != ST_FREE && cs[i].recvd < cs[i].sent;
    return busy;
}

static int any_open(const conn_t *cs, long n) {
    for (long i = 0; i < n; i++)
        if (cs[i].state != ST_FREE) return 1;
    return 0;
}

/* Run the event loop until measuring ends, then drain echoes for up to DRAIN_NS. */
static void run_fixed(conn_t *cs, long n, window_t *w, void (*on_event)(conn_t *, uint32_t, window_t *)) {
    struct epoll_event evs[MAX_EVENTS];
    int64_t drain_deadline = 0;
    for (;;) {
        window_tick(w);
        if (w->stopping) {
            if (!drain_deadline) drain_deadline = now_ns() + DRAIN_NS;
            if (!outstanding(cs, n) || now_ns() >= drain_deadline || !any_open(cs, n)) break;
        } else if (!any_open(cs, n)) {
            break;
        }
        int k = wait_events(evs, w->stopping ? drain_deadline : w->measure_end);
        for (int i = 0; i < k; i++)
            if (!held_event(evs[i].data.ptr, evs[i].events)) on_event(evs[i].data.ptr, evs[i].events, w);
    }
}

static conn_t *open_fixed(long n) {
    conn_t *cs = calloc((size_t)n, sizeof *cs);
    if (!cs) die("out of memory");
    for (long i = 0; i < n; i++) {
        connect_blocking(&cs[i], (uint32_t)i);
        cs[i].state = ST_OPEN;
    }
    return cs;
}

static int mode_pingpong(void) {
    maxchunk = (size_t)opt.size;
    samples = malloc(sizeof *samples * SAMPLE_CAP);
    if (!samples) die("out of memory");
    held_open();
    conn_t *cs = open_fixed(opt.conns);
    window_t w;
    window_init(&w);
    for (long i = 0; i < opt.conns; i++) pp_begin(&cs[i], &w);
    run_fixed(cs, opt.conns, &w, pp_event);
    int unfinished = outstanding(cs, opt.conns);
    close_all(cs, opt.conns);
    qsort(samples, nsamples, sizeof *samples, cmp_u32);
    double secs = (w.measure_end - w.measure_start) / 1e9;
    printf("{\"mode\": \"pingpong\", \"conns\": %ld, \"size\": %ld, \"messages\": %llu, "
           "\"msgs_per_s\": %.1f, \"mb_per_s\": %.3f, \"p50_us\": %.2f, \"p99_us\": %.2f, "
           "\"max_us\": %.2f, \"samples\": %llu, \"unfinished\": %d, ",
           opt.conns, opt.size, (unsigned long long)w.ops, w.ops / secs, w.bytes / secs / 1e6,
           percentile_us(50), percentile_us(99), percentile_us(100), (unsigned long long)nsamples,
           unfinished);
    held_close_print();
    print_common(&w);
    printf("}\n");
    return 0;
}

/* ---------- stream ---------- */

static void stream_fill(conn_t *c, const window_t *w) {
    uint64_t until = w->stopping ? c->sent : c->recvd + (uint64_t)opt.inflight;
    if (send_until(c, until) < 0) {
        errors++;
        conn_close(c);
        return;
    }
    ep_set(c, EPOLLIN | (c->sent < until ? EPOLLOUT : 0));
}

static void stream_event(conn_t *c, uint32_t ev, window_t *w) {
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        long long got = read_verify(c);
        if (got < 0) {
            errors++;
            conn_close(c);
            return;
        }
        if (w->measuring) w->bytes += (uint64_t)got;
    }
    stream_fill(c, w);
}

static int mode_stream(void) {
    maxchunk = (size_t)opt.chunk;
    held_open();
    conn_t *cs = open_fixed(opt.conns);
    window_t w;
    window_init(&w);
    for (long i = 0; i < opt.conns; i++) stream_fill(&cs[i], &w);
    run_fixed(cs, opt.conns, &w, stream_event);
    int unfinished = outstanding(cs, opt.conns);
    close_all(cs, opt.conns);
    double secs = (w.measure_end - w.measure_start) / 1e9;
    printf("{\"mode\": \"stream\", \"conns\": %ld, \"inflight\": %ld, \"bytes\": %llu, "
           "\"mb_per_s\": %.3f, \"mib_per_s\": %.4f, \"unfinished\": %d, ",
           opt.conns, opt.inflight, (unsigned long long)w.bytes, w.bytes / secs / 1e6,
           w.bytes / secs / 1048576.0, unfinished);
    held_close_print();
    print_common(&w);
    printf("}\n");
    return 0;
}

/* ---------- churn ---------- */

static int mode_churn(void) {
    samples = malloc(sizeof *samples * SAMPLE_CAP);
    if (!samples) die("out of memory");
    long k = opt.concurrency;
    conn_t *cs = calloc((size_t)k, sizeof *cs);
    if (!cs) die("out of memory");
    held_open();
    window_t w;
    window_init(&w);
    for (long i = 0; i < k; i++) ping_start(&cs[i]);
    struct epoll_event evs[MAX_EVENTS];
    int64_t drain_deadline = 0;
    for (;;) {
        window_tick(&w);
        if (w.stopping && !drain_deadline) drain_deadline = now_ns() + DRAIN_NS;
        if (!w.stopping) /* refill slots whose connect failed outright */
            for (long i = 0; i < k; i++)
                if (cs[i].state == ST_FREE && ping_start(&cs[i]) < 0) usleep(1000);
        if (!any_open(cs, k) || (drain_deadline && now_ns() >= drain_deadline)) break;
        int n = wait_events(evs, w.stopping ? drain_deadline : w.measure_end);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (held_event(c, evs[i].events)) continue;
            int r = ping_event(c, evs[i].events);
            if (r == 0) continue;
            if (r < 0) errors++;
            if (r > 0 && w.measuring) {
                w.ops++;
                record_latency(now_ns() - c->t_start);
            }
            conn_close(c);
            if (!w.stopping) ping_start(c);
        }
    }
    int unfinished = 0;
    for (long i = 0; i < k; i++) unfinished += cs[i].state != ST_FREE;
    close_all(cs, k);
    qsort(samples, nsamples, sizeof *samples, cmp_u32);
    double secs = (w.measure_end - w.measure_start) / 1e9;
    printf("{\"mode\": \"churn\", \"concurrency\": %ld, \"connections\": %llu, "
           "\"conns_per_s\": %.1f, \"p50_us\": %.2f, \"p99_us\": %.2f, \"unfinished\": %d, ",
           k, (unsigned long long)w.ops, w.ops / secs, percentile_us(50), percentile_us(99),
           unfinished);
    held_close_print();
    print_common(&w);
    printf("}\n");
    return 0;
}

/* Open one fresh connection and check it gets its 16-byte echo within 5 s. */
static int fresh_echo_ok(void) {
    conn_t c;
    if (ping_start(&c) < 0) return 0;
    struct epoll_event evs[MAX_EVENTS];
    int64_t deadline = now_ns() + 5000000000LL;
    int result = 0;
    while (now_ns() < deadline && result == 0) {
        int n = wait_events(evs, deadline);
        for (int i = 0; i < n; i++)
            if (evs[i].data.ptr == &c) result = ping_event(&c, evs[i].events);
    }
    conn_close(&c);
    return result > 0;
}

static int stdin_closed_or_ready(void) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev) == 0;
}

static int mode_idle(void) {
    long n = opt.conns, established = 0, failed = 0, dropped = 0;
    conn_t *cs = calloc((size_t)n, sizeof *cs);
    if (!cs) die("out of memory");
    struct epoll_event evs[MAX_EVENTS];
    int64_t t0 = now_ns();
    open_pinged(cs, n, &established, &failed);
    double connect_secs = (now_ns() - t0) / 1e9;
    fprintf(stderr, "ready %ld\n", established);
    fflush(stderr);

    /* Hold until stdin is readable (data or EOF) or the hold time passes. */
    int watching_stdin = stdin_closed_or_ready();
    int64_t hold_end = now_ns() + (int64_t)(opt.duration * 1e9);
    int released = 0;
    while (!released && now_ns() < hold_end) {
        int k = wait_events(evs, hold_end);
        for (int i = 0; i < k; i++) {
            conn_t *c = evs[i].data.ptr;
            if (!c) {
                released = 1;
                continue;
            }
            if (c->state == ST_IDLE && ping_event(c, evs[i].events) < 0) {
                dropped++;
                conn_close(c);
            }
        }
    }
    if (watching_stdin) epoll_ctl(epfd, EPOLL_CTL_DEL, 0, NULL);
    int fresh = opt.check ? fresh_echo_ok() : -1;
    long still_open = 0;
    for (long i = 0; i < n; i++) still_open += cs[i].state == ST_IDLE;
    close_all(cs, n);
    printf("{\"mode\": \"idle\", \"requested\": %ld, \"connected\": %ld, \"failed\": %ld, "
           "\"dropped_by_server\": %ld, \"still_open\": %ld, \"connect_seconds\": %.3f, "
           "\"released_by_stdin\": %d, \"fresh_echo_ok\": %s, \"mismatches\": %llu, "
           "\"extra_bytes\": %llu, \"errors\": %llu}\n",
           n, established, failed, dropped, still_open, connect_secs, released,
           fresh < 0 ? "null" : (fresh ? "true" : "false"), (unsigned long long)mismatches,
           (unsigned long long)extra_bytes, (unsigned long long)errors);
    return 0;
}

/* ---------- slowreader ---------- */

static int mode_slowreader(void) {
    maxchunk = (size_t)opt.chunk;
    conn_t c;
    connect_blocking(&c, 0);
    c.state = ST_OPEN;
    uint64_t total = (uint64_t)opt.total;
    int64_t t0 = now_ns(), pause_end = t0 + (int64_t)(opt.pause * 1e9);
    int64_t deadline = t0 + (int64_t)(opt.duration * 1e9);
    double cpu0 = cpu_seconds();
    uint64_t sent_during_pause = 0;
    int reading = 0, failed = 0;
    struct epoll_event evs[MAX_EVENTS];
    ep_set(&c, EPOLLOUT);
    while (c.recvd < total && now_ns() < deadline && !failed) {
        if (!reading && now_ns() >= pause_end) {
            reading = 1;
            sent_during_pause = c.sent;
        }
        /* While paused with everything sent, watch nothing and just sleep. */
        ep_set(&c, (reading ? EPOLLIN : 0) | (c.sent < total ? EPOLLOUT : 0));
        int k = wait_events(evs, reading ? deadline : pause_end);
        for (int i = 0; i < k && !failed; i++) {
            if ((evs[i].events & EPOLLOUT) && send_until(&c, total) < 0) failed = 1;
            if (reading && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && read_verify(&c) < 0)
                failed = 1;
            if (!reading && (evs[i].events & (EPOLLHUP | EPOLLERR))) failed = 1;
        }
    }
    if (!reading) sent_during_pause = c.sent;
    double secs = (now_ns() - t0) / 1e9;
    double cpu = cpu_seconds() - cpu0;
    errors += (uint64_t)failed;
    conn_close(&c);
    printf("{\"mode\": \"slowreader\", \"total\": %llu, \"sent\": %llu, \"received\": %llu, "
           "\"sent_during_pause\": %llu, \"complete\": %s, \"seconds\": %.3f, "
           "\"loadgen_cpu_pct\": %.1f, \"mismatches\": %llu, \"extra_bytes\": %llu, "
           "\"errors\": %llu}\n",
           (unsigned long long)total, (unsigned long long)c.sent, (unsigned long long)c.recvd,
           (unsigned long long)sent_during_pause, c.recvd == total ? "true" : "false", secs,
           secs > 0 ? 100.0 * cpu / secs : 0.0, (unsigned long long)mismatches,
           (unsigned long long)extra_bytes, (unsigned long long)errors);
    return 0;
}

/* ---------- flood ---------- */

/* Connect one socket (blocking, then non-blocking); -1 on failure, counted as an error. */
static int connect_or_count(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket failed");
    if (connect(fd, (struct sockaddr *)&opt.addr, sizeof opt.addr) < 0) {
        close(fd);
        errors++;
        return -1;
    }
    set_nonblocking(fd);
    return fd;
}

static int mode_flood(void) {
    maxchunk = (size_t)opt.chunk;
    long n = opt.conns, connected = 0, completed = 0;
    uint64_t total = opt.total_given ? (uint64_t)opt.total : FLOOD_DEFAULT_TOTAL;
    conn_t *cs = calloc((size_t)n, sizeof *cs);
    if (!cs) die("out of memory");
    for (long i = 0; i < n; i++) {
        int fd = connect_or_count();
        if (fd < 0) continue;
        conn_init(&cs[i], fd, (uint32_t)i);
        cs[i].state = ST_OPEN;
        ep_set(&cs[i], EPOLLOUT); /* never EPOLLIN: the echo is never read */
        connected++;
    }
    fprintf(stderr, "flooding with %ld connections\n", connected);
    struct epoll_event evs[MAX_EVENTS];
    int64_t t0 = now_ns(), deadline = t0 + (int64_t)(opt.duration * 1e9);
    int64_t stall_ns = (int64_t)(opt.stall * 1e9), last_progress = t0;
    long active = connected;
    /* Send while the server takes bytes; it stops taking them when it stops reading. */
    while (active > 0 && now_ns() < deadline && now_ns() - last_progress < stall_ns) {
        int64_t until = last_progress + stall_ns < deadline ? last_progress + stall_ns : deadline;
        int k = wait_events(evs, until);
        for (int i = 0; i < k; i++) {
            conn_t *c = evs[i].data.ptr;
            uint64_t before = c->sent;
            if ((evs[i].events & (EPOLLERR | EPOLLHUP)) || send_until(c, total) < 0) {
                errors++;
                conn_close(c);
                active--;
                continue;
            }
            if (c->sent > before) last_progress = now_ns();
            if (c->sent == total) {
                ep_set(c, 0);
                completed++;
                active--;
            }
        }
    }
    double send_secs = (now_ns() - t0) / 1e9;
    int stalled = active > 0 && now_ns() < deadline;
    uint64_t sum = 0, lo = UINT64_MAX, hi = 0;
    for (long i = 0; i < n; i++) {
        sum += cs[i].sent;
        if (cs[i].sent < lo) lo = cs[i].sent;
        if (cs[i].sent > hi) hi = cs[i].sent;
    }
    fprintf(stderr, "holding after %.1f s, %.1f MiB sent\n", send_secs, sum / 1048576.0);
    struct timespec hold = {(time_t)opt.hold, (long)((opt.hold - (time_t)opt.hold) * 1e9)};
    nanosleep(&hold, NULL);
    for (long i = 0; i < n; i++) /* closed with unread echo: the kernel sends an RST */
        if (cs[i].state != ST_FREE) conn_close(&cs[i]);
    printf("{\"mode\": \"flood\", \"requested\": %ld, \"connected\": %ld, \"total_per_conn\": %llu, "
           "\"sent_bytes\": %llu, \"sent_mib\": %.2f, \"sent_min\": %llu, \"sent_max\": %llu, "
           "\"completed\": %ld, \"stalled\": %s, \"send_seconds\": %.3f, \"hold_seconds\": %.3f, "
           "\"errors\": %llu, \"sent_per_conn\": [",
           n, connected, (unsigned long long)total, (unsigned long long)sum, sum / 1048576.0,
           (unsigned long long)(n ? lo : 0), (unsigned long long)hi, completed,
           stalled ? "true" : "false", send_secs, opt.hold, (unsigned long long)errors);
    for (long i = 0; i < n; i++) printf("%s%llu", i ? ", " : "", (unsigned long long)cs[i].sent);
    printf("]}\n");
    return 0;
}

/* ---------- ticker ---------- */

static void ticker_send(conn_t *c, int64_t t) {
    c->t_start = t;
    c->msg_end = c->sent + PING_SIZE;
    if (send_until(c, c->msg_end) < 0) {
        errors++;
        conn_close(c);
        return;
    }
    ep_set(c, EPOLLIN | (c->sent < c->msg_end ? EPOLLOUT : 0));
}

/* Read (and send the rest of a ping); returns 1 when a ping's echo completed. */
static int ticker_event(conn_t *c, uint32_t ev) {
    if ((ev & EPOLLOUT) && send_until(c, c->msg_end) < 0) goto fail;
    if (c->sent == c->msg_end) ep_set(c, EPOLLIN);
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        int waiting = c->recvd < c->msg_end;
        if (read_verify(c) < 0) goto fail;
        if (waiting && c->recvd == c->msg_end) return 1;
    }
    return 0;
fail:
    errors++;
    conn_close(c);
    return 0;
}

static int mode_ticker(void) {
    samples = malloc(sizeof *samples * SAMPLE_CAP);
    if (!samples) die("out of memory");
    long n = opt.conns, connected = 0, failed = 0;
    uint64_t pings = 0, echoes = 0, skipped = 0;
    conn_t *cs = calloc((size_t)n, sizeof *cs);
    if (!cs) die("out of memory");
    /* Every connection echoes a first ping before ticking starts, so the server has
     * accepted them all and the accept burst is not in the measured window. */
    open_pinged(cs, n, &connected, &failed);
    errors += (uint64_t)failed;
    for (long i = 0; i < n; i++)
        if (cs[i].state == ST_IDLE) cs[i].state = ST_OPEN;
    fprintf(stderr, "ready %ld\n", connected);
    fflush(stderr);
    int64_t interval = (int64_t)(opt.interval * 1e9), t0 = now_ns();
    int64_t end = t0 + (int64_t)(opt.duration * 1e9);
    double cpu0 = cpu_seconds();
    for (long i = 0; i < n; i++) /* random phase, so the pings do not come in bursts */
        cs[i].due = t0 + (int64_t)((uint64_t)random() % (uint64_t)(interval > 0 ? interval : 1));
    struct epoll_event evs[MAX_EVENTS];
    int64_t drain_deadline = 0;
    for (;;) {
        int64_t t = now_ns(), next = end;
        if (t >= end && !drain_deadline) {
            drain_deadline = t + DRAIN_NS;
            fprintf(stderr, "done\n");
            fflush(stderr);
        }
        if (drain_deadline && (!outstanding(cs, n) || t >= drain_deadline)) break;
        for (long i = 0; i < n && !drain_deadline; i++) {
            conn_t *c = &cs[i];
            if (c->state == ST_FREE) continue;
            if (c->due <= t) {
                if (c->recvd < c->sent) {
                    skipped++; /* the last echo is not back yet: skip this tick */
                } else {
                    ticker_send(c, t);
                    pings++;
                }
                while (c->due <= t) c->due += interval;
            }
            if (c->due < next) next = c->due;
        }
        int k = wait_events(evs, drain_deadline ? drain_deadline : next);
        for (int i = 0; i < k; i++) {
            conn_t *c = evs[i].data.ptr;
            if (ticker_event(c, evs[i].events)) {
                echoes++;
                record_latency(now_ns() - c->t_start);
            }
        }
    }
    double secs = (end - t0) / 1e9, cpu = cpu_seconds() - cpu0;
    int unfinished = outstanding(cs, n);
    close_all(cs, n);
    qsort(samples, nsamples, sizeof *samples, cmp_u32);
    printf("{\"mode\": \"ticker\", \"requested\": %ld, \"connected\": %ld, \"interval\": %.3f, "
           "\"pings\": %llu, \"echoes\": %llu, \"skipped_ticks\": %llu, \"p50_us\": %.2f, "
           "\"p99_us\": %.2f, \"max_us\": %.2f, \"unfinished\": %d, \"seconds\": %.4f, "
           "\"loadgen_cpu_pct\": %.1f, \"mismatches\": %llu, \"extra_bytes\": %llu, "
           "\"errors\": %llu}\n",
           n, connected, opt.interval, (unsigned long long)pings, (unsigned long long)echoes,
           (unsigned long long)skipped, percentile_us(50), percentile_us(99), percentile_us(100),
           unfinished, secs, secs > 0 ? 100.0 * cpu / secs : 0.0, (unsigned long long)mismatches,
           (unsigned long long)extra_bytes, (unsigned long long)errors);
    return 0;
}

/* ---------- udp ---------- */

/* A socket's fields here: msg_end is the sequence number of the datagram awaited
 * (the first is 1), t_start when it was sent, due when it counts as lost; state
 * ST_WAIT_ECHO while one is out, ST_OPEN while the next waits for room to send,
 * ST_IDLE once done. */
static uint8_t ubuf[UDP_MAX];
static uint64_t udp_sent, udp_echoed, udp_lost, udp_stale;

/* Datagram `seq` of socket c: the sequence number (8 bytes, big-endian), then the
 * socket's pattern from offset seq. */
static void udp_fill(const conn_t *c, uint64_t seq, uint8_t *buf) {
    for (int k = 0; k < UDP_HEADER; k++) buf[k] = (uint8_t)(seq >> (8 * (UDP_HEADER - 1 - k)));
    memcpy(buf + UDP_HEADER, c->pat + (seq & (PATTERN_PERIOD - 1)), (size_t)opt.size - UDP_HEADER);
}

static void udp_send(conn_t *c, const window_t *w) {
    if (w->stopping) {
        c->state = ST_IDLE;
        ep_set(c, 0);
        return;
    }
    uint64_t seq = c->msg_end + 1;
    udp_fill(c, seq, ubuf);
    ssize_t n = send(c->fd, ubuf, (size_t)opt.size, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
        c->state = ST_OPEN; /* the same datagram again once there is room */
        ep_set(c, EPOLLIN | EPOLLOUT);
        return;
    }
    if (n != opt.size) { /* refused (nothing listens), or cut short */
        errors++;
        conn_close(c);
        return;
    }
    udp_sent++;
    c->msg_end = seq;
    c->state = ST_WAIT_ECHO;
    c->t_start = now_ns();
    c->due = c->t_start + (int64_t)(opt.timeout * 1e9);
    ep_set(c, EPOLLIN);
}

/* Bytes of a received datagram that differ from what datagram seq held. */
static uint64_t udp_differences(const conn_t *c, uint64_t seq, size_t n) {
    uint64_t bad = n > (size_t)opt.size ? n - (size_t)opt.size : (size_t)opt.size - n;
    udp_fill(c, seq, ubuf);
    size_t common = n < (size_t)opt.size ? n : (size_t)opt.size;
    if (memcmp(ubuf, rbuf, common) != 0)
        for (size_t j = 0; j < common; j++) bad += ubuf[j] != rbuf[j];
    return bad;
}

/* Read every datagram waiting on c; the awaited echo sends the next datagram. */
static void udp_read(conn_t *c, window_t *w) {
    for (;;) {
        ssize_t n = recv(c->fd, rbuf, sizeof rbuf, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            errors++; /* ECONNREFUSED: a datagram met a closed port */
            conn_close(c);
            return;
        }
        uint64_t seq = 0;
        for (int k = 0; k < UDP_HEADER && k < n; k++) seq = seq << 8 | rbuf[k];
        if (n < UDP_HEADER || seq == 0 || seq > c->msg_end) {
            extra_bytes += (uint64_t)n; /* never sent by this socket */
            continue;
        }
        mismatches += udp_differences(c, seq, (size_t)n);
        if (seq < c->msg_end || c->state != ST_WAIT_ECHO) {
            udp_stale++; /* an echo after its timeout, or a second one */
            continue;
        }
        udp_echoed++;
        if (w->measuring) {
            record_latency(now_ns() - c->t_start);
            w->ops++;
            w->bytes += (uint64_t)opt.size;
        }
        udp_send(c, w);
        if (c->state == ST_FREE) return;
    }
}

/* Datagrams past their timeout count as lost; the next is sent.  Returns the
 * earliest deadline still pending (or `until`). */
static int64_t udp_expire(conn_t *cs, long n, const window_t *w, int64_t until) {
    int64_t t = now_ns();
    for (long i = 0; i < n; i++) {
        conn_t *c = &cs[i];
        if (c->state != ST_WAIT_ECHO) continue;
        if (c->due <= t) {
            udp_lost++;
            udp_send(c, w);
            if (c->state != ST_WAIT_ECHO) continue;
        }
        if (c->due < until) until = c->due;
    }
    return until;
}

static int mode_udp(void) {
    maxchunk = (size_t)opt.size;
    samples = malloc(sizeof *samples * SAMPLE_CAP);
    conn_t *cs = calloc((size_t)opt.conns, sizeof *cs);
    if (!samples || !cs) die("out of memory");
    for (long i = 0; i < opt.conns; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) die("socket failed");
        /* connected: send() needs no address, and only the server's datagrams come in */
        if (connect(fd, (struct sockaddr *)&opt.addr, sizeof opt.addr) < 0) die("connect failed");
        conn_init(&cs[i], fd, (uint32_t)i);
    }
    window_t w;
    window_init(&w);
    for (long i = 0; i < opt.conns; i++) udp_send(&cs[i], &w);
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        window_tick(&w);
        int64_t until = udp_expire(cs, opt.conns, &w, w.stopping ? INT64_MAX : w.measure_end);
        if (w.stopping && until == INT64_MAX) break; /* every datagram back or lost */
        if (!any_open(cs, opt.conns)) break;
        int k = wait_events(evs, until);
        for (int i = 0; i < k; i++) {
            conn_t *c = evs[i].data.ptr;
            if ((evs[i].events & EPOLLOUT) && c->state == ST_OPEN) udp_send(c, &w);
            if (c->state != ST_FREE && (evs[i].events & (EPOLLIN | EPOLLERR))) udp_read(c, &w);
        }
    }
    close_all(cs, opt.conns);
    qsort(samples, nsamples, sizeof *samples, cmp_u32);
    double secs = (w.measure_end - w.measure_start) / 1e9;
    printf("{\"mode\": \"udp\", \"conns\": %ld, \"size\": %ld, \"messages\": %llu, "
           "\"msgs_per_s\": %.1f, \"mb_per_s\": %.3f, \"p50_us\": %.2f, \"p99_us\": %.2f, "
           "\"max_us\": %.2f, \"samples\": %llu, \"datagrams_sent\": %llu, \"echoed\": %llu, "
           "\"lost\": %llu, \"stale\": %llu, \"timeout_s\": %.3f, ",
           opt.conns, opt.size, (unsigned long long)w.ops, w.ops / secs, w.bytes / secs / 1e6,
           percentile_us(50), percentile_us(99), percentile_us(100), (unsigned long long)nsamples,
           (unsigned long long)udp_sent, (unsigned long long)udp_echoed,
           (unsigned long long)udp_lost, (unsigned long long)udp_stale, opt.timeout);
    print_common(&w);
    printf("}\n");
    return 0;
}

/* ---------- command line ---------- */

static long long parse_num(const char *s, const char *name) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0) {
        fprintf(stderr, "loadgen: bad value for %s: %s\n", name, s);
        exit(2);
    }
    return v;
}

static double parse_secs(const char *s, const char *name) {
    char *end;
    double v = strtod(s, &end);
    if (*end || v < 0) {
        fprintf(stderr, "loadgen: bad value for %s: %s\n", name, s);
        exit(2);
    }
    return v;
}

static void parse_args(int argc, char **argv) {
    const char *host = "127.0.0.1";
    long long port = -1;
    opt = (options_t){.duration = 3, .pause = 5, .connect_timeout = 60, .total = 256LL << 20,
                      .conns = 1, .size = 64, .inflight = 256 * 1024, .chunk = 65536,
                      .concurrency = 8, .interval = 1, .hold = 1, .stall = 1, .timeout = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--check")) {
            opt.check = 1;
            continue;
        }
        if (!strcmp(a, "--tls")) {
            opt.tls = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            fputs(USAGE, stderr);
            exit(2);
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--mode")) opt.mode = v;
        else if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--port")) port = parse_num(v, a);
        else if (!strcmp(a, "--duration")) opt.duration = parse_secs(v, a);
        else if (!strcmp(a, "--warmup")) opt.warmup = parse_secs(v, a);
        else if (!strcmp(a, "--pause")) opt.pause = parse_secs(v, a);
        else if (!strcmp(a, "--connect-timeout")) opt.connect_timeout = parse_secs(v, a);
        else if (!strcmp(a, "--count")) opt.count = parse_num(v, a);
        else if (!strcmp(a, "--total")) {
            opt.total = parse_num(v, a);
            opt.total_given = 1;
        }
        else if (!strcmp(a, "--conns")) opt.conns = (long)parse_num(v, a);
        else if (!strcmp(a, "--size")) opt.size = (long)parse_num(v, a);
        else if (!strcmp(a, "--inflight")) opt.inflight = (long)parse_num(v, a);
        else if (!strcmp(a, "--chunk")) opt.chunk = (long)parse_num(v, a);
        else if (!strcmp(a, "--concurrency")) opt.concurrency = (long)parse_num(v, a);
        else if (!strcmp(a, "--idle")) opt.idle = (long)parse_num(v, a);
        else if (!strcmp(a, "--interval")) opt.interval = parse_secs(v, a);
        else if (!strcmp(a, "--hold")) opt.hold = parse_secs(v, a);
        else if (!strcmp(a, "--stall")) opt.stall = parse_secs(v, a);
        else if (!strcmp(a, "--server-pid")) opt.server_pid = (long)parse_num(v, a);
        else if (!strcmp(a, "--tls-ca")) opt.tls_ca = v;
        else if (!strcmp(a, "--timeout")) opt.timeout = parse_secs(v, a);
        else {
            fprintf(stderr, "loadgen: unknown option %s\n%s", a, USAGE);
            exit(2);
        }
    }
    if (!opt.mode || port <= 0 || port > 65535) {
        fputs(USAGE, stderr);
        exit(2);
    }
    if (opt.conns < 1 || opt.size < 1 || opt.chunk < 1 || opt.inflight < 1 || opt.concurrency < 1)
        die("--conns, --size, --chunk, --inflight and --concurrency must be positive");
    if (opt.interval <= 0) die("--interval must be positive");
    int udp = !strcmp(opt.mode, "udp");
    if (opt.tls && (udp || !strcmp(opt.mode, "flood"))) die("--tls: not with --mode udp or flood");
    if (opt.tls_ca && !opt.tls) die("--tls-ca needs --tls");
    if (udp && (opt.size < UDP_HEADER || opt.size > UDP_MAX))
        die("--size: a udp datagram holds 8 to 65507 bytes");
    if (udp && opt.timeout <= 0) die("--timeout must be positive");
    opt.host = host;
    opt.addr.sin_family = AF_INET;
    opt.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &opt.addr.sin_addr) != 1) die("--host must be an IPv4 address");
    if ((ntohl(opt.addr.sin_addr.s_addr) >> 24) != 127) die("--host must be a loopback address");
}

static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    srandom(12345);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1 failed");
    if (opt.tls) tls_init();
    if (!strcmp(opt.mode, "pingpong")) return mode_pingpong();
    if (!strcmp(opt.mode, "stream")) return mode_stream();
    if (!strcmp(opt.mode, "churn")) return mode_churn();
    if (!strcmp(opt.mode, "idle")) return mode_idle();
    if (!strcmp(opt.mode, "slowreader")) return mode_slowreader();
    if (!strcmp(opt.mode, "flood")) return mode_flood();
    if (!strcmp(opt.mode, "ticker")) return mode_ticker();
    if (!strcmp(opt.mode, "udp")) return mode_udp();
    fprintf(stderr, "loadgen: unknown mode %s\n%s", opt.mode, USAGE);
    return 2;
}
