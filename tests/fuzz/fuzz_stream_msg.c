/*
 * fuzz_stream_msg.c - libFuzzer target for a client's WebSocket message
 * (stream/message.c): the bytes a browser, or anyone, sends the stream.
 *
 * A message is accepted or refused with one of the protocol's codes; an
 * accepted subscribe holds only names the stream serves, each once, and a
 * since of digits; nothing may read past len.
 */
#include "stream/message.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1); /* exactly size bytes */
    if (!s)
        abort();
    memcpy(s, data, size);
    td_client_msg m;
    td_status st = td_client_msg_parse(s, size, 8, &m);
    if (st == TD_OK) {
        if (m.op == TD_OP_AUTH && !m.token)
            abort();
        for (int i = 0; i < m.n; i++) {
            if (td_channel_parse(m.channels[i], strlen(m.channels[i])) != m.kinds[i])
                abort();
            for (int k = 0; k < i; k++)
                if (strcmp(m.channels[k], m.channels[i]) == 0)
                    abort();
        }
        if (m.since && strspn(m.since, "0123456789") != strlen(m.since))
            abort();
    } else if (st == TD_EINVAL) {
        if (!m.code || !m.why)
            abort();
    }
    td_client_msg_free(&m);
    /* The channel parser alone, on the raw bytes. */
    int kind = td_channel_parse(s, size < 80 ? size : 80);
    if (kind < -1 || kind >= TD_CH_KINDS)
        abort();
    free(s);
    return 0;
}
