/*
 * password.c - Argon2id hashing and verification of login passwords.
 *
 * No I/O besides getrandom() for salts; never logs, copies or stores a
 * password, and never compares hashes with anything but libargon2's
 * constant-time check.
 */
#include "core/password.h"

#include <argon2.h>
#include <string.h>

#include "core/random.h"

/* OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane. */
#define PW_T_COST 2
#define PW_M_COST_KIB 19456
#define PW_PARALLELISM 1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32

#define PW_STR_(x) #x
#define PW_STR(x) PW_STR_(x)

/* Only Argon2id, version 0x13, is accepted on verify. */
#define PW_PREFIX "$argon2id$v=19$"
/* Our encodings are about 100 bytes; anything far longer is not ours. */
#define PW_ENCODED_MAX 256

/*
 * td_password_burn verifies against this.  Its salt and hash are zeros and
 * match no password; only its parameters matter, and since they are built
 * from the constants above, a burn always costs what a real verify costs.
 */
static const char dummy_hash[] =
    PW_PREFIX "m=" PW_STR(PW_M_COST_KIB) ",t=" PW_STR(PW_T_COST) ",p=" PW_STR(
        PW_PARALLELISM) "$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

static td_status pw_len(const char *pw, size_t *len)
{
    if (!pw)
        return TD_EINVAL;
    *len = strnlen(pw, TD_PASSWORD_MAX_LEN + 1);
    return *len > TD_PASSWORD_MAX_LEN ? TD_EINVAL : TD_OK;
}

td_status td_password_hash(const char *pw, char *out, size_t cap)
{
    size_t len;
    unsigned char salt[PW_SALT_LEN];

    if (pw_len(pw, &len) != TD_OK)
        return TD_EINVAL;
    if (!out || cap < argon2_encodedlen(PW_T_COST, PW_M_COST_KIB, PW_PARALLELISM, PW_SALT_LEN,
                                        PW_HASH_LEN, Argon2_id))
        return TD_ENOMEM;
    if (td_random_bytes(salt, sizeof(salt)) != TD_OK)
        return TD_ERROR;

    int rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST_KIB, PW_PARALLELISM, pw, len, salt,
                                   sizeof(salt), PW_HASH_LEN, out, cap);
    if (rc == ARGON2_OK)
        return TD_OK;
    if (cap)
        out[0] = '\0';
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR || rc == ARGON2_ENCODING_FAIL)
        return TD_ENOMEM;
    return TD_ERROR;
}

td_status td_password_verify(const char *encoded, const char *pw)
{
    size_t len;

    if (pw_len(pw, &len) != TD_OK || !encoded)
        return TD_EINVAL;
    if (strncmp(encoded, PW_PREFIX, strlen(PW_PREFIX)) != 0 ||
        strnlen(encoded, PW_ENCODED_MAX + 1) > PW_ENCODED_MAX)
        return TD_EINVAL;

    switch (argon2id_verify(encoded, pw, len)) {
    case ARGON2_OK:
        return TD_OK;
    case ARGON2_VERIFY_MISMATCH:
        return TD_EDENIED;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
        return TD_ENOMEM;
    default:
        /* Decoding errors: the stored string is not a usable hash. */
        return TD_EINVAL;
    }
}

void td_password_burn(const char *pw)
{
    size_t len = pw ? strnlen(pw, TD_PASSWORD_MAX_LEN) : 0;

    /* The result is meaningless by design; only the time spent counts. */
    (void)argon2id_verify(dummy_hash, pw ? pw : "", len);
}
