/*
 * digest.c - SHA-256 as hex (digest.h), through OpenSSL's EVP interface.
 */
#include "core/digest.h"

#include <openssl/evp.h>
#include <stdio.h>

td_status td_sha256_hex(const void *data, size_t len, char out[TD_SHA256_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return TD_ERROR;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[TD_SHA256_HEX_LEN] = '\0';
    return TD_OK;
}
