/*
 * front.c - the own transport's dispatcher in the master; see front.h.
 *
 * One epoll set holds the listening socket, the signalfd, every worker's
 * socket and every idle nginx connection (EPOLLONESHOT: a connection that
 * fires is the master's to hand off, and is watched again only when the
 * worker gives it back).  Idle workers are a stack (the most recently used
 * first: its caches are warm), waiting connections a FIFO.  The master
 * never reads a connection: it only learns that bytes are waiting.
 */
#include "api/front.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FRONT_WORKERS 1280 /* current and retiring generations */

enum { K_LISTEN, K_SIG, K_CONN, K_WORKER };
enum { C_FREE, C_WATCHED, C_QUEUED, C_HELD };

typedef struct conn {
    int fd;
    int state;
    uint16_t gen; /* bumped at each reuse: an event already fetched for a
                   * closed connection never reaches its slot's next one */
} conn;

typedef struct worker {
    int fd; /* -1: slot free */
    pid_t pid;
    int conn; /* held, or -1 */
    int retiring;
} worker;

static int g_ep = -1, g_listen = -1, g_sig = -1, g_draining;
static conn g_conns[TD_FRONT_MAX_CONNS];
static int g_free_conns[TD_FRONT_MAX_CONNS], g_nfree_conns;
static int g_queue[TD_FRONT_MAX_CONNS], g_qhead, g_qlen;
static worker g_workers[MAX_FRONT_WORKERS];
static int g_idle[MAX_FRONT_WORKERS], g_nidle;
static int g_in_flight;

static uint64_t tag(int kind, int i)
{
    uint64_t gen = kind == K_CONN ? g_conns[i].gen : 0;
    return (uint64_t)kind << 48 | gen << 32 | (uint32_t)i;
}

static int ep_add(int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev);
}

int td_front_open(int listen_fd, int sig_fd)
{
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    if (g_ep < 0)
        return -1;
    g_listen = listen_fd;
    g_sig = sig_fd;
    fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
    for (int i = 0; i < TD_FRONT_MAX_CONNS; i++) {
        g_conns[i].fd = -1;
        g_free_conns[i] = TD_FRONT_MAX_CONNS - 1 - i;
    }
    g_nfree_conns = TD_FRONT_MAX_CONNS;
    for (int i = 0; i < MAX_FRONT_WORKERS; i++)
        g_workers[i].fd = -1;
    if (ep_add(listen_fd, EPOLLIN, tag(K_LISTEN, 0)) != 0 ||
        ep_add(sig_fd, EPOLLIN, tag(K_SIG, 0)) != 0)
        return -1;
    return 0;
}

/* ---- connections ---- */

static void conn_close(int c)
{
    conn *k = &g_conns[c];
    if (k->state == C_HELD)
        g_in_flight--;
    close(k->fd); /* also leaves the epoll set */
    k->fd = -1;
    k->state = C_FREE;
    g_free_conns[g_nfree_conns++] = c;
}

static void conn_watch(int c)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT,
                             .data.u64 = tag(K_CONN, c)};
    g_conns[c].state = C_WATCHED;
    if (epoll_ctl(g_ep, EPOLL_CTL_MOD, g_conns[c].fd, &ev) != 0)
        conn_close(c);
}

static void accept_all(void)
{
    for (;;) {
        int fd = accept4(g_listen, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                td_warn("accept: %s", strerror(errno));
            return;
        }
        if (g_nfree_conns == 0) {
            td_warn("FastCGI: %d connections held already; closing a new one", TD_FRONT_MAX_CONNS);
            close(fd);
            continue;
        }
        /* Blocking for the worker; these bound what a stalled peer costs it. */
        struct timeval tv = {TD_FRONT_IO_TIMEOUT_S, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        int c = g_free_conns[--g_nfree_conns];
        g_conns[c].gen++;
        g_conns[c].fd = fd;
        g_conns[c].state = C_WATCHED;
        if (ep_add(fd, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, tag(K_CONN, c)) != 0)
            conn_close(c);
    }
}

/* ---- workers ---- */

int td_front_pair(int *child_fd)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        td_error("socketpair: %s", strerror(errno));
        return -1;
    }
    *child_fd = sv[1];
    return sv[0];
}

static void idle_remove(int w)
{
    for (int i = 0; i < g_nidle; i++)
        if (g_idle[i] == w) {
            g_idle[i] = g_idle[--g_nidle];
            return;
        }
}

static void worker_gone(int w)
{
    worker *k = &g_workers[w];
    if (k->conn >= 0)
        conn_close(k->conn); /* it died holding a request: nginx answers 502 */
    idle_remove(w);
    close(k->fd);
    k->fd = -1;
}

