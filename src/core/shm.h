/*
 * shm.h - memory shared by a master and the workers it forks.
 *
 * A program's master maps a region before it forks; every child inherits
 * the same pages (MAP_SHARED|MAP_ANONYMOUS) and works on them with C11
 * atomics.  Nothing is named, so nothing outlives the processes.  The
 * metrics, the worker cache's sibling fence and the database gate each own
 * one region.
 */
#ifndef TD_CORE_SHM_H
#define TD_CORE_SHM_H

#include <stddef.h>

/* bytes of zeroed shared memory, or NULL (and a warning naming `what`)
 * when the mapping fails.  Held until the process exits. */
void *td_shm_map(size_t bytes, const char *what);

#endif
