/* ws.h: RFC 6455 WebSocket framing (server and client side), the handshake key, and room names. */
#ifndef TGX_WS_H
#define TGX_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tgx/buf.h"
#include "tgx/err.h"

/* Frame opcodes (RFC 6455 §5.2). */
enum tgx_ws_opcode {
    TGX_WS_CONT = 0x0, /* continuation */
    TGX_WS_TEXT = 0x1, /* UTF-8 text */
    TGX_WS_BINARY = 0x2,
    TGX_WS_CLOSE = 0x8, /* payload: 2-byte status code + reason */
    TGX_WS_PING = 0x9,
    TGX_WS_PONG = 0xA,
};

/* Close status codes we send. */
#define TGX_WS_CLOSE_NORMAL      1000
#define TGX_WS_CLOSE_GOING_AWAY  1001
#define TGX_WS_CLOSE_PROTOCOL    1002
#define TGX_WS_CLOSE_UNSUPPORTED 1003
#define TGX_WS_CLOSE_TOO_BIG     1009
#define TGX_WS_CLOSE_POLICY      1008

/* The length of an accept key: base64 of 20 bytes, plus a NUL. */
#define TGX_WS_ACCEPT_LEN 29

/* Sec-WebSocket-Accept for CLIENT_KEY (SHA-1 of key + RFC GUID, base64) into OUT; -TGX_ERR_CRYPTO,
 * -TGX_ERR_INVAL for a NULL or over-long key. */
int tgx_ws_accept_key(const char *client_key, char out[TGX_WS_ACCEPT_LEN] /* OUT */) TGX_MUSTCHECK;

/* One decoded frame; PAYLOAD points into the caller's buffer (unmasked in place). */
struct tgx_ws_frame {
    bool fin;
    enum tgx_ws_opcode opcode;
    bool masked;
    const uint8_t *payload; /* borrowed from the input buffer */
    size_t len;
};

/*
 * Decode one frame at BUF (LEN bytes).  Returns the number of bytes the frame occupies (> 0) with
 * *F filled and the payload unmasked in place; 0 when more bytes are needed; a negative enum
 * tgx_err: -TGX_ERR_INVAL for a protocol error (reserved bits, unknown opcode, fragmented or
 * over-long control frame, an unmasked frame when REQUIRE_MASK, a non-minimal length),
 * -TGX_ERR_STATE when the payload exceeds MAX_PAYLOAD (close 1009).
 */
long tgx_ws_decode(uint8_t *buf, size_t len, size_t max_payload, bool require_mask,
                   struct tgx_ws_frame *f /* OUT */) TGX_MUSTCHECK;

/*
 * Append one final frame of OPCODE with LEN bytes of PAYLOAD to OUT.  MASK NULL: unmasked (server
 * to client); otherwise the 4-byte masking key (client to server).
 */
void tgx_ws_encode(struct tgx_buf *out, enum tgx_ws_opcode opcode, const void *payload, size_t len,
                   const uint8_t *mask);

/* Room kinds. */
enum tgx_ws_room_kind {
    TGX_WS_ROOM_JOB = 0,  /* job:<decimal uint256> */
    TGX_WS_ROOM_TASK = 1, /* task:<decimal task id> */
    TGX_WS_ROOM_USER = 2, /* user:<owner: 0x + 40 hex digits, compared lower-case> */
};

/* Longest room name accepted. */
#define TGX_WS_ROOM_MAX 96

/*
 * Parse ROOM ("job:123"): the kind into *KIND and the id (lower-cased for user rooms) into ID
 * (holds TGX_WS_ROOM_MAX bytes).  -TGX_ERR_INVAL for anything else: unknown prefix, empty or
 * non-decimal id, an id of more than 78 digits, a bad address, a name longer than TGX_WS_ROOM_MAX.
 */
int tgx_ws_room_parse(const char *room, enum tgx_ws_room_kind *kind /* OUT */,
                      char id[TGX_WS_ROOM_MAX] /* OUT */) TGX_MUSTCHECK;

#endif