/* One hand-off on the wire: the struct, and room for one descriptor. */
typedef struct handoff_msg {
    struct iovec v;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
} handoff_msg;

static struct msghdr handoff_msg_init(handoff_msg *msg, td_front_handoff *h)
{
    msg->v = (struct iovec){h, sizeof *h};
    return (struct msghdr){.msg_iov = &msg->v,
                           .msg_iovlen = 1,
                           .msg_control = msg->u.buf,
                           .msg_controllen = sizeof msg->u.buf};
}

static int send_conn(int w, int c)
{
    td_front_handoff h = {.conn = (uint32_t)c};
    handoff_msg msg;
    struct msghdr m = handoff_msg_init(&msg, &h);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &g_conns[c].fd, sizeof(int));
    ssize_t n;
    do
        n = sendmsg(g_workers[w].fd, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof h ? 0 : -1;
}

/* A connection with a request waiting: to an idle worker, else the FIFO. */
static void dispatch(int c)
{
    if (g_draining) {
        conn_close(c);
        return;
    }
    while (g_nidle > 0) {
        int w = g_idle[--g_nidle];
        if (send_conn(w, c) == 0) {
            g_workers[w].conn = c;
            g_conns[c].state = C_HELD;
            g_in_flight++;
            return;
        }
        worker_gone(w);
    }
    g_conns[c].state = C_QUEUED;
    g_queue[(g_qhead + g_qlen++) % TD_FRONT_MAX_CONNS] = c;
}

static void worker_idle(int w)
{
    while (g_qlen > 0 && !g_draining) {
        int c = g_queue[g_qhead];
        g_qhead = (g_qhead + 1) % TD_FRONT_MAX_CONNS;
        g_qlen--;
        if (g_conns[c].state != C_QUEUED)
            continue;
        if (send_conn(w, c) != 0) {
            g_conns[c].state = C_WATCHED;
            dispatch(c); /* to another worker, or back in the queue */
            worker_gone(w);
            return;
        }
        g_workers[w].conn = c;
        g_conns[c].state = C_HELD;
        g_in_flight++;
        return;
    }
    g_idle[g_nidle++] = w;
}

void td_front_worker_started(int master_fd, pid_t pid)
{
    for (int w = 0; w < MAX_FRONT_WORKERS; w++) {
        if (g_workers[w].fd >= 0)
            continue;
        g_workers[w] = (worker){.fd = master_fd, .pid = pid, .conn = -1};
        if (ep_add(master_fd, EPOLLIN, tag(K_WORKER, w)) != 0) {
            close(master_fd);
            g_workers[w].fd = -1;
            return;
        }
        worker_idle(w);
        return;
    }
    td_error("front: no room for worker %d", (int)pid);
    close(master_fd);
}

static void retire(int w)
{
    worker *k = &g_workers[w];
    if (k->retiring)
        return;
    k->retiring = 1;
    idle_remove(w);
    shutdown(k->fd, SHUT_WR); /* it reads what was sent, then end of file */
}

void td_front_retire(pid_t pid)
{
    for (int w = 0; w < MAX_FRONT_WORKERS; w++)
        if (g_workers[w].fd >= 0 && g_workers[w].pid == pid)
            retire(w);
}

static void worker_report(int w)
{
    worker *k = &g_workers[w];
    td_front_handoff h;
    ssize_t n = recv(k->fd, &h, sizeof h, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n != (ssize_t)sizeof h) {
        worker_gone(w); /* exited (retired, or died) */
        return;
    }
    int c = (int)h.conn;
    if (k->conn != c) {
        td_error("front: worker %d reported connection %d, holds %d", (int)k->pid, c, k->conn);
        worker_gone(w);
        return;
    }
    k->conn = -1;
    g_conns[c].state = C_WATCHED;
    g_in_flight--;
    if (h.keep && !g_draining)
        conn_watch(c);
    else
        conn_close(c);
    if (!k->retiring)
        worker_idle(w);
}

void td_front_child_close(void)
{
    close(g_ep);
    close(g_listen);
    close(g_sig);
    for (int i = 0; i < TD_FRONT_MAX_CONNS; i++)
        if (g_conns[i].fd >= 0)
            close(g_conns[i].fd);
    for (int w = 0; w < MAX_FRONT_WORKERS; w++)
        if (g_workers[w].fd >= 0)
            close(g_workers[w].fd);
}

