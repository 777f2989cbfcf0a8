/*
 * orders.c - the caller's conditional orders: POST/GET
 * /api/v1/orders/conditional, GET and DELETE /api/v1/orders/conditional/{id},
 * and POST /api/v1/orders/oco (a take-profit and a stop-loss leg, one
 * cancels the other), GET and DELETE /api/v1/orders/oco/{id}.
 *
 * A creation reads as its documentation: the body is checked field by field
 * (unknown fields refused), then, in one transaction, the Idempotency-Key
 * is claimed (a concurrent duplicate waits on it and replays the answer),
 * the symbol must be an active instrument with a fresh price, the order
 * must not trigger at that price (domain/trigger.h: one definition of the
 * rules), a position it names must be the caller's, open, of its symbol, on
 * the closing side and hold at least its quantity; then the rows go in.
 * Nothing is written unless everything passed.  What happens after (OCO
 * siblings cancelled, orders expiring with their position, NOTIFY to the
 * engine) is the database's triggers' job (sql/006), for every writer.
 *
 * Never here: firing or filling orders (the engine does that).
 */
#include "api/app.h"
#include "api/cache.h"
#include "api/columns.h"
#include "api/params.h"
#include "core/digest.h"
#include "core/jsonw.h"
#include "core/random.h"
#include "domain/price.h"
#include "domain/trigger.h"
#include "store/cachegen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* td_jw_order's columns (store/pgjson.h; sql/021's o_* columns, the
 * relay's, are the same list). */
#define ORDER_COLUMNS                                                                                                                            \
    "o.id, o.client_order_id, o.type, o.side, o.symbol, o.quantity, o.trigger_price, "                                                           \
    "o.callback_rate, o.activation_price, o.position_id, o.status, o.oco_group_id, "                                                             \
    "o.cancel_reason, o.armed, o.extreme_price, o.triggered_price, " TD_SQL_EPOCH_MS(                                                            \
        "o.created_at") ", " TD_SQL_EPOCH_MS("o.updated_at") ", " TD_SQL_EPOCH_MS("o.triggered_"                                                 \
                                                                                  "at") ","                                                      \
                                                                                        " " TD_SQL_EPOCH_MS("o.filled_at") ", " TD_SQL_EPOCH_MS( \
                                                                                            "o."                                                 \
                                                                                            "canc"                                               \
                                                                                            "elle"                                               \
                                                                                            "d_"                                                 \
                                                                                            "at") ", " TD_SQL_EPOCH_MS("o.expires_at") ", o.trace_id"

/* Statements sent inside the creating transaction are never marked
 * idempotent: a resend on a fresh connection would run outside it. */
