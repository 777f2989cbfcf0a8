/*
 * fillpush.c - fills pushed to their users' Streams and the live channel
 * once; see fillpush.h.
 */
#include "store/fillpush.h"

#include "store/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: each fill's Stream.  ARGV[1] MAXLEN, ARGV[2] the channel, then
 * four a fill: its entry id, the entry the newest must be ("" none), its
 * user, the fill.  An array of each fill's result; an error other than a
 * duplicate ends the script with that error. */
static const char SCRIPT[] =
    "local out = {}\n"
    "for k = 1, #KEYS do\n"
    "  local key, a = KEYS[k], 3 + 4 * (k - 1)\n"
    "  local entry, after = ARGV[a], ARGV[a + 1]\n"
    "  local newest = nil\n"
    "  if after ~= '' then\n"
    "    local top = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)\n"
    "    newest = top[1] and top[1][1] or '0-0'\n"
    "  end\n"
    "  if newest == entry then out[k] = 0\n"
    "  elseif newest and newest ~= after then out[k] = -1\n"
    "  else\n"
    "    local r = redis.pcall('XADD', key, 'MAXLEN', '~', ARGV[1], entry, 'fill', ARGV[a + 3])\n"
    "    if type(r) == 'table' and r.err then\n"
    "      if not string.find(r.err, 'equal or smaller', 1, true) then return r end\n"
    "      out[k] = 0\n"
    "    else\n"
    "      redis.call('PUBLISH', ARGV[2], ARGV[a + 2] .. ' ' .. ARGV[a + 3])\n"
    "      out[k] = 1\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

td_status td_fill_push_append(td_redis *rd, const td_fill_push *p)
{
    return td_redis_append(rd, "EVAL %s 1 " TD_KEY_FILLS " %d " TD_CHANNEL_FILLS " %s-0 %s %s %b",
                           SCRIPT, p->user, TD_FILL_STREAM_MAX, p->fill_id,
                           p->after ? p->after : "", p->user, p->fill, p->fill_len);
}

td_status td_fill_push_async(td_redis_async *r, const td_fill_push *p, size_t n,
                             td_redis_reply_fn fn, void *arg)
{
    if (n == 0 || n > TD_FILL_PUSH_MAX)
        return TD_EINVAL;
    /* EVAL script n keys... maxlen channel (entry after user fill)... */
    size_t argc = 3 + n + 2 + 4 * n;
    const char **argv = malloc(argc * sizeof *argv);
    size_t *lens = malloc(argc * sizeof *lens);
    char *ids = malloc(n * 64), num[2][24];
    td_status st = TD_ENOMEM;
    if (!argv || !lens || !ids)
        goto done;
    size_t a = 0;
    snprintf(num[0], sizeof num[0], "%zu", n);
    snprintf(num[1], sizeof num[1], "%d", TD_FILL_STREAM_MAX);
    argv[a++] = "EVAL";
    argv[a++] = SCRIPT;
    argv[a++] = num[0];
    for (size_t k = 0; k < n; k++) { /* the keys, then each fill's entry id */
        char *key = ids + k * 64;
        snprintf(key, 32, TD_KEY_FILLS, p[k].user);
        snprintf(key + 32, 32, "%s-0", p[k].fill_id);
        argv[a++] = key;
    }
    argv[a++] = num[1];
    argv[a++] = TD_CHANNEL_FILLS;
    for (size_t k = 0; k < n; k++) {
        argv[a++] = ids + k * 64 + 32;
        argv[a++] = p[k].after ? p[k].after : "";
        argv[a++] = p[k].user;
        argv[a++] = p[k].fill;
    }
    for (size_t i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    for (size_t k = 0; k < n; k++)
        lens[3 + n + 2 + 4 * k + 3] = p[k].fill_len;
    st = td_redis_async_command_argv(r, fn, arg, (int)argc, argv, lens);
done:
    free(argv);
    free(lens);
    free(ids);
    return st;
}

int td_fill_push_result(const struct redisReply *rep, size_t k)
{
    if (!rep || rep->type != REDIS_REPLY_ARRAY || k >= rep->elements)
        return -2;
    const redisReply *x = rep->element[k];
    if (x->type != REDIS_REPLY_INTEGER || x->integer < -1 || x->integer > 1)
        return -2;
    return (int)x->integer;
}
