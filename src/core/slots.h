/*
 * slots.h - a bounded set-associative store: the one way a tradedesk process
 * keeps a fixed number of keyed records in its own memory (an API worker's
 * responses, sessions and verified tokens; the rate limiter's fallback).
 *
 * A key's hash (td_hash_str, core/hash.h) picks one set of `ways` slots; a
 * new key takes an empty slot of its set, or else the set's least recently
 * used one.  Finding and claiming are O(1), nothing ever rehashes, and memory
 * is bounded by the slot count: sets * ways records of a fixed size, the
 * keys (at most key_max bytes each) and what the payloads own.
 *
 * A record is a small header (hash, last use, key) and a payload of
 * payload_size bytes shaped by the caller (a struct).  The store owns the
 * header, the key copy and the payload bytes; a payload's own pointers (a
 * response body) belong to the caller, who is told through `release` when
 * the record goes, whichever way it goes (replaced, dropped, cleared).
 *
 * No I/O, no locks: a store belongs to one thread.  Define one statically
 * with TD_SLOTS_INIT; its memory is allocated on the first claim.
 */
#ifndef TD_CORE_SLOTS_H
#define TD_CORE_SLOTS_H

#include <stddef.h>
#include <stdint.h>

/* Frees what a payload owns (not the payload itself).  Called once for
 * every payload that was claimed, when it leaves the store. */
typedef void (*td_slot_release_fn)(void *payload);
typedef int (*td_slot_pred_fn)(const void *payload, void *arg);

typedef struct td_slots {
    /* Set by TD_SLOTS_INIT, never changed afterwards. */
    size_t sets; /* a power of two */
    size_t ways;
    size_t payload_size;
    size_t key_max;             /* longer keys are refused (find/claim: NULL) */
    td_slot_release_fn release; /* NULL when payloads own nothing */
    /* Private. */
    unsigned char *mem; /* sets * ways records of rec_size; NULL until used */
    size_t rec_size;
    uint64_t clock; /* last use stamps; 0 marks an empty slot */
} td_slots;

#define TD_SLOTS_INIT(nsets, nways, payload_type, max_key, release_fn)                             \
    {                                                                                              \
        .sets = (nsets), .ways = (nways), .payload_size = sizeof(payload_type),                    \
        .key_max = (max_key), .release = (release_fn)                                              \
    }

/*
 * Payload pointers returned below stay valid until the next claim, drop,
 * drop_if, clear or free on the same store.  A claim replaces the least
 * recently used slot of its set, so the ways - 1 payloads of a set found or
 * claimed most recently survive it (the rate limiter holds up to four keys
 * of one request at once this way).
 */

/* The payload stored under key, now marked most recently used; NULL when
 * there is none. */
void *td_slots_find(td_slots *s, const char *key);

/* A zeroed payload for key.  What key held before is released first, or
 * else an empty slot of the set is taken, or else the set's least recently
 * used record is released and replaced.  NULL when key is longer than
 * key_max or memory cannot be had. */
void *td_slots_claim(td_slots *s, const char *key);

/* Release one payload (from find or claim) and empty its slot. */
void td_slots_drop(td_slots *s, void *payload);

/* Release every payload for which pred(payload, arg) is true; returns how
 * many went. */
size_t td_slots_drop_if(td_slots *s, td_slot_pred_fn pred, void *arg);

/* Release every payload; the slot memory is kept. */
void td_slots_clear(td_slots *s);

/* Release every payload and the slot memory; the store may be used again. */
void td_slots_free(td_slots *s);

/* How many records the store holds now, and at the most. */
size_t td_slots_count(const td_slots *s);
size_t td_slots_capacity(const td_slots *s);

#endif
