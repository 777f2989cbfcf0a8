/*
 * test_transport.c - the own FastCGI transport (TRADEDESK_API_TRANSPORT=own)
 * spoken to directly on the API's socket, the way nginx does with
 * `fastcgi_keep_conn on`: many persistent connections on a pool of two
 * workers, idle connections that pin no worker (the libfcgi trap of
 * NOTES.md: with libfcgi the third connection here would wait forever),
 * SIGHUP with connections open, and SIGTERM finishing a request in flight
 * before closing.
 *
 * The API is restarted with the own transport for this file and restarted
 * with the suite's settings afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "itest.h"
#include "core/fcgi.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static char g_saved[32];
static int g_had_saved;

static int fcgi_connect(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/run/api.sock", getenv("TD_TEST_VAR"));
    assert_true(n > 0 && (size_t)n < sizeof sa.sun_path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    /* A request that is never answered fails the test instead of hanging it. */
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static size_t put_pair(unsigned char *o, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value); /* short here: 1-byte lengths */
    o[0] = (unsigned char)nl;
    o[1] = (unsigned char)vl;
    memcpy(o + 2, name, nl);
    memcpy(o + 2 + nl, value, vl);
    return 2 + nl + vl;
}

/* A GET of uri with FCGI_KEEP_CONN, as nginx sends it, into out. */
static size_t build_get(unsigned char *out, unsigned id, const char *uri)
{
    size_t n = 0;
    td_fcgi_header(out, TD_FCGI_BEGIN_REQUEST, (uint16_t)id, 8, 0);
    static const unsigned char begin[8] = {0, TD_FCGI_RESPONDER, TD_FCGI_KEEP_CONN};
    memcpy(out + 8, begin, 8);
    n = 16;
    unsigned char p[512];
    size_t k = 0;
    k += put_pair(p + k, "REQUEST_METHOD", "GET");
    k += put_pair(p + k, "REQUEST_URI", uri);
    k += put_pair(p + k, "REMOTE_ADDR", "127.0.0.1");
    k += put_pair(p + k, "CONTENT_LENGTH", "");
    td_fcgi_header(out + n, TD_FCGI_PARAMS, (uint16_t)id, k, 0);
    memcpy(out + n + 8, p, k);
    n += 8 + k;
    td_fcgi_header(out + n, TD_FCGI_PARAMS, (uint16_t)id, 0, 0);
    n += 8;
    td_fcgi_header(out + n, TD_FCGI_STDIN, (uint16_t)id, 0, 0);
    return n + 8;
}

static void send_all(int fd, const void *p, size_t n)
{
    assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void read_full(int fd, unsigned char *b, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, b + got, n - got);
        if (r <= 0)
            fail_msg("connection ended or timed out after %zu of %zu bytes (%s)", got, n,
                     r < 0 ? strerror(errno) : "end of file");
        got += (size_t)r;
    }
}

/* Read records up to END_REQUEST for id; the STDOUT text into out.
 * Returns the HTTP status of its Status: line. */
static int read_response(int fd, unsigned id, char *out, size_t cap)
{
    size_t len = 0;
    for (;;) {
        unsigned char h[8], body[65536 + 256];
        read_full(fd, h, 8);
        size_t clen = (size_t)h[4] << 8 | h[5], pad = h[6];
        assert_int_equal(h[0], 1);
        assert_int_equal((unsigned)(h[2] << 8 | h[3]), id);
        read_full(fd, body, clen + pad);
        if (h[1] == TD_FCGI_END_REQUEST) {
            assert_int_equal(clen, 8);
            assert_int_equal(body[4], TD_FCGI_REQUEST_COMPLETE);
            break;
        }
        assert_int_equal(h[1], TD_FCGI_STDOUT);
        assert_true(len + clen < cap);
        memcpy(out + len, body, clen);
        len += clen;
    }
    out[len] = '\0';
    int status = 0;
    const char *s = strstr(out, "Status: ");
    if (s)
        status = atoi(s + 8);
    return status;
}

static int get(int fd, unsigned id, const char *uri)
{
    unsigned char req[1024];
    send_all(fd, req, build_get(req, id, uri));
    static char out[1 << 20];
    return read_response(fd, id, out, sizeof out);
}

/* The peer closed: a read gives end of file (not a timeout). */
static void assert_closed(int fd)
{
    unsigned char b[64];
    ssize_t r = read(fd, b, sizeof b);
    if (r != 0)
        fail_msg("expected the API to close the connection, read returned %zd (%s)", r,
                 r < 0 ? strerror(errno) : "data");
}

static int restart_with(const char *transport)
{
    if (transport)
        setenv("TRADEDESK_API_TRANSPORT", transport, 1);
    else
        unsetenv("TRADEDESK_API_TRANSPORT");
    return itest_api_restart();
}

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TRADEDESK_API_TRANSPORT");
    if (t) {
        snprintf(g_saved, sizeof g_saved, "%s", t);
        g_had_saved = 1;
    }
    return restart_with("own");
}

