/*
 * positions.c - GET /api/v1/positions and GET /api/v1/positions/{id}.
 *
 * Keyset pagination on (user_id, id): each page resumes after the last id
 * it returned, so every row is visited exactly once however many rows are
 * inserted meanwhile, and a deep page costs what the first one does.
 */
#include "api/app.h"
#include "api/cache.h"
#include "api/params.h"
#include "core/pnl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define POSITION_COLUMNS                                                                           \
    "p.id, p.symbol, p.side, p.quantity, p.entry_price, p.realized_pnl, p.status, "              \
    TS_UTC("p.opened_at") ", " TS_UTC("p.closed_at") ", pl.price"

const td_db_stmt td_position_stmts[] = {
    {"position_list",
     "SELECT " POSITION_COLUMNS " FROM positions p "
     "LEFT JOIN prices_latest pl ON pl.symbol = p.symbol "
     "WHERE p.user_id = $1 AND ($2::text IS NULL OR p.status = $2) "
     "AND ($3::text IS NULL OR p.symbol = $3) AND p.id > $4 ORDER BY p.id LIMIT $5",
     5, 1},
    {"position_get",
     "SELECT " POSITION_COLUMNS " FROM positions p "
     "LEFT JOIN prices_latest pl ON pl.symbol = p.symbol WHERE p.user_id = $1 AND p.id = $2",
     2, 1},
};
const size_t td_position_nstmts = TD_ARRAY_LEN(td_position_stmts);

static const td_cache_rule POSITIONS_CACHE = {"pos", 5, 1};
static const td_cache_rule POSITION_CACHE = {"pos1", 5, 1};

/* One row of POSITION_COLUMNS as the API's Position object. */
json_object *td_position_json(PGresult *res, int row, td_status *st)
{
    td_dec qty, entry, realized, mark = 0;
    td_side side;
    int has_mark = !PQgetisnull(res, row, 9);
    const char *q = PQgetvalue(res, row, 3), *e = PQgetvalue(res, row, 4),
               *rp = PQgetvalue(res, row, 5), *m = PQgetvalue(res, row, 9);
    if (td_dec_parse(q, strlen(q), &qty) != TD_OK || td_dec_parse(e, strlen(e), &entry) != TD_OK ||
        td_dec_parse(rp, strlen(rp), &realized) != TD_OK ||
        td_side_parse(PQgetvalue(res, row, 2), &side) != TD_OK ||
        (has_mark && td_dec_parse(m, strlen(m), &mark) != TD_OK)) {
        *st = TD_ERROR;
        return NULL;
    }
    int open = strcmp(PQgetvalue(res, row, 6), "open") == 0;
    td_valuation v = {0};
    if (has_mark && td_pnl_value(side, qty, entry, mark, &v) != TD_OK) {
        *st = TD_ERROR;
        return NULL;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", td_json_id(PQgetvalue(res, row, 0)));
    json_object_object_add(o, "symbol", json_object_new_string(PQgetvalue(res, row, 1)));
    json_object_object_add(o, "side", json_object_new_string(PQgetvalue(res, row, 2)));
    json_object_object_add(o, "quantity", td_json_dec(qty));
    json_object_object_add(o, "entry_price", td_json_dec(entry));
    json_object_object_add(o, "mark_price", has_mark ? td_json_dec(mark) : NULL);
    /* A closed position has nothing left to gain or lose. */
    json_object_object_add(o, "unrealized_pnl",
                           !open ? td_json_dec(0) : has_mark ? td_json_dec(v.unrealized) : NULL);
    json_object_object_add(o, "realized_pnl", td_json_dec(realized));
    json_object_object_add(o, "market_value", open && has_mark ? td_json_dec(v.notional) : NULL);
    json_object_object_add(o, "status", json_object_new_string(PQgetvalue(res, row, 6)));
    json_object_object_add(o, "opened_at", json_object_new_string(PQgetvalue(res, row, 7)));
    json_object_object_add(o, "closed_at", td_json_text_or_null(PQgetvalue(res, row, 8)));
    *st = TD_OK;
    return o;
}

typedef struct list_query {
    const char *status, *symbol;
    int limit;
    int64_t after;
} list_query;

static json_object *build_list(td_req *r)
{
    const list_query *q = r->ctx;
    int limit = q->limit;

    char uid[24], aft[24], lim[16];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    snprintf(aft, sizeof aft, "%" PRId64, q->after);
    snprintf(lim, sizeof lim, "%d", limit + 1); /* one extra row says whether a next page exists */
    const char *p[] = {uid, q->status, q->symbol, aft, lim};
    td_status st;
    PGresult *res = td_db_exec(r->app->db, "position_list", 5, p, &st);
    if (!res) {
        td_resp_status_error(r, st);
        return NULL;
    }
    int n = PQntuples(res);
    int shown = n > limit ? limit : n;
    json_object *items = json_object_new_array_ext(shown);
    for (int i = 0; i < shown; i++) {
        json_object *pos = td_position_json(res, i, &st);
        if (!pos) {
            PQclear(res);
            json_object_put(items);
            td_resp_status_error(r, st);
            return NULL;
        }
        json_object_array_add(items, pos);
    }
    json_object *next = NULL;
    if (n > limit) {
        char cur[24];
        td_cursor_encode(strtoll(PQgetvalue(res, shown - 1, 0), NULL, 10), cur, sizeof cur);
        next = json_object_new_string(cur);
    }
    PQclear(res);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "next_cursor", next);
    return o;
}

void td_h_positions(td_req *r)
{
    static const char *const allowed[] = {"status", "symbol", "limit", "cursor", NULL};
    static const char *const statuses[] = {"open", "closed", NULL};
    list_query *q = td_arena_alloc(r->arena, sizeof *q);
    if (!td_param_only(r, allowed) || !td_param_enum(r, "status", statuses, &q->status) ||
        !td_param_symbol(r, "symbol", &q->symbol) ||
        !td_param_int(r, "limit", 50, 1, 200, &q->limit) || !td_param_cursor(r, "cursor", &q->after))
        return;
    r->ctx = q;
    td_cache_respond(r, &POSITIONS_CACHE, build_list);
}

static json_object *build_one(td_req *r)
{
    int64_t id = *(const int64_t *)r->ctx;
    char uid[24], pid[24];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    snprintf(pid, sizeof pid, "%" PRId64, id);
    const char *p[] = {uid, pid};
    td_status st;
    PGresult *res = td_db_exec(r->app->db, "position_get", 2, p, &st);
    if (!res) {
        td_resp_status_error(r, st);
        return NULL;
    }
    if (PQntuples(res) == 0) { /* absent and another user's look the same */
        PQclear(res);
        td_resp_error(r, 404, "not_found", "position %s not found", pid);
        return NULL;
    }
    json_object *o = td_position_json(res, 0, &st);
    PQclear(res);
    if (!o)
        td_resp_status_error(r, st);
    return o;
}

void td_h_position(td_req *r)
{
    static const char *const none[] = {NULL};
    int64_t *id = td_arena_alloc(r->arena, sizeof *id);
    if (!td_param_only(r, none) || !td_path_id(r, 0, "id", id))
        return;
    r->ctx = id;
    td_cache_respond(r, &POSITION_CACHE, build_one);
}
