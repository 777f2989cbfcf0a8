/*
 * error_pages.h - core/errors.h printed for the world outside the API:
 * nginx's own error pages and the list of codes openapi.yaml documents.
 *
 * nginx answers some errors itself (no upstream, a timeout, a body over
 * client_max_body_size); nginx/errors.conf makes those answers the API's
 * envelope.  That file is this printer's output, committed, and a unit test
 * fails when the two differ, so nginx never speaks a code the table lacks.
 * `tradedesk-api --print-nginx-errors` and `--print-error-codes` call these.
 */
#ifndef TD_API_ERROR_PAGES_H
#define TD_API_ERROR_PAGES_H

#include <stdio.h>

/* The nginx include (error_page lines and the internal /_td/ locations),
 * for a server {} block whose http {} block defines $td_request_id.
 * 0 on success, -1 when writing failed. */
int td_error_pages_print_nginx(FILE *f);

/* One line per kind, "STATUS CODE", in table order.  0 or -1 as above. */
int td_error_pages_print_codes(FILE *f);

#endif
