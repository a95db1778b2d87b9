/* sha256.c: SHA-256 through OpenSSL's EVP interface. */
#include "tgx/sha256.h"

#include <openssl/evp.h>

#include "tgx/hex.h"

int tgx_sha256(const void *data, size_t len, uint8_t out[TGX_SHA256_LEN])
{
    unsigned int outlen = 0;
    if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) != 1 || outlen != TGX_SHA256_LEN)
        return -TGX_ERR_CRYPTO;
    return 0;
}

int tgx_sha256_hex(const void *data, size_t len, char out[TGX_SHA256_HEX_LEN + 1])
{
    uint8_t md[TGX_SHA256_LEN];
    int rc = tgx_sha256(data, len, md);
    if (rc < 0)
        return rc;
    tgx_hex_encode(md, sizeof md, out);
    return 0;
}
