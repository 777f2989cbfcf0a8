/*
 * wsclient.c - the tests' WebSocket client; see wsclient.h.  Client
 * frames are masked (RFC 6455 5.3); server pings are answered; the
 * upgrade's Sec-WebSocket-Accept is checked.
 */
#include "wsclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct itest_ws {
    int fd;
    unsigned char *buf; /* bytes read, not yet parsed */
    size_t len, cap;
    char *msg; /* a message being joined from fragments */
    size_t msglen;
    int close_code; /* -1 while open */
};

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void record_as(const char *from, const char *text, int invalid)
{
    const char *path = getenv("TD_WS_RECORD");
    if (!path || !*path)
        return;
    json_object *o = json_tokener_parse(text);
    if (!o)
        return;
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "{\"from\":\"%s\",%s\"message\":%s}\n", from,
                invalid ? "\"invalid\":true," : "",
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
        fclose(f);
    }
    json_object_put(o);
}

static void record(const char *from, const char *text)
{
    record_as(from, text, 0);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* More bytes into the buffer within timeout_ms: 1 read, 0 timeout, -1 end. */
static int fill(itest_ws *w, int timeout_ms)
{
    struct pollfd p = {.fd = w->fd, .events = POLLIN};
    int r = poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms);
    if (r <= 0)
        return r;
    if (w->cap - w->len < 65536) {
        size_t cap = w->cap * 2 + 65536;
        unsigned char *b = realloc(w->buf, cap);
        if (!b)
            return -1;
        w->buf = b;
        w->cap = cap;
    }
    ssize_t k = recv(w->fd, w->buf + w->len, w->cap - w->len, 0);
    if (k <= 0)
        return -1;
    w->len += (size_t)k;
    return 1;
}

static int connect_to(int port, const char *ip)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (ip) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        inet_pton(AF_INET, ip, &src.sin_addr);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

itest_ws *itest_ws_open(const char *path, const char *ip)
{
    const char *url = getenv("TD_TEST_URL");
    const char *colon = url ? strrchr(url, ':') : NULL;
    return colon ? itest_ws_open_port(atoi(colon + 1), path, ip) : NULL;
}

itest_ws *itest_ws_subscribed(const char *token, const char *channels)
{
    itest_ws *w = itest_ws_open("/ws", NULL);
    if (!w)
        return NULL;
    static const char *const answers[] = {"authed", "subscribed"};
    for (int step = 0; step < 2; step++) {
        if (step == 0)
            itest_ws_sendf(w, "{\"op\":\"auth\",\"token\":\"%s\"}", token);
        else
            itest_ws_sendf(w, "{\"op\":\"subscribe\",\"channels\":%s}", channels);
        json_object *m = itest_ws_expect(w, answers[step], NULL, 5000);
        if (!m) {
            fprintf(stderr, "    ws: no %s answer\n", answers[step]);
            itest_ws_close(w);
            return NULL;
        }
        json_object_put(m);
    }
    return w;
}

itest_ws *itest_ws_open_port(int port, const char *path, const char *ip)
{
    itest_ws *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->close_code = -1;
    if ((w->fd = connect_to(port, ip)) < 0) {
        fprintf(stderr, "wsclient: cannot connect to nginx\n");
        free(w);
        return NULL;
    }
    unsigned char raw[16];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)(rand() & 0xff);
    char key[32], req[512];
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path, key);
    char *end = NULL;
    long long deadline = now_ms() + 5000;
    if (write_all(w->fd, req, (size_t)n) == 0)
        while (!(end = w->len ? memmem(w->buf, w->len, "\r\n\r\n", 4) : NULL) &&
               now_ms() < deadline && fill(w, 100) >= 0)
            ;
    if (!end) {
        fprintf(stderr, "wsclient: no upgrade answer\n");
        itest_ws_close(w);
        return NULL;
    }
    size_t hlen = (size_t)(end - (char *)w->buf) + 4;
    char *head = strndup((char *)w->buf, hlen);
    /* The accept value: base64(SHA-1(key + the RFC's GUID)). */
    char cat[96];
    unsigned char sha[EVP_MAX_MD_SIZE];
    unsigned slen = 0;
    char want[64];
    snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    EVP_Digest(cat, strlen(cat), sha, &slen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)want, sha, (int)slen);
    int ok = head && strncmp(head, "HTTP/1.1 101", 12) == 0 && strcasestr(head, want);
    if (!ok) {
        fprintf(stderr, "wsclient: upgrade refused:\n%s\n", head ? head : "");
        free(head);
        itest_ws_close(w);
        return NULL;
    }
    free(head);
    memmove(w->buf, w->buf + hlen, w->len - hlen);
    w->len -= hlen;
    return w;
}

void itest_ws_close(itest_ws *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        if (w->close_code < 0) {
            unsigned char code[2] = {0x03, 0xe8}; /* 1000 */
            itest_ws_send_frame(w, 8, code, 2);
        }
        close(w->fd);
    }
    free(w->buf);
    free(w->msg);
    free(w);
}

