/* ws_frame.c: RFC 6455 framing, the handshake accept key and room names. */
#include <ctype.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "tgx/ws.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int tgx_ws_accept_key(const char *client_key, char out[TGX_WS_ACCEPT_LEN])
{
    unsigned char digest[SHA_DIGEST_LENGTH];
    char joined[128];
    size_t klen;

    out[0] = '\0';
    if (client_key == NULL)
        return -TGX_ERR_INVAL;
    klen = strlen(client_key);
    if (klen == 0 || klen + sizeof WS_GUID > sizeof joined)
        return -TGX_ERR_INVAL;
    memcpy(joined, client_key, klen);
    memcpy(joined + klen, WS_GUID, sizeof WS_GUID);
    if (SHA1((const unsigned char *)joined, klen + sizeof WS_GUID - 1, digest) == NULL)
        return -TGX_ERR_CRYPTO;
    /* 20 bytes -> 28 base64 characters and a NUL */
    if (EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH) != TGX_WS_ACCEPT_LEN - 1)
        return -TGX_ERR_CRYPTO;
    return 0;
}

static bool opcode_known(unsigned op)
{
    return op == TGX_WS_CONT || op == TGX_WS_TEXT || op == TGX_WS_BINARY || op == TGX_WS_CLOSE ||
           op == TGX_WS_PING || op == TGX_WS_PONG;
}

long tgx_ws_decode(uint8_t *buf, size_t len, size_t max_payload, bool require_mask, struct tgx_ws_frame *f)
{
    size_t need = 2, plen;
    unsigned op;
    const uint8_t *mask = NULL;

    memset(f, 0, sizeof *f);
    if (len < 2)
        return 0;
    if (buf[0] & 0x70) /* RSV1-3: no extension was negotiated */
        return -TGX_ERR_INVAL;
    op = buf[0] & 0x0f;
    if (!opcode_known(op))
        return -TGX_ERR_INVAL;
    f->fin = (buf[0] & 0x80) != 0;
    f->opcode = (enum tgx_ws_opcode)op;
    f->masked = (buf[1] & 0x80) != 0;
    if (require_mask && !f->masked)
        return -TGX_ERR_INVAL;
    plen = buf[1] & 0x7f;
    if (op >= 0x8 && (!f->fin || plen > 125)) /* control frames: final, <= 125 bytes */
        return -TGX_ERR_INVAL;
    if (plen == 126) {
        need += 2;
        if (len < need)
            return 0;
        plen = ((size_t)buf[2] << 8) | buf[3];
        if (plen < 126)
            return -TGX_ERR_INVAL;
    } else if (plen == 127) {
        uint64_t v = 0;
        need += 8;
        if (len < need)
            return 0;
        for (int i = 0; i < 8; i++)
            v = (v << 8) | buf[2 + i];
        if (v >> 63 || v < 65536)
            return -TGX_ERR_INVAL;
        if (v > max_payload)
            return -TGX_ERR_STATE;
        plen = (size_t)v;
    }
    if (plen > max_payload)
        return -TGX_ERR_STATE;
    if (f->masked) {
        mask = buf + need;
        need += 4;
        if (len < need)
            return 0;
    }
    if (len - need < plen)
        return 0;
    f->payload = buf + need;
    f->len = plen;
    if (mask != NULL) {
        uint8_t *p = buf + need;
        for (size_t i = 0; i < plen; i++)
            p[i] ^= mask[i & 3];
    }
    return (long)(need + plen);
}

void tgx_ws_encode(struct tgx_buf *out, enum tgx_ws_opcode opcode, const void *payload, size_t len,
                   const uint8_t *mask)
{
    uint8_t hdr[14];
    size_t n = 0;
    uint8_t maskbit = mask != NULL ? 0x80 : 0;

    hdr[n++] = (uint8_t)(0x80 | ((unsigned)opcode & 0x0f));
    if (len < 126) {
        hdr[n++] = (uint8_t)(maskbit | len);
    } else if (len <= 0xffff) {
        hdr[n++] = (uint8_t)(maskbit | 126);
        hdr[n++] = (uint8_t)(len >> 8);
        hdr[n++] = (uint8_t)len;
    } else {
        hdr[n++] = (uint8_t)(maskbit | 127);
        for (int i = 7; i >= 0; i--)
            hdr[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    if (mask != NULL) {
        memcpy(hdr + n, mask, 4);
        n += 4;
    }
    tgx_buf_append(out, hdr, n);
    if (mask == NULL) {
        tgx_buf_append(out, payload, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        char c = (char)(((const uint8_t *)payload)[i] ^ mask[i & 3]);
        tgx_buf_putc(out, c);
    }
}

static bool all_digits(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

int tgx_ws_room_parse(const char *room, enum tgx_ws_room_kind *kind, char id[TGX_WS_ROOM_MAX])
{
    const char *colon;
    size_t plen;

    id[0] = '\0';
    if (room == NULL || strlen(room) >= TGX_WS_ROOM_MAX)
        return -TGX_ERR_INVAL;
    colon = strchr(room, ':');
    if (colon == NULL)
        return -TGX_ERR_INVAL;
    plen = (size_t)(colon - room);
    if (plen == 3 && memcmp(room, "job", 3) == 0) {
        if (!all_digits(colon + 1, 78))
            return -TGX_ERR_INVAL;
        *kind = TGX_WS_ROOM_JOB;
    } else if (plen == 4 && memcmp(room, "task", 4) == 0) {
        if (!all_digits(colon + 1, 19))
            return -TGX_ERR_INVAL;
        *kind = TGX_WS_ROOM_TASK;
    } else if (plen == 4 && memcmp(room, "user", 4) == 0) {
        const char *a = colon + 1;
        if (strlen(a) != 42 || a[0] != '0' || (a[1] != 'x' && a[1] != 'X'))
            return -TGX_ERR_INVAL;
        for (size_t i = 2; i < 42; i++)
            if (!isxdigit((unsigned char)a[i]))
                return -TGX_ERR_INVAL;
        *kind = TGX_WS_ROOM_USER;
    } else {
        return -TGX_ERR_INVAL;
    }
    strcpy(id, colon + 1);
    if (*kind == TGX_WS_ROOM_USER)
        for (char *p = id; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    else if (id[0] == '0' && id[1] != '\0') /* canonical decimal: no leading zeros */
        return (id[0] = '\0', -TGX_ERR_INVAL);
    return 0;
}
