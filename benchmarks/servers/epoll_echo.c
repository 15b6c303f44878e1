/*
 * epoll_echo: a plain C epoll echo server, the ceiling for the benchmarks.
 *
 * Non-blocking sockets, level-triggered epoll, eager writes, an outbound buffer
 * per client only for what the socket did not take, EPOLLOUT interest only
 * while bytes are pending, and reading paused while a
 * client has more than MAX_PENDING bytes waiting (so a slow reader cannot make
 * the server grow without bound).  Serves until SIGTERM or SIGINT, then exits 0.
 *
 * usage: epoll_echo [--host 127.0.0.1] [--port 9000]
 * Build: cc -O2 -Wall -Wextra -o epoll_echo epoll_echo.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum { READ_SIZE = 262144, MAX_PENDING = 1 << 20, MAX_EVENTS = 256 };

typedef struct {
    int fd;
    char *buf;        /* pending outbound bytes live in buf[start, end) */
    size_t start, end, cap;
    uint32_t events;
} client_t;

static volatile sig_atomic_t stopping;
static int epfd;

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

static void set_interest(client_t *c, uint32_t events) {
    if (c->events == events) return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = events;
}

static void drop(client_t *c) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->buf);
    free(c);
}

static uint8_t rbuf[READ_SIZE]; /* shared: bytes are read here and sent at once */

/* Write what is pending; returns -1 if the connection failed. */
static int flush_pending(client_t *c) {
    while (c->start < c->end) {
        ssize_t n = send(c->fd, c->buf + c->start, c->end - c->start, MSG_NOSIGNAL);
        if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        c->start += (size_t)n;
    }
    free(c->buf); /* an idle client keeps no buffer */
    c->buf = NULL;
    c->start = c->end = c->cap = 0;
    return 0;
}

/* Keep n bytes the socket did not take; returns -1 if out of memory. */
static int keep(client_t *c, const uint8_t *data, size_t n) {
    if (c->start > 0 && c->cap - c->end < n) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->cap - c->end < n) {
        size_t cap = c->cap ? c->cap : READ_SIZE;
        while (cap - c->end < n) cap *= 2;
        char *p = realloc(c->buf, cap);
        if (!p) return -1;
        c->buf = p;
        c->cap = cap;
    }
    memcpy(c->buf + c->end, data, n);
    c->end += n;
    return 0;
}

/* Read once if readable and echo eagerly; returns -1 when the client is gone. */
static int serve(client_t *c, uint32_t ev) {
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t n = recv(c->fd, rbuf, READ_SIZE, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return -1;
        size_t sent = 0;
        if (n > 0 && c->start == c->end) { /* nothing queued: write straight away */
            ssize_t w = send(c->fd, rbuf, (size_t)n, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN && errno != EINTR) return -1;
            sent = w > 0 ? (size_t)w : 0;
        }
        if (n > 0 && sent < (size_t)n && keep(c, rbuf + sent, (size_t)n - sent) < 0) return -1;
    }
    return c->start < c->end ? flush_pending(c) : 0;
}

static void on_client(client_t *c, uint32_t ev) {
    if (serve(c, ev) < 0) {
        drop(c);
        return;
    }
    size_t pending = c->end - c->start;
    set_interest(c, (pending < MAX_PENDING ? EPOLLIN : 0) | (pending ? EPOLLOUT : 0));
}

static void on_listener(int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) usleep(10000);
            return;
        }
        client_t *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->events = EPOLLIN;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    }
}

static int listen_on(const char *host, int port) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "epoll_echo: bad IPv4 host %s\n", host);
        exit(2);
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
        perror("epoll_echo: bind/listen");
        exit(1);
    }
    return lfd;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 9000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host")) host = argv[i + 1];
        else if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: epoll_echo [--host HOST] [--port PORT]\n");
            return 2;
        }
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = listen_on(host, port);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
    struct epoll_event evs[MAX_EVENTS];
    while (!stopping) {
        int n = epoll_wait(epfd, evs, MAX_EVENTS, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) on_listener(lfd);
            else on_client(evs[i].data.ptr, evs[i].events);
        }
    }
    close(lfd);
    return 0;
}