const td_db_stmt td_order_stmts[] = {
    /* A user's orders by id (user_id, id), the status checked on each row;
     * the active ones from sql/024's table of them, by its (user_id, order_id). */
    {"order_list",
     "SELECT " ORDER_COLUMNS " FROM conditional_orders o "
     "WHERE o.user_id = $1 AND ($2::text IS NULL OR o.status = $2) "
     "AND ($3::text IS NULL OR o.symbol = $3) AND o.id > $4 ORDER BY o.id LIMIT $5",
     5, 1},
    {"order_list_active",
     "SELECT " ORDER_COLUMNS " FROM active_orders a JOIN conditional_orders o ON o.id = a.order_id "
     "WHERE a.user_id = $1 AND o.status = $2 "
     "AND ($3::text IS NULL OR a.symbol = $3) AND a.order_id > $4 ORDER BY a.order_id LIMIT $5",
     5, 1},
    {"order_get",
     "SELECT " ORDER_COLUMNS " FROM conditional_orders o "
     "WHERE o.user_id = $1 AND o.id = $2",
     2, 1},
    {"order_cancel",
     "UPDATE conditional_orders o SET status = 'cancelled', cancel_reason = 'user', "
     "cancelled_at = now(), updated_at = now() "
     "WHERE o.user_id = $1 AND o.id = $2 AND o.status = 'active' RETURNING " ORDER_COLUMNS,
     2, 0},
    {"order_group",
     "SELECT " ORDER_COLUMNS " FROM conditional_orders o "
     "WHERE o.user_id = $1 AND o.oco_group_id = $2 ORDER BY o.id",
     2, 1},
    /* One leg, the first still active; the OCO trigger cancels the other. */
    {"order_group_cancel",
     "UPDATE conditional_orders o SET status = 'cancelled', cancel_reason = 'user', "
     "cancelled_at = now(), updated_at = now() "
     "WHERE o.id = (SELECT min(id) FROM conditional_orders "
     "WHERE user_id = $1 AND oco_group_id = $2 AND status = 'active') RETURNING o.id",
     2, 0},
    {"order_idem_claim",
     "INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3) "
     "ON CONFLICT DO NOTHING RETURNING 1",
     3, 0},
    {"order_idem_get",
     "SELECT request_hash, response_status, response_body FROM idempotency_keys "
     "WHERE user_id = $1 AND key = $2",
     2, 0},
    {"order_idem_store",
     "UPDATE idempotency_keys SET response_status = $3, response_body = $4 "
     "WHERE user_id = $1 AND key = $2",
     4, 0},
    {"order_market",
     "SELECT i.active, pl.price, GREATEST(0, " TD_SQL_EPOCH_MS(
         "now() - pl.updated_at") ") "
                                  "FROM instruments i LEFT JOIN prices_latest pl ON pl.symbol = "
                                  "i.symbol WHERE i.symbol = $1",
     1, 0},
    {"order_position",
     "SELECT symbol, side, status, quantity FROM positions WHERE id = $1 AND user_id = $2 "
     "FOR SHARE",
     2, 0},
    {"order_oco_insert", "INSERT INTO oco_groups (user_id) VALUES ($1) RETURNING id", 1, 0},
    {"order_insert",
     "INSERT INTO conditional_orders AS o (user_id, client_order_id, type, side, symbol, "
     "quantity, trigger_price, callback_rate, activation_price, position_id, oco_group_id, "
     "armed, extreme_price, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
     "$12::numeric IS NOT NULL, $12::numeric, $13) RETURNING " ORDER_COLUMNS,
     13, 0},
};
const size_t td_order_nstmts = TD_ARRAY_LEN(td_order_stmts);

static const td_cache_rule ORDERS_CACHE = {"ord", 2, 1};
static const td_cache_rule ORDER_CACHE = {"ord1", 2, 1};
static const td_cache_rule OCO_CACHE = {"oco1", 2, 1};

/* ------------------------------------------------------------ the object */

/* One row of ORDER_COLUMNS as the API's ConditionalOrder (store/pgjson,
 * the same object the relay publishes); 0 when a stored value does not
 * fit fixed point. */
static int order_write(td_jw *w, const PGresult *res, int row)
{
    return td_jw_order(w, res, row, 0);
}

/* ------------------------------------------------------------ the reads */

void td_h_orders(td_req *r)
{
    static const char *const allowed[] = {"status", "symbol", "limit", "cursor", NULL};
    static const char *const statuses[] = {"active",   "triggered", "filled", "cancelled",
                                           "rejected", "expired",   NULL};
    td_list_query *q = td_arena_alloc(r->arena, sizeof *q);
    *q = (td_list_query){.stmt = "order_list", .nfilters = 2, .row = order_write, .what = "order"};
    if (!td_param_only(r, allowed) || !td_param_enum(r, "status", statuses, &q->filters[0]) ||
        !td_param_symbol(r, "symbol", &q->filters[1]) || !td_param_page(r, q))
        return;
    if (q->filters[0] && !strcmp(q->filters[0], "active"))
        q->stmt = "order_list_active";
    r->ctx = q;
    td_cache_respond(r, &ORDERS_CACHE, td_list_build);
}

void td_h_order(td_req *r)
{
    td_one_query *q = td_arena_alloc(r->arena, sizeof *q);
    *q = (td_one_query){.stmt = "order_get", .row = order_write, .what = "order"};
    if (!td_param_one(r, q))
        return;
    r->ctx = q;
    td_cache_respond(r, &ORDER_CACHE, td_one_build);
}

