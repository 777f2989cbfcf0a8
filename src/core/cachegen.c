/*
 * cachegen.c - bump a user's cache generation; see cachegen.h.
 */
#include "core/cachegen.h"

td_status td_cache_invalidate_user(td_redis *rd, int64_t user_id)
{
    redisReply *rep = td_redis_cmd(rd, "INCR " TD_CACHEGEN_USER_FMT, (long long)user_id);
    int ok = rep && rep->type == REDIS_REPLY_INTEGER;
    if (rep)
        freeReplyObject(rep);
    return ok ? TD_OK : TD_EUNAVAIL;
}
