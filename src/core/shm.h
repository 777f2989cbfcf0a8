/*
 * shm.h - memory shared by a master and the workers it forks.
 *
 * An anonymous shared mapping made before fork() is the same pages in
 * every child, so plain atomics in it are seen by all of them; nothing
 * else (no name, no file) can reach it.  For counters and small tables
 * only: it is never freed while the program runs.
 */
#ifndef TD_CORE_SHM_H
#define TD_CORE_SHM_H

#include <stddef.h>

/* bytes of zeroed shared memory, or NULL (logged) when the mapping fails.
 * what names the user in that log line. */
void *td_shm_map(size_t bytes, const char *what);
/* Undo td_shm_map (tests); p may be NULL. */
void td_shm_unmap(void *p, size_t bytes);

#endif
