/*
 * prices.c - GET /api/v1/prices and GET /api/v1/prices/{symbol}: the latest
 * price per symbol with its source, age and a stale flag.
 *
 * Prices are the same for every user, so one cache entry serves all; its
 * 1 s TTL bounds how far age_ms can lag.
 */
#include "api/app.h"
#include "api/cache.h"
#include "api/columns.h"
#include "core/jsonw.h"
#include "api/params.h"
#include "domain/price.h"

#include <stdlib.h>
#include <string.h>

#define PRICE_COLUMNS                                                                              \
    "pl.symbol, pl.price, pl.source, " TD_SQL_EPOCH_MS(                                            \
        "pl.updated_at") ", "                                                                      \
                         "GREATEST(0, " TD_SQL_EPOCH_MS("now() - pl.updated_at") ")"

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

static int price_write(td_req *r, td_jw *w, PGresult *res, int row)
{
    const char *ps = PQgetvalue(res, row, 1);
    td_dec price;
    if (td_dec_parse(ps, strlen(ps), &price) != TD_OK)
        return 0;
    long long age = strtoll(PQgetvalue(res, row, 4), NULL, 10);
    td_jw_obj(w);
    td_jw_key(w, "symbol");
    td_jw_str(w, PQgetvalue(res, row, 0));
    td_jw_key(w, "price");
    td_jw_dec(w, price);
    td_jw_key(w, "source");
    td_jw_str(w, PQgetvalue(res, row, 2));
    td_jw_freshness(w, strtoll(PQgetvalue(res, row, 3), NULL, 10), age,
                    td_price_stale(age, r->app->cfg.price_stale_ms));
    td_jw_end(w, '}');
    return 1;
}

static int build_list(td_req *r, td_jw *w)
{
    PGresult *res = td_req_query(r, "price_list", 0, NULL);
    if (!res)
        return 0;
    td_jw_obj(w);
    td_jw_key(w, "items");
    td_jw_arr(w);
    for (int i = 0; i < PQntuples(res); i++)
        if (!price_write(r, w, res, i)) {
            PQclear(res);
            td_resp_error(r, TD_ERR_INTERNAL, "stored price out of range");
            return 0;
        }
    td_jw_end(w, ']');
    td_jw_key(w, "next_cursor");
    td_jw_null(w);
    td_jw_end(w, '}');
    PQclear(res);
    return 1;
}

static int build_one(td_req *r, td_jw *w)
{
    const char *p[] = {r->path_args[0]};
    PGresult *res = td_req_query(r, "price_get", 1, p);
    if (!res)
        return 0;
    int ok = PQntuples(res) == 1;
    if (!ok)
        td_resp_error(r, TD_ERR_NOT_FOUND, "no price for %s", r->path_args[0]);
    else if (!(ok = price_write(r, w, res, 0)))
        td_resp_error(r, TD_ERR_INTERNAL, "stored price out of range");
    PQclear(res);
    return ok;
}

void td_h_prices(td_req *r)
{
    if (td_param_none(r))
        td_cache_respond(r, &PRICES_CACHE, build_list);
}

void td_h_price(td_req *r)
{
    if (td_param_none(r) && td_path_symbol(r, 0))
        td_cache_respond(r, &PRICE_CACHE, build_one);
}
