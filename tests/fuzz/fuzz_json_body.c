/*
 * fuzz_json_body.c - libFuzzer target for request bodies
 * (td_req_json_object in api/request.c).
 *
 * Any bytes in; either a JSON object comes back and nothing was answered,
 * or the request was answered 400 with the invalid_json envelope, and that
 * envelope is itself strict, valid UTF-8 JSON of the stated length.
 */
#include "api/request.h"

#include <stdlib.h>
#include <string.h>

static void check_envelope(const td_req *r)
{
    const char *out = r->out.data;
    if (r->status != 400 || !out || strncmp(out, "Status: 400 Bad Request\r\n", 25) != 0)
        abort();
    const char *body = strstr(out, "\r\n\r\n");
    if (!body)
        abort();
    body += 4;
    size_t blen = r->out.len - (size_t)(body - out);
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, body, (int)blen);
    if (!o || json_tokener_get_parse_end(tok) != blen)
        abort();
    json_tokener_free(tok);
    json_object *e, *code;
    if (!json_object_object_get_ex(o, "error", &e) ||
        !json_object_object_get_ex(e, "code", &code) ||
        strcmp(json_object_get_string(code), "invalid_json") != 0)
        abort();
    json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    td_arena a;
    td_req r;
    td_arena_init(&a, 4096);
    td_req_init(&r, &a, NULL);
    memcpy(r.request_id, "fuzz", 5);

    /* Exactly size bytes and no terminator: the length must rule. */
    char *body = malloc(size ? size : 1);
    if (!body)
        abort();
    memcpy(body, data, size);
    r.body = body;
    r.body_len = size;

    json_object *o = td_req_json_object(&r);
    if (o) {
        if (!json_object_is_type(o, json_type_object) || td_req_answered(&r))
            abort();
        /* The object serializes; its strings hold no NUL (\u0000 is refused). */
        json_object_object_foreach(o, key, val)
        {
            (void)key;
            if (json_object_is_type(val, json_type_string) &&
                strlen(json_object_get_string(val)) != (size_t)json_object_get_string_len(val))
                abort();
        }
        (void)json_object_to_json_string(o);
    } else {
        check_envelope(&r);
    }

    td_req_end(&r);
    free(body);
    td_arena_free(&a);
    return 0;
}