/* Answer one order row as the whole body. */
static void answer_order(td_req *r, int status, const PGresult *res)
{
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    if (!order_write(&w, res, 0)) {
        td_resp_error(r, TD_ERR_INTERNAL, "a stored order does not fit fixed point");
        return;
    }
    td_resp_json_nostore(r, status, b.data, b.len);
}

/* ---------------------------------------------------------------- cancel */

void td_h_order_cancel(td_req *r)
{
    td_one_query q = {0};
    if (!td_param_one(r, &q))
        return;
    char uid[24], oid[24];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    snprintf(oid, sizeof oid, "%" PRId64, q.id);
    const char *p[] = {uid, oid};
    /* The OCO trigger cancels an active sibling in the same statement. */
    PGresult *res = td_req_query(r, "order_cancel", 2, p);
    if (!res)
        return;
    if (PQntuples(res) == 1) {
        td_cache_invalidate_user(r->app->redis, r->user_id);
        answer_order(r, 200, res);
        PQclear(res);
        return;
    }
    PQclear(res);
    if (!(res = td_req_one(r, "order_get", q.id, "order")))
        return;
    td_resp_error(r, TD_ERR_ORDER_NOT_ACTIVE,
                  "order %s is %s; only an active order can be cancelled", oid,
                  PQgetvalue(res, 0, 10));
    PQclear(res);
}

/* ------------------------------------------------------------ OCO groups */

/* The caller's group r->ctx names as the OcoGroup object: its id, then its
 * legs in order (take-profit first); 404 when the caller has no such group. */
static int group_build(td_req *r, td_jw *w)
{
    const td_one_query *q = r->ctx;
    char uid[24], gid[24];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    snprintf(gid, sizeof gid, "%" PRId64, q->id);
    const char *p[] = {uid, gid};
    PGresult *res = td_req_query(r, "order_group", 2, p);
    if (!res)
        return 0;
    int n = PQntuples(res), ok = n > 0;
    if (!ok)
        td_resp_error(r, TD_ERR_NOT_FOUND, "oco group %s not found", gid);
    if (ok) {
        td_jw_obj(w);
        td_jw_key(w, "id");
        td_jw_str(w, gid);
        td_jw_key(w, "orders");
        td_jw_arr(w);
        for (int i = 0; ok && i < n; i++)
            ok = order_write(w, res, i);
        if (!ok)
            td_resp_error(r, TD_ERR_INTERNAL, "a stored order does not fit fixed point");
        td_jw_end(w, ']');
        td_jw_end(w, '}');
    }
    PQclear(res);
    return ok;
}

void td_h_oco(td_req *r)
{
    td_one_query *q = td_arena_alloc(r->arena, sizeof *q);
    *q = (td_one_query){.what = "oco group"};
    if (!td_param_one(r, q))
        return;
    r->ctx = q;
    td_cache_respond(r, &OCO_CACHE, group_build);
}

void td_h_oco_cancel(td_req *r)
{
    td_one_query q = {.what = "oco group"};
    if (!td_param_one(r, &q))
        return;
    char uid[24], gid[24];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    snprintf(gid, sizeof gid, "%" PRId64, q.id);
    const char *p[] = {uid, gid};
    PGresult *res = td_req_query(r, "order_group_cancel", 2, p);
    if (!res)
        return;
    int cancelled = PQntuples(res) == 1;
    PQclear(res);
    if (cancelled)
        td_cache_invalidate_user(r->app->redis, r->user_id);
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    r->ctx = &q;
    if (!group_build(r, &w))
        return; /* 404 (or a failure), answered */
    if (!cancelled) {
        td_resp_error(r, TD_ERR_ORDER_NOT_ACTIVE,
                      "oco group %s has no active leg; only an active group can be cancelled", gid);
        return;
    }
    td_resp_json_nostore(r, 200, b.data, b.len);
}

/* ------------------------------------------------------------ the body */

