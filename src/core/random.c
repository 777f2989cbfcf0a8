/*
 * random.c - the one place tradedesk asks the kernel for random bytes.
 *
 * Uses getrandom(2) only: no userspace PRNG, no seeding, no /dev/urandom
 * file descriptor to run out of.  Must never fall back to a weaker source.
 */
#include "core/random.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

td_status td_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    if (!buf && n)
        return TD_EINVAL;
    while (n) {
        /* Requests above 256 bytes may come back short; signals may
         * interrupt a request before the pool is ready. */
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return TD_ERROR;
        }
        p += got;
        n -= (size_t)got;
    }
    return TD_OK;
}

void td_random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char chunk[64];

    /* Chunked so any nbytes works without a VLA or an allocation. */
    while (nbytes) {
        size_t n = nbytes < sizeof(chunk) ? nbytes : sizeof(chunk);
        if (td_random_bytes(chunk, n) != TD_OK)
            abort();
        for (size_t i = 0; i < n; i++) {
            *out++ = hex[chunk[i] >> 4];
            *out++ = hex[chunk[i] & 0x0f];
        }
        nbytes -= n;
    }
    *out = '\0';
}
