/*
 * shm.c - anonymous shared mappings for a master and its forked workers;
 * see shm.h.  No I/O beyond the mapping itself.
 */
#include "core/shm.h"
#include "core/log.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

void *td_shm_map(size_t bytes, const char *what)
{
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        td_warn("%s: mmap of %zu shared bytes failed: %s", what, bytes, strerror(errno));
        return NULL;
    }
    return m; /* anonymous mappings start zeroed */
}