typedef struct order_spec {
    td_order_type type;
    td_side side;
    const char *symbol;
    td_dec quantity, trigger, callback, activation; /* 0: absent */
    int64_t position_id;                            /* 0: none */
    const char *client_order_id;                    /* NULL: the server names it */
} order_spec;

static int invalid(td_req *r, const char *field, const char *why)
{
    td_resp_error(r, TD_ERR_INVALID_REQUEST, "%s: %s", field, why);
    return 0;
}

/* Refuse a member not in allowed (NULL-terminated): the API's strictness. */
static int only_fields(td_req *r, json_object *o, const char *const *allowed)
{
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok)
            return invalid(r, key, "unknown field");
    }
    return 1;
}

/* A string member; null and absent are both absent (*out = NULL). */
static int str_field(td_req *r, json_object *o, const char *name, int required, const char **out)
{
    json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(o, name, &v) || json_object_is_type(v, json_type_null))
        return required ? invalid(r, name, "is required") : 1;
    if (!json_object_is_type(v, json_type_string))
        return invalid(r, name, "must be a string");
    *out = json_object_get_string(v);
    return 1;
}

/* A positive fixed-point decimal string ("0.25"); absent → 0. */
static int dec_field(td_req *r, json_object *o, const char *name, int required, td_dec *out)
{
    const char *s;
    *out = 0;
    if (!str_field(r, o, name, required, &s))
        return 0;
    if (s && (td_dec_parse(s, strlen(s), out) != TD_OK || *out <= 0))
        return invalid(r, name,
                       "must be a positive decimal string with at most 8 decimals, "
                       "like \"0.25\"");
    return 1;
}

static int client_order_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              strchr("_.:/-", *p)))
            return 0;
    return 1;
}

/* The fields an order and an OCO group share: side, symbol, quantity,
 * position_id. */
static int common_fields(td_req *r, json_object *o, order_spec *s)
{
    const char *side, *pos;
    if (!str_field(r, o, "side", 1, &side))
        return 0;
    if (td_order_side_parse(side, &s->side) != TD_OK)
        return invalid(r, "side", "must be buy or sell");
    if (!str_field(r, o, "symbol", 1, &s->symbol))
        return 0;
    if (!td_symbol_valid(s->symbol))
        return invalid(r, "symbol", "must be a canonical symbol like BTC-USDT");
    if (!dec_field(r, o, "quantity", 1, &s->quantity) || !str_field(r, o, "position_id", 0, &pos))
        return 0;
    if (pos && !td_id_parse(pos, &s->position_id))
        return invalid(r, "position_id", "must be a position id like \"17\"");
    return 1;
}

/* The price fields of one order of type s->type, and its client_order_id. */
static int price_fields(td_req *r, json_object *o, order_spec *s)
{
    if (!str_field(r, o, "client_order_id", 0, &s->client_order_id))
        return 0;
    if (s->client_order_id && !client_order_id_ok(s->client_order_id))
        return invalid(r, "client_order_id", "must be 1-64 of A-Z a-z 0-9 _ . : / -");
    int trailing = s->type == TD_ORDER_TRAILING_STOP;
    if (!dec_field(r, o, "trigger_price", !trailing, &s->trigger) ||
        !dec_field(r, o, "callback_rate", trailing, &s->callback) ||
        !dec_field(r, o, "activation_price", 0, &s->activation))
        return 0;
    if (trailing && s->trigger)
        return invalid(r, "trigger_price", "a trailing_stop has callback_rate, not trigger_price");
    if (!trailing && (s->callback || s->activation))
        return invalid(r, s->callback ? "callback_rate" : "activation_price",
                       "only a trailing_stop has this field");
    if (trailing && (s->callback < TD_CALLBACK_RATE_MIN || s->callback > TD_CALLBACK_RATE_MAX))
        return invalid(r, "callback_rate", "must be from 0.1 to 10 (percent)");
    return 1;
}

/* ------------------------------------------------------- idempotency */

typedef struct idem {
    const char *key; /* NULL: no Idempotency-Key */
    char hash[TD_SHA256_HEX_LEN + 1];
} idem;

