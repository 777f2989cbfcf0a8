/*
 * error_pages.c - prints nginx/errors.conf and the code list from the
 * tables of core/errors.h; see error_pages.h.  Output only, no state: the
 * same table always prints the same bytes, which is what lets a test
 * compare the committed file with it.
 */
#include "api/error_pages.h"
#include "core/errors.h"

static const char k_nginx_header[] =
    "# errors.conf - nginx's own error answers in tradedesk's JSON envelope.\n"
    "#\n"
    "# GENERATED from src/core/errors.h by `tradedesk-api --print-nginx-errors`\n"
    "# (`make nginx-errors`); do not edit.  tests/unit/test_errors.c fails when\n"
    "# this file and the table disagree.\n"
    "#\n"
    "# Included inside the server {} block of nginx/local.conf.in and of\n"
    "# nginx/tradedesk.conf; the http {} block must define $td_request_id.\n"
    "# Only errors nginx makes itself (no upstream, a timeout, a body or header\n"
    "# too large, an unknown path) get these pages: with fastcgi_intercept_errors\n"
    "# off the API's own error responses pass through untouched.\n"
    "\n";

int td_error_pages_print_nginx(FILE *f)
{
    int bad = fputs(k_nginx_header, f) < 0;
#define PAGE_LINE(kind, also)                                                                      \
    if ((also) != 0)                                                                               \
        bad |= fprintf(f, "error_page %d %d /_td/%d;\n", td_err_status(kind), (also),              \
                       td_err_status(kind)) < 0;                                                   \
    else                                                                                           \
        bad |= fprintf(f, "error_page %d /_td/%d;\n", td_err_status(kind), td_err_status(kind)) < 0;
    TD_NGINX_ERROR_PAGES(PAGE_LINE)
#undef PAGE_LINE
    bad |= fputs("\nlocation ^~ /_td/ {\n"
                 "    internal;\n"
                 "    default_type application/json;\n"
                 "    add_header X-Request-ID $td_request_id always;\n",
                 f) < 0;
    /* Messages hold no quote, backslash or $ (test_errors.c checks), so
     * they go into the single-quoted nginx string and the JSON as they are. */
#define PAGE_LOCATION(kind, also)                                                                  \
    bad |= fprintf(f,                                                                              \
                   "    location = /_td/%d { return %d '{\"error\":{\"code\":\"%s\","              \
                   "\"message\":\"%s\",\"request_id\":\"$td_request_id\"}}\\n'; }\n",              \
                   td_err_status(kind), td_err_status(kind), td_err_code(kind),                    \
                   td_err_message(kind)) < 0;
    TD_NGINX_ERROR_PAGES(PAGE_LOCATION)
#undef PAGE_LOCATION
    bad |= fputs("}\n", f) < 0;
    return bad ? -1 : 0;
}

int td_error_pages_print_codes(FILE *f)
{
    int bad = 0;
    for (int k = 0; k < TD_ERR_COUNT; k++)
        bad |= fprintf(f, "%d %s\n", td_err_status((td_err)k), td_err_code((td_err)k)) < 0;
    return bad ? -1 : 0;
}
