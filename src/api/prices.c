/*
 * prices.c - GET /api/v1/prices and GET /api/v1/prices/{symbol}: the latest
 * price per symbol with its source, age and a stale flag.
 *
 * Prices are the same for every user, so one cache entry serves all; its
 * 1 s TTL bounds how far age_ms can lag.
 */
#include "api/app.h"
#include "api/cache.h"
#include "api/params.h"

#include <stdlib.h>
#include <string.h>

#define PRICE_COLUMNS                                                                              \
    "pl.symbol, pl.price, pl.source, "                                                             \
    "to_char(pl.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "             \
    "GREATEST(0, (EXTRACT(EPOCH FROM now() - pl.updated_at) * 1000)::bigint)"

const td_db_stmt td_price_stmts[] = {
    {"price_list",
     "SELECT " PRICE_COLUMNS " FROM prices_latest pl JOIN instruments i ON i.symbol = pl.symbol "
     "WHERE i.active ORDER BY pl.symbol",
     0, 1},
    {"price_get", "SELECT " PRICE_COLUMNS " FROM prices_latest pl WHERE pl.symbol = $1", 1, 1},
};
const size_t td_price_nstmts = TD_ARRAY_LEN(td_price_stmts);

static const td_cache_rule PRICES_CACHE = {"px", 1, 0};
static const td_cache_rule PRICE_CACHE = {"px1", 1, 0};

static json_object *price_json(td_req *r, PGresult *res, int row)
{
    const char *ps = PQgetvalue(res, row, 1);
    td_dec price;
    if (td_dec_parse(ps, strlen(ps), &price) != TD_OK)
        return NULL;
    long long age = strtoll(PQgetvalue(res, row, 4), NULL, 10);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "symbol", json_object_new_string(PQgetvalue(res, row, 0)));
    json_object_object_add(o, "price", td_json_dec(price));
    json_object_object_add(o, "source", json_object_new_string(PQgetvalue(res, row, 2)));
    json_object_object_add(o, "updated_at", json_object_new_string(PQgetvalue(res, row, 3)));
    json_object_object_add(o, "age_ms", json_object_new_int64(age));
    json_object_object_add(o, "stale", json_object_new_boolean(age > r->app->cfg.price_stale_ms));
    return o;
}

static json_object *build_list(td_req *r)
{
    td_status st;
    PGresult *res = td_db_exec(r->app->db, "price_list", 0, NULL, &st);
    if (!res) {
        td_resp_status_error(r, st);
        return NULL;
    }
    json_object *items = json_object_new_array_ext(PQntuples(res));
    for (int i = 0; i < PQntuples(res); i++) {
        json_object *p = price_json(r, res, i);
        if (!p) {
            PQclear(res);
            json_object_put(items);
            td_resp_error(r, 500, "internal", "stored price out of range");
            return NULL;
        }
        json_object_array_add(items, p);
    }
    PQclear(res);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "next_cursor", NULL);
    return o;
}

static json_object *build_one(td_req *r)
{
    const char *p[] = {r->path_args[0]};
    td_status st;
    PGresult *res = td_db_exec(r->app->db, "price_get", 1, p, &st);
    if (!res) {
        td_resp_status_error(r, st);
        return NULL;
    }
    json_object *o = NULL;
    if (PQntuples(res) == 0)
        td_resp_error(r, 404, "not_found", "no price for %s", r->path_args[0]);
    else if (!(o = price_json(r, res, 0)))
        td_resp_error(r, 500, "internal", "stored price out of range");
    PQclear(res);
    return o;
}

void td_h_prices(td_req *r)
{
    static const char *const none[] = {NULL};
    if (td_param_only(r, none))
        td_cache_respond(r, &PRICES_CACHE, build_list);
}

void td_h_price(td_req *r)
{
    static const char *const none[] = {NULL};
    if (!td_param_only(r, none))
        return;
    if (!td_symbol_valid(r->path_args[0])) {
        td_resp_error(r, 400, "invalid_parameter", "symbol: must be a canonical symbol like BTC-USDT");
        return;
    }
    td_cache_respond(r, &PRICE_CACHE, build_one);
}