static void canon_dec(td_buf *b, td_arena *a, const char *name, td_dec v)
{
    char s[TD_DEC_STR_MAX];
    td_dec_format(v, s, sizeof s);
    td_buf_add(a, b, name, strlen(name));
    td_buf_add(a, b, "=", 1);
    td_buf_add(a, b, v ? s : "", v ? strlen(s) : 0);
    td_buf_add(a, b, "\n", 1);
}

static void canon_str(td_buf *b, td_arena *a, const char *name, const char *v)
{
    td_buf_add(a, b, name, strlen(name));
    td_buf_add(a, b, "=", 1);
    if (v)
        td_buf_add(a, b, v, strlen(v));
    td_buf_add(a, b, "\n", 1);
}

/* The Idempotency-Key header and the SHA-256 of the request: method, path
 * and the canonical body (the parsed fields in a fixed order, decimals
 * normalized), so key order, spacing or "0.50" for "0.5" do not count as
 * another request.  0 after answering 400 on a bad key. */
static int idem_init(td_req *r, const order_spec *legs, int nlegs, idem *k)
{
    k->key = r->header(r, "HTTP_IDEMPOTENCY_KEY");
    if (!k->key)
        return 1;
    size_t n = strlen(k->key);
    int ok = n >= 1 && n <= 255;
    for (size_t i = 0; i < n && ok; i++)
        ok = k->key[i] >= 0x21 && k->key[i] <= 0x7e;
    if (!ok)
        return invalid(r, "Idempotency-Key", "must be 1-255 visible ASCII characters");
    td_buf b = {0};
    canon_str(&b, r->arena, r->method, r->path);
    for (int i = 0; i < nlegs; i++) {
        const order_spec *s = &legs[i];
        char pos[24];
        snprintf(pos, sizeof pos, "%" PRId64, s->position_id);
        canon_str(&b, r->arena, "type", td_order_type_name(s->type));
        canon_str(&b, r->arena, "side", td_order_side_name(s->side));
        canon_str(&b, r->arena, "symbol", s->symbol);
        canon_dec(&b, r->arena, "quantity", s->quantity);
        canon_dec(&b, r->arena, "trigger_price", s->trigger);
        canon_dec(&b, r->arena, "callback_rate", s->callback);
        canon_dec(&b, r->arena, "activation_price", s->activation);
        canon_str(&b, r->arena, "position_id", s->position_id ? pos : NULL);
        canon_str(&b, r->arena, "client_order_id", s->client_order_id);
    }
    if (td_sha256_hex(b.data, b.len, k->hash) != TD_OK) {
        td_resp_error(r, TD_ERR_INTERNAL, "could not hash the request");
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------- the transaction */

/* Claim the key: 1 when this request owns it (go on), 0 when it answered
 * (a replay of the committed original, 422 for another body, or an error;
 * the caller rolls back, which leaves a replay's answer as it is). */
static int idem_claim(td_req *r, const char *uid, const idem *k)
{
    const char *p[] = {uid, k->key, k->hash};
    PGresult *res = td_req_query(r, "order_idem_claim", 3, p);
    if (!res)
        return 0;
    int mine = PQntuples(res) == 1;
    PQclear(res);
    if (mine)
        return 1;
    /* Another request holds or held it: the claim waited for its commit. */
    if (!(res = td_req_query(r, "order_idem_get", 2, p)))
        return 0;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 1))
        td_resp_error(r, TD_ERR_CONFLICT, "a request with this Idempotency-Key is in progress");
    else if (strcmp(PQgetvalue(res, 0, 0), k->hash) != 0)
        td_resp_error(r, TD_ERR_IDEMPOTENCY_KEY_REUSED,
                      "Idempotency-Key %s was used with a different request", k->key);
    else {
        td_resp_header(r, "Idempotent-Replayed", "true");
        td_resp_json_nostore(r, atoi(PQgetvalue(res, 0, 1)), PQgetvalue(res, 0, 2),
                             (size_t)PQgetlength(res, 0, 2));
    }
    PQclear(res);
    return 0;
}