int itest_ws_send_frame(itest_ws *w, int opcode, const void *data, size_t len)
{
    unsigned char h[14];
    size_t hn = 0;
    h[hn++] = (unsigned char)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        h[hn++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        h[hn++] = 0x80 | 126;
        h[hn++] = (unsigned char)(len >> 8);
        h[hn++] = (unsigned char)len;
    } else {
        h[hn++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            h[hn++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    unsigned char mask[4];
    for (int i = 0; i < 4; i++)
        mask[i] = h[hn++] = (unsigned char)(rand() & 0xff);
    unsigned char *p = malloc(len + 1);
    if (!p)
        return -1;
    for (size_t i = 0; i < len; i++)
        p[i] = ((const unsigned char *)data)[i] ^ mask[i % 4];
    int rc = write_all(w->fd, h, hn) == 0 && write_all(w->fd, p, len) == 0 ? 0 : -1;
    free(p);
    return rc;
}

int itest_ws_send(itest_ws *w, const char *text)
{
    record("client", text);
    return itest_ws_send_frame(w, 1, text, strlen(text));
}

int itest_ws_send_invalid(itest_ws *w, const char *text)
{
    record_as("client", text, 1);
    return itest_ws_send_frame(w, 1, text, strlen(text));
}

int itest_ws_sendf(itest_ws *w, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return itest_ws_send(w, buf);
}

/* One whole frame from the buffer: 1 (opcode, payload copied), 0 need more. */
static int frame(itest_ws *w, int *fin, int *op, unsigned char **payload, size_t *plen)
{
    if (w->len < 2)
        return 0;
    unsigned char *b = w->buf;
    size_t hn = 2;
    uint64_t n = b[1] & 0x7f;
    if (n == 126) {
        if (w->len < 4)
            return 0;
        n = ((uint64_t)b[2] << 8) | b[3];
        hn = 4;
    } else if (n == 127) {
        if (w->len < 10)
            return 0;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | b[2 + i];
        hn = 10;
    }
    if (w->len < hn + n)
        return 0;
    *fin = b[0] >> 7;
    *op = b[0] & 0x0f;
    *payload = malloc(n + 1);
    memcpy(*payload, b + hn, n);
    (*payload)[n] = '\0';
    *plen = n;
    memmove(w->buf, w->buf + hn + n, w->len - hn - n);
    w->len -= hn + n;
    return 1;
}

/* The next complete text message (malloc'd), NULL on timeout or close. */
static char *next_text(itest_ws *w, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    while (w->close_code < 0) {
        int fin, op;
        unsigned char *p;
        size_t n;
        if (frame(w, &fin, &op, &p, &n)) {
            if (op == 9) { /* ping: pong */
                itest_ws_send_frame(w, 10, p, n);
            } else if (op == 8) {
                w->close_code = n >= 2 ? (p[0] << 8 | p[1]) : 1005;
            } else if (op == 1 || op == 0) {
                char *m = realloc(w->msg, w->msglen + n + 1);
                if (m) {
                    memcpy(m + w->msglen, p, n);
                    w->msg = m;
                    w->msglen += n;
                    w->msg[w->msglen] = '\0';
                }
                if (fin) {
                    char *done = w->msg;
                    w->msg = NULL;
                    w->msglen = 0;
                    free(p);
                    return done;
                }
            }
            free(p);
            continue;
        }
        long long left = deadline - now_ms();
        if (left <= 0)
            return NULL;
        int r = fill(w, (int)left);
        if (r < 0)
            w->close_code = 0;
        else if (r == 0)
            return NULL;
    }
    return NULL;
}

json_object *itest_ws_recv(itest_ws *w, int timeout_ms)
{
    char *t = next_text(w, timeout_ms);
    if (!t)
        return NULL;
    record("server", t);
    json_object *o = json_tokener_parse(t);
    if (!o)
        fprintf(stderr, "wsclient: not JSON: %s\n", t);
    free(t);
    return o;
}

const char *itest_ws_str(json_object *o, const char *dotted)
{
    char path[256];
    snprintf(path, sizeof path, "%s", dotted);
    json_object *cur = o;
    for (char *save = NULL, *k = strtok_r(path, ".", &save); k && cur;
         k = strtok_r(NULL, ".", &save))
        if (!json_object_object_get_ex(cur, k, &cur))
            return NULL;
    return cur && json_object_is_type(cur, json_type_string) ? json_object_get_string(cur) : NULL;
}

json_object *itest_ws_expect(itest_ws *w, const char *type, const char *channel, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return NULL;
        json_object *o = itest_ws_recv(w, (int)left);
        if (!o)
            return NULL;
        const char *t = itest_ws_str(o, "type"), *c = itest_ws_str(o, "channel");
        if (t && strcmp(t, type) == 0 && (!channel || (c && strcmp(c, channel) == 0)))
            return o;
        json_object_put(o);
    }
}

int itest_ws_wait_closed(itest_ws *w, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    while (w->close_code < 0 && now_ms() < deadline) {
        char *t = next_text(w, (int)(deadline - now_ms()));
        if (t)
            record("server", t);
        free(t);
    }
    return w->close_code;
}
