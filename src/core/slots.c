/*
 * slots.c - the bounded set-associative store; see slots.h.
 *
 * Records lie in one array, set after set.  A header of hash, last-use stamp
 * and key pointer comes first in each, then the payload at an offset aligned
 * for any type.
 */
#include "core/slots.h"
#include "core/hash.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint64_t hash;
    uint64_t stamp; /* 0: empty */
    char *key;      /* owned by the store */
} slot;

#define ALIGN_UP(n, a) (((n) + (a)-1) / (a) * (a))
#define PAYLOAD_OFF ALIGN_UP(sizeof(slot), alignof(max_align_t))

static slot *slot_at(const td_slots *s, size_t i)
{
    return (slot *)(s->mem + i * s->rec_size);
}

static void *payload_of(slot *e)
{
    return (unsigned char *)e + PAYLOAD_OFF;
}

static slot *slot_of(void *payload)
{
    return (slot *)((unsigned char *)payload - PAYLOAD_OFF);
}

static int ready(td_slots *s)
{
    if (s->mem)
        return 1;
    /* A zero sets or a count that is not a power of two would make
     * `hash & (sets - 1)` skip sets: refuse to run at all. */
    if (s->sets == 0 || (s->sets & (s->sets - 1)) != 0 || s->ways == 0)
        return 0;
    s->rec_size = PAYLOAD_OFF + ALIGN_UP(s->payload_size, alignof(max_align_t));
    s->mem = calloc(s->sets * s->ways, s->rec_size);
    return s->mem != NULL;
}

static slot *set_of(const td_slots *s, uint64_t h)
{
    return slot_at(s, (size_t)(h & (s->sets - 1)) * s->ways);
}

static slot *next(const td_slots *s, slot *e)
{
    return (slot *)((unsigned char *)e + s->rec_size);
}

static slot *lookup(td_slots *s, const char *key, uint64_t h)
{
    slot *e = set_of(s, h);
    for (size_t w = 0; w < s->ways; w++, e = next(s, e))
        if (e->stamp && e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* Release the payload and zero it; the header is left to the caller. */
static void release(td_slots *s, slot *e)
{
    if (s->release)
        s->release(payload_of(e));
    memset(payload_of(e), 0, s->rec_size - PAYLOAD_OFF);
}

static void empty(td_slots *s, slot *e)
{
    release(s, e);
    free(e->key);
    e->key = NULL;
    e->hash = 0;
    e->stamp = 0;
}

void *td_slots_find(td_slots *s, const char *key)
{
    if (!s->mem || strlen(key) > s->key_max)
        return NULL;
    slot *e = lookup(s, key, td_hash_str(key));
    if (!e)
        return NULL;
    e->stamp = ++s->clock;
    return payload_of(e);
}

void *td_slots_claim(td_slots *s, const char *key)
{
    size_t n = strlen(key);
    if (n > s->key_max || !ready(s))
        return NULL;
    uint64_t h = td_hash_str(key);
    slot *e = lookup(s, key, h);
    if (e) {
        release(s, e);
        e->stamp = ++s->clock;
        return payload_of(e);
    }
    slot *victim = set_of(s, h);
    e = victim;
    for (size_t w = 0; w < s->ways; w++, e = next(s, e)) {
        if (!e->stamp) {
            victim = e;
            break;
        }
        if (e->stamp < victim->stamp)
            victim = e;
    }
    if (victim->stamp)
        empty(s, victim);
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, key, n + 1);
    victim->key = copy;
    victim->hash = h;
    victim->stamp = ++s->clock;
    return payload_of(victim);
}

void td_slots_drop(td_slots *s, void *payload)
{
    empty(s, slot_of(payload));
}

size_t td_slots_drop_if(td_slots *s, td_slot_pred_fn pred, void *arg)
{
    size_t dropped = 0;
    if (!s->mem)
        return 0;
    for (size_t i = 0; i < s->sets * s->ways; i++) {
        slot *e = slot_at(s, i);
        if (e->stamp && pred(payload_of(e), arg)) {
            empty(s, e);
            dropped++;
        }
    }
    return dropped;
}

static int any(const void *payload, void *arg)
{
    (void)payload;
    (void)arg;
    return 1;
}

void td_slots_clear(td_slots *s)
{
    td_slots_drop_if(s, any, NULL);
}

void td_slots_free(td_slots *s)
{
    td_slots_clear(s);
    free(s->mem);
    s->mem = NULL;
    s->clock = 0;
}

size_t td_slots_count(const td_slots *s)
{
    size_t n = 0;
    if (s->mem)
        for (size_t i = 0; i < s->sets * s->ways; i++)
            n += slot_at(s, i)->stamp != 0;
    return n;
}

size_t td_slots_capacity(const td_slots *s)
{
    return s->sets * s->ways;
}