/* The symbol is an active instrument with a fresh price, returned. */
static int market_price(td_req *r, const char *symbol, td_dec *price)
{
    const char *p[] = {symbol};
    PGresult *res = td_req_query(r, "order_market", 1, p);
    if (!res)
        return 0;
    int ok = 0;
    if (PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] != 't')
        td_resp_error(r, TD_ERR_UNKNOWN_SYMBOL, "%s is not an active instrument", symbol);
    else if (!td_col_dec(res, 0, 1, price))
        td_resp_error(r, TD_ERR_PRICE_UNAVAILABLE, "there is no price for %s yet", symbol);
    else if (td_price_stale(strtoll(PQgetvalue(res, 0, 2), NULL, 10), r->app->cfg.price_stale_ms))
        td_resp_error(r, TD_ERR_PRICE_UNAVAILABLE,
                      "the price of %s is %s ms old (stale); the order cannot be judged", symbol,
                      PQgetvalue(res, 0, 2));
    else
        ok = 1;
    PQclear(res);
    return ok;
}

/* The order would not fire (or a trailing stop arm) at price. */
static int not_immediate(td_req *r, const order_spec *s, td_dec price)
{
    char px[TD_DEC_STR_MAX];
    td_dec_format(price, px, sizeof px);
    if (s->type == TD_ORDER_TRAILING_STOP) {
        if (s->activation && td_trailing_arms(s->side, s->activation, price)) {
            td_resp_error(r, TD_ERR_WOULD_TRIGGER,
                          "activation_price is already reached at the current price %s", px);
            return 0;
        }
    } else if (td_trigger_fires(s->type, s->side, s->trigger, price)) {
        td_resp_error(r, TD_ERR_WOULD_TRIGGER,
                      "a %s %s with trigger_price at or beyond the current price %s would trigger "
                      "immediately",
                      td_order_side_name(s->side), td_order_type_name(s->type), px);
        return 0;
    }
    return 1;
}

/* The position s names is the caller's, open, of s's symbol, on the side
 * s closes, and holds at least s's quantity.  Locked FOR SHARE: a close
 * waits for this transaction, then expires what it created. */
static int position_ok(td_req *r, const char *uid, const order_spec *s)
{
    char pid[24];
    snprintf(pid, sizeof pid, "%" PRId64, s->position_id);
    const char *p[] = {pid, uid};
    PGresult *res = td_req_query(r, "order_position", 2, p);
    if (!res)
        return 0;
    int ok = 0;
    td_dec qty = 0;
    if (PQntuples(res) != 1)
        td_resp_error(r, TD_ERR_POSITION_NOT_FOUND, "position %s not found", pid);
    else if (strcmp(PQgetvalue(res, 0, 2), "open") != 0)
        td_resp_error(r, TD_ERR_POSITION_NOT_OPEN, "position %s is closed", pid);
    else if (strcmp(PQgetvalue(res, 0, 0), s->symbol) != 0)
        td_resp_error(r, TD_ERR_POSITION_MISMATCH, "position %s is in %s, not %s", pid,
                      PQgetvalue(res, 0, 0), s->symbol);
    else if ((strcmp(PQgetvalue(res, 0, 1), "long") == 0) != (s->side == TD_SIDE_SELL))
        td_resp_error(r, TD_ERR_POSITION_MISMATCH, "a %s position closes with %s, not %s",
                      PQgetvalue(res, 0, 1), s->side == TD_SIDE_SELL ? "buy" : "sell",
                      td_order_side_name(s->side));
    else if (!td_col_dec(res, 0, 3, &qty))
        td_resp_error(r, TD_ERR_INTERNAL, "a stored position does not fit fixed point");
    else if (s->quantity > qty)
        td_resp_error(r, TD_ERR_QUANTITY_EXCEEDS_POSITION, "position %s holds %s", pid,
                      PQgetvalue(res, 0, 3));
    else
        ok = 1;
    PQclear(res);
    return ok;
}

