/*
 * hello_fcgi.c - the ceiling of any libfcgi program on this machine.
 *
 *   hello_fcgi SOCKET WORKERS [BODY_BYTES]
 *
 * Same process model as tradedesk-api: the master opens the FastCGI socket
 * (a unix path, or host:port), forks WORKERS children that each loop on
 * FCGX_Accept_r and answer a fixed tiny JSON body with FCGX_PutStr, and then
 * waits.  SIGTERM/SIGINT stop the master, which stops the workers.  No
 * respawn, no config, no logging: only the FastCGI hop is measured.
 * BODY_BYTES (default 12, {"ok":true}) pads the JSON body to that size, to
 * measure what moving a real response's bytes costs without any work.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hello_body.h"

#define MAX_WORKERS 256

static volatile sig_atomic_t g_stop;

static void on_term(int sig)
{
    (void)sig;
    g_stop = 1;
    FCGX_ShutdownPending();
}

static const char *g_resp;
static int g_resp_len;

static int worker(int fd)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term; /* no SA_RESTART: accept() must fail on SIGTERM */
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGTERM);

    FCGX_Request req;
    if (FCGX_InitRequest(&req, fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
        return 1;
    while (!g_stop && FCGX_Accept_r(&req) >= 0) {
        FCGX_PutStr(g_resp, g_resp_len, req.out);
        FCGX_Finish_r(&req);
    }
    FCGX_Free(&req, 0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: hello_fcgi SOCKET WORKERS [BODY_BYTES]\n");
        return 2;
    }
    const char *listen = argv[1];
    int n = atoi(argv[2]);
    if (n < 1 || n > MAX_WORKERS) {
        fprintf(stderr, "hello_fcgi: WORKERS must be 1..%d\n", MAX_WORKERS);
        return 2;
    }
    long body = argc == 4 ? atol(argv[3]) : 12;
    if (body < 12 || body > 16 * 1024 * 1024) {
        fprintf(stderr, "hello_fcgi: BODY_BYTES must be 12..16777216\n");
        return 2;
    }
    size_t resp_len;
    if (!(g_resp = hello_response(body, &resp_len)))
        return 1;
    g_resp_len = (int)resp_len;
    int is_path = strchr(listen, '/') != NULL;
    if (is_path) {
        struct stat st;
        if (lstat(listen, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(listen);
    }
    if (FCGX_Init() != 0)
        return 1;
    int fd = FCGX_OpenSocket(listen, 1024);
    if (fd < 0) {
        fprintf(stderr, "hello_fcgi: cannot listen on %s: %s\n", listen, strerror(errno));
        return 1;
    }
    if (is_path && chmod(listen, 0666) != 0) /* nginx workers run as www-data */
        fprintf(stderr, "hello_fcgi: chmod %s: %s\n", listen, strerror(errno));

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            fprintf(stderr, "hello_fcgi: fork: %s\n", strerror(errno));
            return 1;
        }
        if (pids[i] == 0)
            _exit(worker(fd));
    }
    while (!g_stop)
        pause();
    for (int i = 0; i < n; i++)
        kill(pids[i], SIGTERM);
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    if (is_path)
        unlink(listen);
    return 0;
}
