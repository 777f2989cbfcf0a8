/*
 * message.c - a client's message parsed and checked; see message.h.
 *
 * json-c under the limits NOTES.md gives for untrusted input: a bounded
 * depth, strict mode, valid UTF-8, and nothing after the value.  Channel
 * names: prices:SYM, trades:SYM, book:SYM (SYM canonical, domain/symbol),
 * candles:SYM:INTERVAL (a built interval, domain/candle), market, fills,
 * orders.
 */
#include "stream/message.h"
#include "domain/candle.h"
#include "domain/symbol.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

const char *const td_chan_kind_name[TD_CH_KINDS] = {"prices", "trades", "book", "candles",
                                                    "market", "fills",  "orders"};

static int symbol_ok(const char *s, size_t len)
{
    char sym[TD_SYMBOL_STR_MAX];
    if (len == 0 || len >= sizeof sym)
        return 0;
    memcpy(sym, s, len);
    sym[len] = '\0';
    return td_symbol_valid(sym);
}

int td_channel_parse(const char *name, size_t len)
{
    if (memchr(name, '\0', len) || len >= 64)
        return -1;
    char n[64];
    memcpy(n, name, len);
    n[len] = '\0';
    if (strcmp(n, "market") == 0)
        return TD_CH_MARKET;
    if (strcmp(n, "fills") == 0)
        return TD_CH_FILLS;
    if (strcmp(n, "orders") == 0)
        return TD_CH_ORDERS;
    static const struct {
        const char *prefix;
        int kind;
    } sym[] = {{"prices:", TD_CH_PRICES}, {"trades:", TD_CH_TRADES}, {"book:", TD_CH_BOOK}};
    for (size_t i = 0; i < sizeof sym / sizeof sym[0]; i++) {
        size_t pl = strlen(sym[i].prefix);
        if (strncmp(n, sym[i].prefix, pl) == 0)
            return symbol_ok(n + pl, len - pl) ? sym[i].kind : -1;
    }
    if (strncmp(n, "candles:", 8) == 0) {
        const char *colon = strrchr(n + 8, ':');
        if (!colon || !symbol_ok(n + 8, (size_t)(colon - n - 8)) ||
            td_candle_interval_index(colon + 1) < 0)
            return -1;
        return TD_CH_CANDLES;
    }
    return -1;
}

static td_status refuse(td_client_msg *m, const char *code, const char *why, const char *channel)
{
    m->code = code;
    m->why = why;
    m->channel = channel;
    return TD_EINVAL;
}

static td_status channel_list(json_object *o, int max, td_client_msg *m)
{
    json_object *arr;
    if (!json_object_object_get_ex(o, "channels", &arr) ||
        !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) == 0)
        return refuse(m, "bad_request", "\"channels\" must be a non-empty array of names", NULL);
    size_t len = json_object_array_length(arr);
    if (len > (size_t)max)
        return refuse(m, "too_many_subscriptions", "more channels than a socket may have", NULL);
    m->channels = calloc(len, sizeof *m->channels);
    m->kinds = calloc(len, sizeof *m->kinds);
    if (!m->channels || !m->kinds)
        return TD_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(v, json_type_string))
            return refuse(m, "bad_request", "channel names are strings", NULL);
        const char *name = json_object_get_string(v);
        int kind = td_channel_parse(name, (size_t)json_object_get_string_len(v));
        if (kind < 0)
            return refuse(m, "unknown_channel", "no such channel",
                          memchr(name, '\0', (size_t)json_object_get_string_len(v)) ? NULL
                                                                                     : name);
        int dup = 0;
        for (int k = 0; k < m->n; k++)
            dup |= strcmp(m->channels[k], name) == 0;
        if (!dup) {
            m->kinds[m->n] = kind;
            m->channels[m->n++] = name;
        }
    }
    return TD_OK;
}

td_status td_client_msg_parse(const char *text, size_t len, int max_channels, td_client_msg *m)
{
    memset(m, 0, sizeof *m);
    json_tokener *tok = json_tokener_new_ex(TD_CLIENT_DEPTH);
    if (!tok)
        return TD_ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = len <= (size_t)0x7fffffff ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    int whole = o && json_tokener_get_error(tok) == json_tokener_success &&
                json_tokener_get_parse_end(tok) == len;
    json_tokener_free(tok);
    m->root = o;
    json_object *op;
    if (!whole || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, "op", &op) || !json_object_is_type(op, json_type_string))
        return refuse(m, "bad_request", "a message is a JSON object with \"op\"", NULL);
    const char *name = json_object_get_string(op);
    if (strcmp(name, "ping") == 0) {
        m->op = TD_OP_PING;
        return TD_OK;
    }
    if (strcmp(name, "auth") == 0) {
        m->op = TD_OP_AUTH;
        json_object *t;
        if (!json_object_object_get_ex(o, "token", &t) || !json_object_is_type(t, json_type_string))
            return refuse(m, "bad_request", "auth needs \"token\": a string", NULL);
        m->token = json_object_get_string(t);
        return TD_OK;
    }
    if (strcmp(name, "subscribe") == 0)
        m->op = TD_OP_SUBSCRIBE;
    else if (strcmp(name, "unsubscribe") == 0)
        m->op = TD_OP_UNSUBSCRIBE;
    else
        return refuse(m, "unknown_op", "op is auth, subscribe, unsubscribe or ping", NULL);
    td_status st = channel_list(o, max_channels, m);
    if (st != TD_OK)
        return st;
    json_object *since;
    if (m->op == TD_OP_SUBSCRIBE && json_object_object_get_ex(o, "since", &since)) {
        const char *s = json_object_is_type(since, json_type_string) ? json_object_get_string(since)
                                                                      : "";
        size_t sl = json_object_is_type(since, json_type_string)
                        ? (size_t)json_object_get_string_len(since)
                        : 0;
        if (sl == 0 || sl > 18 || strspn(s, "0123456789") != sl)
            return refuse(m, "bad_request", "\"since\" is an event id: a string of digits", NULL);
        m->since = s;
    }
    return TD_OK;
}

void td_client_msg_free(td_client_msg *m)
{
    json_object_put(m->root);
    free(m->channels);
    free(m->kinds);
    memset(m, 0, sizeof *m);
}