/* Insert one leg; its row (the caller clears it) or NULL after answering.
 * A trailing stop without an activation price arms at once: its extreme
 * starts at price, the current one it was judged against. */
static PGresult *insert_leg(td_req *r, const char *uid, const order_spec *s, const char *oco_id,
                            td_dec price)
{
    char q[TD_DEC_STR_MAX], t[TD_DEC_STR_MAX], c[TD_DEC_STR_MAX], a[TD_DEC_STR_MAX], pid[24],
        coid[40], x[TD_DEC_STR_MAX];
    td_dec_format(price, x, sizeof x);
    int arm_now = s->type == TD_ORDER_TRAILING_STOP && !s->activation;
    td_dec_format(s->quantity, q, sizeof q);
    td_dec_format(s->trigger, t, sizeof t);
    td_dec_format(s->callback, c, sizeof c);
    td_dec_format(s->activation, a, sizeof a);
    snprintf(pid, sizeof pid, "%" PRId64, s->position_id);
    const char *client_id = s->client_order_id;
    if (!client_id) { /* "td-" + 128 random bits, as exchanges name an unnamed order */
        memcpy(coid, "td-", 3);
        td_random_hex(coid + 3, 16);
        client_id = coid;
    }
    const char *p[] = {uid,
                       client_id,
                       td_order_type_name(s->type),
                       td_order_side_name(s->side),
                       s->symbol,
                       q,
                       s->trigger ? t : NULL,
                       s->callback ? c : NULL,
                       s->activation ? a : NULL,
                       s->position_id ? pid : NULL,
                       oco_id,
                       arm_now ? x : NULL,
                       r->trace_id[0] ? r->trace_id : NULL};
    td_status st;
    PGresult *res = td_db_exec(r->app->db, "order_insert", 13, p, &st);
    if (res)
        return res;
    if (st == TD_ECONFLICT)
        td_resp_error(r, TD_ERR_DUPLICATE_CLIENT_ORDER_ID,
                      "an order with client_order_id %s exists already", client_id);
    else if (st == TD_EINVAL)
        td_resp_error(r, TD_ERR_UNPROCESSABLE, "the order was refused by the database's rules");
    else
        td_resp_status_error(r, st);
    return NULL;
}

/* Everything of a creation after the body checks, inside BEGIN: the body
 * to answer goes into b; 0 after answering (the caller rolls back). */
