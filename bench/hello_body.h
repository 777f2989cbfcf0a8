/*
 * hello_body.h - the one response of bench/hello_fcgi.c and bench/hello_own.c:
 * a Status/Content-Type/Content-Length header and a JSON body of exactly n
 * bytes ({"ok":true}\n for 12, else {"pad":"xx...x"}\n), n >= 12.
 * Returns it malloc'd (kept for the program's life), *len its size; NULL on OOM.
 */
#ifndef TD_BENCH_HELLO_BODY_H
#define TD_BENCH_HELLO_BODY_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *hello_response(long n, size_t *len)
{
    char head[128];
    int hl = snprintf(head, sizeof head,
                      "Status: 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: %ld\r\n\r\n",
                      n);
    char *r = malloc((size_t)hl + (size_t)n);
    if (!r)
        return NULL;
    memcpy(r, head, (size_t)hl);
    char *b = r + hl;
    if (n == 12) {
        memcpy(b, "{\"ok\":true}\n", 12);
    } else {
        memcpy(b, "{\"pad\":\"", 8);
        memset(b + 8, 'x', (size_t)n - 11);
        memcpy(b + n - 3, "\"}\n", 3);
    }
    *len = (size_t)hl + (size_t)n;
    return r;
}

#endif