int td_front_wait(int timeout_ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(g_ep, evs, 256, timeout_ms);
    int sig = 0;
    for (int i = 0; i < n; i++) {
        uint64_t d = evs[i].data.u64;
        int kind = (int)(d >> 48), idx = (int)(uint32_t)d;
        uint32_t e = evs[i].events;
        switch (kind) {
        case K_LISTEN:
            accept_all();
            break;
        case K_SIG: {
            struct signalfd_siginfo si;
            /* SIGCHLD only when nothing else came: the others need an answer. */
            if (read(g_sig, &si, sizeof si) == (ssize_t)sizeof si && (!sig || sig == SIGCHLD))
                sig = (int)si.ssi_signo;
            break;
        }
        case K_CONN:
            if (g_conns[idx].state != C_WATCHED || g_conns[idx].gen != (uint16_t)(d >> 32))
                break;
            if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                conn_close(idx); /* nginx let an idle connection go */
            else
                dispatch(idx);
            break;
        case K_WORKER:
            if (g_workers[idx].fd >= 0)
                worker_report(idx);
            break;
        }
    }
    return sig;
}

void td_front_drain(void)
{
    g_draining = 1;
    if (g_listen >= 0) {
        epoll_ctl(g_ep, EPOLL_CTL_DEL, g_listen, NULL);
        close(g_listen);
        g_listen = -1;
    }
    for (int c = 0; c < TD_FRONT_MAX_CONNS; c++)
        if (g_conns[c].fd >= 0 && g_conns[c].state != C_HELD)
            conn_close(c);
    g_qlen = 0;
    for (int w = 0; w < MAX_FRONT_WORKERS; w++)
        if (g_workers[w].fd >= 0)
            retire(w);
}

int td_front_in_flight(void)
{
    return g_in_flight;
}

/* ---- the worker's side ---- */

int td_front_receive(int ctl_fd, td_front_handoff *h, int nowait)
{
    handoff_msg msg;
    struct msghdr m = handoff_msg_init(&msg, h);
    ssize_t n = recvmsg(ctl_fd, &m, MSG_CMSG_CLOEXEC | (nowait ? MSG_DONTWAIT : 0));
    if (n < 0 && errno == EINTR)
        return -2;
    if (n != (ssize_t)sizeof *h)
        return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

int td_front_report(int ctl_fd, const td_front_handoff *h)
{
    ssize_t n;
    do
        n = send(ctl_fd, h, sizeof *h, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof *h ? 0 : -1;
}

/* Write all of iov[0..cnt): one writev unless the socket takes less. */
static int write_iov(int fd, struct iovec *iov, size_t cnt)
{
    for (size_t left = 1; left && cnt;) {
        ssize_t w = writev(fd, iov, (int)cnt);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        left = td_fcgi_iov_advance(&iov, &cnt, (size_t)w);
    }
    return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    struct iovec v = {(void *)p, n};
    return write_iov(fd, &v, 1);
}

int td_front_serve(int fd, td_arena *arena, const td_fcgi_limits *lim, td_front_handler handle,
                   void (*done)(void *ctx), void *ctx)
{
    static unsigned char in[16384];
    td_fcgi_conn c;
    td_fcgi_conn_init(&c, lim, arena);
    size_t have = 0, off = 0;
    int served = 0;
    for (;;) {
        if (off == have) {
            if (served)
                return 1; /* idle between requests: back to the master */
            ssize_t n = read(fd, in, sizeof in);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                td_arena_reset(arena);
                return 0; /* nginx closed it, or stalled past the timeout */
            }
            have = (size_t)n;
            off = 0;
        }
        size_t used;
        td_fcgi_event ev = td_fcgi_feed(&c, in + off, have - off, &used);
        off += used;
        switch (ev) {
        case TD_FCGI_MORE:
            served = 0; /* inside a request: wait for the rest */
            continue;
        case TD_FCGI_REPLY:
            if (write_all(fd, c.reply, c.reply_len) != 0)
                return 0;
            served = 1;
            continue;
        case TD_FCGI_ABORTED:
            td_arena_reset(arena);
            if (write_all(fd, c.reply, c.reply_len) != 0 || !c.req.keep_conn)
                return 0;
            served = 1;
            continue;
        case TD_FCGI_ERROR:
        case TD_FCGI_BUSY: /* not reached: each request is answered below */
            td_warn("FastCGI: %s; closing the connection", c.error ? c.error : "busy");
            if (c.reply_len)
                (void)write_all(fd, c.reply, c.reply_len);
            td_arena_reset(arena);
            return 0;
        case TD_FCGI_REQUEST:
            break;
        }
        const char *out;
        size_t len;
        handle(ctx, &c.req, arena, &out, &len);
        struct iovec *iov;
        size_t cnt = td_fcgi_respond(&c, out, len, 0, &iov);
        int ok = write_iov(fd, iov, cnt) == 0;
        if (done)
            done(ctx);
        td_arena_reset(arena);
        if (!ok || !c.req.keep_conn)
            return 0;
        served = 1;
    }
}