static int create_in_tx(td_req *r, const char *uid, const order_spec *legs, int nlegs, int oco,
                        const idem *k, td_buf *b)
{
    if (k->key && !idem_claim(r, uid, k))
        return 0;
    if (!td_guard_allows_orders(r, uid)) /* a tripped drawdown guard blocks new orders */
        return 0;
    td_dec price;
    if (!market_price(r, legs[0].symbol, &price))
        return 0;
    for (int i = 0; i < nlegs; i++)
        if (!not_immediate(r, &legs[i], price))
            return 0;
    if (legs[0].position_id && !position_ok(r, uid, &legs[0]))
        return 0;
    char group[24] = "";
    if (oco) {
        const char *p[] = {uid};
        PGresult *res = td_req_query(r, "order_oco_insert", 1, p);
        if (!res)
            return 0;
        snprintf(group, sizeof group, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    td_jw w;
    td_jw_init(&w, r->arena, b);
    if (oco) {
        td_jw_obj(&w);
        td_jw_key(&w, "id");
        td_jw_str(&w, group);
        td_jw_key(&w, "orders");
        td_jw_arr(&w);
    }
    for (int i = 0; i < nlegs; i++) {
        PGresult *res = insert_leg(r, uid, &legs[i], oco ? group : NULL, price);
        if (!res)
            return 0;
        int ok = order_write(&w, res, 0);
        PQclear(res);
        if (!ok) {
            td_resp_error(r, TD_ERR_INTERNAL, "the order does not fit fixed point");
            return 0;
        }
    }
    if (oco) {
        td_jw_end(&w, ']');
        td_jw_end(&w, '}');
    }
    if (k->key) {
        const char *body = td_arena_strndup(r->arena, b->data, b->len);
        const char *p[] = {uid, k->key, "201", body};
        PGresult *res = td_req_query(r, "order_idem_store", 4, p);
        if (!res)
            return 0;
        PQclear(res);
    }
    return 1;
}

/* Create the legs (one order, or an OCO group's two) and answer 201. */
static void create(td_req *r, const order_spec *legs, int nlegs, int oco)
{
    idem k;
    if (!idem_init(r, legs, nlegs, &k))
        return;
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    td_db *db = r->app->db;
    td_status st = td_db_command(db, "BEGIN");
    if (st != TD_OK) {
        td_resp_status_error(r, st);
        return;
    }
    td_buf b = {0};
    int ok = create_in_tx(r, uid, legs, nlegs, oco, &k, &b);
    /* A connection lost on the way ends the transaction with it: COMMIT
     * then would run on a fresh connection and claim a success. */
    if (ok && !td_db_in_transaction(db)) {
        td_resp_status_error(r, TD_EUNAVAIL);
        ok = 0;
    }
    if (!ok) {
        td_db_command(db, "ROLLBACK");
        return;
    }
    if ((st = td_db_command(db, "COMMIT")) != TD_OK) {
        td_resp_status_error(r, st);
        return;
    }
    td_cache_invalidate_user(r->app->redis, r->user_id);
    td_resp_json_nostore(r, 201, b.data, b.len);
}

void td_h_order_create(td_req *r)
{
    static const char *const fields[] = {"client_order_id",
                                         "type",
                                         "side",
                                         "symbol",
                                         "quantity",
                                         "trigger_price",
                                         "callback_rate",
                                         "activation_price",
                                         "position_id",
                                         NULL};
    if (!td_param_none(r))
        return;
    json_object *body = td_req_json_object(r);
    if (!body || !only_fields(r, body, fields))
        return;
    order_spec s = {0};
    const char *type;
    if (!str_field(r, body, "type", 1, &type))
        return;
    if (td_order_type_parse(type, &s.type) != TD_OK) {
        invalid(r, "type", "must be stop_loss, take_profit or trailing_stop");
        return;
    }
    if (!common_fields(r, body, &s) || !price_fields(r, body, &s))
        return;
    create(r, &s, 1, 0);
}

/* One leg object of an OCO request. */
static int oco_leg(td_req *r, json_object *body, const char *name, const order_spec *common,
                   order_spec *leg)
{
    static const char *const tp_fields[] = {"trigger_price", "client_order_id", NULL};
    static const char *const sl_fields[] = {"trigger_price", "callback_rate", "activation_price",
                                            "client_order_id", NULL};
    int take = strcmp(name, "take_profit") == 0;
    json_object *o;
    if (!json_object_object_get_ex(body, name, &o))
        return invalid(r, name, "is required");
    if (!json_object_is_type(o, json_type_object))
        return invalid(r, name, "must be an object");
    if (!only_fields(r, o, take ? tp_fields : sl_fields))
        return 0;
    *leg = *common;
    json_object *cb;
    int trailing = !take && json_object_object_get_ex(o, "callback_rate", &cb) &&
                   !json_object_is_type(cb, json_type_null);
    leg->type = take       ? TD_ORDER_TAKE_PROFIT
                : trailing ? TD_ORDER_TRAILING_STOP
                           : TD_ORDER_STOP_LOSS;
    return price_fields(r, o, leg);
}

void td_h_oco_create(td_req *r)
{
    static const char *const fields[] = {"side",        "symbol",    "quantity", "position_id",
                                         "take_profit", "stop_loss", NULL};
    if (!td_param_none(r))
        return;
    json_object *body = td_req_json_object(r);
    if (!body || !only_fields(r, body, fields))
        return;
    order_spec common = {0}, legs[2];
    if (!common_fields(r, body, &common) || !oco_leg(r, body, "take_profit", &common, &legs[0]) ||
        !oco_leg(r, body, "stop_loss", &common, &legs[1]))
        return;
    create(r, legs, 2, 1);
}
