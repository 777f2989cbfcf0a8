/*
 * test_slots.c - the bounded set-associative store (core/slots.h): find and
 * claim, least-recently-used replacement inside a set, keys that share a
 * set, dropping by predicate, clearing, and memory that stays bounded while
 * many more keys pass through than fit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/slots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rec {
    int64_t owner;
    char *body; /* owned: released through release() */
} rec;

static size_t g_released;

static void release(void *payload)
{
    rec *r = payload;
    free(r->body);
    g_released++;
}

static rec *put(td_slots *s, const char *key, int64_t owner)
{
    rec *r = td_slots_claim(s, key);
    assert_non_null(r);
    assert_int_equal(r->owner, 0); /* a claim hands out a zeroed payload */
    assert_null(r->body);
    r->owner = owner;
    r->body = strdup(key);
    return r;
}

/* "<prefix><i>", in a buffer the next call reuses. */
static const char *numbered(const char *prefix, int i)
{
    static char k[32];
    snprintf(k, sizeof k, "%s%d", prefix, i);
    return k;
}

static int setup(void **state)
{
    (void)state;
    g_released = 0;
    return 0;
}

static void find_and_claim(void **state)
{
    (void)state;
    td_slots s = TD_SLOTS_INIT(8, 4, rec, 63, release);
    assert_null(td_slots_find(&s, "a")); /* no memory yet: nothing to find */
    assert_int_equal(td_slots_count(&s), 0);
    put(&s, "a", 1);
    put(&s, "b", 2);
    rec *a = td_slots_find(&s, "a");
    assert_non_null(a);
    assert_int_equal(a->owner, 1);
    assert_string_equal(a->body, "a");
    assert_null(td_slots_find(&s, "c"));
    assert_int_equal(td_slots_count(&s), 2);
    assert_int_equal(td_slots_capacity(&s), 32);

    /* Claiming a key again releases what it held and starts from zero. */
    put(&s, "a", 3);
    assert_int_equal(g_released, 1);
    assert_int_equal(((rec *)td_slots_find(&s, "a"))->owner, 3);
    assert_int_equal(td_slots_count(&s), 2);

    td_slots_drop(&s, td_slots_find(&s, "b"));
    assert_null(td_slots_find(&s, "b"));
    assert_int_equal(g_released, 2);
    td_slots_free(&s);
    assert_int_equal(g_released, 3);
}

static void lru_within_a_set(void **state)
{
    (void)state;
    /* One set: every key collides with every other. */
    td_slots s = TD_SLOTS_INIT(1, 3, rec, 63, release);
    put(&s, "k1", 1);
    put(&s, "k2", 2);
    put(&s, "k3", 3);
    assert_non_null(td_slots_find(&s, "k1")); /* k1 is now the most recent */
    put(&s, "k4", 4);                         /* replaces k2, the least recent */
    assert_null(td_slots_find(&s, "k2"));
    assert_non_null(td_slots_find(&s, "k1"));
    assert_non_null(td_slots_find(&s, "k3"));
    assert_non_null(td_slots_find(&s, "k4"));
    assert_int_equal(g_released, 1);
    put(&s, "k5", 5); /* k1 was found before k3 and k4: it goes */
    assert_null(td_slots_find(&s, "k1"));
    assert_int_equal(td_slots_count(&s), 3);
    td_slots_free(&s);
}

static void recent_payloads_survive_a_claim(void **state)
{
    (void)state;
    /* What the rate limiter relies on: ways - 1 payloads held at once stay
     * valid across the next claim in the same set. */
    td_slots s = TD_SLOTS_INIT(1, 4, rec, 63, release);
    for (int i = 0; i < 10; i++) {
        const char *k = numbered("old", i);
        put(&s, k, i);
    }
    rec *held[3] = {put(&s, "x", 100), put(&s, "y", 101), put(&s, "z", 102)};
    put(&s, "w", 103);
    assert_int_equal(held[0]->owner, 100);
    assert_int_equal(held[1]->owner, 101);
    assert_int_equal(held[2]->owner, 102);
    assert_ptr_equal(td_slots_find(&s, "x"), held[0]);
    td_slots_free(&s);
}