static int teardown(void **state)
{
    (void)state;
    return restart_with(g_had_saved ? g_saved : NULL);
}

enum { NCONN = 40 };

/* Forty persistent connections on two workers: every request answered,
 * with all of them outstanding at once, and the connections stay open. */
static void many_persistent_connections(void **state)
{
    (void)state;
    assert_true(atoi(getenv("TRADEDESK_WORKERS")) < NCONN);
    int fd[NCONN];
    for (int i = 0; i < NCONN; i++)
        fd[i] = fcgi_connect();
    /* One request each, in turn: the idle ones pin no worker. */
    for (int i = 0; i < NCONN; i++)
        assert_int_equal(get(fd[i], 1, "/health"), 200);
    /* Then all outstanding at once, several rounds on the same connections. */
    unsigned char req[1024];
    static char out[1 << 20];
    for (unsigned round = 2; round < 6; round++) {
        for (int i = 0; i < NCONN; i++)
            send_all(fd[i], req, build_get(req, round, "/health"));
        for (int i = 0; i < NCONN; i++)
            assert_int_equal(read_response(fd[i], round, out, sizeof out), 200);
    }
    /* An unknown route is the API's 404 on the same connection, which stays. */
    assert_int_equal(get(fd[0], 7, "/api/v1/no-such-thing"), 404);
    assert_int_equal(get(fd[0], 8, "/health"), 200);
    /* A new connection while forty idle ones are open is served at once. */
    int extra = fcgi_connect();
    assert_int_equal(get(extra, 1, "/health"), 200);
    close(extra);
    for (int i = 0; i < NCONN; i++)
        close(fd[i]);
}

/* A malformed record closes that connection only. */
static void bad_record_closes_only_its_connection(void **state)
{
    (void)state;
    int good = fcgi_connect(), bad = fcgi_connect();
    assert_int_equal(get(good, 1, "/health"), 200);
    unsigned char junk[16];
    td_fcgi_header(junk, TD_FCGI_STDIN, 1, 0, 0); /* STDIN with no BEGIN_REQUEST */
    junk[0] = 2;                                  /* and version 2 */
    send_all(bad, junk, 8);
    assert_closed(bad);
    assert_int_equal(get(good, 2, "/health"), 200);
    close(bad);
    close(good);
}

/* SIGHUP replaces the workers; the master keeps nginx's connections, so
 * the same connections are answered across the change of generation. */
static void sighup_keeps_connections(void **state)
{
    (void)state;
    int fd[8];
    for (int i = 0; i < 8; i++) {
        fd[i] = fcgi_connect();
        assert_int_equal(get(fd[i], 1, "/health"), 200);
    }
    pid_t m = itest_api_pid();
    assert_int_equal(kill(m, SIGHUP), 0);
    for (unsigned round = 2; round < 22; round++)
        for (int i = 0; i < 8; i++)
            assert_int_equal(get(fd[i], round, "/health"), 200);
    assert_int_equal(itest_api_pid(), m);
    for (int i = 0; i < 8; i++)
        close(fd[i]);
}

/* SIGTERM with a request in flight (a worker holds it, half received) and
 * an idle connection: the idle one is closed, the request in flight is
 * finished and answered, then its connection closed and the master exits. */
static void sigterm_finishes_in_flight_then_closes(void **state)
{
    (void)state;
    int idle = fcgi_connect(), busy = fcgi_connect();
    assert_int_equal(get(idle, 1, "/health"), 200);
    assert_int_equal(get(busy, 1, "/health"), 200);
    unsigned char req[1024];
    size_t n = build_get(req, 2, "/health");
    send_all(busy, req, 20); /* BEGIN_REQUEST and a piece of PARAMS: a worker has it */
    /* The worker has taken it when the master holds it: poll /health on a
     * third connection until answered, which shows dispatch went on. */
    int probe = fcgi_connect();
    assert_int_equal(get(probe, 1, "/health"), 200);
    close(probe);
    pid_t m = itest_api_pid();
    assert_int_equal(kill(m, SIGTERM), 0);
    assert_closed(idle);
    send_all(busy, req + 20, n - 20);
    static char out[1 << 20];
    assert_int_equal(read_response(busy, 2, out, sizeof out), 200);
    assert_closed(busy);
    long long deadline = itest_now_ms() + 10000;
    while (kill(m, 0) == 0 && itest_now_ms() < deadline)
        usleep(20 * 1000);
    assert_int_not_equal(kill(m, 0), 0);
    close(idle);
    close(busy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_persistent_connections),
        cmocka_unit_test(bad_record_closes_only_its_connection),
        cmocka_unit_test(sighup_keeps_connections),
        cmocka_unit_test(sigterm_finishes_in_flight_then_closes),
    };
    return cmocka_run_group_tests_name("own FastCGI transport", tests, setup, teardown);
}
