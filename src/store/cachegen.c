/*
 * cachegen.c - bump a user's cache generation and tell every worker; see
 * cachegen.h.
 */
#include "store/cachegen.h"

#include <stdio.h>

int td_cache_invalidate_user_append(td_redis *rd, int64_t user_id)
{
    char msg[32];
    snprintf(msg, sizeof msg, "%c%lld", TD_INVAL_USER, (long long)user_id);
    int n = td_redis_append(rd, "INCR " TD_KEY_GEN_USER, (long long)user_id) == TD_OK;
    return n + (td_redis_append(rd, "PUBLISH " TD_INVAL_CHANNEL " %s", msg) == TD_OK);
}

int td_cache_invalidate_user_async(td_redis_async *r, int64_t user_id)
{
    char msg[32];
    snprintf(msg, sizeof msg, "%c%lld", TD_INVAL_USER, (long long)user_id);
    int n = td_redis_async_command(r, NULL, NULL, "INCR " TD_KEY_GEN_USER, (long long)user_id) ==
            TD_OK;
    return n + (td_redis_async_command(r, NULL, NULL, "PUBLISH " TD_INVAL_CHANNEL " %s", msg) ==
                TD_OK);
}

td_status td_cache_invalidate_user(td_redis *rd, int64_t user_id)
{
    if (td_cache_invalidate_user_append(rd, user_id) != 2) {
        redisReply *none[2];
        td_redis_flush(rd, none, 2); /* resets the connection state */
        return TD_EUNAVAIL;
    }
    redisReply *rep[2];
    if (td_redis_flush(rd, rep, 2) != TD_OK)
        return TD_EUNAVAIL;
    int ok = rep[0]->type == REDIS_REPLY_INTEGER;
    freeReplyObject(rep[0]);
    freeReplyObject(rep[1]);
    return ok ? TD_OK : TD_EUNAVAIL;
}

td_status td_inval_publish(td_redis *rd, char kind, const char *id)
{
    char msg[128];
    snprintf(msg, sizeof msg, "%c%s", kind, id); /* hiredis formats only %s, %b and numbers */
    redisReply *rep = td_redis_cmd(rd, "PUBLISH " TD_INVAL_CHANNEL " %s", msg);
    int ok = rep && rep->type == REDIS_REPLY_INTEGER;
    if (rep)
        freeReplyObject(rep);
    return ok ? TD_OK : TD_EUNAVAIL;
}
