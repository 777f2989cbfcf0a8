/*
 * hello_own.c - the ceiling of the own FastCGI transport on this machine,
 * beside hello_fcgi.c (libfcgi's).
 *
 *   hello_own SOCKET WORKERS [BODY_BYTES]
 *
 * The same process model as tradedesk-api with TRADEDESK_API_TRANSPORT=own:
 * the master listens on the unix SOCKET, holds nginx's kept-alive
 * connections and hands a connection with a request waiting to one of
 * WORKERS children (api/front.c), which answer with core/fcgi a fixed JSON
 * body padded to BODY_BYTES (default 12, {"ok":true}).  No config, no
 * respawn, no logging: only the FastCGI hop is measured.  SIGTERM/SIGINT
 * stop it.
 */
#include "api/front.h"
#include "core/log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hello_body.h"

#define MAX_WORKERS 256

static char *g_resp;
static size_t g_resp_len;

static void hello(void *ctx, td_fcgi_request *req, td_arena *arena, const char **out, size_t *len)
{
    (void)ctx;
    (void)req;
    (void)arena;
    *out = g_resp;
    *len = g_resp_len;
}

static int worker(int ctl)
{
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    td_arena arena;
    td_arena_init(&arena, 16 * 1024);
    const td_fcgi_limits lim = {.max_params_bytes = TD_FRONT_MAX_PARAMS_BYTES,
                                .max_params = TD_FRONT_MAX_PARAMS,
                                .max_body_bytes = 1 << 20,
                                .max_conns = TD_FRONT_MAX_CONNS,
                                .max_reqs = TD_FRONT_MAX_CONNS};
    for (;;) {
        td_front_handoff h;
        int fd = td_front_receive(ctl, &h, 0);
        if (fd == -2)
            continue;
        if (fd < 0)
            return 0;
        h.keep = (uint32_t)td_front_serve(fd, &arena, &lim, hello, NULL, NULL);
        close(fd);
        if (td_front_report(ctl, &h) != 0)
            return 0;
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: hello_own SOCKET WORKERS [BODY_BYTES]\n");
        return 2;
    }
    td_log_init("hello_own", TD_LOG_WARN);
    const char *path = argv[1];
    int n = atoi(argv[2]);
    long body = argc == 4 ? atol(argv[3]) : 12;
    if (n < 1 || n > MAX_WORKERS || body < 12 || body > 16 * 1024 * 1024) {
        fprintf(stderr, "hello_own: WORKERS must be 1..%d, BODY_BYTES 12..16777216\n", MAX_WORKERS);
        return 2;
    }
    if (!(g_resp = hello_response(body, &g_resp_len)))
        return 1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "hello_own: socket path too long\n");
        return 2;
    }
    strcpy(sa.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1024) != 0) {
        perror("hello_own: listen");
        return 1;
    }
    chmod(path, 0666); /* nginx workers run as www-data */

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0 || td_front_open(lfd, sfd) != 0) {
        perror("hello_own: front");
        return 1;
    }
    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < n; i++) {
        int child;
        int mfd = td_front_pair(&child);
        if (mfd < 0)
            return 1;
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("hello_own: fork");
            return 1;
        }
        if (pids[i] == 0) {
            close(mfd);
            td_front_child_close();
            _exit(worker(child));
        }
        close(child);
        td_front_worker_started(mfd, pids[i]);
    }
    for (;;) {
        int sig = td_front_wait(250);
        if (sig == SIGTERM || sig == SIGINT)
            break;
    }
    td_front_drain();
    for (int i = 0; i < n; i++)
        kill(pids[i], SIGTERM);
    while (wait(NULL) > 0)
        ;
    unlink(path);
    return 0;
}
