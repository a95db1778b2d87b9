/*
 * sendtx.c: send one legacy (EIP-155) and one EIP-1559 transfer, signed here, to a node (anvil) and
 * check that the node computes the same transaction hashes, mines them with status 0x1, and stores
 * exactly the fields signed.  Prints TAP; exit 0 when every check passed.
 *
 *   sendtx RPC_URL KEY_FILE [TO_ADDRESS]
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tgx/abi.h"
#include "tgx/hex.h"
#include "tgx/jsonrpc.h"
#include "tgx/keyfile.h"
#include "tgx/secp.h"
#include "tgx/tx.h"

static int sendtx_n;      /* checks run */
static int sendtx_failed; /* checks failed */

static void TGX_PRINTF(2, 3) sendtx_check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", ok ? "ok" : "not ok", ++sendtx_n);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (!ok)
        sendtx_failed++;
}

static void sendtx_hex(const uint8_t *p, size_t n, char *out)
{
    out[0] = '0';
    out[1] = 'x';
    tgx_hex_encode(p, n, out + 2);
}

/* Poll the receipt of HASH for up to 20 s: a NEW object or NULL. */
static json_t *sendtx_wait_receipt(struct tgx_jsonrpc *c, const char *hash)
{
    for (int i = 0; i < 200; i++) {
        json_t *r = NULL;
        struct tgx_jsonrpc_error err = {0};
        int rc = tgx_jsonrpc_get_receipt(c, hash, &r, &err);
        if (rc < 0)
            printf("# eth_getTransactionReceipt: %s\n", err.message);
        tgx_jsonrpc_error_cleanup(&err);
        if (rc == 0 && r != NULL)
            return r;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Sign TX, send it, compare the hashes, wait for the receipt, compare what the node stored. */
static void sendtx_one(struct tgx_jsonrpc *c, const char *what, const struct tgx_tx *tx,
                       const uint8_t secret[32], const uint8_t from[20])
{
    struct tgx_tx_signed st;
    tgx_tx_signed_init(&st);
    if (tgx_tx_sign(tx, secret, &st) < 0) {
        sendtx_check(0, "%s: sign", what);
        return;
    }
    char local[67];
    sendtx_hex(st.hash, 32, local);
    printf("# %s: %zu raw bytes, local hash %s\n", what, st.raw.len, local);

    /* decoding our own bytes gives the sender back */
    struct tgx_tx dec;
    uint8_t sender[20];
    sendtx_check(tgx_tx_decode((const uint8_t *)st.raw.data, st.raw.len, &dec, NULL, sender, NULL) == 0 &&
                     memcmp(sender, from, 20) == 0,
                 "%s: decodes locally to the signer", what);

    char node[67] = "";
    struct tgx_jsonrpc_error err = {0};
    int rc = tgx_jsonrpc_send_raw_transaction(c, (const uint8_t *)st.raw.data, st.raw.len, node, &err);
    sendtx_check(rc == 0, "%s: eth_sendRawTransaction accepted%s%s", what, rc == 0 ? "" : ": ",
                 rc == 0 ? "" : err.message);
    tgx_jsonrpc_error_cleanup(&err);
    if (rc < 0) {
        tgx_tx_signed_cleanup(&st);
        return;
    }
    sendtx_check(strcmp(node, local) == 0, "%s: node hash %s equals the local hash", what, node);

    json_t *receipt = sendtx_wait_receipt(c, local);
    const char *status = receipt ? json_string_value(json_object_get(receipt, "status")) : NULL;
    sendtx_check(status != NULL && strcmp(status, "0x1") == 0, "%s: receipt status %s", what,
                 status ? status : "(no receipt)");
    const char *type = receipt ? json_string_value(json_object_get(receipt, "type")) : NULL;
    char want_type[8];
    snprintf(want_type, sizeof want_type, "0x%x", (unsigned)tx->type);
    sendtx_check(type != NULL && strcmp(type, want_type) == 0, "%s: receipt type %s", what,
                 type ? type : "(none)");
    json_decref(receipt);

    /* the node's view of the transaction: sender, recipient, nonce, value, input */
    json_t *t = NULL;
    rc = tgx_jsonrpc_get_transaction(c, local, &t, &err);
    tgx_jsonrpc_error_cleanup(&err);
    char from_text[43], to_text[43];
    tgx_abi_address_checksum(from, from_text);
    tgx_abi_address_checksum(tx->to, to_text);
    const char *nfrom = t ? json_string_value(json_object_get(t, "from")) : NULL;
    const char *nto = t ? json_string_value(json_object_get(t, "to")) : NULL;
    const char *ninput = t ? json_string_value(json_object_get(t, "input")) : NULL;
    uint64_t nnonce = UINT64_MAX;
    struct tgx_u256 nvalue = {{0}};
    int qok = t && tgx_jsonrpc_quantity_u64(json_object_get(t, "nonce"), &nnonce) == 0 &&
              tgx_jsonrpc_quantity_u256(json_object_get(t, "value"), &nvalue) == 0;
    char input[2 * 64 + 3];
    sendtx_hex(tx->data, tx->data_len < 64 ? tx->data_len : 64, input);
    sendtx_check(rc == 0 && nfrom && nto && ninput && qok && strcasecmp(nfrom, from_text) == 0 &&
                     strcasecmp(nto, to_text) == 0 && nnonce == tx->nonce &&
                     tgx_u256_cmp(&nvalue, &tx->value) == 0 && strcasecmp(ninput, input) == 0,
                 "%s: the node stored from, to, nonce, value and input as signed", what);
    json_decref(t);
    tgx_tx_signed_cleanup(&st);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: sendtx RPC_URL KEY_FILE [TO_ADDRESS]\n");
        return 2;
    }
    printf("TAP version 13\n");
    struct tgx_jsonrpc *c = NULL;
    char errbuf[512];
    uint8_t secret[32], from[20], to[20];
    if (tgx_jsonrpc_create(argv[1], 10000, &c) < 0) {
        printf("1..0 # Bail out! bad RPC URL %s\n", argv[1]);
        return 1;
    }
    if (tgx_keyfile_read(argv[2], secret, errbuf, sizeof errbuf) < 0 || tgx_secp_address(secret, from) < 0) {
        printf("Bail out! %s\n", errbuf);
        tgx_jsonrpc_free(c);
        return 1;
    }
    if (tgx_abi_address_parse(argc == 4 ? argv[3] : "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", to) < 0) {
        printf("Bail out! bad recipient address\n");
        tgx_jsonrpc_free(c);
        return 1;
    }
    printf("1..15\n");
    struct tgx_jsonrpc_error err = {0};
    uint64_t chain_id = 0, nonce = 0;
    struct tgx_u256 gas_price, priority, base_fee, before, after;
    char from_text[43], to_text[43];
    tgx_abi_address_checksum(from, from_text);
    tgx_abi_address_checksum(to, to_text);
    int rc = tgx_jsonrpc_chain_id(c, &chain_id, &err);
    rc = rc < 0 ? rc : tgx_jsonrpc_get_transaction_count(c, from_text, "pending", &nonce, &err);
    rc = rc < 0 ? rc : tgx_jsonrpc_gas_price(c, &gas_price, &err);
    rc = rc < 0 ? rc : tgx_jsonrpc_max_priority_fee(c, &priority, &err);
    rc = rc < 0 ? rc : tgx_jsonrpc_get_balance(c, to_text, "latest", &before, &err);
    json_t *block = NULL;
    rc = rc < 0 ? rc : tgx_jsonrpc_get_block(c, "latest", false, &block, &err);
    int have_base =
        block && tgx_jsonrpc_quantity_u256(json_object_get(block, "baseFeePerGas"), &base_fee) == 0;
    json_decref(block);
    sendtx_check(
        rc == 0 && have_base, "node state: chain %lu, nonce %lu, gas price, priority fee, base fee%s%s",
        (unsigned long)chain_id, (unsigned long)nonce, rc == 0 ? "" : ": ", rc == 0 ? "" : err.message);
    tgx_jsonrpc_error_cleanup(&err);
    if (rc < 0 || !have_base) {
        explicit_bzero(secret, sizeof secret);
        tgx_jsonrpc_free(c);
        return 1;
    }

    /* legacy EIP-155: 1 wei, no data */
    struct tgx_tx legacy = {.type = TGX_TX_LEGACY, .chain_id = chain_id, .nonce = nonce, .gas_limit = 21000};
    legacy.gas_price = gas_price;
    legacy.has_to = true;
    memcpy(legacy.to, to, 20);
    legacy.value = tgx_u256_from_u64(1);
    sendtx_one(c, "legacy", &legacy, secret, from);

    /* EIP-1559: 2 wei and 4 bytes of data; max fee = 2 * base fee + priority fee */
    static const uint8_t data[] = {0xde, 0xad, 0xbe, 0xef};
    struct tgx_tx t2 = {.type = TGX_TX_EIP1559, .chain_id = chain_id, .nonce = nonce + 1, .gas_limit = 30000};
    t2.max_priority_fee_per_gas = priority;
    if (tgx_u256_mul_u64(&t2.max_fee_per_gas, &base_fee, 2) < 0 ||
        tgx_u256_add(&t2.max_fee_per_gas, &t2.max_fee_per_gas, &priority) < 0)
        sendtx_check(0, "fee arithmetic");
    t2.has_to = true;
    memcpy(t2.to, to, 20);
    t2.value = tgx_u256_from_u64(2);
    t2.data = data;
    t2.data_len = sizeof data;
    sendtx_one(c, "eip1559", &t2, secret, from);
    explicit_bzero(secret, sizeof secret);

    rc = tgx_jsonrpc_get_balance(c, to_text, "latest", &after, &err);
    tgx_jsonrpc_error_cleanup(&err);
    struct tgx_u256 delta = {{0}};
    int grew = rc == 0 && tgx_u256_sub(&delta, &after, &before) == 0;
    sendtx_check(grew && delta.w[0] == 3 && delta.w[1] == 0 && delta.w[2] == 0 && delta.w[3] == 0,
                 "recipient balance grew by 3 wei (got %lu)", (unsigned long)delta.w[0]);
    uint64_t next = 0;
    rc = tgx_jsonrpc_get_transaction_count(c, from_text, "latest", &next, &err);
    tgx_jsonrpc_error_cleanup(&err);
    sendtx_check(rc == 0 && next == nonce + 2, "sender nonce advanced by 2");
    tgx_jsonrpc_free(c);
    return sendtx_failed == 0 && sendtx_n == 15 ? 0 : 1;
}