static void keys_sharing_a_set_stay_apart(void **state)
{
    (void)state;
    /* Two sets, four ways: of eight keys some share a set; each keeps its
     * own payload, told apart by the whole key and not the hash alone. */
    td_slots s = TD_SLOTS_INIT(2, 4, rec, 63, release);
    const char *keys[] = {"u1:pos?", "u1:pos?limit=2",  "u10:pos?", "u1:pf?",
                          "pub:px?", "pub:px:BTCUSDT?", "u2:pos?",  "u1:pos"};
    for (int i = 0; i < 8; i++)
        put(&s, keys[i], i + 1);
    for (int i = 0; i < 8; i++) {
        rec *r = td_slots_find(&s, keys[i]);
        if (r) {
            assert_int_equal(r->owner, i + 1);
            assert_string_equal(r->body, keys[i]);
        }
    }
    assert_int_equal(td_slots_count(&s) + g_released, 8);
    assert_true(td_slots_count(&s) <= 8);
    td_slots_free(&s);
    assert_int_equal(g_released, 8);
}

static int owned_by(const void *payload, void *arg)
{
    return ((const rec *)payload)->owner == *(const int64_t *)arg;
}

static void drop_by_predicate_and_clear(void **state)
{
    (void)state;
    td_slots s = TD_SLOTS_INIT(16, 4, rec, 63, release);
    for (int i = 0; i < 30; i++) {
        const char *k = numbered("key", i);
        put(&s, k, i % 3);
    }
    size_t before = td_slots_count(&s);
    int64_t owner = 1;
    size_t dropped = td_slots_drop_if(&s, owned_by, &owner);
    assert_true(dropped > 0);
    assert_int_equal(td_slots_count(&s), before - dropped);
    assert_int_equal(td_slots_drop_if(&s, owned_by, &owner), 0);
    for (int i = 0; i < 30; i++) {
        const char *k = numbered("key", i);
        rec *r = td_slots_find(&s, k);
        if (i % 3 == 1)
            assert_null(r);
    }
    td_slots_clear(&s);
    assert_int_equal(td_slots_count(&s), 0);
    assert_int_equal(g_released, 30); /* every claimed payload, once */
    put(&s, "again", 7);              /* a cleared store keeps working */
    assert_non_null(td_slots_find(&s, "again"));
    td_slots_free(&s);
    assert_int_equal(td_slots_count(&s), 0);
}

static void memory_stays_bounded(void **state)
{
    (void)state;
    td_slots s = TD_SLOTS_INIT(8, 4, rec, 63, release);
    for (int i = 0; i < 100000; i++) {
        const char *k = numbered("user:", i);
        put(&s, k, i);
        assert_true(td_slots_count(&s) <= td_slots_capacity(&s));
    }
    assert_int_equal(td_slots_count(&s), 32);  /* every slot in use */
    assert_int_equal(g_released, 100000 - 32); /* the rest were released */
    td_slots_free(&s);
    assert_int_equal(g_released, 100000);
}

static void refused_keys_and_shapes(void **state)
{
    (void)state;
    td_slots s = TD_SLOTS_INIT(4, 2, rec, 8, release);
    assert_non_null(td_slots_claim(&s, "12345678")); /* key_max bytes fit */
    assert_null(td_slots_claim(&s, "123456789"));
    assert_null(td_slots_find(&s, "123456789"));
    td_slots_free(&s);

    td_slots odd = TD_SLOTS_INIT(3, 2, rec, 8, release); /* not a power of two */
    assert_null(td_slots_claim(&odd, "a"));
    td_slots none = TD_SLOTS_INIT(0, 2, rec, 8, release);
    assert_null(td_slots_claim(&none, "a"));
    assert_int_equal(g_released, 1); /* only "12345678" was ever stored */
}

static void payloads_are_aligned(void **state)
{
    (void)state;
    typedef struct odd {
        char c;
        long double d;
    } odd;
    td_slots s = TD_SLOTS_INIT(4, 2, odd, 16, NULL);
    for (int i = 0; i < 8; i++) {
        const char *k = numbered("", i);
        odd *o = td_slots_claim(&s, k);
        assert_non_null(o);
        assert_int_equal((uintptr_t)o % _Alignof(odd), 0);
        o->d = i;
    }
    td_slots_free(&s);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
    const struct CMUnitTest tests[] = {
        T(find_and_claim),
        T(lru_within_a_set),
        T(recent_payloads_survive_a_claim),
        T(keys_sharing_a_set_stay_apart),
        T(drop_by_predicate_and_clear),
        T(memory_stays_bounded),
        T(refused_keys_and_shapes),
        T(payloads_are_aligned),
    };
    return cmocka_run_group_tests_name("slots", tests, NULL, NULL);
}
