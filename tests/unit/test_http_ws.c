/* test_http_ws.c: RFC 6455 framing, the accept key, masking, limits and room names. */
#include <criterion/criterion.h>
#include <string.h>

#include "tgx/ws.h"

/* RFC 6455 §1.3: key "dGhlIHNhbXBsZSBub25jZQ==" gives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" (checked with
 * `printf %s KEY258EAFA5-E914-47DA-95CA-C5AB0DC85B11 | openssl sha1 -binary | base64`). */
Test(http_ws, accept_key_rfc_example)
{
    char out[TGX_WS_ACCEPT_LEN];
    cr_assert_eq(tgx_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    cr_expect_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    cr_expect_eq(tgx_ws_accept_key("", out), -TGX_ERR_INVAL);
    cr_expect_eq(tgx_ws_accept_key(NULL, out), -TGX_ERR_INVAL);
}

/* RFC 6455 §5.7: a single-frame masked text message "Hello". */
Test(http_ws, decode_rfc_masked_hello)
{
    uint8_t buf[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct tgx_ws_frame f;
    long n = tgx_ws_decode(buf, sizeof buf, 512, true, &f);
    cr_assert_eq(n, (long)sizeof buf);
    cr_expect(f.fin);
    cr_expect(f.masked);
    cr_expect_eq(f.opcode, TGX_WS_TEXT);
    cr_expect_eq(f.len, 5);
    cr_expect_eq(memcmp(f.payload, "Hello", 5), 0);
}

Test(http_ws, encode_rfc_unmasked_hello)
{
    static const uint8_t want[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    struct tgx_buf b;
    tgx_buf_init(&b);
    tgx_ws_encode(&b, TGX_WS_TEXT, "Hello", 5, NULL);
    cr_assert_eq(b.len, sizeof want);
    cr_expect_eq(memcmp(b.data, want, sizeof want), 0);
    tgx_buf_cleanup(&b);
}

Test(http_ws, encode_masked_rfc_example)
{
    static const uint8_t want[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    struct tgx_buf b;
    tgx_buf_init(&b);
    tgx_ws_encode(&b, TGX_WS_TEXT, "Hello", 5, mask);
    cr_assert_eq(b.len, sizeof want);
    cr_expect_eq(memcmp(b.data, want, sizeof want), 0);
    tgx_buf_cleanup(&b);
}

/* Round trips across the three length encodings, masked and not. */
Test(http_ws, round_trip_lengths)
{
    static const size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
    static const uint8_t mask[4] = {1, 2, 3, 250};
    uint8_t *payload = malloc(70000);
    for (size_t i = 0; i < 70000; i++)
        payload[i] = (uint8_t)(i * 7);
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        for (int masked = 0; masked < 2; masked++) {
            struct tgx_buf b;
            struct tgx_ws_frame f;
            long n;
            size_t hdr = lens[k] < 126 ? 2 : lens[k] < 65536 ? 4 : 10;
            tgx_buf_init(&b);
            tgx_ws_encode(&b, TGX_WS_BINARY, payload, lens[k], masked ? mask : NULL);
            cr_assert_eq(b.len, hdr + (masked ? 4 : 0) + lens[k], "len %zu", lens[k]);
            /* every strict prefix asks for more bytes */
            cr_expect_eq(tgx_ws_decode((uint8_t *)b.data, b.len - 1, 1 << 20, false, &f), 0, "len %zu",
                         lens[k]);
            n = tgx_ws_decode((uint8_t *)b.data, b.len, 1 << 20, masked != 0, &f);
            cr_assert_eq(n, (long)b.len, "len %zu masked %d", lens[k], masked);
            cr_expect_eq(f.len, lens[k]);
            cr_expect_eq(f.opcode, TGX_WS_BINARY);
            cr_expect_eq(f.masked, masked != 0);
            cr_expect(lens[k] == 0 || memcmp(f.payload, payload, lens[k]) == 0, "len %zu", lens[k]);
            tgx_buf_cleanup(&b);
        }
    }
    free(payload);
}

Test(http_ws, oversize_and_protocol_errors)
{
    struct tgx_ws_frame f;
    static const uint8_t mask[4] = {9, 9, 9, 9};
    struct tgx_buf b;
    char big[600];
    memset(big, 'x', sizeof big);

    /* 513 bytes against a 512-byte limit: refused from the header alone */
    tgx_buf_init(&b);
    tgx_ws_encode(&b, TGX_WS_TEXT, big, 513, mask);
    cr_expect_eq(tgx_ws_decode((uint8_t *)b.data, 8, 512, true, &f), -TGX_ERR_STATE);
    tgx_buf_reset(&b);
    tgx_ws_encode(&b, TGX_WS_TEXT, big, 512, mask);
    cr_expect_eq(tgx_ws_decode((uint8_t *)b.data, b.len, 512, true, &f), (long)b.len);
    tgx_buf_cleanup(&b);

    { /* a 64-bit length far beyond the limit */
        uint8_t h[14] = {0x81, 0xff, 0, 0, 0, 1, 0, 0, 0, 0};
        cr_expect_eq(tgx_ws_decode(h, sizeof h, 512, true, &f), -TGX_ERR_STATE);
        h[2] = 0x80; /* the most significant bit must be 0 */
        cr_expect_eq(tgx_ws_decode(h, sizeof h, 512, true, &f), -TGX_ERR_INVAL);
    }
    { /* unmasked client frame */
        uint8_t h[] = {0x81, 0x01, 'a'};
        cr_expect_eq(tgx_ws_decode(h, sizeof h, 512, true, &f), -TGX_ERR_INVAL);
        cr_expect_eq(tgx_ws_decode(h, sizeof h, 512, false, &f), 3);
    }
    { /* reserved bits, unknown opcode */
        uint8_t r[] = {0xc1, 0x80, 0, 0, 0, 0};
        uint8_t o[] = {0x83, 0x80, 0, 0, 0, 0};
        cr_expect_eq(tgx_ws_decode(r, sizeof r, 512, true, &f), -TGX_ERR_INVAL);
        cr_expect_eq(tgx_ws_decode(o, sizeof o, 512, true, &f), -TGX_ERR_INVAL);
    }
    { /* control frames: not fragmented, at most 125 bytes */
        uint8_t frag[] = {0x09, 0x80, 0, 0, 0, 0};
        uint8_t longping[] = {0x89, 0xfe, 0, 126, 0, 0, 0, 0};
        cr_expect_eq(tgx_ws_decode(frag, sizeof frag, 512, true, &f), -TGX_ERR_INVAL);
        cr_expect_eq(tgx_ws_decode(longping, sizeof longping, 512, true, &f), -TGX_ERR_INVAL);
    }
    { /* non-minimal lengths */
        uint8_t l16[] = {0x81, 0xfe, 0, 5, 0, 0, 0, 0, 'a', 'b', 'c', 'd', 'e'};
        cr_expect_eq(tgx_ws_decode(l16, sizeof l16, 512, true, &f), -TGX_ERR_INVAL);
    }
    { /* a close frame with a status code */
        uint8_t c[] = {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8};
        cr_expect_eq(tgx_ws_decode(c, sizeof c, 512, true, &f), (long)sizeof c);
        cr_expect_eq(f.opcode, TGX_WS_CLOSE);
        cr_expect_eq((f.payload[0] << 8) | f.payload[1], 1000);
    }
}

Test(http_ws, two_frames_in_one_buffer)
{
    static const uint8_t mask[4] = {0xde, 0xad, 0xbe, 0xef};
    struct tgx_buf b;
    struct tgx_ws_frame f;
    long n;
    tgx_buf_init(&b);
    tgx_ws_encode(&b, TGX_WS_TEXT, "{\"type\":\"PING\"}", 15, mask);
    tgx_ws_encode(&b, TGX_WS_PING, "hi", 2, mask);
    n = tgx_ws_decode((uint8_t *)b.data, b.len, 512, true, &f);
    cr_assert_gt(n, 0);
    cr_expect_eq(f.len, 15);
    cr_expect_eq(memcmp(f.payload, "{\"type\":\"PING\"}", 15), 0);
    n = tgx_ws_decode((uint8_t *)b.data + n, b.len - (size_t)n, 512, true, &f);
    cr_assert_eq(n, 8);
    cr_expect_eq(f.opcode, TGX_WS_PING);
    cr_expect_eq(memcmp(f.payload, "hi", 2), 0);
    tgx_buf_cleanup(&b);
}

struct http_ws_room_case {
    const char *room;
    int rc;
    enum tgx_ws_room_kind kind;
    const char *id;
};

Test(http_ws, room_names)
{
    static const struct http_ws_room_case cases[] = {
        {"job:123", 0, TGX_WS_ROOM_JOB, "123"},
        {"job:0", 0, TGX_WS_ROOM_JOB, "0"},
        {"task:42", 0, TGX_WS_ROOM_TASK, "42"},
        {"user:0xAbCdEf0123456789abcdef0123456789ABCDEF01", 0, TGX_WS_ROOM_USER,
         "0xabcdef0123456789abcdef0123456789abcdef01"},
        {"job:844800000000000000000000000000000000000000000000000000000000000000000000001", 0,
         TGX_WS_ROOM_JOB, "844800000000000000000000000000000000000000000000000000000000000000000000001"},
        /* the original crashed on 3-4 character rooms: they are plain refusals here */
        {"abc", -TGX_ERR_INVAL, 0, NULL},
        {"jo", -TGX_ERR_INVAL, 0, NULL},
        {"", -TGX_ERR_INVAL, 0, NULL},
        {"job:", -TGX_ERR_INVAL, 0, NULL},
        {"job", -TGX_ERR_INVAL, 0, NULL},
        {"user", -TGX_ERR_INVAL, 0, NULL},
        {"job:12a", -TGX_ERR_INVAL, 0, NULL},
        {"job:-1", -TGX_ERR_INVAL, 0, NULL},
        {"job:007", -TGX_ERR_INVAL, 0, NULL},
        {"task:99999999999999999999", -TGX_ERR_INVAL, 0, NULL},
        {"user:0x123", -TGX_ERR_INVAL, 0, NULL},
        {"user:0xzzcdef0123456789abcdef0123456789abcdef01", -TGX_ERR_INVAL, 0, NULL},
        {"room:1", -TGX_ERR_INVAL, 0, NULL},
        {"JOB:1", -TGX_ERR_INVAL, 0, NULL},
        {"job:1:2", -TGX_ERR_INVAL, 0, NULL},
        {"job:"
         "1111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111",
         -TGX_ERR_INVAL, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum tgx_ws_room_kind kind;
        char id[TGX_WS_ROOM_MAX];
        int rc = tgx_ws_room_parse(cases[i].room, &kind, id);
        cr_expect_eq(rc, cases[i].rc, "row %zu: %s", i, cases[i].room);
        if (rc == 0 && cases[i].rc == 0) {
            cr_expect_eq(kind, cases[i].kind, "row %zu", i);
            cr_expect_str_eq(id, cases[i].id, "row %zu", i);
        }
    }
    {
        enum tgx_ws_room_kind kind;
        char id[TGX_WS_ROOM_MAX];
        cr_expect_eq(tgx_ws_room_parse(NULL, &kind, id), -TGX_ERR_INVAL);
    }
}
